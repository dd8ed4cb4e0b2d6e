//! FUSED020–024 and FUSED026: what the SDK does with each parameter's string argument.

use super::PyContext;
use crate::annotation::TypeExpr;
use crate::coercion::{future_treatment, treatment, Coercion, Treatment};
use crate::diagnostic::{Applicability, Diagnostic, Fix, TextEdit};
use crate::model::{Literal, Param, ParamKind};
use crate::registry::Rule;

pub fn check(ctx: &PyContext, out: &mut Vec<Diagnostic>) {
    let future = ctx.model.future_annotations.is_some();
    let tile_udfs = ctx.tile_udfs();
    for udf in ctx.udfs() {
        // An unannotated tile receiver gets the tile GeoDataFrame, not a string.
        let receiver = udf
            .param("bounds")
            .or_else(|| udf.param("bbox"))
            .filter(|_| tile_udfs.iter().any(|t| std::ptr::eq(*t, udf)))
            .map(|p| p.name.as_str());
        for p in udf.params.iter().filter(|p| p.kind == ParamKind::Normal) {
            check_param(p, future, receiver == Some(p.name.as_str()), out);
        }
    }
}

fn check_param(p: &Param, future: bool, is_receiver: bool, out: &mut Vec<Diagnostic>) {
    let Some(ann) = &p.annotation else {
        if p.name != "self" && !is_receiver {
            unannotated(p, out);
        }
        return;
    };
    let plain = treatment(&ann.expr);
    if future && future_treatment(&ann.text).is_none() {
        // Only a type that would be coerced without the import is lost to it; a Union or an
        // unknown name is a string either way (FUSED020 below says so).
        if let Treatment::Coerced { coercion, .. } = plain {
            if coercion != Coercion::Str {
                out.push(Diagnostic::new(
                    Rule::FutureAnnotations,
                    ann.range.clone(),
                    format!(
                        "`{}: {}` is not coerced under `from __future__ import annotations`: it receives the raw string; remove that import or convert the value yourself",
                        p.name, ann.text
                    ),
                ));
            }
            return;
        }
    } else if future {
        return;
    }
    match &plain {
        Treatment::NotCoerced { .. } if union_with_str(&ann.expr) => out.push(Diagnostic::new(
            Rule::UnionWithStr,
            ann.range.clone(),
            format!("`{}: {}` receives the string as passed (a Union is not coerced): it never arrives as another member's type; parse it yourself if that is meant", p.name, ann.text),
        )),
        Treatment::NotCoerced { why } => out.push(Diagnostic::new(
            Rule::UncoercedAnnotation,
            ann.range.clone(),
            format!("`{}: {}` receives a string: {why}; annotate a supported type or `str` and convert it yourself", p.name, ann.text),
        )),
        Treatment::Iterable => out.push(Diagnostic::new(
            Rule::IterableNotCoerced,
            ann.range.clone(),
            format!("`{}: {}` is not coerced by fused 2.9.5 (it receives a string); annotate `list` or `List[...]` instead", p.name, ann.text),
        )),
        Treatment::Coerced { coercion, .. } => {
            if let Some(d) = &p.default {
                if let Some(diag) = contradiction(p, *coercion, d) {
                    out.push(diag);
                }
            }
        }
        Treatment::Passthrough | Treatment::Unannotated => {}
    }
}

/// FUSED023: an unannotated parameter receives a string. Not said when the default is a string
/// (a string either way); otherwise the default's own type is the annotation to suggest.
fn unannotated(p: &Param, out: &mut Vec<Diagnostic>) {
    let default = p.default.as_ref().map(|d| &d.value);
    let suggestion = match default {
        Some(Literal::Str(_)) => return,
        Some(Literal::Int(_)) => "int",
        Some(Literal::Float(_)) => "float",
        Some(Literal::Bool(_)) => "bool",
        Some(Literal::List) => "list",
        Some(Literal::Dict) => "dict",
        Some(Literal::Tuple) => "tuple",
        Some(Literal::None | Literal::Other) | None => {
            out.push(Diagnostic::new(
                Rule::Unannotated,
                p.name_range.clone(),
                format!("`{}` has no annotation, so it receives a string; annotate it (`{}: str` if a string is meant)", p.name, p.name),
            ));
            return;
        }
    };
    out.push(Diagnostic::new(
        Rule::Unannotated,
        p.name_range.clone(),
        format!("`{}` has no annotation, so a passed value arrives as a string while the default is {}; annotate it `{}: {suggestion}`", p.name, default.map_or("", |d| d.kind_name()), p.name),
    ));
}

/// Whether the annotation is a `Union` (`Union[...]`, `A | B`, under `Optional` too) with `str`
/// among its members: it receives what it declares.
fn union_with_str(expr: &TypeExpr) -> bool {
    let is_str = |t: &TypeExpr| matches!(t, TypeExpr::Name(n) if n == "str" || n == "builtins.str");
    match expr {
        TypeExpr::Union(members) => members.iter().any(is_str),
        TypeExpr::Generic(name, args) => match name.rsplit('.').next().unwrap_or(name) {
            "Union" => args.iter().any(is_str),
            "Optional" | "Annotated" => args.first().is_some_and(union_with_str),
            _ => false,
        },
        _ => false,
    }
}

/// FUSED024: a literal default whose type the annotation contradicts.
fn contradiction(p: &Param, c: Coercion, d: &crate::model::Default) -> Option<Diagnostic> {
    use Literal as L;
    let v = &d.value;
    if matches!(v, L::Other | L::None) {
        // `None` without `Optional` is a common, harmless idiom; expressions are not judged.
        return None;
    }
    let bad = match c {
        Coercion::Int => matches!(v, L::Str(_) | L::Float(_) | L::List | L::Dict | L::Tuple),
        Coercion::Float => matches!(v, L::Str(_) | L::List | L::Dict | L::Tuple),
        Coercion::Bool => matches!(v, L::Str(_) | L::Float(_) | L::List | L::Dict | L::Tuple),
        Coercion::Str => matches!(
            v,
            L::Int(_) | L::Float(_) | L::Bool(_) | L::List | L::Dict | L::Tuple
        ),
        Coercion::List => matches!(
            v,
            L::Str(_) | L::Int(_) | L::Float(_) | L::Bool(_) | L::Dict
        ),
        Coercion::Dict => matches!(
            v,
            L::Str(_) | L::Int(_) | L::Float(_) | L::Bool(_) | L::List | L::Tuple
        ),
        Coercion::Tuple => matches!(
            v,
            L::Str(_) | L::Int(_) | L::Float(_) | L::Bool(_) | L::Dict
        ),
        Coercion::Uuid | Coercion::Datetime | Coercion::Date | Coercion::Time => {
            matches!(
                v,
                L::Str(_) | L::Int(_) | L::Float(_) | L::Bool(_) | L::List | L::Dict | L::Tuple
            )
        }
        Coercion::Fused(crate::coercion::FusedType::Bounds) => {
            matches!(
                v,
                L::Str(_) | L::Int(_) | L::Float(_) | L::Bool(_) | L::Dict
            )
        }
        _ => false,
    };
    if !bad {
        return None;
    }
    let ann = p.annotation.as_ref().map(|a| a.text.as_str()).unwrap_or("");
    let mut diag = Diagnostic::new(
        Rule::DefaultContradicts,
        d.range.clone(),
        format!(
            "default `{}` is {} but `{}` is annotated `{ann}`: the default is not coerced; make it {}",
            d.text,
            v.kind_name(),
            p.name,
            expected(c)
        ),
    );
    if let Some(new_text) = fixed_default(c, v) {
        diag = diag.with_fix(Fix {
            title: format!("Change the default to `{new_text}`"),
            edits: vec![TextEdit {
                range: d.range.clone(),
                new_text,
            }],
            applicability: Applicability::Unsafe,
        });
    }
    Some(diag)
}

fn expected(c: Coercion) -> &'static str {
    match c {
        Coercion::Int => "an int",
        Coercion::Float => "a float",
        Coercion::Bool => "`True` or `False`",
        Coercion::Str => "a string",
        Coercion::List => "a list",
        Coercion::Dict => "a dict",
        Coercion::Tuple => "a tuple",
        Coercion::Fused(_) => "a list `[minx, miny, maxx, maxy]`",
        _ => "a value of that type (or None)",
    }
}

/// The literal the default was evidently meant to be, when the conversion is exact.
fn fixed_default(c: Coercion, v: &Literal) -> Option<String> {
    match (c, v) {
        (Coercion::Int, Literal::Str(s)) => s.trim().parse::<i64>().ok().map(|i| i.to_string()),
        (Coercion::Int, Literal::Float(f)) if f.fract() == 0.0 && f.abs() < 1e15 => {
            Some(format!("{}", *f as i64))
        }
        (Coercion::Float, Literal::Str(s)) => {
            let f: f64 = s.trim().parse().ok()?;
            f.is_finite().then(|| {
                let t = s.trim().to_string();
                if t.contains(['.', 'e', 'E']) {
                    t
                } else {
                    format!("{t}.0")
                }
            })
        }
        (Coercion::Bool, Literal::Str(s)) if s.eq_ignore_ascii_case("true") => Some("True".into()),
        (Coercion::Bool, Literal::Str(s)) if s.eq_ignore_ascii_case("false") => {
            Some("False".into())
        }
        (Coercion::Str, Literal::Int(i)) => Some(format!("\"{i}\"")),
        _ => None,
    }
}
