//! FUSED011 and FUSED060–066: meta.json against the package's files and code.

use crate::diagnostic::{Applicability, Diagnostic, Fix, TextEdit};
use crate::meta::{json_string, Meta, MetaUdf, Spanned};
use crate::model::PyModel;
use crate::registry::Rule;

/// What the package rules know about the folder.
pub struct PackageFacts<'a> {
    pub dir_name: &'a str,
    /// Names of the package's files (top level).
    pub files: &'a [&'a str],
}

impl PackageFacts<'_> {
    pub fn has(&self, name: &str) -> bool {
        self.files.contains(&name)
    }
}

pub fn shape(meta: &Meta, out: &mut Vec<Diagnostic>) {
    for e in &meta.shape_errors {
        out.push(Diagnostic::new(
            Rule::MetaWrongShape,
            e.range.clone(),
            e.message.clone(),
        ));
    }
}

pub fn files(udf: &MetaUdf, meta_text: &str, facts: &PackageFacts, out: &mut Vec<Diagnostic>) {
    match (&udf.source, &udf.code) {
        (Some(src), _) if !facts.has(&src.value) => out.push(Diagnostic::new(
            Rule::MetaSourceMissing,
            src.range.clone(),
            format!("`source` names `{}`, which is not in the package; rename the file or fix `source`", src.value),
        )),
        (None, Some(code)) => out.push(Diagnostic::new(
            Rule::InlineCodeNoSource,
            code.range.clone(),
            format!(
                "the code is inline with no `source` file, which fused 2.9.5 cannot load; move it to `{}.py` and set `\"source\": \"{}.py\"`",
                facts.dir_name, facts.dir_name
            ),
        )),
        _ => {}
    }
    let stale: Vec<&Spanned<String>> = udf
        .name
        .iter()
        .chain(&udf.metadata_names)
        .filter(|n| n.value != facts.dir_name && !facts.dir_name.is_empty())
        .collect();
    if let Some(first) = stale.first() {
        let what = if udf.name.as_ref().is_some_and(|n| n.range == first.range) {
            "`name`"
        } else {
            "`metadata`"
        };
        out.push(
            Diagnostic::new(
                Rule::MetaNameMismatch,
                first.range.clone(),
                format!(
                    "{what} says \"{}\" but the package folder is `{}`; make them the same{}",
                    first.value,
                    facts.dir_name,
                    if stale.len() > 1 {
                        " (`fused:name`/`fused:slug` too)"
                    } else {
                        ""
                    }
                ),
            )
            .with_fix(Fix {
                title: format!("Rename the UDF to \"{}\" in meta.json", facts.dir_name),
                edits: stale
                    .iter()
                    .map(|n| TextEdit {
                        range: n.range.clone(),
                        new_text: json_string(facts.dir_name),
                    })
                    .collect(),
                applicability: Applicability::Safe,
            }),
        );
    }
    for h in &udf.headers {
        if let Some(file) = &h.source_file {
            if !facts.has(&file.value) {
                out.push(Diagnostic::new(
                    Rule::MetaHeaderMissing,
                    file.range.clone(),
                    format!("header module file `{}` is not in the package; add it or remove the header", file.value),
                ));
            }
        }
    }
    let declared = udf.headers.iter().any(|h| {
        h.source_file
            .as_ref()
            .is_some_and(|f| f.value == "utils.py")
            || h.module_name.as_ref().is_some_and(|m| m.value == "utils")
    });
    if facts.has("utils.py") && !declared {
        let range = udf
            .headers_range
            .clone()
            .unwrap_or(udf.range.start..udf.range.start + 1);
        let mut d = Diagnostic::new(
            Rule::UtilsNotDeclared,
            range,
            "`utils.py` is not declared in `headers`, so it is not importable when the package is loaded elsewhere; add it as a header",
        );
        // The same edit `fused-ls sync` makes, in the file's own style.
        let edit = crate::package::sync::add_headers_edit(meta_text, udf, &["utils".to_string()]);
        d = d.with_fix(Fix {
            title: "Declare `utils.py` in `headers`".into(),
            edits: vec![edit],
            applicability: Applicability::Safe,
        });
        out.push(d);
    }
}

/// FUSED011: the entrypoint must name a decorated function of the main file.
pub fn entrypoint(udf: &MetaUdf, model: &PyModel, out: &mut Vec<Diagnostic>) {
    let Some(ep) = &udf.entrypoint else { return };
    if model.udfs.is_empty() || model.udfs.iter().any(|u| u.name == ep.value) {
        return;
    }
    let names: Vec<&str> = model.udfs.iter().map(|u| u.name.as_str()).collect();
    let mut d = Diagnostic::new(
        Rule::EntrypointNotFound,
        ep.range.clone(),
        format!(
            "`entrypoint` is \"{}\" but the decorated function is `{}`; set `entrypoint` to it",
            ep.value,
            names.join("`, `")
        ),
    );
    if names.len() == 1 {
        d = d.with_fix(Fix {
            title: format!("Set `entrypoint` to \"{}\"", names[0]),
            edits: vec![TextEdit {
                range: ep.range.clone(),
                new_text: json_string(names[0]),
            }],
            applicability: Applicability::Safe,
        });
    }
    out.push(d);
}
