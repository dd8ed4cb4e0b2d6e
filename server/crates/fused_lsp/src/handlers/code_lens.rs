//! `textDocument/codeLens`: "▶ Run" and "▶ Run tile" above each UDF, running it through the
//! `fused.run` command. Nothing runs until the user clicks.

use crate::convert;
use crate::document::DocKind;
use crate::session::Session;
use serde_json::json;
use tower_lsp_server::ls_types::*;

pub const RUN_COMMAND: &str = "fused.run";

/// The tile "Run tile" uses when the receiver's default is not a literal bounds list: SDK-FACTS'
/// example tile in lower Manhattan.
pub const DEFAULT_TILE: &str = "13/2411/3079";

pub fn code_lenses(st: &Session, params: &CodeLensParams) -> Option<Vec<CodeLens>> {
    let uri = &params.text_document.uri;
    let doc = st.docs.get(uri)?;
    if doc.kind != DocKind::Python {
        return None;
    }
    let model = doc.model();
    let mut out = Vec::new();
    for udf in st.udfs_of(doc.path.as_deref(), model) {
        let at = convert::range(
            &doc.text,
            &doc.index,
            &(udf.decorator_range.start..udf.decorator_range.start),
            st.encoding,
        );
        let lens = |title: &str, args: serde_json::Value| CodeLens {
            range: at,
            command: Some(Command {
                title: title.to_string(),
                command: RUN_COMMAND.into(),
                arguments: Some(vec![args]),
            }),
            data: None,
        };
        out.push(lens(
            "▶ Run",
            json!({"uri": uri, "entrypoint": udf.name, "mode": "file"}),
        ));
        if let Some(receiver) = udf.param("bounds").or_else(|| udf.param("bbox")) {
            let bbox = receiver
                .default
                .as_ref()
                .and_then(|d| literal_bounds(&d.text));
            let args = match bbox {
                Some(b) => json!({"uri": uri, "entrypoint": udf.name, "mode": "tile", "bbox": b}),
                None => {
                    json!({"uri": uri, "entrypoint": udf.name, "mode": "tile", "tile": DEFAULT_TILE})
                }
            };
            out.push(lens("▶ Run tile", args));
        }
    }
    Some(out)
}

/// `[-74.01, 40.70, -73.99, 40.72]` → the four numbers.
fn literal_bounds(text: &str) -> Option<[f64; 4]> {
    let inner = text.trim().strip_prefix('[')?.strip_suffix(']')?;
    let nums: Vec<f64> = inner
        .split(',')
        .map(|s| s.trim().parse().ok())
        .collect::<Option<Vec<_>>>()?;
    <[f64; 4]>::try_from(nums).ok()
}
