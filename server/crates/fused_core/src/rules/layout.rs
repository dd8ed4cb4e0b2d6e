//! FUSED010, FUSED013 and FUSED070–071: what a package folder holds.

use crate::diagnostic::{Applicability, Diagnostic, Fix, TextEdit};
use crate::model::{PyModel, Udf};
use crate::registry::Rule;
use std::ops::Range;

pub fn has_readme(files: &[&str]) -> bool {
    files.iter().any(|f| f.eq_ignore_ascii_case("README.md"))
}

pub fn readme(files: &[&str], dir_name: &str, out: &mut Vec<Diagnostic>) {
    if !has_readme(files) {
        out.push(Diagnostic::new(
            Rule::ReadmeMissing,
            0..0,
            format!("package `{dir_name}` has no README.md; add one saying what the UDF does and what its parameters mean"),
        ));
    }
}

/// FUSED071: the main file is named after meta.json's `name` (`<name>.py`, what
/// `udf.to_directory()` writes); the SDK itself reads whatever `source` names.
pub fn main_file_name(main: &str, name: &str, range: Range<usize>, out: &mut Vec<Diagnostic>) {
    let expected = format!("{name}.py");
    if !name.is_empty() && main != expected {
        out.push(Diagnostic::new(
            Rule::MainFileName,
            range,
            format!("the main file is `{main}`; `udf.to_directory()` would name it `{expected}` after the UDF's `name` (rename it and update `source`)"),
        ));
    }
}

/// FUSED010 and FUSED013: the function the SDK runs. In a package that is the one meta.json's
/// `entrypoint` names, decorated or not; `what` names the code (`` `Pkg.py` ``, "the inline
/// `code`").
pub fn no_udf(model: &PyModel, entrypoint: Option<&str>, what: &str, out: &mut Vec<Diagnostic>) {
    if let Some(f) = entrypoint.and_then(|name| model.function(name)) {
        if !f.decorated {
            out.push(undecorated(f));
        }
        return;
    }
    if model.udfs.is_empty() {
        let message = match entrypoint {
            Some(ep) => format!("{what} has no function `{ep}` (meta.json's `entrypoint`) and no `@fused.udf` function; define the function this package exposes"),
            None => format!("{what} has no `@fused.udf` function; decorate the function this package exposes with `@fused.udf`"),
        };
        out.push(Diagnostic::new(Rule::NoUdf, 0..0, message));
    }
}

fn undecorated(f: &Udf) -> Diagnostic {
    let d = Diagnostic::new(
        Rule::UndecoratedEntrypoint,
        f.name_range.clone(),
        format!("`{}` is the package's entrypoint and runs as it is, but `fused.load` of this file alone needs `@fused.udf` on it; add the decorator", f.name),
    );
    // Not under other decorators: where `@fused.udf` would then go is a judgement call.
    if f.decorator_range.start != f.def_range.start {
        return d;
    }
    d.with_fix(Fix {
        title: format!("Decorate `{}` with `@fused.udf`", f.name),
        edits: vec![TextEdit {
            range: f.def_range.start..f.def_range.start,
            new_text: "@fused.udf\n".into(),
        }],
        applicability: Applicability::Unsafe,
    })
}
