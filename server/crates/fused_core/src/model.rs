//! The UDF model: what a Python file declares that the rules care about, read from the
//! error-tolerant tree-sitter tree (so it survives syntax errors elsewhere in the file).

use crate::annotation::{dotted, string_value, text, TypeExpr};
use std::ops::Range;
use tree_sitter::{Node, Tree};

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

#[derive(Debug, Clone)]
pub struct Annotation {
    pub range: Range<usize>,
    pub text: String,
    pub expr: TypeExpr,
}

#[derive(Debug, Clone)]
pub struct Default {
    pub range: Range<usize>,
    pub text: String,
    pub value: Literal,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub name_range: Range<usize>,
    /// The whole parameter, annotation and default included.
    pub range: Range<usize>,
    pub kind: ParamKind,
    pub annotation: Option<Annotation>,
    pub default: Option<Default>,
}

#[derive(Debug, Clone)]
pub struct Keyword {
    pub name: String,
    pub name_range: Range<usize>,
    pub value_range: Range<usize>,
    pub value: Literal,
    /// For a dict literal value: its string keys and their ranges.
    pub dict_keys: Vec<(String, Range<usize>)>,
}

#[derive(Debug, Clone)]
pub struct Udf {
    pub name: String,
    pub name_range: Range<usize>,
    /// The `def ...` statement, decorators excluded.
    pub def_range: Range<usize>,
    /// The decorator expression (after `@`).
    pub decorator_range: Range<usize>,
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

#[derive(Debug, Clone)]
pub struct LoadCall {
    /// The string literal, quotes included.
    pub range: Range<usize>,
    pub target: String,
}

#[derive(Debug, Clone, Default)]
pub struct PyModel {
    /// The `from __future__ import annotations` statement, if present.
    pub future_annotations: Option<Range<usize>>,
    pub udfs: Vec<Udf>,
    pub loads: Vec<LoadCall>,
    /// Top-level names of the modules imported anywhere in the file (`import utils`,
    /// `from helpers import x` → `utils`, `helpers`), to find local helper modules.
    pub imported_modules: Vec<String>,
}

struct Names {
    /// Names bound to the `fused` module. `fused` itself is an implicit global in UDF code.
    fused: Vec<String>,
    /// Names bound to `fused.udf` by `from fused import udf [as x]`.
    udf: Vec<String>,
    /// Names bound to `fused.load`.
    load: Vec<String>,
    /// Import aliases: `gpd` → `geopandas`, `B` → `fused.types.Bounds`, `f` → `fused`.
    aliases: std::collections::HashMap<String, String>,
}

/// Reads the model from a parsed file.
pub fn build(tree: &Tree, src: &str) -> PyModel {
    let root = tree.root_node();
    let mut model = PyModel::default();
    let mut names = Names {
        fused: vec!["fused".into()],
        udf: Vec::new(),
        load: Vec::new(),
        aliases: std::collections::HashMap::new(),
    };
    let mut cursor = root.walk();
    let top: Vec<Node> = root.named_children(&mut cursor).collect();
    for node in &top {
        read_imports(*node, src, &mut names, &mut model);
    }
    for node in &top {
        if node.kind() == "decorated_definition" {
            if let Some(udf) = read_udf(*node, src, &names) {
                model.udfs.push(udf);
            }
        }
    }
    collect_loads(
        root,
        src,
        &names,
        &mut model.loads,
        &mut model.imported_modules,
    );
    model
}

fn read_imports(node: Node, src: &str, names: &mut Names, model: &mut PyModel) {
    match node.kind() {
        "future_import_statement" => {
            let mut cursor = node.walk();
            if node
                .children_by_field_name("name", &mut cursor)
                .any(|n| text(n, src) == "annotations")
            {
                model.future_annotations = Some(node.byte_range());
            }
        }
        "import_statement" => {
            let mut cursor = node.walk();
            for n in node.children_by_field_name("name", &mut cursor) {
                if n.kind() == "aliased_import" {
                    let name = n.child_by_field_name("name").map(|x| text(x, src));
                    let alias = n
                        .child_by_field_name("alias")
                        .map(|x| text(x, src).to_string());
                    if let (Some(name), Some(alias)) = (name, alias) {
                        if name == "fused" {
                            names.fused.push(alias.clone());
                        }
                        names.aliases.insert(alias, name.to_string());
                    }
                }
            }
        }
        "import_from_statement" => {
            let module = node
                .child_by_field_name("module_name")
                .map(|m| text(m, src))
                .unwrap_or("");
            if module.starts_with('.') {
                return;
            }
            let mut cursor = node.walk();
            for n in node.children_by_field_name("name", &mut cursor) {
                let (name, alias) = name_and_alias(n, src);
                if name.is_empty() || alias.is_empty() {
                    continue;
                }
                // `from fused import udf as u`, `load`: the names UDF code calls them by.
                if module == "fused" {
                    match name {
                        "udf" => names.udf.push(alias.to_string()),
                        "load" => names.load.push(alias.to_string()),
                        _ => {}
                    }
                }
                // Every import is an alias for annotations (`from shapely.geometry import box`).
                names
                    .aliases
                    .insert(alias.to_string(), format!("{module}.{name}"));
            }
        }
        _ => {}
    }
}

/// `name` / `name as alias` in an import list.
fn name_and_alias<'a>(n: Node, src: &'a str) -> (&'a str, &'a str) {
    if n.kind() == "aliased_import" {
        let field = |f: &str| n.child_by_field_name(f).map(|x| text(x, src)).unwrap_or("");
        (field("name"), field("alias"))
    } else {
        (text(n, src), text(n, src))
    }
}

fn is_udf_decorator(expr: Node, src: &str, names: &Names) -> bool {
    let Some(name) = dotted(expr, src) else {
        return false;
    };
    if names.udf.contains(&name) {
        return true;
    }
    names.fused.iter().any(|f| {
        name.len() == f.len() + 4 && name.starts_with(f.as_str()) && name.ends_with(".udf")
    })
}

fn read_udf(node: Node, src: &str, names: &Names) -> Option<Udf> {
    let def = node.child_by_field_name("definition")?;
    if def.kind() != "function_definition" {
        return None;
    }
    let mut cursor = node.walk();
    let mut found = None;
    for dec in node.named_children(&mut cursor) {
        if dec.kind() != "decorator" {
            continue;
        }
        let Some(expr) = dec.named_child(0) else {
            continue;
        };
        if is_udf_decorator(expr, src, names) {
            found = Some((expr, None));
        } else if expr.kind() == "call" {
            if let Some(func) = expr.child_by_field_name("function") {
                if is_udf_decorator(func, src, names) {
                    found = Some((expr, expr.child_by_field_name("arguments")));
                }
            }
        }
    }
    let (dec_expr, args) = found?;
    let name_node = def.child_by_field_name("name")?;
    let keywords = args.map(|a| read_keywords(a, src)).unwrap_or_default();
    let params = def
        .child_by_field_name("parameters")
        .map(|p| read_params(p, src, &names.aliases))
        .unwrap_or_default();
    Some(Udf {
        name: text(name_node, src).to_string(),
        name_range: name_node.byte_range(),
        def_range: def.byte_range(),
        decorator_range: dec_expr.byte_range(),
        keywords,
        params,
    })
}

fn read_keywords(args: Node, src: &str) -> Vec<Keyword> {
    let mut out = Vec::new();
    let mut cursor = args.walk();
    for arg in args.named_children(&mut cursor) {
        if arg.kind() != "keyword_argument" {
            continue;
        }
        let (Some(name), Some(value)) = (
            arg.child_by_field_name("name"),
            arg.child_by_field_name("value"),
        ) else {
            continue;
        };
        let mut dict_keys = Vec::new();
        if value.kind() == "dictionary" {
            let mut c2 = value.walk();
            for pair in value.named_children(&mut c2) {
                if pair.kind() == "pair" {
                    if let Some(key) = pair.child_by_field_name("key") {
                        if let Some(s) = string_value(key, src) {
                            dict_keys.push((s, key.byte_range()));
                        }
                    }
                }
            }
        }
        out.push(Keyword {
            name: text(name, src).to_string(),
            name_range: name.byte_range(),
            value_range: value.byte_range(),
            value: literal(value, src),
            dict_keys,
        });
    }
    out
}

/// Reads a literal value node.
pub fn literal(node: Node, src: &str) -> Literal {
    literal_depth(node, src, 0)
}

fn literal_depth(node: Node, src: &str, depth: u32) -> Literal {
    if depth > 32 {
        return Literal::Other;
    }
    let literal = |n: Node, src: &str| literal_depth(n, src, depth + 1);
    match node.kind() {
        "string" | "concatenated_string" => string_value(node, src)
            .map(Literal::Str)
            .unwrap_or(Literal::Other),
        "integer" => parse_int(text(node, src))
            .map(Literal::Int)
            .unwrap_or(Literal::Other),
        "float" => text(node, src)
            .replace('_', "")
            .parse()
            .map(Literal::Float)
            .unwrap_or(Literal::Other),
        "true" => Literal::Bool(true),
        "false" => Literal::Bool(false),
        "none" => Literal::None,
        "list" | "list_comprehension" => Literal::List,
        "dictionary" | "dictionary_comprehension" => Literal::Dict,
        "tuple" => Literal::Tuple,
        "parenthesized_expression" => node
            .named_child(0)
            .map(|n| literal(n, src))
            .unwrap_or(Literal::Other),
        "unary_operator" => {
            let op = node.child_by_field_name("operator").map(|o| text(o, src));
            match (
                op,
                node.child_by_field_name("argument")
                    .map(|a| literal(a, src)),
            ) {
                (Some("-"), Some(Literal::Int(i))) => Literal::Int(-i),
                (Some("-"), Some(Literal::Float(f))) => Literal::Float(-f),
                (Some("+"), Some(v @ (Literal::Int(_) | Literal::Float(_)))) => v,
                _ => Literal::Other,
            }
        }
        _ => Literal::Other,
    }
}

fn parse_int(t: &str) -> Option<i128> {
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

fn read_params(
    params: Node,
    src: &str,
    aliases: &std::collections::HashMap<String, String>,
) -> Vec<Param> {
    let mut out = Vec::new();
    let mut cursor = params.walk();
    for p in params.named_children(&mut cursor) {
        let (name_node, ty, default) = match p.kind() {
            "identifier" => (Some(p), None, None),
            "typed_parameter" => (p.named_child(0), p.child_by_field_name("type"), None),
            "default_parameter" => (
                p.child_by_field_name("name"),
                None,
                p.child_by_field_name("value"),
            ),
            "typed_default_parameter" => (
                p.child_by_field_name("name"),
                p.child_by_field_name("type"),
                p.child_by_field_name("value"),
            ),
            "list_splat_pattern" | "dictionary_splat_pattern" => (Some(p), None, None),
            _ => continue,
        };
        let Some(mut name_node) = name_node else {
            continue;
        };
        let mut kind = ParamKind::Normal;
        match name_node.kind() {
            "list_splat_pattern" => kind = ParamKind::VarArgs,
            "dictionary_splat_pattern" => kind = ParamKind::KwArgs,
            _ => {}
        }
        if kind != ParamKind::Normal {
            match name_node.named_child(0) {
                Some(n) => name_node = n,
                None => continue,
            }
        }
        if name_node.kind() != "identifier" {
            continue;
        }
        out.push(Param {
            name: text(name_node, src).to_string(),
            name_range: name_node.byte_range(),
            range: p.byte_range(),
            kind,
            annotation: ty.map(|t| Annotation {
                range: t.byte_range(),
                text: text(t, src).to_string(),
                expr: TypeExpr::from_node(t, src).resolve(aliases),
            }),
            default: default.map(|d| Default {
                range: d.byte_range(),
                text: text(d, src).to_string(),
                value: literal(d, src),
            }),
        });
    }
    out
}

/// Finds `fused.load("literal")` calls and imported module names anywhere in the file.
///
/// Guided by the text rather than a walk of the whole tree: each occurrence of `load` or
/// `import` is looked up in the tree (`descendant_for_byte_range`, a walk down one path), so the
/// cost follows the number of occurrences, not the size of the file. Walking every node of a
/// 5,000-line file was the largest cost of a keystroke in the language server.
fn collect_loads(
    root: Node,
    src: &str,
    names: &Names,
    out: &mut Vec<LoadCall>,
    imports: &mut Vec<String>,
) {
    let mut seen_calls = std::collections::HashSet::new();
    for (at, _) in src.match_indices("load") {
        let Some(node) = root.descendant_for_byte_range(at, at + 4) else {
            continue;
        };
        // Up from the identifier to the call whose callee it ends (`fused.load(` / `load(`).
        let mut n = node;
        let mut call = None;
        for _ in 0..4 {
            let Some(parent) = n.parent() else { break };
            if parent.kind() == "call" {
                call = Some(parent);
                break;
            }
            n = parent;
        }
        let Some(call) = call else { continue };
        if !seen_calls.insert(call.start_byte()) {
            continue;
        }
        load_call(call, src, names, out);
    }
    let mut seen_imports = std::collections::HashSet::new();
    for (at, _) in src.match_indices("import") {
        let Some(node) = root.descendant_for_byte_range(at, at + 6) else {
            continue;
        };
        let mut n = Some(node);
        for _ in 0..3 {
            let Some(cur) = n else { break };
            if matches!(cur.kind(), "import_statement" | "import_from_statement") {
                if seen_imports.insert(cur.start_byte()) {
                    import_names(cur, src, imports);
                }
                break;
            }
            n = cur.parent();
        }
    }
    out.sort_by_key(|l| l.range.start);
}

fn import_names(node: Node, src: &str, imports: &mut Vec<String>) {
    let mut push = |t: &str| {
        let top = t.split('.').next().unwrap_or("").to_string();
        if !top.is_empty() && !imports.contains(&top) {
            imports.push(top);
        }
    };
    if node.kind() == "import_statement" {
        let mut c = node.walk();
        for n in node.children_by_field_name("name", &mut c) {
            let dotted = if n.kind() == "aliased_import" {
                n.child_by_field_name("name")
            } else {
                Some(n)
            };
            if let Some(d) = dotted {
                push(text(d, src));
            }
        }
    } else if let Some(m) = node.child_by_field_name("module_name") {
        let t = text(m, src);
        if !t.starts_with('.') {
            push(t);
        }
    }
}

fn load_call(node: Node, src: &str, names: &Names, out: &mut Vec<LoadCall>) {
    let Some(func) = node.child_by_field_name("function") else {
        return;
    };
    let is_load = match dotted(func, src) {
        Some(name) => {
            names.load.contains(&name)
                || names.fused.iter().any(|f| {
                    name.len() == f.len() + 5
                        && name.starts_with(f.as_str())
                        && name.ends_with(".load")
                })
        }
        None => false,
    };
    if !is_load {
        return;
    }
    if let Some(args) = node.child_by_field_name("arguments") {
        let mut c2 = args.walk();
        let first = args.named_children(&mut c2).find(|a| a.kind() != "comment");
        if let Some(first) = first.filter(|a| a.kind() != "keyword_argument") {
            if let Some(target) = string_value(first, src) {
                out.push(LoadCall {
                    range: first.byte_range(),
                    target,
                });
            }
        }
    }
}

/// Whether the text plausibly holds a UDF, to decide if a loose `.py` file is worth checking.
pub fn mentions_udf(src: &str) -> bool {
    src.contains("udf") && src.contains('@')
}
