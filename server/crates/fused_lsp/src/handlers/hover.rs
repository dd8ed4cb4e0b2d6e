//! `textDocument/hover`: what a parameter receives on a run, the tile receiver, `fused.types`
//! members, decorator keywords, and the doc of a rule code in `# noqa:`.

use crate::convert;
use crate::document::DocKind;
use crate::session::Session;
use fused_core::coercion::{future_treatment, treatment, FusedType, Treatment};
use fused_core::model::ParamKind;
use fused_core::Rule;
use tower_lsp_server::ls_types::*;

pub fn hover(st: &Session, params: &HoverParams) -> Option<Hover> {
    let pos = &params.text_document_position_params;
    let doc = st.docs.get(&pos.text_document.uri)?;
    let text = &doc.text;
    let offset = convert::offset(text, &doc.index, pos.position, st.encoding);
    if doc.kind == DocKind::MetaJson {
        let (range, key) = json_string_at(text, offset)?;
        let (place, what) = fused_core::meta_keys::doc(key)?;
        return Some(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: format!("**\"{key}\"** (in {place})\n\n{what}"),
            }),
            range: Some(convert::range(text, &doc.index, &range, st.encoding)),
        });
    }
    if doc.kind != DocKind::Python {
        return None;
    }
    let (word_range, word) = word_at(text, offset)?;
    let markdown = |value: String| Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value,
        }),
        range: Some(convert::range(text, &doc.index, &word_range, st.encoding)),
    };
    // A rule code (in `# noqa: FUSED020`, or anywhere).
    if let Some(rule) =
        Rule::from_code(word).filter(|_| word.to_ascii_uppercase().starts_with("FUSED"))
    {
        return Some(markdown(rule.doc_markdown()));
    }
    let model = doc.model();
    let future = model.future_annotations.is_some();
    for udf in st.udfs_of(doc.path.as_deref(), model) {
        for p in udf.params.iter().filter(|p| p.kind == ParamKind::Normal) {
            if p.name_range.contains(&offset) || p.name_range.end == offset {
                return Some(markdown(param_doc(udf, p, future)));
            }
        }
        if udf.decorator_range.contains(&offset) {
            if let Some(kw) = udf.keywords.iter().find(|k| k.name_range.contains(&offset)) {
                return keyword_doc(&kw.name).map(markdown);
            }
        }
    }
    // `fused.types.X`
    let before = &text[..word_range.start];
    if before.ends_with("types.") {
        if let Some(t) = FusedType::from_name(word) {
            return Some(markdown(format!(
                "**fused.types.{}**\n\nA parameter annotated with it receives {}.",
                t.name(),
                t.receives()
            )));
        }
    }
    None
}

/// The JSON string literal (its content) around `offset`, on one line.
pub fn json_string_at(text: &str, offset: usize) -> Option<(std::ops::Range<usize>, &str)> {
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text[offset..]
        .find('\n')
        .map(|i| offset + i)
        .unwrap_or(text.len());
    // Quotes before the cursor on this line, unescaped: an odd count means we are inside one.
    let quotes: Vec<usize> = text[line_start..line_end]
        .char_indices()
        .filter(|(i, c)| *c == '"' && !text[line_start..line_start + i].ends_with('\\'))
        .map(|(i, _)| line_start + i)
        .collect();
    let before = quotes.iter().filter(|q| **q < offset).count();
    if before % 2 == 0 {
        // On the opening quote itself.
        let open = *quotes.iter().find(|q| **q == offset)?;
        let close = *quotes.iter().find(|q| **q > open)?;
        return Some((open..close + 1, &text[open + 1..close]));
    }
    let open = *quotes.iter().rev().find(|q| **q < offset)?;
    let close = *quotes.iter().find(|q| **q >= offset)?;
    Some((open..close + 1, &text[open + 1..close]))
}

fn word_at(text: &str, offset: usize) -> Option<(std::ops::Range<usize>, &str)> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut start = offset.min(text.len());
    while start > 0 && !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = start;
    while let Some(c) = text[end..].chars().next().filter(|c| is_word(*c)) {
        end += c.len_utf8();
    }
    while let Some(c) = text[..start].chars().next_back().filter(|c| is_word(*c)) {
        start -= c.len_utf8();
    }
    (start < end).then(|| (start..end, &text[start..end]))
}

fn param_doc(udf: &fused_core::model::Udf, p: &fused_core::model::Param, future: bool) -> String {
    let mut out = format!("**{}**", p.name);
    let receives = match &p.annotation {
        None => {
            out.push_str(" (no annotation)");
            "the string as it is (no coercion)".to_string()
        }
        Some(ann) => {
            out.push_str(&format!(": `{}`", ann.text));
            let t = if future {
                future_treatment(&ann.text).unwrap_or(Treatment::NotCoerced {
                    why: "under `from __future__ import annotations` the SDK does not coerce it"
                        .into(),
                })
            } else {
                treatment(&ann.expr)
            };
            match t {
                Treatment::Coerced { coercion, optional } => {
                    format!("{}{}", coercion.describe(), if optional { "; `None` stays `None`" } else { "" })
                }
                Treatment::Passthrough | Treatment::Unannotated => "the string as it is".into(),
                Treatment::Iterable => "the string as it is: fused 2.9.5 does not coerce `Iterable` (documented, but a bug)".into(),
                Treatment::NotCoerced { why } => format!("the string as it is: {why}"),
            }
        }
    };
    out.push_str(&format!(
        "\n\nA string argument (HTTP, Workbench, `fused.run`) becomes: {receives}."
    ));
    if udf.tile_receiver().is_some_and(|r| r.name == p.name)
        && matches!(p.name.as_str(), "bounds" | "bbox")
    {
        out.push_str("\n\n**Tile mode:** this parameter receives the tile bounds.");
    }
    out
}

fn keyword_doc(name: &str) -> Option<String> {
    let doc = match name {
        "name" => "The UDF's name (defaults to the function's name).",
        "cache_max_age" => "How long results are cached: a number and one unit, `s`, `m`, `h` or `d` (`\"30m\"`, `\"2d\"`).",
        "engine" => "Where the UDF runs: `\"local\"`, `\"remote\"`, `\"realtime\"`, or a batch instance type (`\"m5.large\"`, `\"t3.small\"`, `\"c2-standard-4\"`...).",
        "instance_type" => "Deprecated: use `engine`.",
        "disk_size_gb" => "Disk size of a batch instance, in GB.",
        "region" => "Cloud region of a batch run.",
        "default_parameters" => "A dict of parameter names to default values.",
        "headers" => "Helper modules made importable to the UDF.",
        _ => return None,
    };
    Some(format!("**@fused.udf({name}=...)**\n\n{doc}"))
}
