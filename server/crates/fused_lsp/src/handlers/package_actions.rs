//! meta.json management from the editor: "Sync meta.json with the source" (from the `.py` or
//! from meta.json) and "Create package files" for a loose UDF `.py`. Both are `WorkspaceEdit`s,
//! so the client applies them to open (even unsaved) buffers instead of files being overwritten
//! on disk.

use crate::convert;
use crate::session::Session;
use fused_core::package::sync::{sync, SyncOutcome};
use fused_core::LineIndex;
use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;
use tower_lsp_server::ls_types::*;

pub static SYNC_META: LazyLock<CodeActionKind> =
    LazyLock::new(|| CodeActionKind::new("source.fused.syncMeta"));
pub static CREATE_PACKAGE: LazyLock<CodeActionKind> =
    LazyLock::new(|| CodeActionKind::new("source.fused.createPackage"));

fn file_uri(path: &Path) -> Option<Uri> {
    Uri::from_file_path(path)
}

/// Creates `path` (unless it exists) holding `text`.
fn create_with(path: &Path, text: &str) -> Option<Vec<DocumentChangeOperation>> {
    let uri = file_uri(path)?;
    Some(vec![
        DocumentChangeOperation::Op(ResourceOp::Create(CreateFile {
            uri: uri.clone(),
            options: Some(CreateFileOptions {
                overwrite: Some(false),
                ignore_if_exists: Some(true),
            }),
            annotation_id: None,
        })),
        DocumentChangeOperation::Edit(TextDocumentEdit {
            text_document: OptionalVersionedTextDocumentIdentifier { uri, version: None },
            edits: vec![OneOf::Left(TextEdit {
                range: Range {
                    start: Position {
                        line: 0,
                        character: 0,
                    },
                    end: Position {
                        line: 0,
                        character: 0,
                    },
                },
                new_text: text.to_string(),
            })],
        }),
    ])
}

pub fn actions(
    st: &Session,
    path: &Path,
    wants: &dyn Fn(&CodeActionKind) -> bool,
) -> Vec<CodeActionOrCommand> {
    let Some(dir) = path.parent() else {
        return vec![];
    };
    let overlay = st.overlay(dir);
    let over = |p: &Path| overlay.get(p).cloned();
    let meta_path = dir.join("meta.json");
    let has_meta = meta_path.is_file() || overlay.contains_key(&meta_path);
    let Ok(pkg) = fused_fs::read_package(dir, &over) else {
        return vec![];
    };
    let mut out = Vec::new();
    match sync(&pkg) {
        Ok(SyncOutcome::Changed { text, changes }) if has_meta && wants(&SYNC_META) => {
            let current = over(&meta_path)
                .or_else(|| fused_fs::read::read_text_capped(&meta_path, fused_fs::MAX_FILE).ok())
                .unwrap_or_default();
            let index = LineIndex::new(&current);
            let whole = convert::range(&current, &index, &(0..current.len()), st.encoding);
            if let Some(uri) = file_uri(&meta_path) {
                out.push(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("Sync meta.json with the source ({})", changes.join("; ")),
                    kind: Some(SYNC_META.clone()),
                    edit: Some(WorkspaceEdit {
                        changes: Some(HashMap::from([(
                            uri,
                            vec![TextEdit {
                                range: whole,
                                new_text: text,
                            }],
                        )])),
                        ..Default::default()
                    }),
                    ..Default::default()
                }));
            }
        }
        Ok(SyncOutcome::Created { text })
            if !has_meta
                && path.extension().is_some_and(|e| e == "py")
                && wants(&CREATE_PACKAGE) =>
        {
            let mut ops = create_with(&meta_path, &text).unwrap_or_default();
            let readme = ["README.md", "README.MD"]
                .iter()
                .any(|r| dir.join(r).exists());
            if !readme {
                let body = format!(
                    "# {}\n\nWhat this UDF does and what its parameters mean.\n",
                    pkg.dir_name
                );
                ops.extend(create_with(&dir.join("README.md"), &body).unwrap_or_default());
            }
            out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: "Create package files (meta.json, README.md) beside this UDF".into(),
                kind: Some(CREATE_PACKAGE.clone()),
                edit: Some(WorkspaceEdit {
                    document_changes: Some(DocumentChanges::Operations(ops)),
                    ..Default::default()
                }),
                ..Default::default()
            }));
        }
        _ => {}
    }
    out
}
