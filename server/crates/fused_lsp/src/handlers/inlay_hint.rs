//! `textDocument/inlayHint`: the type a UDF parameter really receives where the annotation does
//! not say it (unannotated, not coerced, `from __future__ import annotations`), and a tile marker
//! on the tile receiver.

use crate::convert;
use crate::document::DocKind;
use crate::session::Session;
use fused_core::coercion::{future_treatment, treatment, Coercion, Treatment};
use fused_core::model::ParamKind;
use tower_lsp_server::ls_types::*;

pub fn inlay_hints(st: &Session, params: &InlayHintParams) -> Option<Vec<InlayHint>> {
    let doc = st.docs.get(&params.text_document.uri)?;
    if doc.kind != DocKind::Python {
        return None;
    }
    let text = &doc.text;
    let start = convert::offset(text, &doc.index, params.range.start, st.encoding);
    let end = convert::offset(text, &doc.index, params.range.end, st.encoding);
    let model = doc.model();
    let future = model.future_annotations.is_some();
    let mut out = Vec::new();
    let hint = |at: usize, label: String, tooltip: String, kind: InlayHintKind| InlayHint {
        position: convert::position(text, &doc.index, at, st.encoding),
        label: InlayHintLabel::String(label),
        kind: Some(kind),
        text_edits: None,
        tooltip: Some(InlayHintTooltip::String(tooltip)),
        padding_left: Some(false),
        padding_right: Some(false),
        data: None,
    };
    for udf in st.udfs_of(doc.path.as_deref(), model) {
        let receiver = udf
            .param("bounds")
            .or_else(|| udf.param("bbox"))
            .map(|p| p.name.clone());
        for p in udf.params.iter().filter(|p| p.kind == ParamKind::Normal) {
            if p.range.end < start || p.range.start > end {
                continue;
            }
            if receiver.as_deref() == Some(p.name.as_str()) {
                out.push(hint(
                    p.name_range.start,
                    "tile ".into(),
                    "In Tile mode this parameter receives the tile bounds".into(),
                    InlayHintKind::PARAMETER,
                ));
            }
            match &p.annotation {
                None => out.push(hint(
                    p.name_range.end,
                    ": str".into(),
                    "No annotation: the SDK passes the argument as the string it received".into(),
                    InlayHintKind::TYPE,
                )),
                Some(ann) => {
                    let t = if future {
                        future_treatment(&ann.text).unwrap_or_else(|| match treatment(&ann.expr) {
                            Treatment::Coerced {
                                coercion: Coercion::Str,
                                ..
                            }
                            | Treatment::Passthrough => Treatment::Passthrough,
                            _ => Treatment::NotCoerced {
                                why: "`from __future__ import annotations`: not coerced".into(),
                            },
                        })
                    } else {
                        treatment(&ann.expr)
                    };
                    let why = match t {
                        Treatment::NotCoerced { why } => why,
                        Treatment::Iterable => "fused 2.9.5 does not coerce `Iterable`".into(),
                        _ => continue,
                    };
                    out.push(hint(
                        ann.range.end,
                        " → str".into(),
                        format!("Receives the string as passed: {why}"),
                        InlayHintKind::TYPE,
                    ));
                }
            }
        }
    }
    Some(out)
}
