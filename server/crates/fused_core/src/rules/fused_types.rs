//! FUSED025: `fused.types.X` where `fused.types` has no `X`, in an annotation Python evaluates.
//!
//! Measured with fused 2.9.5 (`fused.load(dir)` then `fused.run(udf, engine="local",
//! cache=False)`): the load succeeds and every run fails with `AttributeError: module
//! 'fused.types' has no attribute 'Bound'` when the annotation is evaluated, i.e. for the
//! parameter and return annotations of every function defined when the UDF runs (module level,
//! helpers, functions nested in the UDF), and for variable annotations at module and class level.
//! A variable annotation inside a function body is never evaluated. Under `from __future__
//! import annotations` annotations are strings and only the UDF's own are evaluated (the SDK
//! calls `get_type_hints` on it): a helper's `b: fused.types.Bound` then runs fine.

use super::cache::FusedNames;
use super::decorator::closest;
use crate::diagnostic::Diagnostic;
use crate::registry::Rule;
use ruff_python_ast::visitor::{walk_expr, Visitor};
use ruff_python_ast::{Expr, ModModule, Stmt, StmtFunctionDef};
use ruff_text_size::Ranged;
use std::ops::Range;

/// The types `fused.types` offers (SDK-FACTS), for suggestions.
pub const TYPES: &[&str] = &[
    "Tile",
    "Bounds",
    "TileXYZ",
    "TileGDF",
    "ViewportGDF",
    "Bbox",
];

/// Every public attribute of `fused.types` in 2.9.5 (`dir(fused.types)`): what exists, type or
/// not, does not crash.
const ATTRIBUTES: &[&str] = &[
    "Any",
    "Bbox",
    "Bounds",
    "JobPoolTailTimeoutError",
    "Optional",
    "TYPE_CHECKING",
    "Tile",
    "TileGDF",
    "TileXYZ",
    "TypeVar",
    "UdfRuntimeError",
    "UdfSelfRecursionError",
    "UdfSerializationError",
    "UdfTimeoutError",
    "ViewportGDF",
    "annotations",
];

fn span(node: &impl Ranged) -> Range<usize> {
    node.start().to_usize()..node.end().to_usize()
}

fn exists(name: &str) -> bool {
    ATTRIBUTES.contains(&name) || name.starts_with("__")
}

fn message(name: &str, what: &str) -> String {
    let hint = match closest(name, TYPES) {
        Some(c) => format!("did you mean `fused.types.{c}`?"),
        None => format!("it has {}", TYPES.join(", ")),
    };
    format!("`fused.types` has no `{name}`: {what}; {hint}")
}

/// `udf_defs`: the start offsets of the UDF functions' names (the model's UDFs), whose
/// annotations the SDK evaluates even under the `__future__` import.
pub fn check(
    module: &ModModule,
    names: &FusedNames,
    future: bool,
    udf_defs: &[usize],
    out: &mut Vec<Diagnostic>,
) {
    let mut v = Annotations {
        names,
        future,
        udf_defs,
        in_function: false,
        out,
    };
    v.visit_body(&module.body);
}

struct Annotations<'a> {
    names: &'a FusedNames,
    future: bool,
    udf_defs: &'a [usize],
    in_function: bool,
    out: &'a mut Vec<Diagnostic>,
}

impl Annotations<'_> {
    /// Reports every `fused.types.X` with an unknown `X` inside the annotation `expr`.
    fn annotation(&mut self, expr: &Expr) {
        let mut finder = Finder {
            names: self.names,
            found: Vec::new(),
        };
        finder.visit_expr(expr);
        for (name, range) in finder.found {
            self.out.push(Diagnostic::new(
                Rule::UnknownFusedType,
                range,
                message(
                    &name,
                    "the run fails with AttributeError when this annotation is evaluated",
                ),
            ));
        }
    }

    fn function(&mut self, def: &StmtFunctionDef) {
        let evaluated = !self.future || self.udf_defs.contains(&def.name.start().to_usize());
        if evaluated {
            let params = &def.parameters;
            for p in params
                .posonlyargs
                .iter()
                .chain(&params.args)
                .chain(&params.kwonlyargs)
            {
                if let Some(a) = &p.parameter.annotation {
                    self.annotation(a);
                }
            }
            for p in params.vararg.iter().chain(&params.kwarg) {
                if let Some(a) = &p.annotation {
                    self.annotation(a);
                }
            }
            if let Some(r) = &def.returns {
                self.annotation(r);
            }
        }
        let outer = std::mem::replace(&mut self.in_function, true);
        self.visit_body(&def.body);
        self.in_function = outer;
    }
}

impl<'a> Visitor<'a> for Annotations<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => self.function(def),
            Stmt::AnnAssign(a) => {
                if !self.in_function && !self.future {
                    self.annotation(&a.annotation);
                }
            }
            // `from fused.types import Bound` fails when it runs (ImportError).
            Stmt::ImportFrom(imp)
                if imp.level == 0
                    && imp
                        .module
                        .as_ref()
                        .is_some_and(|m| m.as_str() == "fused.types") =>
            {
                for alias in &imp.names {
                    let n = alias.name.as_str();
                    if n != "*" && !exists(n) {
                        self.out.push(Diagnostic::new(
                            Rule::UnknownFusedType,
                            span(&alias.name),
                            message(n, "the import fails with ImportError"),
                        ));
                    }
                }
            }
            Stmt::ClassDef(c) => {
                // A class body runs at once: its annotations are evaluated like the module's.
                let outer = std::mem::replace(&mut self.in_function, false);
                self.visit_body(&c.body);
                self.in_function = outer;
            }
            other => ruff_python_ast::visitor::walk_stmt(self, other),
        }
    }

    // Only annotations are looked at, and those through `annotation`.
    fn visit_expr(&mut self, _: &'a Expr) {}
}

/// The `fused.types.X` attributes with an unknown `X` in one annotation.
struct Finder<'a> {
    names: &'a FusedNames,
    found: Vec<(String, Range<usize>)>,
}

impl<'a> Visitor<'a> for Finder<'_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Attribute(a) = expr {
            if self.names.is_types(&a.value) && !exists(a.attr.as_str()) {
                self.found.push((a.attr.to_string(), span(a)));
                return;
            }
        }
        walk_expr(self, expr);
    }
}
