//! The rows the runner hands over for GeoJSON and vector tiles (its `_write_features`): one
//! file, `<path>.feat`: the magic `FLSFEAT1`, a little-endian u32 header length, a JSON header
//! (the row count and, for each part, `[offset, length]` of its bytes after the header), then the
//! parts. Geometries come as `simple` (a type per row, its coordinate count, all coordinates as
//! f64 pairs: points, lines and polygons without holes) or `wkb` (each row's 2-D WKB); columns
//! as little-endian arrays (numbers) or a JSON list (anything else); ids as a range or a JSON
//! list. Read into [`Rows`] (whole columns, no per-row JSON), then written as GeoJSON here or
//! encoded as a vector tile (`vector_tile`).

use serde_json::Value;
use std::path::Path;

pub type Pt = (f64, f64);

/// A geometry as the Simple Features (and GeoJSON) shape it, in lon/lat.
#[derive(Debug, Clone, PartialEq)]
pub enum Geom {
    Point(Pt),
    MultiPoint(Vec<Pt>),
    LineString(Vec<Pt>),
    MultiLineString(Vec<Vec<Pt>>),
    Polygon(Vec<Vec<Pt>>),
    MultiPolygon(Vec<Vec<Vec<Pt>>>),
    Collection(Vec<Geom>),
}

/// One property column, whole.
#[derive(Debug)]
pub enum Values {
    /// NaN and infinities are missing values (JSON null, no MVT tag).
    F64(Vec<f64>),
    I64(Vec<i64>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
    /// Anything else, as pandas wrote it to JSON (strings, dates, nulls, objects).
    Json(Vec<Value>),
}

#[derive(Debug)]
pub struct Column {
    pub name: String,
    pub values: Values,
}

#[derive(Debug)]
enum Ids {
    /// A RangeIndex: row `i` is `start + i * step`.
    Range(i64, i64),
    List(Vec<String>),
}

#[derive(Debug)]
enum Geoms {
    Simple {
        types: Vec<u8>,
        /// Where each row's coordinates start in `coords` (in points), and one past the last.
        starts: Vec<usize>,
        /// Where the f64 pairs are in [`Rows::bytes`]: read where used (no copy of a tile's
        /// megabytes).
        coords: std::ops::Range<usize>,
    },
    Wkb {
        /// Where each row's WKB starts in [`Rows::bytes`], and one past the last; equal
        /// bounds: none.
        starts: Vec<usize>,
    },
}

/// A GeoDataFrame's rows as the runner handed them over.
#[derive(Debug)]
pub struct Rows {
    /// The file as read.
    bytes: Vec<u8>,
    pub len: usize,
    ids: Ids,
    geoms: Geoms,
    pub columns: Vec<Column>,
}

const MAGIC: &[u8] = b"FLSFEAT1";

/// Reads `<base>.feat`; `None` when the runner wrote nothing (the result is not a GeoDataFrame).
pub fn read(base: &Path) -> Result<Option<Rows>, String> {
    let Ok(bytes) = std::fs::read(base.with_extension("feat")) else {
        return Ok(None);
    };
    parse(bytes).map(Some)
}

fn parse(bytes: Vec<u8>) -> Result<Rows, String> {
    let bad = |what: &str| format!("the runner's features file is unreadable: {what}");
    if bytes.get(..MAGIC.len()) != Some(MAGIC) || bytes.len() < MAGIC.len() + 4 {
        return Err(bad("no header"));
    }
    let hlen = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let body_at = 12usize.checked_add(hlen).filter(|e| *e <= bytes.len());
    let body_at = body_at.ok_or_else(|| bad("a truncated header"))?;
    let header: Value =
        serde_json::from_slice(&bytes[12..body_at]).map_err(|e| bad(&e.to_string()))?;
    // A part's bytes, by its `[offset, length]` after the header.
    let place = |v: &Value| -> Result<std::ops::Range<usize>, String> {
        let at = v[0].as_u64().zip(v[1].as_u64());
        let (at, n) = at.ok_or_else(|| bad("a part without its place"))?;
        let start = body_at.checked_add(at as usize);
        let end = start.and_then(|a| a.checked_add(n as usize));
        match (start, end) {
            (Some(a), Some(e)) if e <= bytes.len() => Ok(a..e),
            _ => Err(bad("a part past the end")),
        }
    };
    let part = |v: &Value| -> Result<&[u8], String> { Ok(&bytes[place(v)?]) };
    let len = header["rows"].as_u64().ok_or_else(|| bad("no row count"))? as usize;
    let sized = |b: &[u8], each: usize, what: &str| -> Result<(), String> {
        if b.len() == len.saturating_mul(each) {
            Ok(())
        } else {
            Err(bad(&format!("{what}: {} bytes for {len} rows", b.len())))
        }
    };
    let g = &header["geometry"];
    let geoms = match g["kind"].as_str() {
        Some("simple") => {
            let types = part(&g["types"])?.to_vec();
            sized(&types, 1, "types")?;
            let counts = part(&g["counts"])?;
            sized(counts, 4, "counts")?;
            let coords = place(&g["coords"])?;
            let mut starts = Vec::with_capacity(len + 1);
            let mut at = 0usize;
            starts.push(0);
            for c in counts.chunks_exact(4) {
                at = at.saturating_add(u32::from_le_bytes(c.try_into().expect("4 bytes")) as usize);
                starts.push(at);
            }
            if at.checked_mul(16) != Some(coords.len()) {
                return Err(bad("coordinate counts that do not add up"));
            }
            Geoms::Simple {
                types,
                starts,
                coords,
            }
        }
        Some("wkb") => {
            let lengths = part(&g["lengths"])?;
            sized(lengths, 4, "lengths")?;
            let data = place(&g["data"])?;
            let mut starts = Vec::with_capacity(len + 1);
            let mut at = data.start;
            starts.push(at);
            for c in lengths.chunks_exact(4) {
                at = at.saturating_add(u32::from_le_bytes(c.try_into().expect("4 bytes")) as usize);
                starts.push(at);
            }
            if at != data.end {
                return Err(bad("WKB lengths that do not add up"));
            }
            Geoms::Wkb { starts }
        }
        _ => return Err(bad("an unknown geometry layout")),
    };
    let mut columns = Vec::new();
    for c in header["columns"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let name = c["name"].as_str().unwrap_or_default().to_string();
        let b = part(&c["data"])?;
        let words = |b: &[u8]| -> Result<Vec<[u8; 8]>, String> {
            sized(b, 8, &name)?;
            Ok(b.chunks_exact(8)
                .map(|w| w.try_into().expect("8 bytes"))
                .collect())
        };
        let values = match c["kind"].as_str() {
            Some("f64") => Values::F64(words(b)?.into_iter().map(f64::from_le_bytes).collect()),
            Some("i64") => Values::I64(words(b)?.into_iter().map(i64::from_le_bytes).collect()),
            Some("u64") => Values::U64(words(b)?.into_iter().map(u64::from_le_bytes).collect()),
            Some("bool") => {
                sized(b, 1, &name)?;
                Values::Bool(b.iter().map(|v| *v != 0).collect())
            }
            Some("json") => {
                let list: Vec<Value> =
                    serde_json::from_slice(b).map_err(|e| bad(&e.to_string()))?;
                if list.len() != len {
                    return Err(bad(&format!(
                        "{} values of `{name}` for {len} rows",
                        list.len()
                    )));
                }
                Values::Json(list)
            }
            other => return Err(bad(&format!("a column of kind {other:?}"))),
        };
        columns.push(Column { name, values });
    }
    let ids = &header["ids"];
    let ids = if let (Some(start), Some(step)) = (ids["start"].as_i64(), ids["step"].as_i64()) {
        Ids::Range(start, step)
    } else {
        let list: Vec<String> =
            serde_json::from_slice(part(&ids["json"])?).map_err(|e| bad(&e.to_string()))?;
        if list.len() != len {
            return Err(bad("ids that are not one a row"));
        }
        Ids::List(list)
    };
    Ok(Rows {
        bytes,
        len,
        ids,
        geoms,
        columns,
    })
}

impl Rows {
    /// Row `i`'s geometry; `None` when it has none (missing, or an empty point).
    pub fn geometry(&self, i: usize) -> Result<Option<Geom>, String> {
        match &self.geoms {
            Geoms::Simple {
                types,
                starts,
                coords,
            } => {
                let at = coords.start;
                let pts: Vec<Pt> = self.bytes[at + starts[i] * 16..at + starts[i + 1] * 16]
                    .chunks_exact(16)
                    .map(|c| {
                        let f = |b: &[u8]| f64::from_le_bytes(b.try_into().expect("8 bytes"));
                        (f(&c[..8]), f(&c[8..]))
                    })
                    .collect();
                Ok(match types[i] {
                    1 => pts
                        .first()
                        .filter(|p| !p.0.is_nan() && !p.1.is_nan())
                        .map(|p| Geom::Point(*p)),
                    2 => Some(Geom::LineString(pts)),
                    3 if pts.is_empty() => Some(Geom::Polygon(Vec::new())),
                    3 => Some(Geom::Polygon(vec![pts])),
                    _ => None,
                })
            }
            Geoms::Wkb { starts } => {
                let (a, b) = (starts[i], starts[i + 1]);
                if a == b {
                    return Ok(None);
                }
                Reader {
                    b: &self.bytes[..b],
                    at: a,
                }
                .geometry(0)
            }
        }
    }

    /// Row `i`'s id as GeoJSON writes it: the index value as a JSON string.
    fn id_json(&self, i: usize, out: &mut String) {
        match &self.ids {
            Ids::Range(start, step) => {
                out.push('"');
                // (In i128: a range near i64's ends must not overflow.)
                out.push_str(&(*start as i128 + *step as i128 * i as i128).to_string());
                out.push('"');
            }
            Ids::List(l) => out.push_str(&Value::from(l[i].as_str()).to_string()),
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let s = self
            .b
            .get(self.at..self.at + N)
            .ok_or("a truncated WKB geometry")?;
        self.at += N;
        Ok(s.try_into().expect("N bytes"))
    }

    fn u32(&mut self, le: bool) -> Result<u32, String> {
        let b = self.take::<4>()?;
        Ok(if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn f64(&mut self, le: bool) -> Result<f64, String> {
        let b = self.take::<8>()?;
        Ok(if le {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    }

    fn pt(&mut self, le: bool) -> Result<Pt, String> {
        Ok((self.f64(le)?, self.f64(le)?))
    }

    /// A count, checked against the bytes left (each item takes at least `min` bytes), so a
    /// corrupt count cannot ask for a huge allocation.
    fn count(&mut self, le: bool, min: usize) -> Result<usize, String> {
        let n = self.u32(le)? as usize;
        if n.saturating_mul(min) > self.b.len() - self.at {
            return Err("a WKB count larger than its data".into());
        }
        Ok(n)
    }

    fn points(&mut self, le: bool) -> Result<Vec<Pt>, String> {
        let n = self.count(le, 16)?;
        (0..n).map(|_| self.pt(le)).collect()
    }

    fn rings(&mut self, le: bool) -> Result<Vec<Vec<Pt>>, String> {
        let n = self.count(le, 4)?;
        (0..n).map(|_| self.points(le)).collect()
    }

    /// One WKB geometry (2-D: the runner asks shapely for `output_dimension=2`). `None` for an
    /// empty point (NaN coordinates).
    fn geometry(&mut self, depth: u32) -> Result<Option<Geom>, String> {
        if depth > 32 {
            return Err("WKB nested too deep".into());
        }
        let le = self.take::<1>()?[0] == 1;
        let kind = self.u32(le)?;
        let parts = |r: &mut Self, min| -> Result<Vec<Geom>, String> {
            let n = r.count(le, min)?;
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                if let Some(g) = r.geometry(depth + 1)? {
                    out.push(g);
                }
            }
            Ok(out)
        };
        Ok(Some(match kind {
            1 => {
                let p = self.pt(le)?;
                if p.0.is_nan() || p.1.is_nan() {
                    return Ok(None);
                }
                Geom::Point(p)
            }
            2 => Geom::LineString(self.points(le)?),
            3 => Geom::Polygon(self.rings(le)?),
            4 => Geom::MultiPoint(
                parts(self, 21)?
                    .into_iter()
                    .filter_map(|g| match g {
                        Geom::Point(p) => Some(p),
                        _ => None,
                    })
                    .collect(),
            ),
            5 => Geom::MultiLineString(
                parts(self, 9)?
                    .into_iter()
                    .filter_map(|g| match g {
                        Geom::LineString(l) => Some(l),
                        _ => None,
                    })
                    .collect(),
            ),
            6 => Geom::MultiPolygon(
                parts(self, 9)?
                    .into_iter()
                    .filter_map(|g| match g {
                        Geom::Polygon(p) => Some(p),
                        _ => None,
                    })
                    .collect(),
            ),
            7 => Geom::Collection(parts(self, 5)?),
            other => return Err(format!("WKB geometry type {other} is not read")),
        }))
    }
}

/// A finite number with ryu (serde_json's float writer: twice as fast as `{:?}`), else `null`.
fn float(out: &mut String, v: f64) {
    if v.is_finite() {
        out.push_str(ryu::Buffer::new().format_finite(v));
    } else {
        out.push_str("null");
    }
}

/// A coordinate as the runner's GeoJSON writes it: rounded to 7 decimal places (≈1 cm).
fn num(out: &mut String, v: f64) {
    float(out, (v * 1e7).round() / 1e7);
}

fn pt(out: &mut String, p: Pt) {
    out.push('[');
    num(out, p.0);
    out.push(',');
    num(out, p.1);
    out.push(']');
}

fn list<T>(out: &mut String, items: &[T], mut each: impl FnMut(&mut String, &T)) {
    out.push('[');
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(out, x);
    }
    out.push(']');
}

fn geometry_json(out: &mut String, g: &Geom) {
    let kind = match g {
        Geom::Point(_) => "Point",
        Geom::MultiPoint(_) => "MultiPoint",
        Geom::LineString(_) => "LineString",
        Geom::MultiLineString(_) => "MultiLineString",
        Geom::Polygon(_) => "Polygon",
        Geom::MultiPolygon(_) => "MultiPolygon",
        Geom::Collection(gs) => {
            out.push_str("{\"type\":\"GeometryCollection\",\"geometries\":");
            list(out, gs, geometry_json);
            out.push('}');
            return;
        }
    };
    out.push_str("{\"type\":\"");
    out.push_str(kind);
    out.push_str("\",\"coordinates\":");
    let line = |o: &mut String, l: &Vec<Pt>| list(o, l, |o, p| pt(o, *p));
    let rings = |o: &mut String, rs: &Vec<Vec<Pt>>| list(o, rs, line);
    match g {
        Geom::Point(p) => pt(out, *p),
        Geom::MultiPoint(ps) | Geom::LineString(ps) => line(out, ps),
        Geom::MultiLineString(ls) | Geom::Polygon(ls) => rings(out, ls),
        Geom::MultiPolygon(ps) => list(out, ps, rings),
        Geom::Collection(_) => {}
    }
    out.push('}');
}

/// Row `i`'s value of a column as JSON.
fn value_json(out: &mut String, v: &Values, i: usize) {
    use std::fmt::Write;
    match v {
        Values::F64(v) => float(out, v[i]),
        Values::I64(v) => {
            let _ = write!(out, "{}", v[i]);
        }
        Values::U64(v) => {
            let _ = write!(out, "{}", v[i]);
        }
        Values::Bool(v) => out.push_str(if v[i] { "true" } else { "false" }),
        Values::Json(v) => out.push_str(&v[i].to_string()),
    }
}

/// The rows as a GeoJSON FeatureCollection, shaped as the runner's `result.geojson`.
pub fn geojson(rows: &Rows) -> Result<String, String> {
    // `"name":` of every column, escaped once.
    let keys: Vec<String> = rows
        .columns
        .iter()
        .map(|c| format!("{}:", Value::from(c.name.as_str())))
        .collect();
    let mut out = String::with_capacity(rows.len * 256);
    out.push_str("{\"type\":\"FeatureCollection\",\"features\":[");
    for i in 0..rows.len {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"id\":");
        rows.id_json(i, &mut out);
        out.push_str(",\"type\":\"Feature\",\"properties\":{");
        for (k, (key, c)) in keys.iter().zip(&rows.columns).enumerate() {
            if k > 0 {
                out.push(',');
            }
            out.push_str(key);
            value_json(&mut out, &c.values, i);
        }
        out.push_str("},\"geometry\":");
        match rows.geometry(i)? {
            Some(g) => geometry_json(&mut out, &g),
            None => out.push_str("null"),
        }
        out.push('}');
    }
    out.push_str("]}");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wkb_point(le: bool, x: f64, y: f64) -> Vec<u8> {
        let mut v = vec![u8::from(le)];
        let e = |n: u32| if le { n.to_le_bytes() } else { n.to_be_bytes() };
        let f = |n: f64| if le { n.to_le_bytes() } else { n.to_be_bytes() };
        v.extend(e(1));
        v.extend(f(x));
        v.extend(f(y));
        v
    }

    #[test]
    fn points_in_both_byte_orders_and_bad_counts() {
        for le in [true, false] {
            let b = wkb_point(le, -74.5, 40.25);
            let mut r = Reader { b: &b, at: 0 };
            assert_eq!(r.geometry(0).unwrap(), Some(Geom::Point((-74.5, 40.25))));
        }
        // A line claiming a billion points in 20 bytes: refused, not allocated.
        let mut b = vec![1u8];
        b.extend(2u32.to_le_bytes());
        b.extend(1_000_000_000u32.to_le_bytes());
        b.extend([0u8; 16]);
        assert!(Reader { b: &b, at: 0 }.geometry(0).is_err());
    }

    /// A features file as the runner writes it.
    fn file(header: Value, body: &[u8]) -> Vec<u8> {
        let h = header.to_string();
        let mut out = MAGIC.to_vec();
        out.extend((h.len() as u32).to_le_bytes());
        out.extend(h.as_bytes());
        out.extend(body);
        out
    }

    #[test]
    fn simple_rows_with_columns_as_geojson() {
        let mut body = vec![2u8];
        body.extend(2u32.to_le_bytes());
        for v in [1.123456789f64, 2.0, 3.5, -4.00000004] {
            body.extend(v.to_le_bytes());
        }
        body.extend(7i64.to_le_bytes());
        body.extend(f64::NAN.to_le_bytes());
        body.extend(br#"[{"a":[1]}]"#);
        let header = serde_json::json!({"rows": 1,
            "geometry": {"kind": "simple", "types": [0, 1], "counts": [1, 4], "coords": [5, 32]},
            "columns": [{"name": "n", "kind": "i64", "data": [37, 8]},
                        {"name": "f", "kind": "f64", "data": [45, 8]},
                        {"name": "o\"", "kind": "json", "data": [53, 11]}],
            "ids": {"start": 5, "step": 2}});
        let rows = parse(file(header, &body)).unwrap();
        assert_eq!(
            geojson(&rows).unwrap(),
            r#"{"type":"FeatureCollection","features":[{"id":"5","type":"Feature","properties":{"n":7,"f":null,"o\"":{"a":[1]}},"geometry":{"type":"LineString","coordinates":[[1.1234568,2.0],[3.5,-4.0]]}}]}"#
        );
    }

    /// A RangeIndex near i64's end: the second row's id is past it, written exactly (it was an
    /// overflow: a panic, so a 500, in a debug build).
    #[test]
    fn range_ids_past_i64_are_written_exactly() {
        // Two rows without a geometry: types 0, no coordinates.
        let body = [0u8; 10];
        let header = serde_json::json!({"rows": 2,
            "geometry": {"kind": "simple", "types": [0, 2], "counts": [2, 8], "coords": [10, 0]},
            "columns": [], "ids": {"start": i64::MAX, "step": i64::MAX}});
        let rows = parse(file(header, &body)).unwrap();
        let out = geojson(&rows).unwrap();
        assert!(
            out.contains(&format!("\"id\":\"{}\"", i64::MAX as i128 * 2)),
            "{out}"
        );
    }

    #[test]
    fn truncated_or_inconsistent_files_are_errors() {
        assert!(parse(b"FLSFEAT1".to_vec()).is_err());
        let header = serde_json::json!({"rows": 2,
            "geometry": {"kind": "wkb", "lengths": [0, 8], "data": [8, 0]},
            "columns": [], "ids": {"start": 0, "step": 1}});
        // Lengths of 21 and 0 bytes, with no WKB data behind them.
        let mut body = 21u32.to_le_bytes().to_vec();
        body.extend(0u32.to_le_bytes());
        assert!(parse(file(header, &body)).is_err());
    }
}
