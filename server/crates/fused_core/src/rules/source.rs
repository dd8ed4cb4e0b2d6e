//! FUSED005–006: what the SDK's compiler refuses in the raw text of a `.py`, before any grammar.

use crate::diagnostic::{Applicability, Diagnostic, Fix, TextEdit};
use crate::registry::Rule;

/// CPython 3.11's tokenizer limit (`MAXLEVEL`): 200 open brackets compile, the 201st is
/// "too many nested parentheses" (measured with python3.11 and fused 2.9.5).
pub const MAX_NESTING: usize = 200;

pub fn check(text: &str, out: &mut Vec<Diagnostic>) {
    if text.starts_with('\u{feff}') {
        let bom = '\u{feff}'.len_utf8();
        out.push(
            Diagnostic::new(
                Rule::Utf8Bom,
                0..bom,
                "the file starts with a byte-order mark (U+FEFF), which the SDK rejects (`invalid non-printable character U+FEFF`); save it as UTF-8 without BOM",
            )
            .with_fix(Fix {
                title: "Remove the byte-order mark".into(),
                edits: vec![TextEdit {
                    range: 0..bom,
                    new_text: String::new(),
                }],
                applicability: Applicability::Safe,
            }),
        );
    }
    if let Some(at) = too_deep(text) {
        out.push(Diagnostic::new(
            Rule::TooDeeplyNested,
            at..at + 1,
            format!("more than {MAX_NESTING} nested parentheses, brackets or braces: Python refuses to compile the file (`too many nested parentheses`); split the expression into named parts"),
        ));
    }
}

/// The byte offset of the first bracket opened beyond [`MAX_NESTING`] levels, outside strings
/// and comments (an f-string's expressions are compiled on their own, so a string is skipped
/// whole). A rough tokenizer: quotes, triple quotes, backslash escapes and comments.
pub fn too_deep(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            q @ (b'\'' | b'"') => {
                let triple = b[i..].starts_with(&[q, q, q]);
                i += if triple { 3 } else { 1 };
                while i < b.len() {
                    match b[i] {
                        b'\\' => i += 1,
                        b'\n' if !triple => break,
                        c if c == q && (!triple || b[i..].starts_with(&[q, q, q])) => {
                            i += if triple { 2 } else { 0 };
                            break;
                        }
                        _ => {}
                    }
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_outside_strings_and_comments() {
        let nested = |n: usize| format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n));
        assert_eq!(too_deep(&nested(200)), None);
        assert_eq!(too_deep(&nested(201)), Some(4 + 200));
        let mixed = format!("x = {}{}\n", "[{(".repeat(67), ")}]".repeat(67));
        assert_eq!(too_deep(&mixed), Some(4 + 200));
        let in_string = format!(
            "s = '{0}'\nt = \"\"\"{0}\n{0}\"\"\"\n# {0}\nu = 'a\\'{0}'\n",
            "(".repeat(300)
        );
        assert_eq!(too_deep(&in_string), None);
        // Closing more than was opened (a syntax error of its own) does not go negative.
        assert_eq!(too_deep(&format!(")))\n{}", nested(200))), None);
    }
}
