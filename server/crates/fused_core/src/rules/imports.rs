//! FUSED055: an import of a package-local helper module the SDK cannot resolve; FUSED056: a
//! relative import in a package's main file (fused 2.9.5 runs it without a package, so
//! `from .utils import f` fails with `KeyError: "'__name__' not in globals"`, measured);
//! FUSED057: a declared header imported at the top of the main file (not importable there when
//! the UDF runs, measured).
//!
//! How fused 2.9.5 resolves a package's helper modules (measured: `fused.load(dir)` then
//! `fused.run(udf, engine="local", cache=False)`, from another working directory and from the
//! package's own): only the headers meta.json declares are importable, each under its
//! `module_name`. A `utils.py` lying beside the UDF but not declared is not importable either
//! (that case is FUSED065's, which names the fix). Anything else imported must be installed.
//!
//! So the rule fires, in the package's main file and its header files, for an absolute
//! `import M` / `from M import ...` not guarded by a `try` where `M` is not a declared module
//! and no `M.py` is in the package, and `M` is package-local for sure:
//! - `M` is the stem of a declared header's `source_file` whose `module_name` differs (the
//!   module is importable only by its `module_name`), or
//! - `M` is one of the names UDF packages give their helper module (`utils`, `util`,
//!   `helpers`, `helper`, `common`), which no installed library the UDF runtime offers uses.
//!
//! Any other unknown name may be an installed library, so it is never flagged: no false alarm on
//! `import numpy`.

use crate::diagnostic::Diagnostic;
use crate::meta::MetaUdf;
use crate::registry::Rule;
use ruff_python_ast::visitor::{walk_stmt, Visitor};
use ruff_python_ast::{Expr, ModModule, Stmt};
use ruff_text_size::Ranged;
use std::ops::Range;

/// Names UDF packages give their helper module.
const LOCAL_NAMES: &[&str] = &["utils", "util", "helpers", "helper", "common"];

/// One import: the top-level module name and the range of the dotted name (for a relative
/// import, `top` is the module after the dots, maybe empty, and `range` the dots and name).
#[derive(Debug, Clone)]
pub struct Import {
    pub top: String,
    pub range: Range<usize>,
    /// Inside a `try` with handlers (the file expects it may fail) or under `if TYPE_CHECKING:`
    /// (for type checkers only: never executed).
    pub guarded: bool,
    /// `from .m import x` / `from . import x`: the number of dots, 0 for an absolute import.
    pub level: u32,
    /// Inside a function (the UDF's body, typically), not at the top of the file.
    pub in_function: bool,
}

pub fn collect(module: &ModModule) -> Vec<Import> {
    let mut c = Collector {
        out: Vec::new(),
        try_depth: 0,
        fn_depth: 0,
    };
    c.visit_body(&module.body);
    c.out
}

struct Collector {
    out: Vec<Import>,
    try_depth: usize,
    fn_depth: usize,
}

impl Collector {
    fn push(&mut self, dotted: &str, range: Range<usize>, level: u32) {
        let top = dotted.split('.').next().unwrap_or_default();
        if !top.is_empty() || level > 0 {
            self.out.push(Import {
                top: top.to_string(),
                range,
                guarded: self.try_depth > 0,
                level,
                in_function: self.fn_depth > 0,
            });
        }
    }
}

impl<'a> Visitor<'a> for Collector {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(imp) => {
                for alias in &imp.names {
                    let r = alias.name.range();
                    self.push(
                        alias.name.as_str(),
                        r.start().to_usize()..r.end().to_usize(),
                        0,
                    );
                }
            }
            Stmt::ImportFrom(imp) if imp.level == 0 => {
                if let Some(m) = &imp.module {
                    let r = m.range();
                    self.push(m.as_str(), r.start().to_usize()..r.end().to_usize(), 0);
                }
            }
            Stmt::ImportFrom(imp) => {
                // From the `from` keyword's end: the dots and the module name, if any.
                let start = imp.range().start().to_usize() + "from".len();
                let end = match (&imp.module, imp.names.first()) {
                    (Some(m), _) => m.range().end().to_usize(),
                    // `from . import x`: up to the first name (the dots are in between).
                    (None, Some(first)) => first.range().start().to_usize(),
                    (None, None) => start,
                };
                let module = imp.module.as_ref().map(|m| m.as_str()).unwrap_or_default();
                self.push(module, start..end, imp.level);
            }
            Stmt::Try(t) if !t.handlers.is_empty() => {
                self.try_depth += 1;
                self.visit_body(&t.body);
                self.try_depth -= 1;
                for h in &t.handlers {
                    let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                    self.visit_body(&h.body);
                }
                self.visit_body(&t.orelse);
                self.visit_body(&t.finalbody);
            }
            // `if TYPE_CHECKING:` (the name or `typing.TYPE_CHECKING`): False when the UDF runs,
            // so its imports never execute; the other branches do.
            Stmt::If(i) if is_type_checking(&i.test) => {
                self.try_depth += 1;
                self.visit_body(&i.body);
                self.try_depth -= 1;
                for clause in &i.elif_else_clauses {
                    self.visit_body(&clause.body);
                }
            }
            Stmt::FunctionDef(_) => {
                self.fn_depth += 1;
                walk_stmt(self, stmt);
                self.fn_depth -= 1;
            }
            other => walk_stmt(self, other),
        }
    }

    fn visit_expr(&mut self, _: &'a Expr) {}
}

fn is_type_checking(test: &Expr) -> bool {
    match test {
        Expr::Name(n) => n.id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(a) => a.attr.as_str() == "TYPE_CHECKING",
        _ => false,
    }
}

/// FUSED056: the relative imports of a package's main file. `text` is the file's source (the
/// fix removes the dots when the module is a declared header).
pub fn check_relative(imports: &[Import], udf: &MetaUdf, text: &str, out: &mut Vec<Diagnostic>) {
    let declared = |m: &str| {
        udf.headers
            .iter()
            .any(|h| h.module_name.as_ref().is_some_and(|n| n.value == m))
    };
    for imp in imports.iter().filter(|i| !i.guarded && i.level > 0) {
        // The dots and the module name: `.utils`, `..pkg.m`, or `.` alone.
        let seg = text.get(imp.range.clone()).unwrap_or("");
        let Some(dot) = seg.find('.').map(|i| imp.range.start + i) else {
            continue;
        };
        let range = if imp.top.is_empty() {
            dot..dot + imp.level as usize
        } else {
            dot..imp.range.end
        };
        let written = text.get(range.clone()).unwrap_or("");
        let m = imp.top.as_str();
        let mut d = Diagnostic::new(
            Rule::RelativeImport,
            range.clone(),
            format!(
                "relative import `{written}`: fused 2.9.5 runs the UDF without a package, so it fails (KeyError: '__name__' not in globals); {}",
                match (declared(m), imp.in_function) {
                    (true, true) => format!("import the header module absolutely: `{}`", written.trim_start_matches('.')),
                    // Measured: a header imported at the top of the file is not importable
                    // when the UDF runs either; inside the UDF it is.
                    (true, false) => format!("import the header module absolutely inside the UDF function: `{}`", written.trim_start_matches('.')),
                    _ => "import the module by the `module_name` meta.json declares for it in `headers`, inside the UDF function".to_string(),
                }
            ),
        );
        if declared(m) && imp.level == 1 && imp.in_function {
            // `from .utils import f` → `from utils import f`: the header is importable by its
            // module name, as a top-level module. Only the dot goes.
            d = d.with_fix(crate::diagnostic::Fix {
                title: format!("Import `{m}` absolutely"),
                edits: vec![crate::diagnostic::TextEdit {
                    range: dot..dot + 1,
                    new_text: String::new(),
                }],
                applicability: crate::diagnostic::Applicability::Safe,
            });
        }
        out.push(d);
    }
}

/// FUSED057: a declared header imported at the top of the package's main file (measured: not
/// importable there when the UDF runs; inside the UDF function it is).
pub fn check_header_at_top(imports: &[Import], udf: &MetaUdf, out: &mut Vec<Diagnostic>) {
    for imp in imports
        .iter()
        .filter(|i| !i.guarded && i.level == 0 && !i.in_function)
    {
        let m = imp.top.as_str();
        let declared = udf
            .headers
            .iter()
            .any(|h| h.module_name.as_ref().is_some_and(|n| n.value == m));
        if declared {
            out.push(Diagnostic::new(
                Rule::HeaderImportAtTop,
                imp.range.clone(),
                format!("the header module `{m}` is imported at the top of the file, where it is not importable when the UDF runs (ModuleNotFoundError); move the import into the UDF function"),
            ));
        }
    }
}

/// The diagnostics for one file's imports, given the package's meta.json `udf` and file names.
pub fn check(imports: &[Import], udf: &MetaUdf, files: &[&str], out: &mut Vec<Diagnostic>) {
    let declared = |m: &str| {
        udf.headers
            .iter()
            .any(|h| h.module_name.as_ref().is_some_and(|n| n.value == m))
    };
    for imp in imports.iter().filter(|i| !i.guarded && i.level == 0) {
        let m = imp.top.as_str();
        if declared(m) {
            continue;
        }
        // A header's file imported by its file name instead of its module name.
        let renamed = udf.headers.iter().find_map(|h| {
            let file = h.source_file.as_ref()?;
            let stem = file.value.strip_suffix(".py")?;
            (stem == m).then(|| h.module_name.as_ref().map(|n| n.value.clone()))?
        });
        // An undeclared `M.py` of the package is FUSED065's case.
        if renamed.is_none() && files.contains(&format!("{m}.py").as_str()) {
            continue;
        }
        let message = match renamed {
            Some(module_name) => format!("`{m}` is not importable: meta.json declares `{m}.py` as the module `{module_name}`; import `{module_name}` (ModuleNotFoundError at run)"),
            None if LOCAL_NAMES.contains(&m) => format!("`{m}` is neither a header declared in meta.json nor a file of the package (ModuleNotFoundError at run); add `{m}.py` and declare it in `headers`, or fix the module name"),
            None => continue,
        };
        out.push(Diagnostic::new(
            Rule::LocalModuleUnresolved,
            imp.range.clone(),
            message,
        ));
    }
}
