//! `textDocument/codeAction`: the quick fix of each fixable diagnostic, "ignore with
//! `# noqa`", and `source.fixAll.fused` (every safe fix, usable on save).

use crate::convert;
use crate::document::DocKind;
use crate::session::{uri_path, Session};
use fused_core::{apply_edits, Applicability, Diagnostic, LineIndex};
use std::collections::HashMap;
use std::sync::LazyLock;
use tower_lsp_server::ls_types::*;

pub static FIX_ALL: LazyLock<CodeActionKind> =
    LazyLock::new(|| CodeActionKind::new("source.fixAll.fused"));

pub fn code_actions(st: &Session, params: &CodeActionParams) -> Option<CodeActionResponse> {
    let uri = &params.text_document.uri;
    let doc = st.docs.get(uri)?;
    let path = uri_path(uri)?;
    let overlay = path.parent().map(|d| st.overlay(d)).unwrap_or_default();
    // The rules in effect for this file: a fix for a rule its configuration turns off (say by
    // `per-file-ignores`) is never offered, as `check --fix` never applies it.
    let cfg = st.config_for(&path).ok().flatten();
    if cfg.as_ref().is_some_and(|c| c.excludes(&path)) {
        return None;
    }
    let selection = st.selection_for(&path, cfg.as_deref());
    let (diags, _) = crate::analysis::diagnostics(
        &path,
        &doc.text,
        &|p| overlay.get(p).cloned(),
        &selection,
        None,
    );
    let text = &doc.text;
    let index = &doc.index;
    let enc = st.encoding;
    let start = convert::offset(text, index, params.range.start, enc);
    let end = convert::offset(text, index, params.range.end, enc);
    let only = params.context.only.as_ref();
    let wants = |kind: &CodeActionKind| {
        only.is_none_or(|o| o.iter().any(|k| kind.as_str().starts_with(k.as_str())))
    };
    let edit_of = |edits: Vec<TextEdit>| WorkspaceEdit {
        changes: Some(HashMap::from([(uri.clone(), edits)])),
        ..Default::default()
    };
    let mut out = Vec::new();

    if wants(&CodeActionKind::QUICKFIX) {
        let touching = diags
            .iter()
            .filter(|d| d.range.start <= end && start <= d.range.end);
        for d in touching {
            let lsp_diag = convert::diagnostic(text, index, d, enc);
            if let Some(fix) = &d.fix {
                let edits = fix
                    .edits
                    .iter()
                    .map(|e| TextEdit {
                        range: convert::range(text, index, &e.range, enc),
                        new_text: e.new_text.clone(),
                    })
                    .collect();
                out.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("{} ({})", fix.title, d.rule.code()),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![lsp_diag.clone()]),
                    edit: Some(edit_of(edits)),
                    is_preferred: Some(fix.applicability == Applicability::Safe),
                    ..Default::default()
                }));
            }
            if doc.kind == DocKind::Python {
                if let Some(edit) = noqa_edit(text, index, d) {
                    out.push(CodeActionOrCommand::CodeAction(CodeAction {
                        title: format!("Ignore {} on this line with `# noqa`", d.rule.code()),
                        kind: Some(CodeActionKind::QUICKFIX),
                        diagnostics: Some(vec![lsp_diag]),
                        edit: Some(edit_of(vec![TextEdit {
                            range: convert::range(text, index, &edit.0, enc),
                            new_text: edit.1,
                        }])),
                        ..Default::default()
                    }));
                }
            }
        }
    }
    out.extend(crate::handlers::package_actions::actions(st, &path, &wants));
    if wants(&FIX_ALL) {
        if let Some(fixed) = fix_all(text, &diags) {
            let whole = convert::range(text, index, &(0..text.len()), enc);
            out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: "Fix all safe fused-ls problems".into(),
                kind: Some(FIX_ALL.clone()),
                edit: Some(edit_of(vec![TextEdit {
                    range: whole,
                    new_text: fixed,
                }])),
                ..Default::default()
            }));
        }
    }
    Some(out)
}

/// Every safe fix of this file, applied until none is left (each round re-checks nothing: the
/// fixes of one check never overlap by construction of `apply_edits`).
fn fix_all(text: &str, diags: &[Diagnostic]) -> Option<String> {
    let edits: Vec<_> = diags
        .iter()
        .filter_map(|d| d.fix.as_ref())
        .filter(|f| f.applicability == Applicability::Safe)
        .flat_map(|f| f.edits.clone())
        .collect();
    if edits.is_empty() {
        return None;
    }
    let (fixed, n) = apply_edits(text, &edits);
    (n > 0 && fixed != text).then_some(fixed)
}

/// The edit adding `rule` to the line's `# noqa:` list, or a new `  # noqa: CODE` comment.
fn noqa_edit(
    text: &str,
    index: &LineIndex,
    d: &Diagnostic,
) -> Option<(std::ops::Range<usize>, String)> {
    let line = index.line_of(d.range.start as u32);
    let range = index.line_range(line, text);
    let line_text = &text[range.clone()];
    if let Some(pos) = line_text.find("# noqa:") {
        let codes_end = line_text[pos + 7..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == ',' || c == ' '))
            .map(|i| pos + 7 + i)
            .unwrap_or(line_text.len());
        let insert = range.start + line_text[..codes_end].trim_end().len();
        return Some((insert..insert, format!(", {}", d.rule.code())));
    }
    if line_text.contains("# noqa") {
        return None;
    }
    let end = range.start + line_text.trim_end().len();
    Some((end..end, format!("  # noqa: {}", d.rule.code())))
}
