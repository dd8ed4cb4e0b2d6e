//! `textDocument/completion`: `fused.types.` members, `@fused.udf(` keywords, `engine=` values and
//! the annotation types the SDK coerces. Contexts are read from the text before the cursor,
//! because while typing the line rarely parses.

use crate::convert;
use crate::document::DocKind;
use crate::session::Session;
use fused_core::coercion::{Coercion, FusedType};
use fused_core::rules::decorator::{ENGINES, KEYWORDS};
use tower_lsp_server::ls_types::*;

pub const TRIGGERS: &[&str] = &[".", "(", ",", "=", "\"", "'", ":", " "];

pub fn completion(st: &Session, params: &CompletionParams) -> Option<CompletionResponse> {
    let pos = &params.text_document_position;
    let doc = st.docs.get(&pos.text_document.uri)?;
    let offset = convert::offset(&doc.text, &doc.index, pos.position, st.encoding);
    let line_start = doc.index.line_start(doc.index.line_of(offset as u32)) as usize;
    let prefix = &doc.text[line_start..offset];
    if doc.kind == DocKind::MetaJson {
        return meta_items(&doc.text[..offset]).map(CompletionResponse::Array);
    }
    if doc.kind != DocKind::Python {
        return None;
    }
    let items = items_for(prefix)?;
    Some(CompletionResponse::Array(items))
}

fn ident_tail(s: &str) -> &str {
    let start = s
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_'))
        .map(|i| i + 1)
        .unwrap_or(0);
    &s[start..]
}

/// The completion items for the text of the line up to the cursor.
pub fn items_for(prefix: &str) -> Option<Vec<CompletionItem>> {
    let word = ident_tail(prefix);
    let before_word = &prefix[..prefix.len() - word.len()];
    if before_word.ends_with("fused.types.")
        || before_word.trim_end().ends_with("types.") && before_word.contains("fused")
    {
        return Some(FusedType::ALL.iter().map(|t| fused_type_item(*t)).collect());
    }
    if let Some(args) = open_decorator_args(prefix) {
        // `engine=` value, with or without an opening quote.
        let trimmed = args
            .trim_end_matches(|c: char| c.is_alphanumeric() || c == '.' || c == '-' || c == '_');
        let (quoted, before_value) = match trimmed.strip_suffix(['"', '\'']) {
            Some(b) => (true, b),
            None => (false, trimmed),
        };
        if before_value
            .trim_end()
            .strip_suffix('=')
            .is_some_and(|k| k.trim_end().ends_with("engine"))
        {
            return Some(
                ENGINES
                    .iter()
                    .map(|e| CompletionItem {
                        label: (*e).to_string(),
                        kind: Some(CompletionItemKind::VALUE),
                        insert_text: Some(if quoted {
                            (*e).to_string()
                        } else {
                            format!("\"{e}\"")
                        }),
                        detail: Some(engine_detail(e).into()),
                        ..Default::default()
                    })
                    .collect(),
            );
        }
        let last = before_word.trim_end();
        if last.ends_with('(') || last.ends_with(',') {
            return Some(
                KEYWORDS
                    .iter()
                    .filter(|k| **k != "instance_type")
                    .map(|k| CompletionItem {
                        label: format!("{k}="),
                        kind: Some(CompletionItemKind::PROPERTY),
                        insert_text: Some(format!("{k}=")),
                        filter_text: Some((*k).to_string()),
                        detail: Some("@fused.udf keyword".into()),
                        ..Default::default()
                    })
                    .collect(),
            );
        }
        return None;
    }
    if in_annotation(before_word) {
        return Some(annotation_items());
    }
    None
}

/// The text after `@fused.udf(` / `@udf(` when the cursor is still inside its parentheses.
fn open_decorator_args(prefix: &str) -> Option<&str> {
    let t = prefix.trim_start();
    let rest = t.strip_prefix('@')?;
    let open = rest.find('(')?;
    let name = &rest[..open];
    if !(name == "udf" || name.ends_with(".udf")) {
        return None;
    }
    let args = &rest[open + 1..];
    let depth = args.chars().fold(0i32, |d, c| match c {
        '(' | '[' | '{' => d + 1,
        ')' | ']' | '}' => d - 1,
        _ => d,
    });
    (depth >= 0 && !args.contains(')') || depth > 0).then_some(args)
}

/// `name: ` inside a parameter list or an annotated line: the cursor is where a type goes.
fn in_annotation(before_word: &str) -> bool {
    let t = before_word.trim_end();
    let Some(head) = t.strip_suffix(':') else {
        return false;
    };
    let name = ident_tail(head.trim_end());
    if name.is_empty() || name.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return false;
    }
    let before_name = head.trim_end()[..head.trim_end().len() - name.len()].trim_end();
    // A parameter: after `def f(`, after `,`, or alone on a continuation line.
    before_name.is_empty() || before_name.ends_with('(') || before_name.ends_with(',')
}

/// meta.json: keys where a key goes (`{` or `,` then an opening quote), known values after
/// `"type":`, `"fused:udfType":` and `"nodeTemplateType":`.
pub fn meta_items(before: &str) -> Option<Vec<CompletionItem>> {
    let partial_len = before.len()
        - before
            .trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == ':')
            .len();
    let head = &before[..before.len() - partial_len];
    let quoted = head.ends_with('"');
    let head = head.strip_suffix('"').unwrap_or(head).trim_end();
    if let Some(key_part) = head.strip_suffix(':') {
        let key = key_part
            .trim_end()
            .strip_suffix('"')
            .and_then(|k| k.rsplit('"').next())?;
        let values: &[&str] = match key {
            "type" => &["udf", "geopandas_v2"],
            "fused:udfType" => &["auto"],
            "nodeTemplateType" => &["textbox", "json_ui"],
            _ => return None,
        };
        return Some(
            values
                .iter()
                .map(|v| CompletionItem {
                    label: (*v).to_string(),
                    kind: Some(CompletionItemKind::VALUE),
                    insert_text: Some(if quoted {
                        (*v).to_string()
                    } else {
                        format!("\"{v}\"")
                    }),
                    ..Default::default()
                })
                .collect(),
        );
    }
    if !(head.ends_with('{') || head.ends_with(',')) {
        return None;
    }
    Some(
        fused_core::meta_keys::KEYS
            .iter()
            .map(|(k, place, what)| CompletionItem {
                label: (*k).to_string(),
                kind: Some(CompletionItemKind::PROPERTY),
                detail: Some(format!("in {place}")),
                documentation: Some(Documentation::String((*what).to_string())),
                insert_text: Some(if quoted {
                    (*k).to_string()
                } else {
                    format!("\"{k}\"")
                }),
                ..Default::default()
            })
            .collect(),
    )
}

fn fused_type_item(t: FusedType) -> CompletionItem {
    CompletionItem {
        label: t.name().into(),
        kind: Some(CompletionItemKind::CLASS),
        detail: Some(format!("receives {}", t.receives())),
        ..Default::default()
    }
}

fn annotation_items() -> Vec<CompletionItem> {
    let rows: &[(&str, Coercion)] = &[
        ("str", Coercion::Str),
        ("int", Coercion::Int),
        ("float", Coercion::Float),
        ("bool", Coercion::Bool),
        ("list", Coercion::List),
        ("dict", Coercion::Dict),
        ("tuple", Coercion::Tuple),
        ("List[float]", Coercion::List),
        ("Dict[str, str]", Coercion::Dict),
        ("uuid.UUID", Coercion::Uuid),
        ("datetime", Coercion::Datetime),
        ("gpd.GeoDataFrame", Coercion::GeoDataFrame),
        ("pd.DataFrame", Coercion::DataFrame),
        ("fused.types.Bounds", Coercion::Fused(FusedType::Bounds)),
        ("fused.types.Bbox", Coercion::Fused(FusedType::Bbox)),
        ("fused.types.Tile", Coercion::Fused(FusedType::Tile)),
        ("fused.types.TileXYZ", Coercion::Fused(FusedType::TileXYZ)),
    ];
    rows.iter()
        .enumerate()
        .map(|(i, (label, c))| CompletionItem {
            label: (*label).to_string(),
            kind: Some(CompletionItemKind::TYPE_PARAMETER),
            detail: Some(format!("a string argument becomes {}", c.describe())),
            sort_text: Some(format!("{i:02}")),
            ..Default::default()
        })
        .collect()
}

fn engine_detail(e: &str) -> &'static str {
    match e {
        "local" => "run on this machine",
        "remote" => "run on Fused's servers",
        "realtime" => "Fused's realtime engine (the default for HTTP calls)",
        _ => "batch instance type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(prefix: &str) -> Vec<String> {
        items_for(prefix)
            .unwrap_or_default()
            .into_iter()
            .map(|i| i.label)
            .collect()
    }

    #[test]
    fn contexts() {
        assert!(labels("def udf(bounds: fused.types.").contains(&"Bounds".to_string()));
        assert!(labels("def udf(bounds: fused.types.Bo").contains(&"TileXYZ".to_string()));
        assert!(labels("@fused.udf(").contains(&"engine=".to_string()));
        assert!(labels("@fused.udf(engine=\"local\", ca").contains(&"cache_max_age=".to_string()));
        assert!(labels("@fused.udf(engine=").contains(&"realtime".to_string()));
        assert!(labels("@fused.udf(engine=\"m5").contains(&"m5.large".to_string()));
        assert!(labels("def udf(year: ").contains(&"int".to_string()));
        assert!(labels("    year: ").contains(&"int".to_string()));
        assert!(labels("@fused.udf(engine=\"local\")").is_empty());
        assert!(labels("x = {\"a\": ").is_empty());
        assert!(labels("print(").is_empty());
        let meta = |b: &str| {
            meta_items(b)
                .unwrap_or_default()
                .into_iter()
                .map(|i| i.label)
                .collect::<Vec<_>>()
        };
        assert!(
            meta("{\"job_config\": {\"steps\": [{\"type\": \"udf\", \"udf\": {\"entry")
                .contains(&"entrypoint".to_string())
        );
        assert!(meta("{\"a\": 1, \"").contains(&"headers".to_string()));
        assert_eq!(meta("{\"type\": \""), vec!["udf", "geopandas_v2"]);
        assert!(meta("{\"name\": \"x").is_empty());
    }
}
