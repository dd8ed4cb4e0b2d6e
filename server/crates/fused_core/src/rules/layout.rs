//! FUSED010 and FUSED070–071: what a package folder holds.

use crate::diagnostic::Diagnostic;
use crate::model::PyModel;
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

pub fn main_file_name(main: &str, dir_name: &str, range: Range<usize>, out: &mut Vec<Diagnostic>) {
    let expected = format!("{dir_name}.py");
    if main != expected {
        out.push(Diagnostic::new(
            Rule::MainFileName,
            range,
            format!("the main file is `{main}`; name it `{expected}` after the package (and update `source`)"),
        ));
    }
}

pub fn no_udf(model: &PyModel, file: &str, out: &mut Vec<Diagnostic>) {
    if model.udfs.is_empty() {
        out.push(Diagnostic::new(
            Rule::NoUdf,
            0..0,
            format!("`{file}` has no `@fused.udf` function; decorate the function this package exposes with `@fused.udf`"),
        ));
    }
}
