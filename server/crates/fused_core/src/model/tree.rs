//! The model read from the tree-sitter tree: the error-tolerant path, used for a file with
//! syntax errors and, in the language server, for the incremental re-parse while typing.

use super::*;
use crate::annotation::{dotted, first_named, string_value, text, TypeExpr};
use std::borrow::Cow;
use tree_sitter::{Node, Tree};

/// Reads the model from a parsed file.
pub fn build(tree: &Tree, src: &str) -> PyModel {
    let root = tree.root_node();
    let mut model = PyModel::default();
    let mut names = Names::new();
    let mut cursor = root.walk();
    let top: Vec<Node> = root.named_children(&mut cursor).collect();
    for node in &top {
        read_imports(*node, src, &mut names, &mut model);
    }
    for node in &top {
        if matches!(node.kind(), "decorated_definition" | "function_definition") {
            if let Some(udf) = read_udf(*node, src, &names) {
                if udf.decorated {
                    model.udfs.push(udf);
                } else {
                    model.functions.push(udf);
                }
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
    collect_tile_runs(root, src, &names, &mut model.tile_runs);
    // (Sorted: the two readers find them in different orders.)
    model.tile_runs.sort();
    model
}

fn read_imports(node: Node, src: &str, names: &mut Names, model: &mut PyModel) {
    match node.kind() {
        "future_import_statement" => {
            let mut cursor = node.walk();
            if node
                .children_by_field_name("name", &mut cursor)
                .any(|n| name_and_alias(n, src).0 == "annotations")
            {
                model.future_annotations = Some(node.byte_range());
            }
        }
        "import_statement" => {
            let mut cursor = node.walk();
            for n in node.children_by_field_name("name", &mut cursor) {
                if n.kind() == "aliased_import" {
                    let name = n.child_by_field_name("name").map(|x| name_text(x, src));
                    let alias = n
                        .child_by_field_name("alias")
                        .map(|x| name_text(x, src).to_string());
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
                .map(|m| name_text(m, src))
                .unwrap_or_default();
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
                    names.bind_from_fused(&name, &alias);
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
fn name_and_alias<'a>(n: Node, src: &'a str) -> (Cow<'a, str>, Cow<'a, str>) {
    if n.kind() == "aliased_import" {
        let field = |f: &str| {
            n.child_by_field_name(f)
                .map(|x| name_text(x, src))
                .unwrap_or_default()
        };
        (field("name"), field("alias"))
    } else {
        (name_text(n, src), name_text(n, src))
    }
}

/// A (dotted) name in an import as Python reads it: tree-sitter's node text keeps the `\` line
/// continuations and spaces that may sit between its parts.
fn name_text<'a>(n: Node, src: &'a str) -> Cow<'a, str> {
    let t = text(n, src);
    if t.contains(['\\', ' ', '\t', '\n', '\r']) {
        Cow::Owned(
            t.chars()
                .filter(|c| !matches!(c, '\\' | ' ' | '\t' | '\n' | '\r'))
                .collect(),
        )
    } else {
        Cow::Borrowed(t)
    }
}

fn is_udf_decorator(expr: Node, src: &str, names: &Names) -> bool {
    dotted(expr, src).is_some_and(|name| names.is_udf(&name))
}

/// A top-level function (`function_definition`, or a `decorated_definition` of one), decorated
/// with `@fused.udf` or not.
fn read_udf(node: Node, src: &str, names: &Names) -> Option<Udf> {
    let def = if node.kind() == "function_definition" {
        node
    } else {
        node.child_by_field_name("definition")?
    };
    if def.kind() != "function_definition" {
        return None;
    }
    let mut cursor = node.walk();
    let mut found = None;
    let decorators = if node.kind() == "decorated_definition" {
        node.named_children(&mut cursor).collect()
    } else {
        Vec::new()
    };
    for dec in decorators {
        if dec.kind() != "decorator" {
            continue;
        }
        let Some(expr) = first_named(dec) else {
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
    let name_node = def.child_by_field_name("name")?;
    let keywords = found
        .and_then(|(_, args)| args)
        .map(|a| read_keywords(a, src))
        .unwrap_or_default();
    let params = def
        .child_by_field_name("parameters")
        .map(|p| read_params(p, src, &names.aliases))
        .unwrap_or_default();
    Some(Udf {
        name: text(name_node, src).to_string(),
        name_range: name_node.byte_range(),
        def_range: def.byte_range(),
        decorator_range: found.map_or(node.start_byte()..node.start_byte(), |(e, _)| {
            e.byte_range()
        }),
        decorated: found.is_some(),
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
        "parenthesized_expression" => first_named(node)
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
            "typed_parameter" => (first_named(p), p.child_by_field_name("type"), None),
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
            match first_named(name_node) {
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
    // `fused.load(`, `load(` and the names `from fused import load as ld` bound.
    let mut needles = vec!["load"];
    needles.extend(
        names
            .load
            .iter()
            .map(String::as_str)
            .filter(|n| !n.contains("load")),
    );
    let hits = needles
        .iter()
        .flat_map(|n| src.match_indices(n).map(|(at, _)| (at, n.len())));
    for (at, len) in hits {
        let Some(node) = root.descendant_for_byte_range(at, at + len) else {
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
                push(&name_text(d, src));
            }
        }
    } else if let Some(m) = node.child_by_field_name("module_name") {
        let t = name_text(m, src);
        if !t.starts_with('.') {
            push(&t);
        }
    }
}

/// The call whose callee ends at the identifier found at `at..at + len` (`fused.run(`).
fn call_at(root: Node, at: usize, len: usize) -> Option<Node> {
    let mut n = root.descendant_for_byte_range(at, at + len)?;
    for _ in 0..4 {
        let parent = n.parent()?;
        if parent.kind() == "call" {
            return Some(parent);
        }
        n = parent;
    }
    None
}

/// Names passed first to `fused.run(..., x=..., y=..., z=...)` (a tile run), found like the
/// `fused.load` calls: from the occurrences of `run` (and of what `from fused import run as r`
/// bound) in the text.
fn collect_tile_runs(root: Node, src: &str, names: &Names, out: &mut Vec<String>) {
    let mut needles = vec!["run"];
    needles.extend(
        names
            .run
            .iter()
            .map(String::as_str)
            .filter(|n| !n.contains("run")),
    );
    let mut seen = std::collections::HashSet::new();
    let hits = needles
        .iter()
        .flat_map(|n| src.match_indices(n).map(|(at, _)| (at, n.len())));
    for (at, len) in hits {
        let Some(call) = call_at(root, at, len) else {
            continue;
        };
        if !seen.insert(call.start_byte()) {
            continue;
        }
        let Some(func) = call.child_by_field_name("function") else {
            continue;
        };
        if !dotted(func, src).is_some_and(|name| names.is_run(&name)) {
            continue;
        }
        let Some(args) = call
            .child_by_field_name("arguments")
            .filter(|a| a.kind() == "argument_list")
        else {
            continue;
        };
        let children = crate::annotation::code_children(args);
        let tile = children.iter().any(|a| {
            a.kind() == "keyword_argument"
                && a.child_by_field_name("name")
                    .is_some_and(|n| TILE_RUN_KEYWORDS.contains(&text(n, src)))
        });
        if let Some(first) = children
            .first()
            .filter(|f| tile && f.kind() == "identifier")
        {
            push_tile_run(out, text(*first, src));
        }
    }
}

fn load_call(node: Node, src: &str, names: &Names, out: &mut Vec<LoadCall>) {
    let Some(func) = node.child_by_field_name("function") else {
        return;
    };
    if !dotted(func, src).is_some_and(|name| names.is_load(&name)) {
        return;
    }
    // (`fused.load(x for x in y)`: a generator is the one argument, not a target.)
    if let Some(args) = node
        .child_by_field_name("arguments")
        .filter(|a| a.kind() == "argument_list")
    {
        let mut c2 = args.walk();
        let first = args.named_children(&mut c2).find(|a| !a.is_extra());
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
