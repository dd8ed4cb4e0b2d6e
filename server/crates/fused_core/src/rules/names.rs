//! FUSED012/FUSED014: names that are used but never defined, imported or built in.
//!
//! The SDK executes a UDF's module with only `fused` injected into its globals, so any other
//! name that is not bound is a `NameError` when its line runs. This is the scope analysis of
//! pyflakes as Ruff's F821 does it (Ruff is the oracle of the parity test, `tests/names_parity.rs`),
//! read from Ruff's AST, so it only runs on a file that parses cleanly:
//!
//! - one pass in evaluation order: a name is bound from the statement that binds it on, so
//!   `print(x); x = 1` at module level is flagged, as CPython fails on it;
//! - function and lambda bodies are deferred to the end of the module (they run later), so they
//!   see every binding of the enclosing scopes, including one made after the `def`;
//! - scopes: module, class (visible only to its own body, not to methods, comprehensions or
//!   lambdas in it), function, lambda, comprehension (its first iterable is evaluated outside);
//!   decorators, default values and (without `from __future__ import annotations`) annotations
//!   are evaluated in the enclosing scope;
//! - `global` (which also binds the name at module level from the `def` on) and `nonlocal`;
//!   `del x` unbinds `x` unless it is under an `if`/`while`/`match`, an `except` handler or a
//!   `try`'s `else` (a conditional deletion leaves the name as it was, as Ruff does); `except E as e` unbinds `e` after the handler;
//!   `x: int` without a value binds nothing;
//! - a reference inside a `try` whose handlers catch `NameError` is not reported;
//! - string annotations (and every annotation under `from __future__ import annotations`) are
//!   resolved at the end, module scope first, as Ruff does;
//! - a file with `from x import *` is not judged at all: any name may come from it.

use super::PyContext;
use crate::diagnostic::Diagnostic;
use crate::registry::Rule;
use ruff_python_ast::visitor::{walk_expr, walk_pattern, walk_stmt, Visitor};
use ruff_python_ast::{
    self as ast, Expr, ExprContext, ModModule, Parameters, Pattern, Stmt, StmtFunctionDef,
};
use ruff_text_size::Ranged;
use std::collections::HashMap;
use std::ops::Range;

/// Where an undefined name's line runs, which decides the severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runs {
    /// At import: module level, a class body, a top-level decorator or default value.
    Module,
    /// In the entrypoint's own body (or a comprehension or lambda written in it).
    Entrypoint,
    /// In another function, or a function nested in the entrypoint: only if it is called.
    Helper,
    /// In an annotation Python never evaluates (a string annotation, any annotation under
    /// `from __future__ import annotations`, a local variable's annotation).
    Annotation,
}

/// A use of a name nothing binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undefined {
    pub name: String,
    pub range: Range<usize>,
    pub runs: Runs,
}

/// The undefined names of a cleanly parsed module, in source order. `is_entrypoint` tells
/// whether a top-level function of that name is the UDF the SDK runs.
pub fn undefined_names(
    module: &ModModule,
    src: &str,
    is_entrypoint: &dyn Fn(&str) -> bool,
) -> Vec<Undefined> {
    let mut w = Walker {
        src,
        scopes: vec![Scope::new(Kind::Module, None)],
        scope: 0,
        conditional: 0,
        name_error: 0,
        in_handler: 0,
        runs: Runs::Module,
        type_definition: false,
        typing_literal: false,
        annotation_runs: None,
        store: Store::Plain,
        forward: false,
        future_annotations: false,
        star_import: false,
        is_entrypoint,
        functions: Vec::new(),
        lambdas: Vec::new(),
        annotations: Vec::new(),
        found: Vec::new(),
        annotated: Vec::new(),
        nonlocal_targets: Vec::new(),
    };
    w.visit_body(&module.body);
    w.run_deferred();
    if w.star_import {
        return Vec::new();
    }
    // A read of an annotated-only local is not reported when a nested function assigns it
    // through `nonlocal` (Ruff's rule: the nested call may have run first).
    let mut found: Vec<Undefined> = w
        .found
        .into_iter()
        .zip(w.annotated)
        .filter(|(u, a)| {
            a.is_none_or(|s| {
                !w.nonlocal_targets
                    .iter()
                    .any(|(t, n)| *t == s && *n == u.name)
            })
        })
        .map(|(u, _)| u)
        .collect();
    found.sort_by_key(|u| u.range.start);
    found
}

/// FUSED012 for names whose line runs at import or in the entrypoint, FUSED014 elsewhere.
/// `entrypoint` is the function meta.json names, in a package's main file; otherwise (a loose
/// file) every `@fused.udf` function counts as an entrypoint.
pub fn check(
    module: &ModModule,
    ctx: &PyContext,
    entrypoint: Option<&str>,
    out: &mut Vec<Diagnostic>,
) {
    let is_entrypoint = |name: &str| match entrypoint {
        Some(e) => e == name,
        None => ctx.model.udfs.iter().any(|u| u.name == name),
    };
    for u in undefined_names(module, ctx.text, &is_entrypoint) {
        let (rule, when) = match u.runs {
            Runs::Module => (
                Rule::UndefinedName,
                "the UDF fails with NameError when it loads",
            ),
            Runs::Entrypoint => (
                Rule::UndefinedName,
                "the run fails with NameError here",
            ),
            Runs::Helper => (
                Rule::UndefinedNameInHelper,
                "NameError when this function is called",
            ),
            Runs::Annotation => (
                Rule::UndefinedNameInHelper,
                "Python does not evaluate this annotation, but type checkers and `typing.get_type_hints` fail on it",
            ),
        };
        out.push(Diagnostic::new(
            rule,
            u.range.clone(),
            format!("`{}` is not defined: {} — {when}", u.name, remedy(&u.name)),
        ));
    }
}

/// What to do about an undefined name: the import for a well-known module or alias, else a
/// generic hint.
fn remedy(name: &str) -> String {
    const KNOWN: &[(&str, &str)] = &[
        ("np", "import numpy as np"),
        ("pd", "import pandas as pd"),
        ("gpd", "import geopandas as gpd"),
        ("plt", "import matplotlib.pyplot as plt"),
        ("xr", "import xarray as xr"),
        ("pa", "import pyarrow as pa"),
        ("pq", "import pyarrow.parquet as pq"),
        ("dd", "import dask.dataframe as dd"),
        ("ee", "import ee"),
        ("tf", "import tensorflow as tf"),
        ("sns", "import seaborn as sns"),
        ("shape", "from shapely.geometry import shape"),
        ("box", "from shapely.geometry import box"),
        ("Point", "from shapely.geometry import Point"),
        ("Polygon", "from shapely.geometry import Polygon"),
        ("mapping", "from shapely.geometry import mapping"),
        ("datetime", "from datetime import datetime"),
        ("timedelta", "from datetime import timedelta"),
        ("date", "from datetime import date"),
        ("Path", "from pathlib import Path"),
        ("List", "from typing import List"),
        ("Dict", "from typing import Dict"),
        ("Optional", "from typing import Optional"),
        ("Union", "from typing import Union"),
        ("Any", "from typing import Any"),
        ("Tuple", "from typing import Tuple"),
    ];
    const MODULES: &[&str] = &[
        "json",
        "os",
        "sys",
        "re",
        "math",
        "time",
        "random",
        "io",
        "uuid",
        "base64",
        "hashlib",
        "itertools",
        "functools",
        "collections",
        "typing",
        "requests",
        "numpy",
        "pandas",
        "geopandas",
        "shapely",
        "pyproj",
        "rasterio",
        "xarray",
        "duckdb",
        "h3",
        "mercantile",
        "tempfile",
        "shutil",
        "subprocess",
        "logging",
        "asyncio",
        "pathlib",
        "urllib",
        "zipfile",
        "gzip",
        "csv",
        "pickle",
        "copy",
        "string",
        "struct",
        "decimal",
        "statistics",
        "warnings",
        "traceback",
        "inspect",
        "dataclasses",
        "enum",
        "textwrap",
        "glob",
        "fnmatch",
        "boto3",
        "s3fs",
        "fsspec",
        "pyarrow",
        "matplotlib",
        "scipy",
        "sklearn",
        "torch",
        "PIL",
        "cv2",
        "ee",
        "odc",
        "pystac_client",
        "planetary_computer",
        "osmnx",
        "networkx",
        "contextily",
        "folium",
        "pydeck",
        "datetime",
    ];
    if let Some((_, import)) = KNOWN.iter().find(|(n, _)| *n == name) {
        return format!("import it (`{import}`)");
    }
    if MODULES.contains(&name) {
        return format!("import it (`import {name}`)");
    }
    "define it, import it, or fix the spelling".to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Module,
    Class,
    Function,
    /// Between a function and its enclosing scope, where its annotations are evaluated: they
    /// see a class's attributes (as they are evaluated in the class body), the function body
    /// does not. (Ruff's model, and CPython's annotation scope since 3.12.)
    Type,
    /// Around a function defined in a class body: binds `__class__`.
    ClassCell,
    Lambda,
    Comprehension,
}

/// What a name is bound to in a scope, at the current point of the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    Bound,
    /// `x: int` without a value: a declaration, not a binding.
    Annotation,
    /// After `del x`.
    Deleted,
    /// After `except E as e:`, `e` is deleted; `true` when a binding of the name was visible
    /// before the handler (then that one is what a later read finds, as Ruff resolves it).
    UnboundException(bool),
}

impl Binding {
    fn is_unbound(self) -> bool {
        !matches!(self, Binding::Bound)
    }
}

struct Scope<'a> {
    kind: Kind,
    parent: Option<usize>,
    names: HashMap<&'a str, Binding>,
    star: bool,
}

impl Scope<'_> {
    fn new(kind: Kind, parent: Option<usize>) -> Self {
        Scope {
            kind,
            parent,
            names: HashMap::new(),
            star: false,
        }
    }
}

/// How a `Store` name binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    Plain,
    /// The target of `x: int` (no value).
    Annotation,
    /// The target of `:=`: binds in the nearest scope that is not a comprehension.
    Walrus,
}

/// The state a deferred body is visited in.
#[derive(Clone, Copy)]
struct Snapshot {
    scope: usize,
    conditional: usize,
    runs: Runs,
}

struct Walker<'a, 'e> {
    src: &'a str,
    scopes: Vec<Scope<'a>>,
    scope: usize,
    /// How many `if`/`while`/`match` statements enclose the current one (the `def`s' included).
    conditional: usize,
    /// How many enclosing `try` bodies catch `NameError`.
    name_error: usize,
    /// Inside an `except` handler or a `try`'s `else`, in the current function or class body
    /// (a `del` there is conditional; Ruff does not carry this into nested bodies).
    in_handler: usize,
    runs: Runs,
    /// Inside an annotation (or a part of one that is a type): string literals are forward
    /// references.
    type_definition: bool,
    /// Inside `Literal[...]`: strings are values.
    typing_literal: bool,
    /// Set while visiting an annotation Python does not evaluate.
    annotation_runs: Option<Runs>,
    store: Store,
    /// Resolving a forward reference: the module scope is looked up first.
    forward: bool,
    future_annotations: bool,
    star_import: bool,
    is_entrypoint: &'e dyn Fn(&str) -> bool,
    functions: Vec<(&'a StmtFunctionDef, Snapshot)>,
    lambdas: Vec<(&'a ast::ExprLambda, Snapshot)>,
    /// Annotations resolved at the end: string literals and, under the future import, every
    /// annotation expression.
    annotations: Vec<(&'a Expr, Snapshot, Runs)>,
    found: Vec<Undefined>,
    /// For each entry of `found` that is a read of a function's annotated-only local (`x: int`
    /// and no value), that function's scope.
    annotated: Vec<Option<usize>>,
    /// `(scope, name)` of the locals a nested function binds through `nonlocal`.
    nonlocal_targets: Vec<(usize, &'a str)>,
}

impl<'a> Walker<'a, '_> {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            scope: self.scope,
            conditional: self.conditional,
            runs: self.runs,
        }
    }

    fn restore(&mut self, s: Snapshot) {
        self.scope = s.scope;
        self.conditional = s.conditional;
        self.runs = s.runs;
        self.name_error = 0;
        self.in_handler = 0;
        self.type_definition = false;
        self.typing_literal = false;
        self.annotation_runs = None;
        self.store = Store::Plain;
        self.forward = false;
    }

    fn push_scope(&mut self, kind: Kind) {
        self.scopes.push(Scope::new(kind, Some(self.scope)));
        self.scope = self.scopes.len() - 1;
    }

    fn pop_scope(&mut self) {
        self.scope = self.scopes[self.scope]
            .parent
            .expect("not the module scope");
    }

    fn run_deferred(&mut self) {
        // Functions first, in the order they were met (those defined inside a function body
        // after the top-level ones), then lambdas, then the deferred annotations: Ruff's order,
        // which matters where a nested `global` binds a module name.
        let mut i = 0;
        while i < self.functions.len() {
            let (def, snap) = self.functions[i];
            self.restore(snap);
            self.bind_parameters(&def.parameters);
            self.visit_body(&def.body);
            i += 1;
        }
        let mut i = 0;
        while i < self.lambdas.len() {
            let (lambda, snap) = self.lambdas[i];
            self.restore(snap);
            if let Some(p) = &lambda.parameters {
                self.bind_parameters(p);
            }
            self.visit_expr(&lambda.body);
            i += 1;
        }
        let mut i = 0;
        while i < self.annotations.len() {
            let (expr, snap, runs) = self.annotations[i];
            self.restore(snap);
            self.forward = true;
            self.type_definition = true;
            self.annotation_runs = Some(runs);
            match expr {
                Expr::StringLiteral(s) => self.visit_string_annotation(s),
                other => self.visit_expr(other),
            }
            i += 1;
        }
    }

    /// A string annotation, parsed and resolved as a forward reference. Names keep their
    /// position in the string when it is a plain literal; otherwise (escapes, implicit
    /// concatenation) they get the whole string's range, as in Ruff.
    fn visit_string_annotation(&mut self, s: &'a ast::ExprStringLiteral) {
        let Ok(parsed) = ruff_python_parser::typing::parse_type_annotation(s, self.src) else {
            return;
        };
        // The parsed expression is owned here, so its names are resolved right away.
        let mut inner = Names::default();
        inner.visit_expr(parsed.expression());
        let saved = self.annotation_runs;
        self.annotation_runs = Some(Runs::Annotation);
        for (name, range) in inner.0 {
            self.resolve_load(&name, range);
        }
        self.annotation_runs = saved;
    }

    fn bind(&mut self, name: &'a str, binding: Binding) {
        let scope = if self.store == Store::Walrus {
            let mut s = self.scope;
            while self.scopes[s].kind == Kind::Comprehension {
                match self.scopes[s].parent {
                    Some(p) => s = p,
                    None => break,
                }
            }
            s
        } else {
            self.scope
        };
        let names = &mut self.scopes[scope].names;
        if binding == Binding::Annotation && names.contains_key(name) {
            // A declaration after a binding does not unbind it.
            return;
        }
        names.insert(name, binding);
    }

    fn bind_parameters(&mut self, params: &'a Parameters) {
        for p in params.iter() {
            self.bind(p.name().as_str(), Binding::Bound);
        }
    }

    fn report(&mut self, name: &str, range: Range<usize>) {
        self.report_in(name, range, None);
    }

    fn report_in(&mut self, name: &str, range: Range<usize>, annotated: Option<usize>) {
        if self.name_error > 0 {
            return;
        }
        self.found.push(Undefined {
            name: name.to_string(),
            range,
            runs: self.annotation_runs.unwrap_or(self.runs),
        });
        self.annotated.push(annotated);
    }

    fn resolve_load(&mut self, name: &str, range: Range<usize>) {
        if self.forward
            && self.scopes[0]
                .names
                .get(name)
                .is_some_and(|b| !b.is_unbound())
        {
            return;
        }
        let mut class_visible = true;
        let mut id = Some(self.scope);
        let mut index = 0;
        while let Some(s) = id {
            let scope = &self.scopes[s];
            id = scope.parent;
            index += 1;
            let index = index - 1;
            // A class body's names are visible to the class body itself and to the annotations
            // of the functions defined in it, not to their bodies, nor to comprehensions or
            // lambdas.
            if scope.kind == Kind::Class && !class_visible {
                continue;
            }
            class_visible = matches!((scope.kind, index), (Kind::Type, 0) | (Kind::ClassCell, 1));
            if let Some(&b) = scope.names.get(name) {
                match b {
                    Binding::Bound | Binding::UnboundException(true) => return,
                    Binding::Annotation => {
                        if scope.kind == Kind::Function {
                            return self.report_in(name, range, Some(s));
                        }
                    }
                    Binding::Deleted | Binding::UnboundException(false) => {
                        return self.report(name, range)
                    }
                }
            }
            if index == 0
                && scope.kind == Kind::Class
                && matches!(name, "__module__" | "__qualname__")
            {
                return;
            }
            if name == "__class__"
                && (scope.kind == Kind::ClassCell
                    || (scope.kind == Kind::Lambda && self.in_class_body(s)))
            {
                // A function or lambda defined in a class body has the `__class__` cell.
                return;
            }
        }
        if is_builtin(name) {
            return;
        }
        self.report(name, range);
    }

    /// Whether scope `s` is inside a class body, through comprehensions and lambdas only.
    fn in_class_body(&self, s: usize) -> bool {
        let mut id = self.scopes[s].parent;
        while let Some(p) = id {
            match self.scopes[p].kind {
                Kind::Class => return true,
                Kind::Lambda | Kind::Comprehension => id = self.scopes[p].parent,
                _ => return false,
            }
        }
        false
    }

    /// Whether `name` is visible from the current scope (for `except ... as name`).
    fn visible(&self, name: &str) -> bool {
        let mut class_visible = true;
        let mut id = Some(self.scope);
        let mut index = 0;
        while let Some(s) = id {
            let scope = &self.scopes[s];
            id = scope.parent;
            index += 1;
            if scope.kind == Kind::Class && !class_visible {
                continue;
            }
            class_visible = matches!(
                (scope.kind, index - 1),
                (Kind::Type, 0) | (Kind::ClassCell, 1)
            );
            if let Some(&b) = scope.names.get(name) {
                match b {
                    Binding::Annotation => {}
                    Binding::Bound | Binding::UnboundException(true) => return true,
                    Binding::Deleted | Binding::UnboundException(false) => return false,
                }
            }
        }
        false
    }

    fn delete(&mut self, name: &'a str, range: Range<usize>) {
        // `del x` reads `x` in the current scope only.
        if self.scopes[self.scope]
            .names
            .get(name)
            .is_none_or(|b| b.is_unbound())
        {
            self.report(name, range);
        }
        if self.conditional == 0 && self.in_handler == 0 {
            self.scopes[self.scope].names.insert(name, Binding::Deleted);
        }
    }

    /// `global` names declared in a function or class body (not in nested ones) bind at module
    /// level from the `def`/`class` statement on, as Ruff models them (the function may run
    /// and assign them at any time after).
    fn declare_globals(&mut self, body: &'a [Stmt]) {
        let mut g = Globals::default();
        for stmt in body {
            g.visit_stmt(stmt);
        }
        for name in g.0 {
            // Whatever the module name's state (deleted, unbound by a handler, only
            // annotated): measured on Ruff.
            self.scopes[0].names.insert(name, Binding::Bound);
        }
    }

    /// An annotation: evaluated now, or deferred (future import, strings).
    fn visit_annotation_expr(&mut self, expr: &'a Expr, evaluated: bool) {
        if self.future_annotations {
            self.annotations
                .push((expr, self.snapshot(), Runs::Annotation));
            return;
        }
        let saved = (self.type_definition, self.annotation_runs);
        self.type_definition = true;
        if !evaluated {
            self.annotation_runs = Some(Runs::Annotation);
        }
        self.visit_expr(expr);
        (self.type_definition, self.annotation_runs) = saved;
    }

    fn visit_function_def(&mut self, def: &'a StmtFunctionDef) {
        for d in &def.decorator_list {
            self.visit_expr(&d.expression);
        }
        for p in def.parameters.iter_non_variadic_params() {
            if let Some(d) = &p.default {
                self.visit_expr(d);
            }
        }
        let top_level = self.scope == 0;
        let in_class = self.scopes[self.scope].kind == Kind::Class;
        if in_class {
            self.push_scope(Kind::ClassCell);
        }
        self.push_scope(Kind::Type);
        for p in def.parameters.iter() {
            if let Some(a) = p.annotation() {
                self.visit_annotation_expr(a, true);
            }
        }
        if let Some(r) = &def.returns {
            self.visit_annotation_expr(r, true);
        }
        self.declare_globals(&def.body);
        let runs = if top_level && (self.is_entrypoint)(def.name.as_str()) {
            Runs::Entrypoint
        } else {
            Runs::Helper
        };
        self.push_scope(Kind::Function);
        let mut snap = self.snapshot();
        snap.runs = runs;
        self.functions.push((def, snap));
        self.pop_scope();
        self.pop_scope();
        if in_class {
            self.pop_scope();
        }
        self.store = Store::Plain;
        self.bind(def.name.as_str(), Binding::Bound);
    }

    fn visit_comprehension(&mut self, generators: &'a [ast::Comprehension], elts: &[&'a Expr]) {
        let Some((first, rest)) = generators.split_first() else {
            return;
        };
        self.visit_expr(&first.iter);
        self.push_scope(Kind::Comprehension);
        self.visit_target(&first.target);
        for e in &first.ifs {
            self.visit_expr(e);
        }
        for g in rest {
            self.visit_expr(&g.iter);
            self.visit_target(&g.target);
            for e in &g.ifs {
                self.visit_expr(e);
            }
        }
        for e in elts {
            self.visit_expr(e);
        }
        self.pop_scope();
    }

    fn visit_target(&mut self, target: &'a Expr) {
        let saved = self.store;
        self.store = Store::Plain;
        self.visit_expr(target);
        self.store = saved;
    }

    fn in_conditional(&mut self, f: impl FnOnce(&mut Self)) {
        self.conditional += 1;
        f(self);
        self.conditional -= 1;
    }
}

impl<'a> Visitor<'a> for Walker<'a, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(def) => self.visit_function_def(def),
            Stmt::ClassDef(class) => {
                for d in &class.decorator_list {
                    self.visit_expr(&d.expression);
                }
                // The bases are evaluated in an annotation-like scope of their own (where an
                // enclosing class's `__qualname__` is not visible), as Ruff models them.
                self.push_scope(Kind::Type);
                if let Some(args) = &class.arguments {
                    self.visit_arguments(args);
                }
                self.declare_globals(&class.body);
                self.push_scope(Kind::Class);
                let in_handler = std::mem::take(&mut self.in_handler);
                self.visit_body(&class.body);
                self.in_handler = in_handler;
                self.pop_scope();
                self.pop_scope();
                self.bind(class.name.as_str(), Binding::Bound);
            }
            Stmt::Import(imp) => {
                for alias in &imp.names {
                    let name = match &alias.asname {
                        Some(a) => a.as_str(),
                        None => alias
                            .name
                            .as_str()
                            .split('.')
                            .next()
                            .unwrap_or(alias.name.as_str()),
                    };
                    self.bind(name, Binding::Bound);
                }
            }
            Stmt::ImportFrom(imp) => {
                for alias in &imp.names {
                    if alias.name.as_str() == "*" {
                        self.star_import = true;
                        self.scopes[self.scope].star = true;
                        continue;
                    }
                    let name = alias.asname.as_ref().unwrap_or(&alias.name);
                    self.bind(name.as_str(), Binding::Bound);
                }
                if imp
                    .module
                    .as_ref()
                    .is_some_and(|m| m.as_str() == "__future__")
                    && imp.names.iter().any(|a| a.name.as_str() == "annotations")
                {
                    self.future_annotations = true;
                }
            }
            Stmt::Global(g) => {
                if self.scope != 0 {
                    for name in &g.names {
                        self.bind(name.as_str(), Binding::Bound);
                    }
                }
            }
            Stmt::Nonlocal(n) => {
                if self.scope != 0 {
                    for name in &n.names {
                        let mut s = self.scopes[self.scope].parent;
                        let mut found = false;
                        while let Some(id) = s {
                            let scope = &self.scopes[id];
                            if scope.kind == Kind::Function
                                && scope.names.contains_key(name.as_str())
                            {
                                found = true;
                                self.nonlocal_targets.push((id, name.as_str()));
                                break;
                            }
                            s = scope.parent;
                        }
                        if found {
                            self.bind(name.as_str(), Binding::Bound);
                        }
                    }
                }
            }
            Stmt::AugAssign(a) => {
                if let Expr::Name(n) = a.target.as_ref() {
                    self.resolve_load(n.id.as_str(), span(n));
                }
                walk_stmt(self, stmt);
            }
            Stmt::AnnAssign(a) => {
                // A local variable's annotation is never evaluated; a module or class one is
                // (into `__annotations__`).
                let evaluated = self.scopes[self.scope].kind != Kind::Function;
                self.visit_annotation_expr(&a.annotation, evaluated);
                if let Some(v) = &a.value {
                    self.visit_expr(v);
                }
                self.store = if a.value.is_none() {
                    Store::Annotation
                } else {
                    Store::Plain
                };
                self.visit_expr(&a.target);
                self.store = Store::Plain;
            }
            Stmt::Try(t) => {
                let catches = t.handlers.iter().any(|h| {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    h.type_.as_deref().is_some_and(catches_name_error)
                });
                if catches {
                    self.name_error += 1;
                }
                self.visit_body(&t.body);
                if catches {
                    self.name_error -= 1;
                }
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    let visible_before = h.name.as_ref().map(|n| self.visible(n.as_str()));
                    if let Some(n) = &h.name {
                        self.bind(n.as_str(), Binding::Bound);
                    }
                    if let Some(t) = &h.type_ {
                        self.visit_expr(t);
                    }
                    // A handler and the `else` run only sometimes: a `del` in them is
                    // conditional (measured on Ruff: unlike one in the `try` or `finally` body).
                    self.in_handler += 1;
                    self.visit_body(&h.body);
                    self.in_handler -= 1;
                    if let (Some(n), Some(before)) = (&h.name, visible_before) {
                        self.bind(n.as_str(), Binding::UnboundException(before));
                    }
                }
                self.in_handler += 1;
                self.visit_body(&t.orelse);
                self.in_handler -= 1;
                self.visit_body(&t.finalbody);
            }
            Stmt::If(i) => {
                self.in_conditional(|w| {
                    w.visit_expr(&i.test);
                    w.visit_body(&i.body);
                    for clause in &i.elif_else_clauses {
                        if let Some(t) = &clause.test {
                            w.visit_expr(t);
                        }
                        w.visit_body(&clause.body);
                    }
                });
            }
            Stmt::While(_) | Stmt::Match(_) => self.in_conditional(|w| walk_stmt(w, stmt)),
            Stmt::For(f) => {
                self.visit_expr(&f.iter);
                self.visit_target(&f.target);
                self.visit_body(&f.body);
                self.visit_body(&f.orelse);
            }
            Stmt::With(w) => {
                for item in &w.items {
                    self.visit_expr(&item.context_expr);
                    if let Some(v) = &item.optional_vars {
                        self.visit_target(v);
                    }
                }
                self.visit_body(&w.body);
            }
            _ => walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(n) => match n.ctx {
                ExprContext::Load => self.resolve_load(n.id.as_str(), span(n)),
                ExprContext::Store => {
                    let b = if self.store == Store::Annotation {
                        Binding::Annotation
                    } else {
                        Binding::Bound
                    };
                    self.bind(n.id.as_str(), b);
                }
                ExprContext::Del => self.delete(n.id.as_str(), span(n)),
                ExprContext::Invalid => {}
            },
            Expr::Named(n) => {
                self.visit_expr(&n.value);
                let saved = self.store;
                self.store = Store::Walrus;
                self.visit_expr(&n.target);
                self.store = saved;
            }
            Expr::Lambda(l) => {
                if let Some(p) = &l.parameters {
                    for p in p.iter_non_variadic_params() {
                        if let Some(d) = &p.default {
                            self.visit_expr(d);
                        }
                    }
                }
                self.push_scope(Kind::Lambda);
                // A lambda's body runs where it is called; lambdas are nearly always called
                // where they are written (a sort key, `apply`), so it keeps the severity of the
                // code around it.
                self.lambdas.push((l, self.snapshot()));
                self.pop_scope();
            }
            Expr::ListComp(c) => self.visit_comprehension(&c.generators, &[&c.elt]),
            Expr::SetComp(c) => self.visit_comprehension(&c.generators, &[&c.elt]),
            Expr::Generator(c) => self.visit_comprehension(&c.generators, &[&c.elt]),
            Expr::DictComp(c) => match &c.key {
                Some(key) => self.visit_comprehension(&c.generators, &[key, &c.value]),
                None => self.visit_comprehension(&c.generators, &[&c.value]),
            },
            Expr::StringLiteral(s) if self.type_definition && !self.typing_literal => {
                if self.forward {
                    // Already deferred (an annotation under the future import).
                    self.visit_string_annotation(s);
                } else {
                    self.annotations
                        .push((expr, self.snapshot(), Runs::Annotation));
                }
            }
            Expr::Subscript(s) if self.type_definition => {
                self.visit_expr(&s.value);
                match last_segment(&s.value) {
                    Some("Literal") => {
                        let saved = self.typing_literal;
                        self.typing_literal = true;
                        self.visit_expr(&s.slice);
                        self.typing_literal = saved;
                    }
                    Some("Annotated") => match s.slice.as_ref() {
                        Expr::Tuple(t) if !t.elts.is_empty() => {
                            self.visit_expr(&t.elts[0]);
                            let saved = self.type_definition;
                            self.type_definition = false;
                            for e in &t.elts[1..] {
                                self.visit_expr(e);
                            }
                            self.type_definition = saved;
                        }
                        other => self.visit_expr(other),
                    },
                    _ => self.visit_expr(&s.slice),
                }
            }
            Expr::Call(c) if self.type_definition => {
                self.visit_expr(&c.func);
                let saved = self.type_definition;
                self.type_definition = false;
                self.visit_arguments(&c.arguments);
                self.type_definition = saved;
            }
            _ => walk_expr(self, expr),
        }
    }

    fn visit_pattern(&mut self, pattern: &'a Pattern) {
        let name = match pattern {
            Pattern::MatchAs(p) => p.name.as_ref(),
            Pattern::MatchStar(p) => p.name.as_ref(),
            Pattern::MatchMapping(p) => p.rest.as_ref(),
            _ => None,
        };
        if let Some(name) = name {
            self.bind(name.as_str(), Binding::Bound);
        }
        walk_pattern(self, pattern);
    }
}

/// The `global` names of a body, not looking into nested functions and classes.
#[derive(Default)]
struct Globals<'a>(Vec<&'a str>);

impl<'a> Visitor<'a> for Globals<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Global(g) => self.0.extend(g.names.iter().map(|n| n.as_str())),
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            _ => walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, _: &'a Expr) {}
}

/// The loaded names of a parsed string annotation (which the caller owns).
#[derive(Default)]
struct Names(Vec<(String, Range<usize>)>);

impl<'a> Visitor<'a> for Names {
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(n) if n.ctx == ExprContext::Load => {
                self.0.push((n.id.to_string(), span(n)));
            }
            _ => walk_expr(self, expr),
        }
    }
}

fn span(node: &impl Ranged) -> Range<usize> {
    node.start().to_usize()..node.end().to_usize()
}

/// `Literal` in `Literal[...]`, `typing.Literal[...]`, `t.Literal[...]`.
fn last_segment(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

/// Whether an `except` clause's type names `NameError` (alone or in a tuple).
fn catches_name_error(expr: &Expr) -> bool {
    match expr {
        Expr::Name(n) => n.id.as_str() == "NameError",
        Expr::Tuple(t) => t.elts.iter().any(catches_name_error),
        _ => false,
    }
}

/// Python 3.11's builtins, the module globals every module has, and `fused`, which the SDK
/// injects.
fn is_builtin(name: &str) -> bool {
    BUILTINS.binary_search(&name).is_ok()
}

/// Sorted (a test checks it): `dir(builtins)` of CPython 3.11, `WindowsError` (Ruff counts it
/// everywhere), the module attributes `__file__`, `__builtins__`, `__cached__`,
/// `__annotations__`, and `fused`.
const BUILTINS: &[&str] = &[
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "BaseExceptionGroup",
    "BlockingIOError",
    "BrokenPipeError",
    "BufferError",
    "BytesWarning",
    "ChildProcessError",
    "ConnectionAbortedError",
    "ConnectionError",
    "ConnectionRefusedError",
    "ConnectionResetError",
    "DeprecationWarning",
    "EOFError",
    "Ellipsis",
    "EncodingWarning",
    "EnvironmentError",
    "Exception",
    "ExceptionGroup",
    "False",
    "FileExistsError",
    "FileNotFoundError",
    "FloatingPointError",
    "FutureWarning",
    "GeneratorExit",
    "IOError",
    "ImportError",
    "ImportWarning",
    "IndentationError",
    "IndexError",
    "InterruptedError",
    "IsADirectoryError",
    "KeyError",
    "KeyboardInterrupt",
    "LookupError",
    "MemoryError",
    "ModuleNotFoundError",
    "NameError",
    "None",
    "NotADirectoryError",
    "NotImplemented",
    "NotImplementedError",
    "OSError",
    "OverflowError",
    "PendingDeprecationWarning",
    "PermissionError",
    "ProcessLookupError",
    "RecursionError",
    "ReferenceError",
    "ResourceWarning",
    "RuntimeError",
    "RuntimeWarning",
    "StopAsyncIteration",
    "StopIteration",
    "SyntaxError",
    "SyntaxWarning",
    "SystemError",
    "SystemExit",
    "TabError",
    "TimeoutError",
    "True",
    "TypeError",
    "UnboundLocalError",
    "UnicodeDecodeError",
    "UnicodeEncodeError",
    "UnicodeError",
    "UnicodeTranslateError",
    "UnicodeWarning",
    "UserWarning",
    "ValueError",
    "Warning",
    "WindowsError",
    "ZeroDivisionError",
    "__annotations__",
    "__build_class__",
    "__builtins__",
    "__cached__",
    "__debug__",
    "__doc__",
    "__file__",
    "__import__",
    "__loader__",
    "__name__",
    "__package__",
    "__spec__",
    "abs",
    "aiter",
    "all",
    "anext",
    "any",
    "ascii",
    "bin",
    "bool",
    "breakpoint",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "compile",
    "complex",
    "copyright",
    "credits",
    "delattr",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "eval",
    "exec",
    "exit",
    "filter",
    "float",
    "format",
    "frozenset",
    "fused",
    "getattr",
    "globals",
    "hasattr",
    "hash",
    "help",
    "hex",
    "id",
    "input",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "license",
    "list",
    "locals",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "quit",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "setattr",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "vars",
    "zip",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_sorted_for_binary_search() {
        assert!(BUILTINS.windows(2).all(|w| w[0] < w[1]));
    }

    /// `(name, runs)` of the undefined names of `src`, whose entrypoint is `udf`.
    fn found(src: &str) -> Vec<(String, Runs)> {
        let parsed = crate::python::parse(src, None);
        let ast = parsed.module.expect("a clean parse");
        undefined_names(ast.syntax(), src, &|n| n == "udf")
            .into_iter()
            .map(|u| {
                assert_eq!(&src[u.range.clone()], u.name, "the range is the name");
                (u.name, u.runs)
            })
            .collect()
    }

    fn names(src: &str) -> Vec<String> {
        found(src).into_iter().map(|(n, _)| n).collect()
    }

    #[test]
    fn severity_follows_where_the_line_runs() {
        let src = "import fused\nprint(a)\nclass K:\n    b\n    def m(self):\n        return c\n@fused.udf\ndef udf(n: int = d):\n    e\n    [f for _ in range(3)]\n    g = lambda: h\n    def inner():\n        return i\n    return inner\ndef helper():\n    return j\n";
        assert_eq!(
            found(src),
            [
                ("a".into(), Runs::Module),
                ("b".into(), Runs::Module),
                ("c".into(), Runs::Helper),
                ("d".into(), Runs::Module),
                ("e".into(), Runs::Entrypoint),
                ("f".into(), Runs::Entrypoint),
                ("h".into(), Runs::Entrypoint),
                ("i".into(), Runs::Helper),
                ("j".into(), Runs::Helper),
            ]
        );
    }

    #[test]
    fn scopes() {
        // Function bodies see module names bound after the `def`; module code does not.
        assert_eq!(
            names("def f():\n    return later\nlater = 1\nprint(early)\nearly = 2\n"),
            ["early"]
        );
        // Class attributes are not visible from methods, comprehensions or lambdas in the class,
        // but are from defaults and the first iterable.
        assert_eq!(
            names("class K:\n    t = 1\n    u = [t for _ in range(t)]\n    f = lambda: t\n    def m(self, d=t):\n        return t\n"),
            ["t", "t", "t"]
        );
        // A local import is local.
        assert_eq!(
            names("def udf():\n    import json\ndef h():\n    return json\n"),
            ["json"]
        );
        // Walrus in a comprehension binds outside it; the loop variable does not leak.
        assert_eq!(
            names("ys = [y := i for i in range(3)]\nprint(y, i)\n"),
            ["i"]
        );
        // global and nonlocal.
        assert!(names("def f():\n    global g\n    g = 1\nprint(g)\ndef o():\n    v = 1\n    def i():\n        nonlocal v\n        return v\n").is_empty());
        // del, except-as, annotation without value.
        assert_eq!(names("x = 1\ndel x\nprint(x)\n"), ["x"]);
        assert!(names("x = 1\nif x:\n    del x\nprint(x)\n").is_empty());
        assert_eq!(
            names("try:\n    pass\nexcept ValueError as e:\n    print(e)\nprint(e)\n"),
            ["e"]
        );
        assert_eq!(names("def f():\n    x: int\n    return x\n"), ["x"]);
        // try/except ImportError imports, NameError handled, match captures.
        assert!(names(
            "try:\n    import ujson as json\nexcept ImportError:\n    json = None\nprint(json)\n"
        )
        .is_empty());
        assert!(names("try:\n    maybe\nexcept NameError:\n    pass\n").is_empty());
        assert!(names("match 1:\n    case [a, *rest]:\n        print(a, rest)\n    case {'k': v, **kw}:\n        print(v, kw)\n").is_empty());
        // Dunders: module ones everywhere, `__class__` in methods, `__qualname__` in a class body.
        assert!(names("print(__file__, __name__, __doc__)\nclass K:\n    q = __qualname__\n    def m(self):\n        return __class__\n").is_empty());
        // A star import silences the file.
        assert!(names("from os.path import *\nprint(undefined)\n").is_empty());
    }

    #[test]
    fn annotations() {
        // Evaluated: parameter and module annotations. Not: local, string, future ones.
        assert_eq!(
            found("def f(a: A) -> B:\n    x: C = 1\ny: D = 2\nz: 'E'\n"),
            [
                ("A".into(), Runs::Module),
                ("B".into(), Runs::Module),
                ("C".into(), Runs::Annotation),
                ("D".into(), Runs::Module),
                ("E".into(), Runs::Annotation),
            ]
        );
        // A forward reference in a string resolves to a later module name.
        assert!(
            names("def f(a: 'Later') -> 'list[Later]':\n    pass\nclass Later:\n    pass\n")
                .is_empty()
        );
        assert_eq!(
            found("from __future__ import annotations\ndef f(a: Later, b: Missing):\n    pass\nclass Later:\n    pass\n"),
            [("Missing".into(), Runs::Annotation)]
        );
        // `Literal` strings are values, not names.
        assert!(
            names("from typing import Literal\ndef f(a: Literal['x', 'y']):\n    pass\n")
                .is_empty()
        );
    }

    #[test]
    fn messages_say_what_to_do() {
        let src = "import fused\n@fused.udf\ndef udf():\n    return json.dumps(np.zeros(1), helper_v1())\n";
        let parsed = crate::python::parse(src, None);
        let ctx = PyContext {
            text: src,
            tree: None,
            model: &parsed.model,
            dir: None,
            probe: &crate::probe::NoProbe,
            entry: Default::default(),
        };
        let mut out = Vec::new();
        check(
            parsed.module.as_ref().unwrap().syntax(),
            &ctx,
            None,
            &mut out,
        );
        let msgs: Vec<_> = out.iter().map(|d| (d.rule, d.message.as_str())).collect();
        assert_eq!(msgs, [
            (Rule::UndefinedName, "`json` is not defined: import it (`import json`) — the run fails with NameError here"),
            (Rule::UndefinedName, "`np` is not defined: import it (`import numpy as np`) — the run fails with NameError here"),
            (Rule::UndefinedName, "`helper_v1` is not defined: define it, import it, or fix the spelling — the run fails with NameError here"),
        ]);
    }
}
