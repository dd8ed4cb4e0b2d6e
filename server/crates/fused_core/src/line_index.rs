//! Byte offset ↔ line/column conversion.
//!
//! Every diagnostic in the core carries a byte range; front ends convert it here. The LSP layer
//! needs UTF-16 or UTF-8 columns (negotiated), the CLI's JSON contract needs Unicode scalar values.
//! Lines made only of ASCII take a fast path: there every encoding's column equals the byte offset.
//!
//! A line ends at `\n`, `\r\n` or a lone `\r`, as LSP and CPython count them: a client's line 5
//! of `a = 1\rb = 2\n` is `b = 2`, and any other count moves every edit and diagnostic below the
//! first lone `\r`.

/// How a column is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Bytes of UTF-8 (LSP `utf-8`).
    Utf8,
    /// UTF-16 code units (LSP `utf-16`, the protocol's default).
    Utf16,
    /// Unicode scalar values (LSP `utf-32`, and the CLI's JSON output).
    Utf32,
}

/// A zero-based line and column, the column counted in some [`Encoding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone)]
pub struct LineIndex {
    /// Byte offset of the start of every line; the first is always 0.
    line_starts: Vec<u32>,
    /// Whether each line is pure ASCII (the fast path).
    ascii: Vec<bool>,
    len: u32,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut line_starts = vec![0u32];
        let mut ascii = Vec::new();
        let mut line_ascii = true;
        let bytes = text.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            // `\r\n` ends its line at the `\n`; a `\r` alone ends it too.
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                line_starts.push(i as u32 + 1);
                ascii.push(line_ascii);
                line_ascii = true;
            } else if b >= 0x80 {
                line_ascii = false;
            }
        }
        ascii.push(line_ascii);
        LineIndex {
            line_starts,
            ascii,
            len: text.len() as u32,
        }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte offset where `line` (zero-based) starts; the text length past the last line.
    pub fn line_start(&self, line: u32) -> u32 {
        self.line_starts
            .get(line as usize)
            .copied()
            .unwrap_or(self.len)
    }

    /// The byte range of `line` without its line terminator (`\n`, `\r\n` or `\r`).
    pub fn line_range(&self, line: u32, text: &str) -> std::ops::Range<usize> {
        let start = self.line_start(line) as usize;
        let mut end = self.line_start(line + 1) as usize;
        let bytes = text.as_bytes();
        if end > start && end <= bytes.len() && bytes[end - 1] == b'\n' {
            end -= 1;
        }
        if end > start && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        start..end.max(start)
    }

    /// The zero-based line holding byte `offset`.
    pub fn line_of(&self, offset: u32) -> u32 {
        match self.line_starts.binary_search(&offset) {
            Ok(line) => line as u32,
            Err(next) => next as u32 - 1,
        }
    }

    /// Converts a byte offset into a line and column in `encoding`. An offset inside a multi-byte
    /// character is moved back to that character's start.
    pub fn line_col(&self, offset: u32, text: &str, encoding: Encoding) -> LineCol {
        let offset = offset.min(self.len);
        let line = self.line_of(offset);
        let start = self.line_starts[line as usize];
        if self.ascii[line as usize] || encoding == Encoding::Utf8 {
            return LineCol {
                line,
                col: offset - start,
            };
        }
        let mut end = offset as usize;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        let slice = &text[start as usize..end];
        let col = match encoding {
            Encoding::Utf16 => slice.encode_utf16().count(),
            _ => slice.chars().count(),
        };
        LineCol {
            line,
            col: col as u32,
        }
    }

    /// Converts a line and column back into a byte offset. A column past the end of the line
    /// clamps to the end of the line (before its terminator), as the LSP specification asks; a
    /// line past the end clamps to the end of the text.
    pub fn offset(&self, pos: LineCol, text: &str, encoding: Encoding) -> u32 {
        if pos.line as usize >= self.line_starts.len() {
            return self.len;
        }
        let range = self.line_range(pos.line, text);
        let line_text = &text[range.clone()];
        let start = range.start as u32;
        if self.ascii[pos.line as usize] {
            return start + pos.col.min(line_text.len() as u32);
        }
        let mut units = 0u32;
        for (i, ch) in line_text.char_indices() {
            if units >= pos.col {
                return start + i as u32;
            }
            units += match encoding {
                Encoding::Utf8 => ch.len_utf8() as u32,
                Encoding::Utf16 => ch.len_utf16() as u32,
                Encoding::Utf32 => 1,
            };
            if units > pos.col {
                // Inside a character (half a surrogate pair, a byte inside UTF-8): take its start.
                return start + i as u32;
            }
        }
        start + line_text.len() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_multibyte_columns() {
        let text = "ab\ncé😀x\n";
        let idx = LineIndex::new(text);
        let x = text.find('x').unwrap() as u32;
        assert_eq!(
            idx.line_col(x, text, Encoding::Utf8),
            LineCol { line: 1, col: 7 }
        );
        assert_eq!(
            idx.line_col(x, text, Encoding::Utf16),
            LineCol { line: 1, col: 4 }
        );
        assert_eq!(
            idx.line_col(x, text, Encoding::Utf32),
            LineCol { line: 1, col: 3 }
        );
        for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            let lc = idx.line_col(x, text, enc);
            assert_eq!(idx.offset(lc, text, enc), x);
        }
        assert_eq!(
            idx.line_col(1, text, Encoding::Utf16),
            LineCol { line: 0, col: 1 }
        );
    }

    #[test]
    fn combining_and_cjk() {
        let text = "e\u{301}漢字 = 1";
        let idx = LineIndex::new(text);
        let eq = text.find('=').unwrap() as u32;
        assert_eq!(idx.line_col(eq, text, Encoding::Utf16).col, 5);
        assert_eq!(idx.line_col(eq, text, Encoding::Utf32).col, 5);
        assert_eq!(idx.line_col(eq, text, Encoding::Utf8).col, eq);
    }

    #[test]
    fn clamps_past_line_end_and_inside_surrogates() {
        let text = "😀\nz";
        let idx = LineIndex::new(text);
        assert_eq!(
            idx.offset(LineCol { line: 0, col: 99 }, text, Encoding::Utf16),
            4
        );
        assert_eq!(
            idx.offset(LineCol { line: 0, col: 1 }, text, Encoding::Utf16),
            0
        );
        assert_eq!(
            idx.offset(LineCol { line: 7, col: 0 }, text, Encoding::Utf16),
            6
        );
        let crlf = "a\r\nb";
        let idx = LineIndex::new(crlf);
        assert_eq!(
            idx.offset(LineCol { line: 0, col: 5 }, crlf, Encoding::Utf16),
            1
        );
    }

    /// LSP and CPython end a line at `\n`, `\r\n` or a lone `\r`: all three count, and a
    /// `\r\n` counts once.
    #[test]
    fn lone_cr_ends_a_line_and_crlf_ends_one() {
        let text = "a = 1\rb = 2\r\nc = é\nd\r\re";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_count(), 6);
        let lines: Vec<&str> = (0..6).map(|l| &text[idx.line_range(l, text)]).collect();
        assert_eq!(lines, ["a = 1", "b = 2", "c = é", "d", "", "e"]);
        let b = text.find('b').unwrap() as u32;
        for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            assert_eq!(idx.line_col(b, text, enc), LineCol { line: 1, col: 0 });
            assert_eq!(idx.offset(LineCol { line: 1, col: 0 }, text, enc), b);
            // Past the end of a lone-CR line: before its `\r`.
            assert_eq!(idx.offset(LineCol { line: 0, col: 9 }, text, enc), 5);
        }
        let e = text.find('e').unwrap() as u32;
        assert_eq!(
            idx.line_col(e, text, Encoding::Utf16),
            LineCol { line: 5, col: 0 }
        );
        // A text ending in a lone `\r` has an empty last line, as one ending in `\n` does.
        assert_eq!(LineIndex::new("x\r").line_count(), 2);
        assert_eq!(LineIndex::new("x\r\n").line_count(), 2);
    }
}
