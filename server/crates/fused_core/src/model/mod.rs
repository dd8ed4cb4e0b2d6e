//! The UDF model: what a Python file declares that the rules care about.
//!
//! Read from one of two trees that must agree: Ruff's AST when the file parses cleanly (exact,
//! and about ten times faster to get than a tree-sitter parse from scratch), else the
//! error-tolerant tree-sitter tree (so a half-typed line does not hide the rest of the file),
//! which the language server re-parses incrementally while typing. A test holds the two
//! readers to the same model on every fixture and a generated corpus.

mod ast;
mod tree;

pub use ast::from_ast;
pub use tree::{build, literal};

use crate::annotation::TypeExpr;
use std::ops::Range;

/// A literal default or keyword value, as far as the rules need to know it.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i128),
    Float(f64),
    Bool(bool),
    None,
    List,
    Dict,
    Tuple,
    /// Not a literal (a name, a call...): rules make no claim about it.
    Other,
}

impl Literal {
    pub fn kind_name(&self) -> &'static str {
        match self {
            Literal::Str(_) => "a string",
            Literal::Int(_) => "an int",
            Literal::Float(_) => "a float",
            Literal::Bool(_) => "a bool",
            Literal::None => "None",
            Literal::List => "a list",
            Literal::Dict => "a dict",
            Literal::Tuple => "a tuple",
            Literal::Other => "an expression",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    Normal,
    VarArgs,
    KwArgs,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub range: Range<usize>,
    pub text: String,
    pub expr: TypeExpr,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Default {
    pub range: Range<usize>,
    pub text: String,
    pub value: Literal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub name_range: Range<usize>,
    /// The whole parameter, annotation and default included.
    pub range: Range<usize>,
    pub kind: ParamKind,
    pub annotation: Option<Annotation>,
    pub default: Option<Default>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Keyword {
    pub name: String,
    pub name_range: Range<usize>,
    pub value_range: Range<usize>,
    pub value: Literal,
    /// For a dict literal value: its string keys and their ranges.
    pub dict_keys: Vec<(String, Range<usize>)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Udf {
    pub name: String,
    pub name_range: Range<usize>,
    /// The `def ...` statement, decorators excluded.
    pub def_range: Range<usize>,
    /// The decorator expression (after `@`); for a function without `@fused.udf` (see
    /// [`PyModel::functions`]) the empty range where the statement starts: its first (other)
    /// decorator's `@`, else its `def`.
    pub decorator_range: Range<usize>,
    /// Whether it is decorated with `@fused.udf` (or what `from fused import udf` bound).
    pub decorated: bool,
    pub keywords: Vec<Keyword>,
    pub params: Vec<Param>,
}

impl Udf {
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params
            .iter()
            .find(|p| p.name == name && p.kind == ParamKind::Normal)
    }

    pub fn has_kwargs(&self) -> bool {
        self.params.iter().any(|p| p.kind == ParamKind::KwArgs)
    }

    /// The parameter that receives the tile in Tile mode: `bounds`, else `bbox`, else the first.
    pub fn tile_receiver(&self) -> Option<&Param> {
        self.param("bounds")
            .or_else(|| self.param("bbox"))
            .or_else(|| self.params.iter().find(|p| p.kind == ParamKind::Normal))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoadCall {
    /// The string literal, quotes included.
    pub range: Range<usize>,
    pub target: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PyModel {
    /// The `from __future__ import annotations` statement, if present.
    pub future_annotations: Option<Range<usize>>,
    pub udfs: Vec<Udf>,
    /// The other top-level functions (no `@fused.udf`), read the same way: in a package, the one
    /// meta.json's `entrypoint` names is the UDF all the same (the SDK runs it).
    pub functions: Vec<Udf>,
    /// Names of the decorated functions passed to a tile run in the file
    /// (`fused.run(name, x=..., y=..., z=...)`), which can receive a tile as much as the entrypoint.
    pub tile_runs: Vec<String>,
    pub loads: Vec<LoadCall>,
    /// Top-level names of the modules imported anywhere in the file (`import utils`,
    /// `from helpers import x` → `utils`, `helpers`), to find local helper modules.
    pub imported_modules: Vec<String>,
}

impl PyModel {
    /// The top-level function named `name`, decorated or not: the last definition, as Python
    /// binds it.
    pub fn function(&self, name: &str) -> Option<&Udf> {
        self.udfs
            .iter()
            .chain(&self.functions)
            .filter(|u| u.name == name)
            .max_by_key(|u| u.def_range.start)
    }

    /// The entrypoint `fused.load` of the file alone would pick (fused 2.9.5's
    /// `_get_entrypoint_of_code`): the only decorated function, else the one named `udf`; `None`
    /// when that is ambiguous (the SDK then refuses the file) or there is none.
    pub fn code_entrypoint(&self) -> Option<&Udf> {
        match self.udfs.as_slice() {
            [one] => Some(one),
            many => many.iter().rev().find(|u| u.name == "udf"),
        }
    }
}

/// The names a file binds to the `fused` module and its functions, from its top-level imports.
pub(crate) struct Names {
    /// Names bound to the `fused` module. `fused` itself is an implicit global in UDF code.
    pub fused: Vec<String>,
    /// Names bound to `fused.udf` by `from fused import udf [as x]`.
    pub udf: Vec<String>,
    /// Names bound to `fused.load`.
    pub load: Vec<String>,
    /// Names bound to `fused.run`.
    pub run: Vec<String>,
    /// Import aliases: `gpd` → `geopandas`, `B` → `fused.types.Bounds`, `f` → `fused`.
    pub aliases: std::collections::HashMap<String, String>,
}

impl Names {
    pub fn new() -> Names {
        Names {
            fused: vec!["fused".into()],
            udf: Vec::new(),
            load: Vec::new(),
            run: Vec::new(),
            aliases: std::collections::HashMap::new(),
        }
    }

    /// Whether the dotted name `name` is `fused.udf` (or what `from fused import udf` bound).
    pub fn is_udf(&self, name: &str) -> bool {
        self.udf.iter().any(|u| u == name) || self.is_fused_attr(name, "udf")
    }

    /// Whether the dotted name `name` is `fused.load`.
    pub fn is_load(&self, name: &str) -> bool {
        self.load.iter().any(|u| u == name) || self.is_fused_attr(name, "load")
    }

    /// Whether the dotted name `name` is `fused.run`.
    pub fn is_run(&self, name: &str) -> bool {
        self.run.iter().any(|u| u == name) || self.is_fused_attr(name, "run")
    }

    fn is_fused_attr(&self, name: &str, attr: &str) -> bool {
        self.fused.iter().any(|f| {
            name.len() == f.len() + 1 + attr.len()
                && name.starts_with(f.as_str())
                && name[f.len()..].starts_with('.')
                && name.ends_with(attr)
        })
    }

    /// Records `from fused import <name> as <alias>`.
    pub fn bind_from_fused(&mut self, name: &str, alias: &str) {
        match name {
            "udf" => self.udf.push(alias.to_string()),
            "load" => self.load.push(alias.to_string()),
            "run" => self.run.push(alias.to_string()),
            _ => {}
        }
    }
}

/// Keywords of `fused.run` that make it a tile run: `x`/`y`/`z` name the tile, `lat`/`lng` the
/// point whose tile is meant (documented).
pub(crate) const TILE_RUN_KEYWORDS: &[&str] = &["x", "y", "z", "lat", "lng"];

/// Records `name` as passed to a tile run, once.
pub(crate) fn push_tile_run(runs: &mut Vec<String>, name: &str) {
    if !runs.iter().any(|r| r == name) {
        runs.push(name.to_string());
    }
}

/// An integer literal as written (`1_000`, `0x1F`, `0o17`, `0b101`).
pub(crate) fn parse_int(t: &str) -> Option<i128> {
    let t = t.replace('_', "");
    let lower = t.to_ascii_lowercase();
    if let Some(h) = lower.strip_prefix("0x") {
        i128::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i128::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i128::from_str_radix(b, 2).ok()
    } else {
        t.parse().ok()
    }
}

/// Whether the text plausibly holds a UDF, to decide if a loose `.py` file is worth checking.
pub fn mentions_udf(src: &str) -> bool {
    src.contains("udf") && src.contains('@')
}
