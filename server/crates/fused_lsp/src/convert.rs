//! `to_proto` / `from_proto`: the only place core values meet protocol types.

use fused_core::{Diagnostic, Encoding, LineCol, LineIndex, Severity};
use std::ops::Range;
use tower_lsp_server::ls_types as lsp;

pub fn encoding_kind(enc: Encoding) -> lsp::PositionEncodingKind {
    match enc {
        Encoding::Utf8 => lsp::PositionEncodingKind::UTF8,
        Encoding::Utf16 => lsp::PositionEncodingKind::UTF16,
        Encoding::Utf32 => lsp::PositionEncodingKind::UTF32,
    }
}

/// UTF-8 when the client offers it (no conversion at all), else the protocol's UTF-16.
pub fn negotiate(offered: Option<&[lsp::PositionEncodingKind]>) -> Encoding {
    match offered {
        Some(list) if list.contains(&lsp::PositionEncodingKind::UTF8) => Encoding::Utf8,
        _ => Encoding::Utf16,
    }
}

pub fn position(text: &str, index: &LineIndex, offset: usize, enc: Encoding) -> lsp::Position {
    let lc = index.line_col(offset as u32, text, enc);
    lsp::Position {
        line: lc.line,
        character: lc.col,
    }
}

pub fn range(text: &str, index: &LineIndex, r: &Range<usize>, enc: Encoding) -> lsp::Range {
    lsp::Range {
        start: position(text, index, r.start, enc),
        end: position(text, index, r.end, enc),
    }
}

pub fn line_col(p: lsp::Position) -> LineCol {
    LineCol {
        line: p.line,
        col: p.character,
    }
}

pub fn offset(text: &str, index: &LineIndex, p: lsp::Position, enc: Encoding) -> usize {
    index.offset(line_col(p), text, enc) as usize
}

pub fn severity(s: Severity) -> lsp::DiagnosticSeverity {
    match s {
        Severity::Error => lsp::DiagnosticSeverity::ERROR,
        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        Severity::Info => lsp::DiagnosticSeverity::INFORMATION,
        Severity::Hint => lsp::DiagnosticSeverity::HINT,
    }
}

pub fn diagnostic(text: &str, index: &LineIndex, d: &Diagnostic, enc: Encoding) -> lsp::Diagnostic {
    lsp::Diagnostic {
        range: range(text, index, &d.range, enc),
        severity: Some(severity(d.severity())),
        code: Some(lsp::NumberOrString::String(d.rule.code().to_string())),
        // The rule's documentation, the same link as the CLI's JSON `url`.
        code_description: d
            .rule
            .doc_url()
            .parse::<lsp::Uri>()
            .ok()
            .map(|href| lsp::CodeDescription { href }),
        source: Some("fused-ls".into()),
        message: d.message.clone(),
        data: Some(serde_json::json!({ "name": d.rule.name() })),
        ..Default::default()
    }
}
