//! meta.json: a strict JSON read with byte ranges for every value the rules point at.
//!
//! `serde_json` decides validity (it is as strict as the SDK's reader and stops at a nesting
//! limit instead of overflowing the stack) and gives the error position; `jsonc-parser` (in its
//! strict mode) then gives the ranges.

use jsonc_parser::ast::{Object, Value};
use jsonc_parser::common::Ranged;
use jsonc_parser::{CollectOptions, ParseOptions};
use std::ops::Range;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    /// The JSON value, quotes included for strings.
    pub range: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub module_name: Option<Spanned<String>>,
    pub source_file: Option<Spanned<String>>,
    pub range: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MetaUdf {
    pub entrypoint: Option<Spanned<String>>,
    pub name: Option<Spanned<String>>,
    pub source: Option<Spanned<String>>,
    pub code: Option<Spanned<String>>,
    /// `metadata["fused:name"]` and `metadata["fused:slug"]`, which name the UDF too.
    pub metadata_names: Vec<Spanned<String>>,
    /// `metadata["fused:udfType"]`: `vector_single`/`vector_single_none` mark a File-only UDF.
    pub udf_type: Option<Spanned<String>>,
    pub headers: Vec<Header>,
    /// The `headers` array, when present.
    pub headers_range: Option<Range<usize>>,
    /// The `udf` object.
    pub range: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub range: Range<usize>,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::large_enum_variant)] // Parsed once per file; boxing buys nothing.
pub enum MetaParse {
    /// Not JSON: where and why.
    Invalid {
        range: Range<usize>,
        message: String,
    },
    Parsed(Meta),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    pub udf: Option<MetaUdf>,
    pub shape_errors: Vec<ShapeError>,
    /// A canvas node (`isNodeTemplate: true`): its `.py` is prose or JSON, not Python.
    pub is_node_template: bool,
    /// Keys given again later in the same object (FUSED067). Every value above is read from a
    /// key's last occurrence, as Python's `json` (the SDK's reader) keeps the last one.
    pub duplicate_keys: Vec<DuplicateKey>,
}

/// A key that occurs again later in its object: this (earlier, ignored) occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    pub key: String,
    /// The key's name, quotes included.
    pub range: Range<usize>,
    /// The occurrence the SDK reads (the last), its name.
    pub kept: Range<usize>,
}

pub fn parse(text: &str) -> MetaParse {
    // Python's `json.loads(bytes)` accepts a UTF-8 byte-order mark; three spaces in its place
    // keep every byte offset.
    let unbommed;
    let text = match text.strip_prefix('\u{feff}') {
        Some(rest) => {
            unbommed = format!("   {rest}");
            unbommed.as_str()
        }
        None => text,
    };
    // Python's `json` writes and reads `NaN`, `Infinity` and `-Infinity`; a number of the same
    // length in their place keeps every byte offset for the strict parsers below.
    let finite;
    let text = match mask_non_finite(text) {
        Some(masked) => {
            finite = masked;
            finite.as_str()
        }
        None => text,
    };
    if text.trim().is_empty() {
        return MetaParse::Invalid {
            range: 0..text.len(),
            message: "meta.json is empty; it needs at least `{\"job_config\":{\"steps\":[{\"type\":\"udf\",\"udf\":{\"entrypoint\":\"udf\",\"source\":\"<name>.py\",\"headers\":[]}}]}}`".into(),
        };
    }
    if let Err(err) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        let offset = offset_of(text, err.line(), err.column());
        let end = next_char_end(text, offset);
        let msg = err.to_string();
        // serde_json appends " at line L column C"; the range already says where.
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        // A trailing comma is the commonest hand-edit mistake: name it and point at the comma.
        if matches!(text[offset..].chars().next(), Some(']' | '}')) {
            let before = text[..offset].trim_end();
            if before.ends_with(',') {
                let comma = before.len() - 1;
                return MetaParse::Invalid {
                    range: comma..comma + 1,
                    message: "Invalid JSON: trailing comma; remove it (JSON allows no comma before `]` or `}`)".into(),
                };
            }
        }
        return MetaParse::Invalid {
            range: offset..end,
            message: format!("Invalid JSON: {msg}"),
        };
    }
    let options = ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    };
    match jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &options) {
        Ok(result) => match result.value {
            Some(mut value) => {
                let mut duplicates = Vec::new();
                keep_last(&mut value, &mut duplicates);
                let mut meta = read_meta(&value);
                meta.duplicate_keys = duplicates;
                MetaParse::Parsed(meta)
            }
            None => MetaParse::Invalid {
                range: 0..text.len(),
                message: "meta.json holds no JSON value".into(),
            },
        },
        Err(err) => {
            let r = err.range();
            MetaParse::Invalid {
                range: r.start..r.end,
                message: format!("Invalid JSON: {}", err.kind()),
            }
        }
    }
}

/// `text` with each `NaN`/`Infinity` outside strings replaced by a number of the same length
/// (`0e0`, `0.000000`); `None` when there is none.
fn mask_non_finite(text: &str) -> Option<String> {
    if !text.contains("NaN") && !text.contains("Infinity") {
        return None;
    }
    let bytes = text.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else {
            for (token, number) in [("NaN", "0e0"), ("Infinity", "0.000000")] {
                if bytes[i..].starts_with(token.as_bytes()) {
                    let buf = out.get_or_insert_with(|| bytes.to_vec());
                    buf[i..i + token.len()].copy_from_slice(number.as_bytes());
                    i += token.len() - 1;
                    break;
                }
            }
        }
        i += 1;
    }
    // Only ASCII bytes were replaced by ASCII bytes: still UTF-8.
    out.map(|b| String::from_utf8(b).expect("ASCII replaced by ASCII"))
}

/// serde_json's 1-based line and column (counted in bytes) to a byte offset.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line.max(1) {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let mut off = (start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(off) {
        off -= 1;
    }
    off
}

fn next_char_end(text: &str, offset: usize) -> usize {
    text[offset..]
        .chars()
        .next()
        .map(|c| offset + c.len_utf8())
        .unwrap_or(offset)
}

/// Drops every property whose key occurs again later in the same object, everywhere in
/// `value`, recording each dropped one: jsonc-parser's lookups return a key's first occurrence,
/// the SDK reads its last. Recursion is bounded: serde_json has already refused nesting deeper
/// than 128.
fn keep_last(value: &mut Value, duplicates: &mut Vec<DuplicateKey>) {
    match value {
        Value::Object(obj) => {
            let props = &mut obj.properties;
            // Linear, for objects with many keys (a large `parameters`).
            let last: std::collections::HashMap<&str, usize> = props
                .iter()
                .enumerate()
                .map(|(i, p)| (p.name.as_str(), i))
                .collect();
            let keep: Vec<bool> = props
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let kept = last[p.name.as_str()];
                    if kept != i {
                        duplicates.push(DuplicateKey {
                            key: p.name.as_str().to_string(),
                            range: range(&p.name),
                            kept: range(&props[kept].name),
                        });
                    }
                    kept == i
                })
                .collect();
            let mut k = keep.iter();
            props.retain(|_| *k.next().expect("one flag per property"));
            for p in props.iter_mut() {
                keep_last(&mut p.value, duplicates);
            }
        }
        Value::Array(arr) => {
            for v in arr.elements.iter_mut() {
                keep_last(v, duplicates);
            }
        }
        _ => {}
    }
}

fn range(r: &impl Ranged) -> Range<usize> {
    let r = r.range();
    r.start..r.end
}

fn string(obj: &Object, key: &str) -> Option<Spanned<String>> {
    obj.get_string(key).map(|s| Spanned {
        value: s.value.to_string(),
        range: range(s),
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::StringLit(_) => "a string",
        Value::NumberLit(_) => "a number",
        Value::BooleanLit(_) => "a boolean",
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        Value::NullKeyword(_) => "null",
    }
}

fn read_meta(root: &Value) -> Meta {
    let mut meta = Meta::default();
    let mut err = |range: Range<usize>, message: String| {
        meta.shape_errors.push(ShapeError { range, message })
    };
    let Value::Object(root_obj) = root else {
        err(
            range(root),
            format!(
                "meta.json must be an object with `job_config`, not {}",
                kind(root)
            ),
        );
        return meta;
    };
    let top_template = root_obj
        .get_object("metadata")
        .and_then(|m| m.get_boolean("isNodeTemplate"))
        .map(|b| b.value)
        .unwrap_or(false);
    let Some(job) = root_obj.get("job_config") else {
        err(range(root), "meta.json has no `job_config`; add `\"job_config\": {\"steps\": [{\"type\": \"udf\", \"udf\": {...}}]}`".into());
        meta.is_node_template = top_template;
        return meta;
    };
    let Value::Object(job) = &job.value else {
        err(
            range(&job.value),
            format!("`job_config` must be an object, not {}", kind(&job.value)),
        );
        return meta;
    };
    let Some(steps) = job.get("steps") else {
        err(
            range(job),
            "`job_config` has no `steps`; add a list with one step of type \"udf\"".into(),
        );
        return meta;
    };
    let Value::Array(steps) = &steps.value else {
        err(
            range(&steps.value),
            format!(
                "`steps` must be a list with one step, not {}",
                kind(&steps.value)
            ),
        );
        return meta;
    };
    if steps.elements.len() != 1 {
        err(
            range(steps),
            format!(
                "`steps` must hold exactly one step of type \"udf\"; it holds {}",
                steps.elements.len()
            ),
        );
        if steps.elements.is_empty() {
            return meta;
        }
    }
    let step = &steps.elements[0];
    let Value::Object(step) = step else {
        err(
            range(step),
            format!("a step must be an object, not {}", kind(step)),
        );
        return meta;
    };
    match step.get_string("type") {
        Some(t) if t.value == "udf" => {}
        Some(t) => err(
            range(t),
            format!("the step's `type` must be \"udf\", not \"{}\"", t.value),
        ),
        None => err(range(step), "the step has no `\"type\": \"udf\"`".into()),
    }
    let Some(udf) = step.get("udf") else {
        err(range(step), "the step has no `udf` object".into());
        return meta;
    };
    let Value::Object(udf) = &udf.value else {
        err(
            range(&udf.value),
            format!("`udf` must be an object, not {}", kind(&udf.value)),
        );
        return meta;
    };
    let template = udf
        .get_object("metadata")
        .and_then(|m| m.get_boolean("isNodeTemplate"))
        .map(|b| b.value)
        .unwrap_or(false);
    let mut out = MetaUdf {
        entrypoint: string(udf, "entrypoint"),
        name: string(udf, "name"),
        source: string(udf, "source"),
        code: string(udf, "code"),
        range: range(udf),
        ..MetaUdf::default()
    };
    if let Some(md) = udf.get_object("metadata") {
        out.metadata_names = ["fused:name", "fused:slug"]
            .iter()
            .filter_map(|k| string(md, k))
            .collect();
        out.udf_type = string(md, "fused:udfType");
    }
    if let Some(p) = udf.get("entrypoint") {
        if !matches!(p.value, Value::StringLit(_)) {
            err(
                range(&p.value),
                format!("`entrypoint` must be a string, not {}", kind(&p.value)),
            );
        }
    } else if !template {
        err(range(udf), "the `udf` object has no `entrypoint`; add `\"entrypoint\": \"udf\"` (the decorated function's name)".into());
    }
    match udf.get("headers").map(|h| &h.value) {
        Some(Value::Array(arr)) => {
            out.headers_range = Some(range(arr));
            for h in &arr.elements {
                match h {
                    Value::Object(o) => out.headers.push(Header {
                        module_name: string(o, "module_name"),
                        source_file: string(o, "source_file"),
                        range: range(o),
                    }),
                    other => err(range(other), format!("a header must be an object `{{\"module_name\": ..., \"source_file\": ...}}`, not {}", kind(other))),
                }
            }
        }
        Some(other) => err(
            range(other),
            format!("`headers` must be a list, not {}", kind(other)),
        ),
        None if !template => err(
            range(udf),
            "the `udf` object has no `headers` (the SDK raises KeyError); add `\"headers\": []`"
                .into(),
        ),
        None => {}
    }
    if !template && out.source.is_none() && out.code.is_none() {
        err(
            range(udf),
            "the `udf` object has neither `source` nor `code` (the SDK raises KeyError); add `\"source\": \"<name>.py\"`".into(),
        );
    }
    meta.is_node_template = template || top_template;
    meta.udf = Some(out);
    meta
}

/// A JSON string literal for `s`.
pub fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialise")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_json_points_at_the_error() {
        let text = "{\"a\": 1,\n \"b\": }";
        match parse(text) {
            MetaParse::Invalid { range, .. } => assert_eq!(&text[range], "}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse(""), MetaParse::Invalid { .. }));
        assert!(matches!(parse("{\"a\": 1,}"), MetaParse::Invalid { .. }));
    }

    #[test]
    fn smallest_meta_is_fine() {
        let text = r#"{"job_config":{"steps":[{"type":"udf","udf":{"entrypoint":"udf","source":"S.py","headers":[]}}]}}"#;
        let MetaParse::Parsed(meta) = parse(text) else {
            panic!()
        };
        assert!(meta.shape_errors.is_empty(), "{:?}", meta.shape_errors);
        let udf = meta.udf.unwrap();
        assert_eq!(udf.entrypoint.as_ref().unwrap().value, "udf");
        assert_eq!(&text[udf.source.unwrap().range], "\"S.py\"");
    }

    #[test]
    fn python_non_finite_numbers_are_json_to_the_sdk() {
        let text = "{\"job_config\":{\"steps\":[{\"type\":\"udf\",\"udf\":{\"entrypoint\":\"udf\",\"source\":\"S.py\",\"headers\":[],\"parameters\":{\"a\":NaN,\"b\":Infinity,\"c\":[-Infinity],\"d\":\"NaN Infinity\"}}}]}}";
        let MetaParse::Parsed(meta) = parse(text) else {
            panic!("{:?}", parse(text))
        };
        assert!(meta.shape_errors.is_empty(), "{:?}", meta.shape_errors);
        let src = meta.udf.unwrap().source.unwrap();
        assert_eq!(&text[src.range], "\"S.py\"");
        // Only as values: a bare `nan` or `Infinit` is still invalid, as it is for Python.
        assert!(matches!(parse("{\"a\": nan}"), MetaParse::Invalid { .. }));
        assert!(matches!(
            parse("{\"a\": Infinit}"),
            MetaParse::Invalid { .. }
        ));
        assert_eq!(
            mask_non_finite("[\"NaN\\\"NaN\", NaN]").as_deref(),
            Some("[\"NaN\\\"NaN\", 0e0]")
        );
    }

    #[test]
    fn array_and_two_steps_are_shape_errors() {
        let MetaParse::Parsed(meta) = parse("[]") else {
            panic!()
        };
        assert_eq!(meta.shape_errors.len(), 1);
        let two = r#"{"job_config":{"steps":[{"type":"udf","udf":{"entrypoint":"udf"}},{"type":"udf","udf":{"entrypoint":"udf"}}]}}"#;
        let MetaParse::Parsed(meta) = parse(two) else {
            panic!()
        };
        assert!(meta.shape_errors[0].message.contains("exactly one"));
    }
}
