//! A small type-expression model of a parameter annotation, read from the tree-sitter tree.

use tree_sitter::Node;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeExpr {
    /// A (dotted) name: `int`, `gpd.GeoDataFrame`, `fused.types.Bounds`.
    Name(String),
    /// A subscripted name: `List[int]`, `Optional[str]`, `Literal["a"]`.
    Generic(String, Vec<TypeExpr>),
    /// `A | B | None`.
    Union(Vec<TypeExpr>),
    None,
    /// A string literal: a forward-reference annotation, or a `Literal` member.
    Str(String),
    /// Anything else (numbers in `Literal[1]`, calls...), as source text.
    Other(String),
}

impl TypeExpr {
    /// Reads an expression node (or a `type` node wrapping one).
    pub fn from_node(node: Node, src: &str) -> TypeExpr {
        from_node_depth(node, src, 0)
    }

    /// Replaces import aliases by what they name (`gpd.GeoDataFrame` → `geopandas.GeoDataFrame`,
    /// `B` → `fused.types.Bounds`), so the coercion table sees real names.
    pub fn resolve(self, aliases: &std::collections::HashMap<String, String>) -> TypeExpr {
        let name = |n: String| {
            let (head, rest) = n
                .split_once('.')
                .map(|(h, r)| (h.to_string(), Some(r.to_string())))
                .unwrap_or((n.clone(), None));
            match (aliases.get(&head), rest) {
                (Some(full), Some(rest)) => format!("{full}.{rest}"),
                (Some(full), None) => full.clone(),
                (None, _) => n,
            }
        };
        match self {
            TypeExpr::Name(n) => TypeExpr::Name(name(n)),
            TypeExpr::Generic(n, args) => TypeExpr::Generic(
                name(n),
                args.into_iter().map(|a| a.resolve(aliases)).collect(),
            ),
            TypeExpr::Union(m) => {
                TypeExpr::Union(m.into_iter().map(|a| a.resolve(aliases)).collect())
            }
            other => other,
        }
    }

    /// Parses annotation source text on its own.
    pub fn parse_text(text: &str) -> TypeExpr {
        let src = format!("def _(_: {text}): pass\n");
        let tree = crate::python::parse_tree(&src, None);
        let ty = tree
            .root_node()
            .named_child(0)
            .and_then(|f| f.child_by_field_name("parameters"))
            .and_then(|p| p.named_child(0))
            .and_then(|p| p.child_by_field_name("type"));
        match ty {
            Some(ty) if !ty.has_error() => TypeExpr::from_node(ty, &src),
            _ => TypeExpr::Other(text.to_string()),
        }
    }
}

/// The first named child that is code, not an extra (a comment, a `\` line continuation).
pub(crate) fn first_named(node: Node) -> Option<Node> {
    let mut cursor = node.walk();
    let first = node.named_children(&mut cursor).find(|n| !n.is_extra());
    first
}

/// The named children that are code, not extras (comments, `\` line continuations).
pub(crate) fn code_children(node: Node) -> Vec<Node> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor)
        .filter(|n| !n.is_extra())
        .collect()
}

/// The source text of a node.
pub(crate) fn text<'a>(node: Node, src: &'a str) -> &'a str {
    &src[node.byte_range()]
}

/// A (dotted) name as written: `fused.types.Bounds`; `None` for any other expression.
pub(crate) fn dotted(node: Node, src: &str) -> Option<String> {
    // Iterative: a 20,000-deep `a.a.a...` must not overflow the stack.
    let mut parts = Vec::new();
    let mut n = node;
    loop {
        match n.kind() {
            "identifier" => {
                parts.push(text(n, src));
                break;
            }
            "attribute" => {
                parts.push(text(n.child_by_field_name("attribute")?, src));
                n = n.child_by_field_name("object")?;
            }
            // `(fused).udf`, `(fused.load)(...)`: parentheses change nothing.
            "parenthesized_expression" => n = first_named(n)?,
            _ => return None,
        }
        if parts.len() > 64 {
            return None;
        }
    }
    parts.reverse();
    Some(parts.join("."))
}

/// The value of a plain string literal (no interpolation), with common escapes resolved.
pub fn string_value(node: Node, src: &str) -> Option<String> {
    string_value_depth(node, src, 0)
}

fn string_value_depth(node: Node, src: &str, depth: u32) -> Option<String> {
    if depth > 32 {
        return None;
    }
    let string_value = |n: Node, src: &str| string_value_depth(n, src, depth + 1);
    match node.kind() {
        "string" => {
            let mut out = String::new();
            let mut cursor = node.walk();
            let prefix = node
                .child(0)
                .map(|c| text(c, src).to_ascii_lowercase())
                .unwrap_or_default();
            let raw = prefix.contains('r');
            if prefix.contains('b') {
                return None;
            }
            for child in node.children(&mut cursor) {
                match child.kind() {
                    // tree-sitter-python puts the escapes inside the content.
                    "string_content" => {
                        let mut at = child.start_byte();
                        let mut c2 = child.walk();
                        for esc in child.children(&mut c2) {
                            let value = match esc.kind() {
                                "escape_sequence" if !raw => unescape(text(esc, src)),
                                // `{{` / `}}` in an f-string: one brace.
                                "escape_interpolation" => text(esc, src)[..1].to_string(),
                                _ => continue,
                            };
                            out.push_str(&src[at..esc.start_byte()]);
                            out.push_str(&value);
                            at = esc.end_byte();
                        }
                        out.push_str(&src[at..child.end_byte()]);
                    }
                    "escape_sequence" if !raw => out.push_str(&unescape(text(child, src))),
                    "escape_sequence" => out.push_str(text(child, src)),
                    "interpolation" => return None,
                    _ => {}
                }
            }
            Some(out)
        }
        "concatenated_string" => {
            let mut out = String::new();
            for child in code_children(node) {
                out.push_str(&string_value(child, src)?);
            }
            Some(out)
        }
        "parenthesized_expression" => string_value(first_named(node)?, src),
        _ => None,
    }
}

fn unescape(esc: &str) -> String {
    match esc {
        "\\n" => "\n".into(),
        "\\t" => "\t".into(),
        "\\r" => "\r".into(),
        "\\\\" => "\\".into(),
        "\\'" => "'".into(),
        "\\\"" => "\"".into(),
        "\\a" => "\u{7}".into(),
        "\\b" => "\u{8}".into(),
        "\\f" => "\u{c}".into(),
        "\\v" => "\u{b}".into(),
        _ => {
            if let Some(hex) = esc
                .strip_prefix("\\x")
                .or_else(|| esc.strip_prefix("\\u"))
                .or_else(|| esc.strip_prefix("\\U"))
            {
                if let Ok(code) = u32::from_str_radix(hex, 16) {
                    // A lone surrogate cannot be text: the replacement character, as Ruff's.
                    return char::from_u32(code).unwrap_or('\u{FFFD}').to_string();
                }
            }
            if let Some(oct) = esc.strip_prefix('\\').filter(|o| {
                (1..=3).contains(&o.len()) && o.bytes().all(|b| (b'0'..=b'7').contains(&b))
            }) {
                if let Some(c) = u32::from_str_radix(oct, 8).ok().and_then(char::from_u32) {
                    return c.to_string();
                }
            }
            if esc.starts_with("\\\n") || esc.starts_with("\\\r") {
                return String::new();
            }
            esc.to_string()
        }
    }
}

fn from_node_depth(node: Node, src: &str, depth: u32) -> TypeExpr {
    if depth > 64 {
        return TypeExpr::Other(text(node, src).to_string());
    }
    let recurse = |n: Node| from_node_depth(n, src, depth + 1);
    match node.kind() {
        "type" | "parenthesized_expression" => match first_named(node) {
            Some(child) => recurse(child),
            None => TypeExpr::Other(text(node, src).to_string()),
        },
        "identifier" | "attribute" => match dotted(node, src) {
            Some(name) => TypeExpr::Name(name),
            None => TypeExpr::Other(text(node, src).to_string()),
        },
        "none" => TypeExpr::None,
        "string" | "concatenated_string" => match string_value(node, src) {
            Some(s) => TypeExpr::Str(s),
            None => TypeExpr::Other(text(node, src).to_string()),
        },
        "generic_type" => {
            let mut name = None;
            let mut args = Vec::new();
            for child in code_children(node) {
                match child.kind() {
                    "type_parameter" => {
                        let kids = code_children(child);
                        // `dict[(str, int)]` is `dict[str, int]`: a lone tuple is the arguments.
                        let lone_tuple = match kids.as_slice() {
                            [only] => Some(*only)
                                .and_then(|t| {
                                    if t.kind() == "type" {
                                        first_named(t)
                                    } else {
                                        Some(t)
                                    }
                                })
                                .filter(|t| t.kind() == "tuple"),
                            _ => None,
                        };
                        match lone_tuple {
                            Some(t) => args.extend(code_children(t).into_iter().map(recurse)),
                            None => args.extend(kids.into_iter().map(recurse)),
                        }
                    }
                    _ if name.is_none() => name = dotted(child, src),
                    _ => {}
                }
            }
            match name {
                Some(name) => TypeExpr::Generic(name, args),
                None => TypeExpr::Other(text(node, src).to_string()),
            }
        }
        "subscript" => {
            let Some(name) = node
                .child_by_field_name("value")
                .and_then(|v| dotted(v, src))
            else {
                return TypeExpr::Other(text(node, src).to_string());
            };
            let mut cursor = node.walk();
            let mut args = Vec::new();
            for sub in node.children_by_field_name("subscript", &mut cursor) {
                if sub.kind() == "tuple" {
                    args.extend(code_children(sub).into_iter().map(recurse));
                } else {
                    args.push(recurse(sub));
                }
            }
            TypeExpr::Generic(name, args)
        }
        "binary_operator" | "union_type" => {
            let op = node.child_by_field_name("operator").map(|o| text(o, src));
            if node.kind() == "binary_operator" && op != Some("|") {
                return TypeExpr::Other(text(node, src).to_string());
            }
            let mut members = Vec::new();
            for child in code_children(node) {
                match recurse(child) {
                    TypeExpr::Union(inner) => members.extend(inner),
                    other => members.push(other),
                }
            }
            TypeExpr::Union(members)
        }
        _ => TypeExpr::Other(text(node, src).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_common_shapes() {
        assert_eq!(TypeExpr::parse_text("int"), TypeExpr::Name("int".into()));
        assert_eq!(
            TypeExpr::parse_text("typing.Optional[int]"),
            TypeExpr::Generic("typing.Optional".into(), vec![TypeExpr::Name("int".into())])
        );
        assert_eq!(
            TypeExpr::parse_text("int | str | None"),
            TypeExpr::Union(vec![
                TypeExpr::Name("int".into()),
                TypeExpr::Name("str".into()),
                TypeExpr::None
            ])
        );
        assert_eq!(
            TypeExpr::parse_text("Literal[1, 'a']"),
            TypeExpr::Generic(
                "Literal".into(),
                vec![TypeExpr::Other("1".into()), TypeExpr::Str("a".into())]
            )
        );
        assert_eq!(TypeExpr::parse_text("'int'"), TypeExpr::Str("int".into()));
    }
}
