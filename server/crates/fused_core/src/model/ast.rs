//! The model read from Ruff's AST: the path for a file that parses cleanly. Ruff parses a
//! 5,000-line file in ≈3 ms where a tree-sitter parse from scratch takes ≈26 ms, and the AST is
//! parsed anyway for the exact syntax errors, so `check` and the language server's first look at
//! a file need no tree-sitter parse at all.
//!
//! It must read exactly what [`super::tree`] reads from the same valid source; the
//! `model_agreement` test holds the two to that.

use super::*;
use crate::annotation::TypeExpr;
use ruff_python_ast::token::{parenthesized_range, TokenKind, Tokens};
use ruff_python_ast::visitor::{walk_expr, walk_stmt, Visitor};
use ruff_python_ast::{
    AnyNodeRef, Expr, FStringPart, InterpolatedStringElement, ModModule, Number, Operator,
    Parameter, ParameterWithDefault, Stmt, StmtFunctionDef, UnaryOp,
};
use ruff_text_size::Ranged;

fn span(node: &impl Ranged) -> Range<usize> {
    node.start().to_usize()..node.end().to_usize()
}

fn text<'a>(node: &impl Ranged, src: &'a str) -> &'a str {
    &src[span(node)]
}

/// The source and its tokens: the AST drops an expression's own parentheses, tree-sitter's
/// ranges include them (`x=(3)`: the default is `(3)`), and the tokens find them.
struct Source<'a> {
    src: &'a str,
    tokens: &'a Tokens,
}

impl Source<'_> {
    /// `expr`'s range with the parentheses around it that belong to it, not to `parent`.
    fn outer<'p>(&self, expr: &Expr, parent: impl Into<AnyNodeRef<'p>>) -> Range<usize> {
        parenthesized_range(expr.into(), parent.into(), self.tokens)
            .map(|r| r.start().to_usize()..r.end().to_usize())
            .unwrap_or_else(|| span(expr))
    }
}

/// Reads the model from a module that parsed without errors.
pub fn from_ast(module: &ModModule, tokens: &Tokens, src: &str) -> PyModel {
    let cx = Source { src, tokens };
    let mut model = PyModel::default();
    let mut names = Names::new();
    for stmt in &module.body {
        read_imports(stmt, &mut names, &mut model);
    }
    for stmt in &module.body {
        if let Stmt::FunctionDef(def) = stmt {
            let udf = read_udf(def, &cx, &names);
            if udf.decorated {
                model.udfs.push(udf);
            } else {
                model.functions.push(udf);
            }
        }
    }
    let mut finder = Finder {
        cx: &cx,
        names: &names,
        loads: Vec::new(),
        imports: Vec::new(),
        tile_runs: Vec::new(),
    };
    finder.visit_body(&module.body);
    model.tile_runs = finder.tile_runs;
    model.tile_runs.sort();
    model.loads = finder.loads;
    model.loads.sort_by_key(|l| l.range.start);
    model.imported_modules = finder.imports;
    model
}

fn read_imports(stmt: &Stmt, names: &mut Names, model: &mut PyModel) {
    match stmt {
        Stmt::Import(imp) => {
            for alias in &imp.names {
                if let Some(asname) = &alias.asname {
                    if alias.name.as_str() == "fused" {
                        names.fused.push(asname.to_string());
                    }
                    names
                        .aliases
                        .insert(asname.to_string(), alias.name.to_string());
                }
            }
        }
        Stmt::ImportFrom(imp) if imp.level == 0 => {
            let module = imp.module.as_ref().map(|m| m.as_str()).unwrap_or("");
            if module == "__future__" {
                if imp.names.iter().any(|a| a.name.as_str() == "annotations") {
                    model.future_annotations = Some(span(imp));
                }
                return;
            }
            for alias in &imp.names {
                let name = alias.name.as_str();
                if name == "*" {
                    continue;
                }
                let alias_name = alias.asname.as_ref().map_or(name, |a| a.as_str());
                if module == "fused" {
                    names.bind_from_fused(name, alias_name);
                }
                names
                    .aliases
                    .insert(alias_name.to_string(), format!("{module}.{name}"));
            }
        }
        _ => {}
    }
}

/// A (dotted) name as written: `fused.types.Bounds`; `None` for any other expression.
fn dotted(expr: &Expr) -> Option<String> {
    let mut parts = Vec::new();
    let mut e = expr;
    loop {
        match e {
            Expr::Name(n) => {
                parts.push(n.id.as_str());
                break;
            }
            Expr::Attribute(a) => {
                parts.push(a.attr.as_str());
                e = &a.value;
            }
            _ => return None,
        }
        if parts.len() > 64 {
            return None;
        }
    }
    parts.reverse();
    Some(parts.join("."))
}

fn read_udf(def: &StmtFunctionDef, cx: &Source, names: &Names) -> Udf {
    let src = cx.src;
    let mut found = None;
    for dec in &def.decorator_list {
        let expr = &dec.expression;
        if dotted(expr).is_some_and(|n| names.is_udf(&n)) {
            found = Some((dec, None));
        } else if let Expr::Call(call) = expr {
            if dotted(&call.func).is_some_and(|n| names.is_udf(&n)) {
                found = Some((dec, Some(&call.arguments)));
            }
        }
    }
    // Ruff's range of a function starts at its first decorator; the model's `def_range` is the
    // `def` statement itself (`async def` included), as tree-sitter's `function_definition`:
    // from the `def` (or `async`) token before the name, wherever a `\` put it.
    let mut keywords_before = cx
        .tokens
        .before(def.name.start())
        .iter()
        .rev()
        .filter(|t| !t.kind().is_trivia());
    let def_kw = keywords_before
        .next()
        .filter(|t| t.kind() == TokenKind::Def);
    let async_kw = keywords_before
        .next()
        .filter(|t| t.kind() == TokenKind::Async);
    let start = match (def_kw, async_kw) {
        (Some(_), Some(a)) if def.is_async => a.start(),
        (Some(d), _) => d.start(),
        _ => def.name.start(),
    }
    .to_usize();
    let keywords = found
        .and_then(|(_, args)| args)
        .map(|a| {
            a.keywords
                .iter()
                .filter_map(|k| {
                    let name = k.arg.as_ref()?;
                    let dict_keys = match &k.value {
                        Expr::Dict(d) => d
                            .iter()
                            .filter_map(|item| {
                                let key = item.key.as_ref()?;
                                Some((string_value(key)?, cx.outer(key, d)))
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    Some(Keyword {
                        name: name.to_string(),
                        name_range: span(name),
                        value_range: cx.outer(&k.value, k),
                        value: literal(&k.value, src),
                        dict_keys,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Udf {
        name: def.name.to_string(),
        name_range: span(&def.name),
        def_range: start..end_with_comment(src, def.end().to_usize()),
        // (`@(fused.udf)`: the parentheses are part of the expression, as in tree-sitter.)
        decorator_range: found.map_or_else(
            || {
                let at = def.start().to_usize().min(start);
                at..at
            },
            |(dec, _)| cx.outer(&dec.expression, dec),
        ),
        decorated: found.is_some(),
        keywords,
        params: read_params(def, cx, &names.aliases),
    }
}

/// tree-sitter's block ends after a `;` and a comment on its last line (`return x;  # done`),
/// the comment's `\r` included on a CRLF line.
fn end_with_comment(src: &str, end: usize) -> usize {
    let line_end = src[end..].find('\n').map_or(src.len(), |i| end + i);
    let mut at = end;
    let skip_blanks = |at: usize| {
        at + src[at..line_end]
            .bytes()
            .take_while(|b| matches!(b, b' ' | b'\t'))
            .count()
    };
    let next = skip_blanks(at);
    if src[next..line_end].starts_with(';') {
        at = next + 1;
    }
    let next = skip_blanks(at);
    if src[next..line_end].starts_with('#') {
        line_end
    } else {
        at
    }
}

fn read_params(
    def: &StmtFunctionDef,
    cx: &Source,
    aliases: &std::collections::HashMap<String, String>,
) -> Vec<Param> {
    let p = &def.parameters;
    let src = cx.src;
    let mut out = Vec::new();
    let normal = |pwd: &ParameterWithDefault| Param {
        name: pwd.parameter.name.to_string(),
        name_range: span(&pwd.parameter.name),
        range: span(pwd),
        kind: ParamKind::Normal,
        annotation: annotation(&pwd.parameter, cx, aliases),
        default: pwd.default.as_deref().map(|d| {
            let range = cx.outer(d, pwd);
            Default {
                text: src[range.clone()].to_string(),
                range,
                value: literal(d, src),
            }
        }),
    };
    // `*args`, `**kwargs`: the range starts at the stars, as tree-sitter's does.
    let splat = |param: &Parameter, kind: ParamKind| {
        // The `*`/`**` token before the name, wherever a comment or `\\` put it.
        let star = cx
            .tokens
            .before(param.name.start())
            .iter()
            .rev()
            .find(|t| !t.kind().is_trivia())
            .filter(|t| matches!(t.kind(), TokenKind::Star | TokenKind::DoubleStar))
            .map_or(param.name.start(), |t| t.start());
        Param {
            name: param.name.to_string(),
            name_range: span(&param.name),
            range: star.to_usize()..param.end().to_usize(),
            kind,
            annotation: annotation(param, cx, aliases),
            default: None,
        }
    };
    out.extend(p.posonlyargs.iter().chain(&p.args).map(normal));
    if let Some(v) = &p.vararg {
        out.push(splat(v, ParamKind::VarArgs));
    }
    out.extend(p.kwonlyargs.iter().map(normal));
    if let Some(k) = &p.kwarg {
        out.push(splat(k, ParamKind::KwArgs));
    }
    out
}

fn annotation(
    param: &Parameter,
    cx: &Source,
    aliases: &std::collections::HashMap<String, String>,
) -> Option<Annotation> {
    let ann = param.annotation.as_deref()?;
    let range = cx.outer(ann, param);
    Some(Annotation {
        text: cx.src[range.clone()].to_string(),
        range,
        expr: type_expr(ann, cx.src, 0).resolve(aliases),
    })
}

/// The value of a plain string literal (an f-string without interpolations counts).
fn string_value(expr: &Expr) -> Option<String> {
    match expr {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        Expr::FString(f) => {
            let mut out = String::new();
            for part in f.value.iter() {
                match part {
                    FStringPart::Literal(l) => out.push_str(&l.value),
                    FStringPart::FString(fs) => {
                        for el in fs.elements.iter() {
                            match el {
                                InterpolatedStringElement::Literal(l) => out.push_str(&l.value),
                                InterpolatedStringElement::Interpolation(_) => return None,
                            }
                        }
                    }
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// A literal value, as [`super::tree::literal`] reads it.
fn literal(expr: &Expr, src: &str) -> Literal {
    match expr {
        Expr::StringLiteral(_) | Expr::FString(_) => string_value(expr)
            .map(Literal::Str)
            .unwrap_or(Literal::Other),
        Expr::NumberLiteral(n) => match n.value {
            Number::Int(_) => parse_int(text(expr, src))
                .map(Literal::Int)
                .unwrap_or(Literal::Other),
            Number::Float(_) => text(expr, src)
                .replace('_', "")
                .parse()
                .map(Literal::Float)
                .unwrap_or(Literal::Other),
            Number::Complex { .. } => Literal::Other,
        },
        Expr::BooleanLiteral(b) => Literal::Bool(b.value),
        Expr::NoneLiteral(_) => Literal::None,
        Expr::List(_) | Expr::ListComp(_) => Literal::List,
        Expr::Dict(_) | Expr::DictComp(_) => Literal::Dict,
        Expr::Tuple(_) => Literal::Tuple,
        Expr::UnaryOp(u) => match (u.op, literal(&u.operand, src)) {
            (UnaryOp::USub, Literal::Int(i)) => Literal::Int(-i),
            (UnaryOp::USub, Literal::Float(f)) => Literal::Float(-f),
            (UnaryOp::UAdd, v @ (Literal::Int(_) | Literal::Float(_))) => v,
            _ => Literal::Other,
        },
        _ => Literal::Other,
    }
}

fn type_expr(expr: &Expr, src: &str, depth: u32) -> TypeExpr {
    let other = || TypeExpr::Other(text(expr, src).to_string());
    if depth > 64 {
        return other();
    }
    let recurse = |e: &Expr| type_expr(e, src, depth + 1);
    match expr {
        Expr::Name(_) | Expr::Attribute(_) => {
            dotted(expr).map(TypeExpr::Name).unwrap_or_else(other)
        }
        Expr::NoneLiteral(_) => TypeExpr::None,
        Expr::StringLiteral(_) | Expr::FString(_) => {
            string_value(expr).map(TypeExpr::Str).unwrap_or_else(other)
        }
        Expr::Subscript(s) => {
            let Some(name) = dotted(&s.value) else {
                return other();
            };
            let args = match &*s.slice {
                Expr::Tuple(t) => t.elts.iter().map(recurse).collect(),
                one => vec![recurse(one)],
            };
            TypeExpr::Generic(name, args)
        }
        Expr::BinOp(b) if b.op == Operator::BitOr => {
            let mut members = Vec::new();
            for side in [&*b.left, &*b.right] {
                match recurse(side) {
                    TypeExpr::Union(inner) => members.extend(inner),
                    one => members.push(one),
                }
            }
            TypeExpr::Union(members)
        }
        _ => other(),
    }
}

/// Every `fused.load("literal")` call and every imported module, anywhere in the file.
struct Finder<'c, 'n> {
    cx: &'c Source<'c>,
    names: &'n Names,
    loads: Vec<LoadCall>,
    imports: Vec<String>,
    tile_runs: Vec<String>,
}

impl Finder<'_, '_> {
    fn import(&mut self, module: &str) {
        let top = module.split('.').next().unwrap_or("");
        if !top.is_empty() && !self.imports.iter().any(|m| m == top) {
            self.imports.push(top.to_string());
        }
    }
}

impl<'a> Visitor<'a> for Finder<'_, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Import(imp) => {
                for alias in &imp.names {
                    self.import(alias.name.as_str());
                }
            }
            // `from __future__ import ...` is a compiler directive, not a module (tree-sitter
            // has its own statement for it).
            Stmt::ImportFrom(imp) if imp.level == 0 => {
                if let Some(m) = imp.module.as_ref().filter(|m| m.as_str() != "__future__") {
                    self.import(m.as_str());
                }
            }
            _ => {}
        }
        walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            if dotted(&call.func).is_some_and(|n| self.names.is_run(&n)) {
                let args = &call.arguments;
                let tile = args.keywords.iter().any(|k| {
                    k.arg
                        .as_ref()
                        .is_some_and(|a| TILE_RUN_KEYWORDS.contains(&a.as_str()))
                });
                if let (true, Some(Expr::Name(n))) = (tile, args.args.first()) {
                    push_tile_run(&mut self.tile_runs, n.id.as_str());
                }
            }
            if dotted(&call.func).is_some_and(|n| self.names.is_load(&n)) {
                let args = &call.arguments;
                // The first argument in source order, as written: a keyword first means no
                // positional target.
                let first = args
                    .args
                    .first()
                    .filter(|a| args.keywords.first().is_none_or(|k| k.start() > a.start()));
                if let Some(first) = first {
                    if let Some(target) = string_value(first) {
                        self.loads.push(LoadCall {
                            range: self.cx.outer(first, args),
                            target,
                        });
                    }
                }
            }
        }
        walk_expr(self, expr);
    }
}
