//! FUSED030–033: the tile receiver and parameter names that clash with runs.

use super::PyContext;
use crate::coercion::{treatment, Treatment};
use crate::diagnostic::{Applicability, Diagnostic, Fix, TextEdit};
use crate::model::{ParamKind, Udf};
use crate::registry::Rule;
use std::ops::Range;
use tree_sitter::Tree;

/// The keywords of `fused.run` (fused 2.9.5, `_run.py`) besides `x`, `y`, `z` (FUSED032), and
/// the two more names the SDK warns about (`self`, `arg_list`).
const RESERVED: &[&str] = &[
    "self",
    "arg_list",
    "sync",
    "engine",
    "instance_type",
    "type",
    "max_retry",
    "cache_max_age",
    "cache",
    "parameters",
    "disk_size_gb",
];

const TILE_TYPES: &str = "`fused.types.Bounds` (list [minx, miny, maxx, maxy]), `Bbox` (shapely box), `Tile`/`TileGDF` (GeoDataFrame with x, y, z) or `TileXYZ` (mercantile tile)";

pub fn check(ctx: &PyContext, out: &mut Vec<Diagnostic>) {
    // The receiver rules only where a tile can arrive: a helper UDF of the file, or the UDF of
    // a File-only package, takes `bounds`/`bbox` as a plain parameter.
    for udf in ctx.tile_udfs() {
        receiver(ctx, udf, out);
    }
    for udf in ctx.udfs() {
        xyz(udf, out);
        for p in udf.params.iter().filter(|p| p.kind == ParamKind::Normal) {
            if RESERVED.contains(&p.name.as_str()) {
                out.push(Diagnostic::new(
                    Rule::ReservedParam,
                    p.name_range.clone(),
                    format!("parameter `{0}` is also a `fused.run` keyword: `{0}=` sets the run, not the UDF, so it can only be passed through `parameters={{\"{0}\": ...}}`; rename it", p.name),
                ));
            }
        }
    }
}

fn receiver(ctx: &PyContext, udf: &Udf, out: &mut Vec<Diagnostic>) {
    let named = udf.param("bounds").or_else(|| udf.param("bbox"));
    let Some(p) = named else { return };
    if p.name == "bbox" {
        let mut diag = Diagnostic::new(
            Rule::BboxDeprecated,
            p.name_range.clone(),
            format!("the tile receiver `bbox` is deprecated; rename it `bounds` (annotate it {TILE_TYPES})"),
        );
        let edits: Vec<TextEdit> = occurrences(ctx, udf.def_range.clone(), "bbox")
            .into_iter()
            .map(|range| TextEdit {
                range,
                new_text: "bounds".into(),
            })
            .collect();
        if !edits.is_empty() && udf.param("bounds").is_none() {
            diag = diag.with_fix(Fix {
                title: "Rename `bbox` to `bounds` in this function".into(),
                edits,
                applicability: Applicability::Unsafe,
            });
        }
        out.push(diag);
    }
    let Some(ann) = &p.annotation else { return };
    if ctx.model.future_annotations.is_some() {
        return;
    }
    if let Treatment::Coerced { coercion, .. } = treatment(&ann.expr) {
        if coercion.crashes_tile_run() {
            out.push(Diagnostic::new(
                Rule::TileReceiverType,
                ann.range.clone(),
                format!("`{}: {}` cannot hold tile bounds and crashes tile runs; annotate it {TILE_TYPES}", p.name, ann.text),
            ));
        } else if coercion.mangles_bounds() {
            out.push(Diagnostic::new(
                Rule::TileReceiverMangled,
                ann.range.clone(),
                format!(
                    "`{}: {}` does not crash a tile run but receives {} instead of the bounds; annotate it {TILE_TYPES}",
                    p.name,
                    ann.text,
                    coercion.mangled_bounds()
                ),
            ));
        }
    }
}

fn xyz(udf: &Udf, out: &mut Vec<Diagnostic>) {
    let (Some(x), Some(_), Some(z)) = (udf.param("x"), udf.param("y"), udf.param("z")) else {
        return;
    };
    let range = x.range.start.min(z.range.start)..x.range.end.max(z.range.end);
    out.push(Diagnostic::new(
        Rule::XyzParams,
        range,
        "parameters `x`, `y`, `z` are clobbered by tile runs and never receive values; take the tile as `bounds: fused.types.TileXYZ` or rename them",
    ));
}

/// Byte ranges of the identifier `name` used as a variable inside `within` (not attribute
/// names, not keyword-argument names), found iteratively.
pub fn occurrences(ctx: &PyContext, within: Range<usize>, name: &str) -> Vec<Range<usize>> {
    match ctx.tree {
        Some(tree) => occurrences_in(tree, ctx.text, within, name),
        None => {
            // A clean file read from Ruff's AST has no tree: parse just the (top-level, valid)
            // function, which is rare (a `bbox` receiver) and cheap.
            let Some(slice) = ctx.text.get(within.clone()) else {
                return vec![];
            };
            let tree = crate::python::parse_tree(slice, None);
            occurrences_in(&tree, slice, 0..slice.len(), name)
                .into_iter()
                .map(|r| r.start + within.start..r.end + within.start)
                .collect()
        }
    }
}

fn occurrences_in(tree: &Tree, text: &str, within: Range<usize>, name: &str) -> Vec<Range<usize>> {
    let root = tree.root_node();
    let Some(node) = root.descendant_for_byte_range(within.start, within.end) else {
        return vec![];
    };
    let mut out = Vec::new();
    let mut cursor = node.walk();
    'outer: loop {
        let n = cursor.node();
        if n.kind() == "identifier" && &text[n.byte_range()] == name {
            let field = cursor.field_name();
            let parent_kind = n.parent().map(|p| p.kind());
            let is_attr_name = parent_kind == Some("attribute") && field == Some("attribute");
            let is_kw_name = parent_kind == Some("keyword_argument") && field == Some("name");
            if !is_attr_name && !is_kw_name {
                out.push(n.byte_range());
            }
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.node() == node {
                break 'outer;
            }
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                break 'outer;
            }
        }
    }
    out
}
