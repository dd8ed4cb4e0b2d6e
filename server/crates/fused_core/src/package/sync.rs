//! `fused-ls sync`: the edits that bring meta.json in line with the source.
//!
//! Managed: `udf.name` (the folder's name, and `metadata["fused:name"]`/`["fused:slug"]` when
//! present), `entrypoint` (a decorated function), `source` (the UDF's file) and `headers` (the
//! local modules the UDF imports). Everything else is kept byte for byte, in its order: the
//! result is the original text with a few values replaced or inserted, in the file's own style
//! (one line as the SDK writes it, or indented).

use crate::check::{FileContent, Package};
use crate::diagnostic::{apply_edits, TextEdit};
use crate::line_index::{Encoding, LineIndex};
use crate::meta::{self, json_string, MetaParse, MetaUdf};
use crate::package::scaffold::meta_json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    Unchanged,
    /// The new meta.json text and a line per change, for people.
    Changed {
        text: String,
        changes: Vec<String>,
    },
    /// There was no meta.json: this one is new.
    Created {
        text: String,
    },
}

struct Style {
    indented: bool,
    /// `": "` or `":"`.
    colon: &'static str,
}

impl Style {
    /// The style of an existing meta.json: one line as the SDK writes it, or indented.
    fn of(text: &str) -> Style {
        Style {
            indented: text.trim_end().contains('\n'),
            colon: if text.contains("\": ") { ": " } else { ":" },
        }
    }
}

/// How the `headers` array changes: the existing array replaced, or a new key to insert.
enum HeadersChange {
    Replace(TextEdit),
    Insert(String),
}

/// The `headers` array with `added` modules appended to the existing entries (kept verbatim), in
/// the file's style.
fn headers_change(text: &str, udf: &MetaUdf, added: &[String], style: &Style) -> HeadersChange {
    let new_entries = added.iter().map(|m| {
        format!(
            "{{\"module_name\"{c}{}, \"source_file\"{c}{}}}",
            json_string(m),
            json_string(&format!("{m}.py")),
            c = style.colon
        )
        .replace(", \"", if style.colon == ":" { ",\"" } else { ", \"" })
    });
    let entries: Vec<String> = udf
        .headers
        .iter()
        .map(|h| text[h.range.clone()].to_string())
        .chain(new_entries)
        .collect();
    match &udf.headers_range {
        Some(r) => HeadersChange::Replace(TextEdit {
            range: r.clone(),
            new_text: render_array(text, indent_at(text, r.start), &entries, style),
        }),
        None => HeadersChange::Insert(render_array(text, &key_indent(text, udf), &entries, style)),
    }
}

/// The edit declaring `modules` as headers of the `udf` object (creating `headers` when
/// missing), in the file's style: the quick fix of FUSED065 and what `sync` writes.
pub(crate) fn add_headers_edit(text: &str, udf: &MetaUdf, modules: &[String]) -> TextEdit {
    let style = Style::of(text);
    match headers_change(text, udf, modules, &style) {
        HeadersChange::Replace(edit) => edit,
        HeadersChange::Insert(array) => insertion(text, udf, &[("headers".into(), array)], &style),
    }
}

fn text_of<'a>(pkg: &'a Package, name: &str) -> Option<&'a str> {
    pkg.files
        .iter()
        .find(|f| f.name == name)
        .and_then(|f| f.content.text())
}

fn has(pkg: &Package, name: &str) -> bool {
    pkg.files.iter().any(|f| f.name == name)
}

/// The file holding the UDF: `source` if it exists, else `<folder>.py`, else the only `.py` with
/// a decorated function.
fn main_file(pkg: &Package, udf: Option<&MetaUdf>) -> Option<String> {
    if let Some(src) = udf
        .and_then(|u| u.source.as_ref())
        .filter(|s| has(pkg, &s.value))
    {
        return Some(src.value.clone());
    }
    let expected = format!("{}.py", pkg.dir_name);
    if has(pkg, &expected) {
        return Some(expected);
    }
    let with_udf: Vec<&str> = pkg
        .files
        .iter()
        .filter(|f| f.name.ends_with(".py"))
        .filter(|f| {
            f.content
                .text()
                .is_some_and(|t| !model_of(t).udfs.is_empty())
        })
        .map(|f| f.name.as_str())
        .collect();
    (with_udf.len() == 1).then(|| with_udf[0].to_string())
}

fn model_of(text: &str) -> crate::model::PyModel {
    crate::python::model(text)
}

/// Local modules the UDF imports that exist as `<module>.py` in the package.
fn helper_modules(pkg: &Package, main: &str, model: &crate::model::PyModel) -> Vec<String> {
    let main_stem = main.trim_end_matches(".py");
    model
        .imported_modules
        .iter()
        .filter(|m| m.as_str() != main_stem && has(pkg, &format!("{m}.py")))
        .cloned()
        .collect()
}

pub fn sync(pkg: &Package) -> Result<SyncOutcome, String> {
    let Some(meta_file) = pkg.files.iter().find(|f| f.name == "meta.json") else {
        let main = main_file(pkg, None).ok_or_else(|| {
            format!("no meta.json and no `{}.py` (or single .py) holding a `@fused.udf` function to build one from", pkg.dir_name)
        })?;
        let model = model_of(text_of(pkg, &main).unwrap_or(""));
        let helpers = helper_modules(pkg, &main, &model);
        let helpers: Vec<&str> = helpers.iter().map(String::as_str).collect();
        let mut text = meta_json(&pkg.dir_name, &main, &helpers);
        if let Some(first) = model.udfs.first().filter(|u| u.name != "udf") {
            text = text.replace(
                "\"entrypoint\":\"udf\"",
                &format!("\"entrypoint\":{}", json_string(&first.name)),
            );
        }
        return Ok(SyncOutcome::Created { text });
    };
    let FileContent::Text(text) = &meta_file.content else {
        return Err("meta.json is not UTF-8 text; nothing was written".into());
    };
    let parsed = match meta::parse(text) {
        MetaParse::Invalid { range, message } => {
            let index = LineIndex::new(text);
            let lc = index.line_col(range.start as u32, text, Encoding::Utf32);
            return Err(format!(
                "meta.json:{}:{}: {message}; fix it first, nothing was written",
                lc.line + 1,
                lc.col + 1
            ));
        }
        MetaParse::Parsed(m) => m,
    };
    if parsed.is_node_template {
        return Ok(SyncOutcome::Unchanged);
    }
    let Some(udf) = parsed.udf.as_ref() else {
        let why = parsed
            .shape_errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        return Err(format!("meta.json does not have the shape the SDK loads ({why}); fix it first, nothing was written"));
    };
    let style = Style::of(text);
    let main = main_file(pkg, Some(udf));
    let model = main.as_deref().and_then(|m| text_of(pkg, m)).map(model_of);

    let mut edits: Vec<TextEdit> = Vec::new();
    let mut inserts: Vec<(String, String)> = Vec::new();
    let mut changes: Vec<String> = Vec::new();
    let mut set = |key: &str,
                   current: Option<&meta::Spanned<String>>,
                   want: &str,
                   changes: &mut Vec<String>| match current {
        Some(cur) if cur.value == want => {}
        Some(cur) => {
            edits.push(TextEdit {
                range: cur.range.clone(),
                new_text: json_string(want),
            });
            changes.push(format!("{key}: \"{}\" → \"{want}\"", cur.value));
        }
        None => {
            inserts.push((key.to_string(), json_string(want)));
            changes.push(format!("{key}: added \"{want}\""));
        }
    };

    set("name", udf.name.as_ref(), &pkg.dir_name, &mut changes);
    if let Some(model) = &model {
        let names: Vec<&str> = model.udfs.iter().map(|u| u.name.as_str()).collect();
        // The entrypoint may name an undecorated function: the SDK runs it (FUSED013).
        let ok = udf
            .entrypoint
            .as_ref()
            .is_some_and(|e| model.function(&e.value).is_some());
        if !ok {
            if let Some(first) = names.first() {
                set("entrypoint", udf.entrypoint.as_ref(), first, &mut changes);
            }
        }
    }
    if let Some(main) = &main {
        if udf.code.is_none() || udf.source.is_some() {
            set("source", udf.source.as_ref(), main, &mut changes);
        }
    }
    for md in &udf.metadata_names {
        if md.value != pkg.dir_name {
            edits.push(TextEdit {
                range: md.range.clone(),
                new_text: json_string(&pkg.dir_name),
            });
            changes.push(format!("metadata: \"{}\" → \"{}\"", md.value, pkg.dir_name));
        }
    }

    // Headers: every entry is kept (one whose file is missing is FUSED064's to report: the
    // file may only be missing for a moment); the local modules the UDF imports are added.
    let mut added: Vec<String> = Vec::new();
    if let (Some(main), Some(model)) = (&main, &model) {
        for m in helper_modules(pkg, main, model) {
            let declared = udf.headers.iter().any(|h| {
                h.module_name.as_ref().is_some_and(|n| n.value == m)
                    || h.source_file
                        .as_ref()
                        .is_some_and(|f| f.value == format!("{m}.py"))
            });
            if !declared {
                changes.push(format!("headers: added `{m}.py`"));
                added.push(m);
            }
        }
    }
    if !added.is_empty() || udf.headers_range.is_none() {
        match headers_change(text, udf, &added, &style) {
            HeadersChange::Replace(edit) => edits.push(edit),
            HeadersChange::Insert(array) => {
                inserts.push(("headers".into(), array));
                if added.is_empty() {
                    changes.push("headers: added `[]`".into());
                }
            }
        }
    }

    if !inserts.is_empty() {
        edits.push(insertion(text, udf, &inserts, &style));
    }
    if edits.is_empty() {
        return Ok(SyncOutcome::Unchanged);
    }
    let (new_text, _) = apply_edits(text, &edits);
    if new_text == *text {
        return Ok(SyncOutcome::Unchanged);
    }
    Ok(SyncOutcome::Changed {
        text: new_text,
        changes,
    })
}

/// The indentation of the line holding byte `at`.
fn indent_at(text: &str, at: usize) -> &str {
    let start = text[..at].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = &text[start..];
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

fn render_array(text: &str, indent: &str, entries: &[String], style: &Style) -> String {
    if entries.is_empty() {
        return "[]".into();
    }
    if !style.indented {
        return format!("[{}]", entries.join(","));
    }
    let unit = if text.contains("\n\t") { "\t" } else { "  " };
    let inner = format!("{indent}{unit}");
    format!(
        "[\n{inner}{}\n{indent}]",
        entries.join(&format!(",\n{inner}"))
    )
}

/// The indentation of the `udf` object's keys (its first key's, or one level in).
fn key_indent(text: &str, udf: &MetaUdf) -> String {
    let at = udf.range.start + 1;
    if text[at..udf.range.end - 1].trim().is_empty() {
        return format!("{}  ", indent_at(text, udf.range.start));
    }
    let first_key = text[at..].find('"').map(|i| at + i).unwrap_or(at);
    indent_at(text, first_key).to_string()
}

/// New keys go first in the `udf` object, in the file's style.
fn insertion(text: &str, udf: &MetaUdf, inserts: &[(String, String)], style: &Style) -> TextEdit {
    let at = udf.range.start + 1;
    let empty = text[at..udf.range.end - 1].trim().is_empty();
    let pairs: Vec<String> = inserts
        .iter()
        .map(|(k, v)| format!("\"{k}\"{}{v}", style.colon))
        .collect();
    let new_text = if style.indented {
        let indent = key_indent(text, udf);
        let body = pairs
            .iter()
            .map(|p| format!("\n{indent}{p}"))
            .collect::<Vec<_>>()
            .join(",");
        if empty {
            format!("{body}\n{}", indent_at(text, udf.range.start))
        } else {
            format!("{body},")
        }
    } else {
        let body = pairs.join(",");
        if empty {
            body
        } else {
            format!("{body},")
        }
    };
    TextEdit {
        range: at..at,
        new_text,
    }
}
