//! FUSED046: the keywords of `fused.cache` (and FUSED041 on its `cache_max_age`). Read from
//! Ruff's AST: the model holds only `@fused.udf` functions, and a file that does not parse
//! fails before any `fused.cache` call runs.

use super::decorator::{closest, normalize_max_age, valid_max_age};
use crate::diagnostic::{Applicability, Diagnostic, Fix, TextEdit};
use crate::registry::Rule;
use ruff_python_ast::visitor::{walk_expr, Visitor};
use ruff_python_ast::{Expr, ModModule, Stmt};
use ruff_text_size::Ranged;
use std::ops::Range;

/// `fused.cache`'s keywords in fused 2.9.5 (`fused/core/_cache.py`); any other raises
/// `TypeError: cache() got an unexpected keyword argument` when the decorated function is
/// defined or wrapped, i.e. on every run.
pub const KEYWORDS: &[&str] = &[
    "cache_max_age",
    "cache_folder_path",
    "concurrent_lock_timeout",
    "cache_reset",
    "cache_storage",
    "cache_key_exclude",
    "cache_verbose",
];

fn span(node: &impl Ranged) -> Range<usize> {
    node.start().to_usize()..node.end().to_usize()
}

/// The names a module binds to `fused` things, from its imports anywhere in the file.
#[derive(Default)]
pub struct FusedNames {
    /// Names bound to the `fused` module (`fused` itself is an implicit global in UDF code).
    pub fused: Vec<String>,
    /// Names bound to `fused.cache` (`from fused import cache [as c]`).
    pub cache: Vec<String>,
    /// Names bound to the `fused.types` module (`from fused import types`, `import fused.types as t`).
    pub types: Vec<String>,
}

impl FusedNames {
    pub fn of(module: &ModModule) -> FusedNames {
        let mut names = FusedNames {
            fused: vec!["fused".into()],
            ..FusedNames::default()
        };
        let mut c = ImportCollector(&mut names);
        c.visit_body(&module.body);
        names
    }

    /// Whether `expr` is `<fused>.<attr>`.
    fn is_fused_attr(&self, expr: &Expr, attr: &str) -> bool {
        matches!(expr, Expr::Attribute(a) if a.attr.as_str() == attr
            && matches!(&*a.value, Expr::Name(n) if self.fused.iter().any(|f| f == n.id.as_str())))
    }

    pub fn is_cache(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Name(n) => self.cache.iter().any(|c| c == n.id.as_str()),
            other => self.is_fused_attr(other, "cache"),
        }
    }

    /// Whether `expr` is the `fused.types` module.
    pub fn is_types(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Name(n) => self.types.iter().any(|c| c == n.id.as_str()),
            other => self.is_fused_attr(other, "types"),
        }
    }
}

struct ImportCollector<'n>(&'n mut FusedNames);

impl<'a> Visitor<'a> for ImportCollector<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(imp) => {
                for alias in &imp.names {
                    let Some(asname) = &alias.asname else {
                        continue;
                    };
                    match alias.name.as_str() {
                        "fused" => self.0.fused.push(asname.to_string()),
                        "fused.types" => self.0.types.push(asname.to_string()),
                        _ => {}
                    }
                }
            }
            Stmt::ImportFrom(imp) if imp.level == 0 => {
                if imp.module.as_ref().is_some_and(|m| m.as_str() == "fused") {
                    for alias in &imp.names {
                        let bound = alias.asname.as_ref().unwrap_or(&alias.name).to_string();
                        match alias.name.as_str() {
                            "cache" => self.0.cache.push(bound),
                            "types" => self.0.types.push(bound),
                            _ => {}
                        }
                    }
                }
            }
            _ => ruff_python_ast::visitor::walk_stmt(self, stmt),
        }
    }

    // Imports are statements; expressions hold none (and deep ones are not walked for nothing).
    fn visit_expr(&mut self, _: &'a Expr) {}
}

pub fn check(module: &ModModule, names: &FusedNames, out: &mut Vec<Diagnostic>) {
    let mut v = CacheCalls { names, out };
    v.visit_body(&module.body);
}

struct CacheCalls<'a> {
    names: &'a FusedNames,
    out: &'a mut Vec<Diagnostic>,
}

impl<'a> Visitor<'a> for CacheCalls<'_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            if self.names.is_cache(&call.func) {
                for kw in call.arguments.keywords.iter() {
                    let Some(arg) = &kw.arg else { continue };
                    keyword(arg.as_str(), span(arg), &kw.value, self.out);
                }
            }
        }
        walk_expr(self, expr);
    }
}

/// The keyword `fused.cache` does have for a misspelt one: `path` → `cache_folder_path`,
/// `reset` → `cache_reset` (the SDK prefixes them all with `cache_`), else the nearest name.
pub fn suggestion(name: &str) -> Option<&'static str> {
    match name {
        "path" | "folder" | "folder_path" | "cache_path" | "cache_folder" | "cache_dir" | "dir" => {
            return Some("cache_folder_path")
        }
        "max_age" | "ttl" | "age" => return Some("cache_max_age"),
        "lock_timeout" | "timeout" => return Some("concurrent_lock_timeout"),
        _ => {}
    }
    let prefixed = format!("cache_{name}");
    KEYWORDS
        .iter()
        .copied()
        .find(|k| *k == prefixed)
        .or_else(|| closest(name, KEYWORDS))
}

fn keyword(name: &str, range: Range<usize>, value: &Expr, out: &mut Vec<Diagnostic>) {
    if name == "cache_max_age" {
        if let Expr::StringLiteral(s) = value {
            let s = s.value.to_str();
            if !valid_max_age(s) {
                let value_range = span(value);
                let mut d = Diagnostic::new(
                    Rule::InvalidCacheMaxAge,
                    value_range.clone(),
                    format!("`fused.cache(cache_max_age=\"{s}\")` raises `ValueError: Invalid time format` on every run; write a number and one unit s, m, h or d, e.g. \"30m\""),
                );
                if let Some(fixed) = normalize_max_age(s) {
                    d = d.with_fix(Fix {
                        title: format!("Write `\"{fixed}\"`"),
                        edits: vec![TextEdit {
                            range: value_range,
                            new_text: format!("\"{fixed}\""),
                        }],
                        applicability: Applicability::Safe,
                    });
                }
                out.push(d);
            }
        }
        return;
    }
    if KEYWORDS.contains(&name) {
        return;
    }
    let hint = match suggestion(name) {
        Some(s) => format!("use `{s}`"),
        None => format!("accepted: {}", KEYWORDS.join(", ")),
    };
    out.push(Diagnostic::new(
        Rule::InvalidCacheKeyword,
        range,
        format!("`fused.cache` has no keyword `{name}` (TypeError on every run); {hint}"),
    ));
}
