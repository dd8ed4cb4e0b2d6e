//! FUSED020–024: what the SDK does with each parameter's string argument.

use super::PyContext;
use crate::coercion::{future_treatment, treatment, Coercion, Treatment};
use crate::diagnostic::{Applicability, Diagnostic, Fix, TextEdit};
use crate::model::{Literal, Param, ParamKind};
use crate::registry::Rule;

pub fn check(ctx: &PyContext, out: &mut Vec<Diagnostic>) {
    let future = ctx.model.future_annotations.is_some();
    for udf in &ctx.model.udfs {
        // An unannotated tile receiver gets the tile GeoDataFrame, not a string.
        let receiver = udf
            .param("bounds")
            .or_else(|| udf.param("bbox"))
            .map(|p| p.name.as_str());
        for p in udf.params.iter().filter(|p| p.kind == ParamKind::Normal) {
            check_param(p, future, receiver == Some(p.name.as_str()), out);
        }
    }
}

fn check_param(p: &Param, future: bool, is_receiver: bool, out: &mut Vec<Diagnostic>) {
    let Some(ann) = &p.annotation else {
        if p.name != "self" && !is_receiver {
            out.push(Diagnostic::new(
                Rule::Unannotated,
                p.name_range.clone(),
                format!("`{}` has no annotation, so it receives a string; annotate it (`{}: str` if a string is meant)", p.name, p.name),
            ));
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
