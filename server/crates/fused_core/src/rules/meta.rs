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

/// `inline_twin`: the `.py` file holding the same code as inline `code`, if any.
pub fn files(
    udf: &MetaUdf,
    facts: &PackageFacts,
    inline_twin: Option<&str>,
    out: &mut Vec<Diagnostic>,
) {
    match (&udf.source, &udf.code) {
        (Some(src), _) if !facts.has(&src.value) => out.push(Diagnostic::new(
            Rule::MetaSourceMissing,
            src.range.clone(),
            format!("`source` names `{}`, which is not in the package; rename the file or fix `source`", src.value),
        )),
        (None, Some(code)) => out.push(Diagnostic::new(
            Rule::InlineCodeNoSource,
            code.range.clone(),
            match inline_twin {
                Some(twin) => format!(
                    "the code is inline with no `source` file, which fused 2.9.5 cannot load (KeyError: 'source'); `{twin}` holds the same code (checked there): set `\"source\": \"{twin}\"`"
                ),
                None => {
                    let name = udf.name.as_ref().map_or(facts.dir_name, |n| n.value.as_str());
                    format!(
                        "the code is inline with no `source` file, which fused 2.9.5 cannot load (KeyError: 'source'); move it to `{name}.py` and set `\"source\": \"{name}.py\"`"
                    )
                }
            },
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
                // `fused:slug` is the UDF's identity on the platform.
                applicability: Applicability::Unsafe,
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
}

/// FUSED065: a module file of the package that the main file or a header module imports
/// (`imported`: their top-level imported module names) but `headers` does not declare. A module
/// file nothing imports is not reported.
pub fn undeclared_modules(
    udf: &MetaUdf,
    meta_text: &str,
    facts: &PackageFacts,
    main: &str,
    imported: &[String],
    out: &mut Vec<Diagnostic>,
) {
    let mut missing: Vec<String> = Vec::new();
    for module in imported {
        let file = format!("{module}.py");
        let declared = udf.headers.iter().any(|h| {
            h.source_file.as_ref().is_some_and(|f| f.value == file)
                || h.module_name.as_ref().is_some_and(|m| &m.value == module)
        });
        if !declared && file != main && facts.has(&file) && !missing.contains(module) {
            missing.push(module.clone());
        }
    }
    let range = udf
        .headers_range
        .clone()
        .unwrap_or(udf.range.start..udf.range.start + 1);
    for module in missing {
        // The same edit `fused-ls sync` makes, in the file's own style.
        let edit =
            crate::package::sync::add_headers_edit(meta_text, udf, std::slice::from_ref(&module));
        out.push(
            Diagnostic::new(
                Rule::UtilsNotDeclared,
                range.clone(),
                format!("`{module}.py` is imported but not declared in `headers`, so the SDK cannot import it (the run fails with ModuleNotFoundError); add it as a header"),
            )
            .with_fix(Fix {
                title: format!("Declare `{module}.py` in `headers`"),
                edits: vec![edit],
                applicability: Applicability::Safe,
            }),
        );
    }
}

/// FUSED011: the entrypoint must name a function of the main file (decorated or not: the SDK
/// runs it either way). With no decorated function either, FUSED010 says so instead.
pub fn entrypoint(udf: &MetaUdf, model: &PyModel, out: &mut Vec<Diagnostic>) {
    let Some(ep) = &udf.entrypoint else { return };
    if model.udfs.is_empty() || model.function(&ep.value).is_some() {
        return;
    }
    let names: Vec<&str> = model.udfs.iter().map(|u| u.name.as_str()).collect();
    let mut d = Diagnostic::new(
        Rule::EntrypointNotFound,
        ep.range.clone(),
        format!(
            "`entrypoint` is \"{}\" but the main file has no function of that name; its decorated function is `{}`: set `entrypoint` to it",
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
