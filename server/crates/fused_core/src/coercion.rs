//! The SDK's coercion table (SDK-FACTS, measured on fused 2.9.5): what a UDF parameter receives
//! when its argument arrives as a string. Rules, hovers and inlay hints read it from here.

use crate::annotation::TypeExpr;

/// The `fused.types` members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FusedType {
    Tile,
    Bounds,
    TileXYZ,
    TileGDF,
    ViewportGDF,
    Bbox,
}

impl FusedType {
    pub const ALL: &'static [FusedType] = &[
        FusedType::Tile,
        FusedType::Bounds,
        FusedType::TileXYZ,
        FusedType::TileGDF,
        FusedType::ViewportGDF,
        FusedType::Bbox,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FusedType::Tile => "Tile",
            FusedType::Bounds => "Bounds",
            FusedType::TileXYZ => "TileXYZ",
            FusedType::TileGDF => "TileGDF",
            FusedType::ViewportGDF => "ViewportGDF",
            FusedType::Bbox => "Bbox",
        }
    }

    pub fn from_name(name: &str) -> Option<FusedType> {
        FusedType::ALL.iter().copied().find(|t| t.name() == name)
    }

    /// What a parameter of this type receives, in a phrase.
    pub fn receives(self) -> &'static str {
        match self {
            FusedType::Bounds => "a list of 4 floats `[minx, miny, maxx, maxy]`",
            FusedType::Bbox => "a `shapely.geometry.box` of the bounds",
            FusedType::Tile | FusedType::TileGDF => {
                "a one-row GeoDataFrame with `x`, `y`, `z` columns and the tile polygon"
            }
            FusedType::TileXYZ => "a `mercantile.Tile(x, y, z)`",
            FusedType::ViewportGDF => "a GeoDataFrame of the viewport bounds",
        }
    }
}

/// A conversion the SDK applies to a string argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coercion {
    Str,
    Int,
    Float,
    Bool,
    List,
    Dict,
    Tuple,
    Uuid,
    Datetime,
    Date,
    Time,
    GeoDataFrame,
    DataFrame,
    Geometry,
    Fused(FusedType),
}

impl Coercion {
    /// The row of the coercion table, e.g. "`int(s, 10)`: `\"4.0\"` raises".
    pub fn describe(self) -> String {
        match self {
            Coercion::Str => "`str(s)`: the string as it is".into(),
            Coercion::Int => "`int(s, 10)`: `\" 7 \"` gives 7, `\"4.0\"` raises".into(),
            Coercion::Float => "`float(s)`: `\"1e3\"` gives 1000.0".into(),
            Coercion::Bool => "`False` for `\"false\"` in any case and for `\"\"`; any other string, `\"0\"` and `\"no\"` included, is `True`".into(),
            Coercion::List => "`json.loads(s)`".into(),
            Coercion::Dict => "`json.loads(s)`".into(),
            Coercion::Tuple => "`tuple(json.loads(s))`".into(),
            Coercion::Uuid => "`uuid.UUID(s)`".into(),
            Coercion::Datetime => "`datetime.fromisoformat(s)`".into(),
            Coercion::Date => "`date.fromisoformat(s)`".into(),
            Coercion::Time => "`time.fromisoformat(s)`".into(),
            Coercion::GeoDataFrame => "a GeoDataFrame read from a GeoJSON string, CRS EPSG:4326".into(),
            Coercion::DataFrame => "`pd.read_json(s)`".into(),
            Coercion::Geometry => "a shapely geometry read from WKT".into(),
            Coercion::Fused(t) => t.receives().into(),
        }
    }

    /// The Python type the parameter ends up holding, for inlay hints.
    pub fn python_type(self) -> &'static str {
        match self {
            Coercion::Str => "str",
            Coercion::Int => "int",
            Coercion::Float => "float",
            Coercion::Bool => "bool",
            Coercion::List => "list",
            Coercion::Dict => "dict",
            Coercion::Tuple => "tuple",
            Coercion::Uuid => "UUID",
            Coercion::Datetime => "datetime",
            Coercion::Date => "date",
            Coercion::Time => "time",
            Coercion::GeoDataFrame => "GeoDataFrame",
            Coercion::DataFrame => "DataFrame",
            Coercion::Geometry => "shapely geometry",
            Coercion::Fused(FusedType::Bounds) => "list[float]",
            Coercion::Fused(FusedType::Bbox) => "shapely box",
            Coercion::Fused(FusedType::TileXYZ) => "mercantile.Tile",
            Coercion::Fused(_) => "GeoDataFrame",
        }
    }

    /// Whether a tile run crashes when this is the receiver's annotation: a tile run hands the
    /// receiver the tile GeoDataFrame, and fused 2.9.5's `coerce_arg` raises on it for these
    /// (measured: `int(gdf)`, `float(gdf)`, `json.loads(gdf)` are TypeErrors, `bool(gdf)` a
    /// ValueError).
    pub fn crashes_tile_run(self) -> bool {
        matches!(
            self,
            Coercion::Int
                | Coercion::Float
                | Coercion::Bool
                | Coercion::Tuple
                | Coercion::Uuid
                | Coercion::Datetime
                | Coercion::Date
                | Coercion::Time
        )
    }

    /// Whether a tile run passes something other than bounds without failing (measured):
    /// `str` gets `str()` of the tile GeoDataFrame, `dict` and `list` the GeoDataFrame itself.
    pub fn mangles_bounds(self) -> bool {
        matches!(self, Coercion::Str | Coercion::Dict | Coercion::List)
    }

    /// What a mangling receiver gets, in a phrase.
    pub fn mangled_bounds(self) -> &'static str {
        match self {
            Coercion::Str => "`str()` of the tile GeoDataFrame (a printed table of its `x`, `y`, `z` and `geometry` columns, the polygon cut short)",
            Coercion::Dict => "the tile GeoDataFrame itself (not a dict)",
            Coercion::List => "the tile GeoDataFrame itself (not a list)",
            _ => "something else",
        }
    }
}

/// What the SDK does with a parameter's string argument, given its annotation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Treatment {
    /// No annotation: the string is passed unchanged.
    Unannotated,
    /// Converted; `optional` when `None` stays `None` (`Optional[T]`, `T | None`).
    Coerced { coercion: Coercion, optional: bool },
    /// Left as a string on purpose and harmlessly (`Any`, `object`, a `Literal` of strings).
    Passthrough,
    /// `Iterable`: documented as coerced, left as a string by fused 2.9.5.
    Iterable,
    /// Left as a string although the annotation names another type.
    NotCoerced { why: String },
}

const GEOMETRY_NAMES: &[&str] = &[
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "LinearRing",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
    "BaseGeometry",
    "Geometry",
];

fn last(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

fn prefix(name: &str) -> &str {
    name.rsplit_once('.').map(|(p, _)| p).unwrap_or("")
}

/// Classifies an annotation the way fused 2.9.5 treats it without `from __future__ import
/// annotations`.
pub fn treatment(expr: &TypeExpr) -> Treatment {
    treatment_depth(expr, 0)
}

fn treatment_depth(expr: &TypeExpr, depth: u32) -> Treatment {
    if depth > 32 {
        return Treatment::NotCoerced {
            why: "the annotation is nested too deeply to be understood".into(),
        };
    }
    match expr {
        TypeExpr::Name(name) => treatment_of_name(name),
        TypeExpr::None => Treatment::NotCoerced {
            why: "`None` is not a type the SDK converts to".into(),
        },
        TypeExpr::Str(s) => {
            // A string annotation (forward reference): the SDK sees a string, as under
            // `from __future__ import annotations`.
            match future_treatment(s) {
                Some(t) => t,
                None => match treatment_of_source(s) {
                    Treatment::Coerced { coercion: Coercion::Str, .. } | Treatment::Passthrough => Treatment::Passthrough,
                    _ => Treatment::NotCoerced {
                        why: format!("the string annotation `\"{s}\"` is matched as text, and `{s}` is not among the names the SDK still coerces then"),
                    },
                },
            }
        }
        TypeExpr::Union(members) => union_treatment(members, depth),
        TypeExpr::Generic(name, args) => {
            let base = last(name);
            match base {
                "Optional" if args.len() == 1 => match treatment_depth(&args[0], depth + 1) {
                    Treatment::Coerced { coercion, .. } => Treatment::Coerced {
                        coercion,
                        optional: true,
                    },
                    other => other,
                },
                "Union" => union_treatment(args, depth),
                "Literal" => {
                    if args.iter().all(|a| matches!(a, TypeExpr::Str(_))) {
                        Treatment::Passthrough
                    } else {
                        Treatment::NotCoerced {
                            why: "a `Literal` of non-string values is not converted: the value stays a string and never equals them".into(),
                        }
                    }
                }
                "Annotated" if !args.is_empty() => treatment_depth(&args[0], depth + 1),
                _ => match treatment_of_name(name) {
                    // Generic aliases resolve to their origin: `List[int]` → `list`.
                    Treatment::Coerced { coercion, optional } => {
                        Treatment::Coerced { coercion, optional }
                    }
                    other => other,
                },
            }
        }
        TypeExpr::Other(text) => Treatment::NotCoerced {
            why: format!("`{text}` is not a type the SDK knows how to convert to"),
        },
    }
}

fn union_treatment(members: &[TypeExpr], depth: u32) -> Treatment {
    let non_none: Vec<&TypeExpr> = members
        .iter()
        .filter(|m| !matches!(m, TypeExpr::None))
        .collect();
    let has_none = non_none.len() < members.len();
    if non_none.len() == 1 {
        return match treatment_depth(non_none[0], depth + 1) {
            Treatment::Coerced { coercion, optional } => Treatment::Coerced {
                coercion,
                optional: optional || has_none,
            },
            other => other,
        };
    }
    Treatment::NotCoerced {
        why: "a `Union` of two or more non-None types is not supported: the value stays a string"
            .into(),
    }
}

fn treatment_of_name(name: &str) -> Treatment {
    let base = last(name);
    let pre = prefix(name);
    let coerced = |c| Treatment::Coerced {
        coercion: c,
        optional: false,
    };
    if pre.is_empty() || pre == "builtins" {
        match base {
            "str" => return coerced(Coercion::Str),
            "int" => return coerced(Coercion::Int),
            "float" => return coerced(Coercion::Float),
            "bool" => return coerced(Coercion::Bool),
            "list" => return coerced(Coercion::List),
            "dict" => return coerced(Coercion::Dict),
            "tuple" => return coerced(Coercion::Tuple),
            "object" => return Treatment::Passthrough,
            _ => {}
        }
    }
    if pre.is_empty() || pre == "typing" {
        match base {
            "List" => return coerced(Coercion::List),
            "Dict" => return coerced(Coercion::Dict),
            "Tuple" => return coerced(Coercion::Tuple),
            "Any" => return Treatment::Passthrough,
            _ => {}
        }
    }
    if base == "Iterable" && matches!(pre, "" | "typing" | "collections.abc" | "abc") {
        return Treatment::Iterable;
    }
    if base == "UUID" && matches!(pre, "" | "uuid") {
        return coerced(Coercion::Uuid);
    }
    if matches!(pre, "" | "datetime" | "dt") {
        match base {
            "datetime" => return coerced(Coercion::Datetime),
            "date" => return coerced(Coercion::Date),
            "time" => return coerced(Coercion::Time),
            _ => {}
        }
    }
    if base == "GeoDataFrame" {
        return coerced(Coercion::GeoDataFrame);
    }
    if base == "DataFrame" {
        return coerced(Coercion::DataFrame);
    }
    if GEOMETRY_NAMES.contains(&base)
        && (pre.is_empty() || pre.contains("shapely") || pre == "sg" || pre == "geom")
    {
        return coerced(Coercion::Geometry);
    }
    if pre == "fused.types" || pre == "types" || pre.is_empty() {
        if let Some(t) = FusedType::from_name(base) {
            return coerced(Coercion::Fused(t));
        }
        if pre == "fused.types" {
            let names: Vec<&str> = FusedType::ALL.iter().map(|t| t.name()).collect();
            return Treatment::NotCoerced {
                why: format!(
                    "`fused.types` has no `{base}`; it holds {}",
                    names.join(", ")
                ),
            };
        }
    }
    Treatment::NotCoerced {
        why: "it is not a type the SDK converts to".into(),
    }
}

/// Parses annotation source text (e.g. the text of a string annotation) and classifies it.
pub fn treatment_of_source(text: &str) -> Treatment {
    treatment(&TypeExpr::parse_text(text))
}

/// Under `from __future__ import annotations` (and for string annotations) the SDK matches the
/// annotation's text against a fixed list; `None` when the text is not on it.
pub fn future_treatment(text: &str) -> Option<Treatment> {
    let t = text.trim();
    let coerced = |c| {
        Some(Treatment::Coerced {
            coercion: c,
            optional: false,
        })
    };
    let fused_name = t.strip_prefix("fused.types.").unwrap_or(t);
    if let Some(ft) = FusedType::from_name(fused_name) {
        return coerced(Coercion::Fused(ft));
    }
    match t {
        "datetime" | "datetime.datetime" => return coerced(Coercion::Datetime),
        "date" | "datetime.date" => return coerced(Coercion::Date),
        "time" | "datetime.time" => return coerced(Coercion::Time),
        "uuid.UUID" | "UUID" => return coerced(Coercion::Uuid),
        _ => {}
    }
    if t.contains("GeoDataFrame") {
        return coerced(Coercion::GeoDataFrame);
    }
    if t.contains("DataFrame") {
        return coerced(Coercion::DataFrame);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(src: &str) -> Treatment {
        treatment_of_source(src)
    }

    fn coerced(c: Coercion, optional: bool) -> Treatment {
        Treatment::Coerced {
            coercion: c,
            optional,
        }
    }

    #[test]
    fn table_rows() {
        assert_eq!(t("int"), coerced(Coercion::Int, false));
        assert_eq!(t("List[int]"), coerced(Coercion::List, false));
        assert_eq!(t("typing.Dict[str, float]"), coerced(Coercion::Dict, false));
        assert_eq!(t("Optional[int]"), coerced(Coercion::Int, true));
        assert_eq!(t("int | None"), coerced(Coercion::Int, true));
        assert_eq!(t("Union[float, None]"), coerced(Coercion::Float, true));
        assert_eq!(
            t("fused.types.Bounds"),
            coerced(Coercion::Fused(FusedType::Bounds), false)
        );
        assert_eq!(
            t("gpd.GeoDataFrame"),
            coerced(Coercion::GeoDataFrame, false)
        );
        assert_eq!(
            t("shapely.geometry.Polygon"),
            coerced(Coercion::Geometry, false)
        );
        assert_eq!(t("uuid.UUID"), coerced(Coercion::Uuid, false));
        assert_eq!(t("datetime.date"), coerced(Coercion::Date, false));
        assert_eq!(t("Iterable[int]"), Treatment::Iterable);
        assert_eq!(t("Literal['a', 'b']"), Treatment::Passthrough);
        assert!(matches!(t("Literal[1, 2]"), Treatment::NotCoerced { .. }));
        assert!(matches!(
            t("Union[dict, str, None]"),
            Treatment::NotCoerced { .. }
        ));
        assert!(matches!(t("np.ndarray"), Treatment::NotCoerced { .. }));
        assert!(matches!(t("fused.types.Foo"), Treatment::NotCoerced { .. }));
    }

    #[test]
    fn future_list() {
        assert!(future_treatment("int").is_none());
        assert!(future_treatment("List[int]").is_none());
        assert_eq!(
            future_treatment("fused.types.Bounds"),
            Some(coerced(Coercion::Fused(FusedType::Bounds), false))
        );
        assert_eq!(
            future_treatment("Bounds"),
            Some(coerced(Coercion::Fused(FusedType::Bounds), false))
        );
        assert_eq!(
            future_treatment("gpd.GeoDataFrame"),
            Some(coerced(Coercion::GeoDataFrame, false))
        );
        assert_eq!(
            future_treatment("datetime.datetime"),
            Some(coerced(Coercion::Datetime, false))
        );
    }
}
