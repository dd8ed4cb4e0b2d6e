//! A guard in front of the JSON-RPC reader. tower-lsp-server's framed reader stops for good at
//! the first undecodable message (the stream ends after a decoder error), so one bad frame would
//! end the session. Every frame is checked here first, by parsing it exactly as that decoder
//! does (the same `serde_json` call on the same message type), so what passes is what it accepts:
//!
//! - lone surrogate escapes (`"\ud83d"`, what `JSON.stringify` writes for half an emoji) and
//!   invalid UTF-8 become U+FFFD, as VS Code's own decoder does, and the frame goes on;
//! - any other frame it would refuse (bad JSON, nesting past serde_json's 128 levels, a float or
//!   object id, a wrong `jsonrpc`...) is logged to stderr and, when its sender waits for a reply
//!   (a request), replaced with a [`REJECT_METHOD`] request that `guard::Guard` answers with the
//!   JSON-RPC error (under the request's id, or `null` when the id is unusable); a notification
//!   or a response is dropped;
//! - a bad header (`Content-Length: 2x`, no length, a header line that does not end) is logged
//!   and the reader resynchronises on the next `Content-Length:`, wherever it is.
//!
//! Valid frames pass through byte for byte.
//!
//! The reading runs on its own thread with plain blocking reads, and hands whole frames to the
//! server through a bounded channel (backpressure: a flood waits in the pipe, not in memory).
//! `tokio::io::stdin` would instead run every read as a task on the blocking pool: a thread
//! hand-off per message, on the path of every keystroke.

use serde::de::IgnoredAny;
use serde::Deserialize;
use std::io::{BufRead, Read};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::mpsc;

/// Largest body accepted; a larger declared length is treated as garbage.
const MAX_BODY: usize = 256 << 20;

/// Frames waiting for the server; beyond this the reader thread waits.
const QUEUE: usize = 64;

/// Starts the reader thread over `input`; the returned stream yields the checked frames and
/// ends when the input does.
pub fn spawn_reader(input: impl Read + Send + 'static) -> Frames {
    let (tx, rx) = mpsc::channel(QUEUE);
    std::thread::Builder::new()
        .name("fused-ls-stdin".into())
        .spawn(move || pump(std::io::BufReader::new(input), tx))
        .expect("a thread can be started");
    Frames {
        rx,
        cur: Vec::new(),
        pos: 0,
    }
}

/// The checked frames, as the byte stream tower-lsp-server reads.
pub struct Frames {
    rx: mpsc::Receiver<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl AsyncRead for Frames {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        while this.pos >= this.cur.len() {
            match this.rx.poll_recv(cx) {
                Poll::Ready(Some(frame)) => {
                    this.cur = frame;
                    this.pos = 0;
                }
                // The input ended: end of stream.
                Poll::Ready(None) => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
            }
        }
        let n = buf.remaining().min(this.cur.len() - this.pos);
        buf.put_slice(&this.cur[this.pos..this.pos + n]);
        this.pos += n;
        Poll::Ready(Ok(()))
    }
}

/// The method a frame that cannot be taken is replaced with when its sender waits for a reply:
/// `guard::Guard` answers it with the error its params carry, under the frame's own id (or
/// `null` when the id itself was the problem). Never seen by the handlers.
pub const REJECT_METHOD: &str = "$/fused/reject";

/// Header lines longer than this are not headers: the reader resynchronises.
const MAX_HEADER_LINE: u64 = 8 << 10;

/// The header that starts every frame, matched case-insensitively (HTTP header names are).
const NEEDLE: &[u8] = b"content-length:";

/// What was skipped while looking for the next `Content-Length:` header: a count and the first
/// bytes, for the log line.
#[derive(Default)]
struct Skipped {
    count: usize,
    preview: Vec<u8>,
}

impl Skipped {
    const PREVIEW: usize = 200;

    fn push(&mut self, b: u8) {
        self.count += 1;
        if self.preview.len() < Self::PREVIEW {
            self.preview.push(b);
        }
    }

    /// Skipped bytes that are only line breaks or other header lines of the same header block
    /// (`Content-Type: ...` before `Content-Length:`) are part of a well-formed frame; anything
    /// else was a bad frame or garbage and is logged.
    fn is_garbage(&self) -> bool {
        if self.count > self.preview.len() {
            return true;
        }
        let text = String::from_utf8_lossy(&self.preview);
        let text = text.trim_start_matches(['\r', '\n']);
        let mut lines: Vec<&str> = text.split('\n').collect();
        // The last piece is the start of the line holding `Content-Length:` (usually empty).
        let last = lines.pop().unwrap_or_default();
        !last.trim().is_empty()
            || lines.iter().any(|l| {
                let l = l.trim_end_matches('\r');
                !l.split_once(':').is_some_and(|(k, _)| {
                    !k.is_empty() && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
            })
    }
}

/// Consumes the input up to and including the next `Content-Length:` (case-insensitive, anywhere,
/// even mid-line: a frame whose declared length was wrong leaves the reader inside a body).
/// `None` at the end of the input.
fn skip_to_header(r: &mut impl BufRead) -> std::io::Result<Option<Skipped>> {
    let mut skipped = Skipped::default();
    let mut matched = 0;
    // The bytes of the partial match as they were (for the log line).
    let mut partial = Vec::with_capacity(NEEDLE.len());
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        let mut used = 0;
        let mut found = false;
        for &b in buf {
            used += 1;
            let lower = b.to_ascii_lowercase();
            if lower == NEEDLE[matched] {
                matched += 1;
                partial.push(b);
                if matched == NEEDLE.len() {
                    found = true;
                    break;
                }
            } else {
                // The bytes of a partial match were not a header after all. (`c` occurs only
                // at the start of the needle, so a mismatch restarts the match at 0 or 1.)
                for p in partial.drain(..) {
                    skipped.push(p);
                }
                matched = 0;
                if lower == NEEDLE[0] {
                    matched = 1;
                    partial.push(b);
                } else {
                    skipped.push(b);
                }
            }
        }
        r.consume(used);
        if found {
            return Ok(Some(skipped));
        }
    }
}

/// One line (up to `\n`), at most MAX_HEADER_LINE bytes; `None` at the end of the input.
fn header_line(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    match r
        .by_ref()
        .take(MAX_HEADER_LINE)
        .read_until(b'\n', &mut line)
    {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line),
    }
}

fn pump(mut r: impl BufRead, tx: mpsc::Sender<Vec<u8>>) {
    let send = |body: &[u8]| {
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(body);
        tx.blocking_send(frame).is_ok()
    };
    loop {
        // Every frame starts at a `Content-Length:` header: after a bad frame the reader skips
        // to the next one, so one bad frame costs that frame only.
        let skipped = match skip_to_header(&mut r) {
            Ok(Some(s)) => s,
            Ok(None) | Err(_) => return,
        };
        if skipped.is_garbage() {
            eprintln!(
                "fused-ls: skipped {} bytes that were not a message: {:?}",
                skipped.count,
                String::from_utf8_lossy(&skipped.preview)
            );
        }
        let Some(value) = header_line(&mut r) else {
            return;
        };
        let value = String::from_utf8_lossy(&value);
        let value = value.trim();
        let len = value.parse::<usize>().ok().filter(|l| *l <= MAX_BODY);
        let Some(len) = len else {
            eprintln!(
                "fused-ls: ignored a message with the header `Content-Length: {}`; reading on from the next Content-Length header",
                value.chars().take(40).collect::<String>()
            );
            continue;
        };
        // The rest of the header block (Content-Type, which is always UTF-8 here), up to the
        // empty line. A line too long to be a header means this was no frame.
        let mut ok = true;
        loop {
            match header_line(&mut r) {
                None => return,
                Some(line) if line.len() as u64 >= MAX_HEADER_LINE => {
                    ok = false;
                    break;
                }
                Some(line) if line.iter().all(|b| b.is_ascii_whitespace()) => break,
                Some(_) => {}
            }
        }
        if !ok {
            eprintln!("fused-ls: ignored a message whose headers do not end; reading on from the next Content-Length header");
            continue;
        }
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let sent = match check(body) {
            Verdict::Pass(body) => send(&body),
            Verdict::Reply { id, code, message } => {
                eprintln!("fused-ls: rejected a message (id {id}): {message}");
                send(&reject(&id, code, &message))
            }
            Verdict::Drop(why) => {
                eprintln!("fused-ls: ignored a message: {why}");
                true
            }
        };
        if !sent {
            return;
        }
    }
}

/// The frame that makes the server answer `id` with an error.
fn reject(id: &serde_json::Value, code: i64, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"jsonrpc": "2.0", "id": id, "method": REJECT_METHOD, "params": {"code": code, "message": message}}))
        .expect("a JSON value serialises")
}

/// What becomes of one frame's body.
enum Verdict {
    /// The decoder takes it (possibly after lone surrogates were replaced).
    Pass(Vec<u8>),
    /// A request the decoder would refuse: answered with this error.
    Reply {
        id: serde_json::Value,
        code: i64,
        message: String,
    },
    /// A notification or response the decoder would refuse: nobody waits for an answer.
    Drop(String),
}

/// tower-lsp-server's own message type, rebuilt from its public halves: its decoder parses
/// every frame with `serde_json::from_str::<Message>`, and any failure ends the session.
/// Parsing with the same type is the only way to accept exactly what it accepts (the recursion
/// limit, string escapes, `deny_unknown_fields` on error objects, the id's type...).
#[derive(Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum Message {
    Response(tower_lsp_server::jsonrpc::Response),
    Request(tower_lsp_server::jsonrpc::Request),
}

fn decode(body: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
    serde_json::from_str::<Message>(text)
        .map(drop)
        .map_err(|e| e.to_string())
}

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;

fn check(body: Vec<u8>) -> Verdict {
    if body.is_empty() {
        return Verdict::Drop("an empty body".into());
    }
    if decode(&body).is_ok() {
        return Verdict::Pass(body);
    }
    // What VS Code's decoder does with the same bytes: invalid UTF-8 and lone surrogate
    // escapes (`JSON.stringify` of half an emoji) become U+FFFD.
    let mut body = match String::from_utf8(body) {
        Ok(s) => s.into_bytes(),
        Err(e) => String::from_utf8_lossy(e.as_bytes())
            .into_owned()
            .into_bytes(),
    };
    if let Some(fixed) = replace_lone_surrogates(&body) {
        body = fixed;
    }
    match decode(&body) {
        Ok(()) => Verdict::Pass(body),
        Err(why) => classify(&body, why),
    }
}

/// For a frame the decoder refuses: who waits for an answer, and which. JSON-RPC: a request
/// gets an error under its id; when the id itself is unusable (or the JSON does not parse),
/// under `null`; a notification or a response gets nothing.
fn classify(body: &[u8], why: String) -> Verdict {
    // The shape is read leniently (params skipped unparsed: no depth limit, no escape checks).
    // Only an object is a message (a derived struct would also read an array, by position).
    let object = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    let Some(shape) = serde_json::from_slice::<Shape>(body)
        .ok()
        .filter(|_| object)
    else {
        return if serde_json::from_slice::<IgnoredAny>(body).is_ok() {
            Verdict::Reply {
                id: serde_json::Value::Null,
                code: INVALID_REQUEST,
                message: format!("not a JSON-RPC message: {why}"),
            }
        } else {
            Verdict::Reply {
                id: serde_json::Value::Null,
                code: PARSE_ERROR,
                message: format!("not JSON: {why}"),
            }
        };
    };
    // The decoder's `Id`: an i64, a string or null.
    let usable = |id: &serde_json::Value| id.is_string() || id.is_i64() || id.is_null();
    let is_response = shape.method.is_none() && (shape.result.is_some() || shape.error.is_some());
    match (&shape.method, &shape.id) {
        // Nobody waits for an answer to a response or a notification.
        _ if is_response => Verdict::Drop(format!("a response that cannot be decoded: {why}")),
        (Some(serde_json::Value::String(m)), None) => {
            Verdict::Drop(format!("the notification `{m}` cannot be decoded: {why}"))
        }
        (_, Some(id)) if !usable(id) => Verdict::Reply {
            id: serde_json::Value::Null,
            code: INVALID_REQUEST,
            message: format!("the id {id} is neither an integer nor a string"),
        },
        (Some(serde_json::Value::String(m)), Some(id)) => Verdict::Reply {
            id: id.clone(),
            code: INVALID_REQUEST,
            message: format!("`{m}` cannot be decoded: {why}"),
        },
        (_, id) => Verdict::Reply {
            id: id.clone().unwrap_or_default(),
            code: INVALID_REQUEST,
            message: format!("not a JSON-RPC request, notification or response: {why}"),
        },
    }
}

/// Replaces every `\uD800`–`\uDFFF` escape that is not half of a surrogate pair with `\uFFFD`
/// (same length, so the rest of the frame is untouched); `None` when there is none.
fn replace_lone_surrogates(body: &[u8]) -> Option<Vec<u8>> {
    fn unit(b: &[u8], at: usize) -> Option<u16> {
        if b.get(at) != Some(&b'\\') || b.get(at + 1) != Some(&b'u') {
            return None;
        }
        let hex = std::str::from_utf8(b.get(at + 2..at + 6)?).ok()?;
        u16::from_str_radix(hex, 16).ok()
    }
    let mut out: Option<Vec<u8>> = None;
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'\\' {
            i += 1;
            continue;
        }
        let Some(u) = unit(body, i) else {
            // Another escape (`\\`, `\"`, `\n`...): skip both bytes, so an escaped backslash
            // before a `u` is never read as the start of an escape.
            i += 2;
            continue;
        };
        let high = (0xD800..0xDC00).contains(&u);
        let low = (0xDC00..0xE000).contains(&u);
        if high && unit(body, i + 6).is_some_and(|l| (0xDC00..0xE000).contains(&l)) {
            i += 12;
        } else if high || low {
            out.get_or_insert_with(|| body.to_vec())[i..i + 6].copy_from_slice(b"\\ufffd");
            i += 6;
        } else {
            i += 6;
        }
    }
    out
}

/// What [`classify`] reads of a message: its shape, with the (possibly large or deep) params
/// and results skipped, not built into values.
#[derive(Deserialize)]
struct Shape {
    #[serde(default, deserialize_with = "present")]
    method: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    id: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present_any")]
    result: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present_any")]
    error: Option<IgnoredAny>,
}

/// `Some` for a key that is there, even with a `null` value (a response's `"result": null`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

fn present_any<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<IgnoredAny>, D::Error> {
    IgnoredAny::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(body: &str) -> Verdict {
        check(body.as_bytes().to_vec())
    }

    fn nested(depth: usize) -> String {
        format!("{}{}", "[".repeat(depth), "]".repeat(depth))
    }

    #[test]
    fn valid_messages_pass_byte_for_byte() {
        let ok = [
            r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#,
            r#"{"jsonrpc":"2.0","id":"a","result":null}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"m"}}"#,
            r#"{"params":{"text":"x\n"},"method":"textDocument/didOpen","jsonrpc":"2.0","extra":1}"#,
            r#"{"jsonrpc":"2.0","method":"m","params":{"t":"\ud83d\ude00 and \\ud83d"}}"#,
        ];
        for m in ok {
            match verdict(m) {
                Verdict::Pass(b) => assert_eq!(b, m.as_bytes()),
                _ => panic!("refused {m}"),
            }
        }
    }

    /// The checker and the decoder agree: whatever the checker passes, the decoder takes.
    #[test]
    fn what_passes_is_what_the_decoder_takes() {
        let deep_params = format!(
            r#"{{"jsonrpc":"2.0","id":7,"method":"textDocument/hover","params":{}}}"#,
            nested(127)
        );
        let deep_note = format!(
            r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{}}}"#,
            nested(200)
        );
        let cases = [
            r#"{"jsonrpc":"2.0","method":"m","params":{"unclosed":[}"#.to_string(),
            r#"{"jsonrpc":"1.0","method":"m"}"#.into(),
            r#"{"method":"m"}"#.into(),
            r#"{"jsonrpc":"2.0","method":3}"#.into(),
            r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#.into(),
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"m"}"#.into(),
            r#"{"jsonrpc":"2.0","id":18446744073709551615,"method":"m"}"#.into(),
            r#"{"jsonrpc":"2.0","id":1.5,"result":null}"#.into(),
            r#"[{"jsonrpc":"2.0","method":"m"}]"#.into(),
            "not json".into(),
            deep_params,
            deep_note,
        ];
        for m in &cases {
            let v = verdict(m);
            if let Verdict::Pass(b) = &v {
                assert!(decode(b).is_ok(), "passed what the decoder refuses: {m}");
            } else {
                assert!(
                    decode(m.as_bytes()).is_err(),
                    "refused what the decoder takes: {m}"
                );
            }
            match v {
                Verdict::Pass(_) => panic!("passed {m}"),
                Verdict::Reply { id, code, .. } => {
                    // The reply frame itself must decode.
                    assert!(decode(&reject(&id, code, "x")).is_ok());
                }
                Verdict::Drop(_) => {}
            }
        }
    }

    #[test]
    fn requests_get_errors_under_their_id_or_null_notifications_and_responses_nothing() {
        let reply = |m: &str| match verdict(m) {
            Verdict::Reply { id, code, .. } => Some((id, code)),
            _ => None,
        };
        let deep = format!(
            r#"{{"jsonrpc":"2.0","id":7,"method":"textDocument/hover","params":{}}}"#,
            nested(127)
        );
        assert_eq!(reply(&deep), Some((serde_json::json!(7), INVALID_REQUEST)));
        // 126 levels in params (127 with the message itself) still decode.
        let fine = format!(
            r#"{{"jsonrpc":"2.0","id":7,"method":"textDocument/hover","params":{}}}"#,
            nested(126)
        );
        assert!(matches!(verdict(&fine), Verdict::Pass(_)));
        let deep_note = format!(
            r#"{{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{}}}"#,
            nested(127)
        );
        assert!(matches!(verdict(&deep_note), Verdict::Drop(_)));
        assert_eq!(
            reply(r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#),
            Some((serde_json::Value::Null, INVALID_REQUEST))
        );
        assert_eq!(
            reply(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"m"}"#),
            Some((serde_json::Value::Null, INVALID_REQUEST))
        );
        // An array is no message, though a struct would read one by position.
        assert_eq!(
            reply("[1, 2, 3]"),
            Some((serde_json::Value::Null, INVALID_REQUEST))
        );
        assert_eq!(
            reply("{not json"),
            Some((serde_json::Value::Null, PARSE_ERROR))
        );
        assert_eq!(
            reply(r#"{"jsonrpc":"1.0","id":"x","method":"m"}"#),
            Some((serde_json::json!("x"), INVALID_REQUEST))
        );
        assert!(matches!(
            verdict(r#"{"jsonrpc":"2.0","id":1.5,"result":null}"#),
            Verdict::Drop(_)
        ));
    }

    #[test]
    fn lone_surrogates_become_replacement_characters() {
        let m = r#"{"jsonrpc":"2.0","method":"m","params":{"t":"a\ud83d b\ude00 \ud83d\ude00 \\ud83d \ud83d"}}"#;
        let Verdict::Pass(b) = verdict(m) else {
            panic!("refused")
        };
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(
            v["params"]["t"],
            "a\u{fffd} b\u{fffd} \u{1f600} \\ud83d \u{fffd}"
        );
        assert_eq!(b.len(), m.len());
    }

    fn pumped(input: Vec<u8>) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            use tokio::io::AsyncReadExt;
            let mut frames = spawn_reader(std::io::Cursor::new(input));
            let mut out = String::new();
            frames.read_to_string(&mut out).await.unwrap();
            out
        })
    }

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[test]
    fn frames_pass_through_and_bad_ones_are_replaced_or_dropped() {
        let good = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = format!(
            "{}Content-Length: 5\r\n\r\nhello{}",
            frame(good),
            frame(r#"{"jsonrpc":"2.0","method":"note","params":[1.5e999]}"#)
        );
        let out = pumped(input.into_bytes());
        let (first, second) = out.split_at(out.find(good).unwrap() + good.len());
        assert_eq!(first, frame(good));
        assert!(second.contains(REJECT_METHOD), "{second}");
        assert!(!second.contains("note"), "{second}");
    }

    /// `Content-Length: 2x`: that frame is lost, every later one is read.
    #[test]
    fn a_bad_header_resynchronises_on_the_next_content_length() {
        let a = r#"{"jsonrpc":"2.0","method":"a","params":{}}"#;
        let b = r#"{"jsonrpc":"2.0","method":"b","params":{}}"#;
        let c = r#"{"jsonrpc":"2.0","method":"c","params":{}}"#;
        let input = format!(
            "Content-Length: 2x\r\n\r\n{a}{}content-type: x\r\ncontent-length: {}\r\n\r\n{c}Content-Type: nothing\r\n\r\n{}",
            frame(b),
            c.len(),
            frame(a)
        );
        let out = pumped(input.into_bytes());
        assert_eq!(out, format!("{}{}{}", frame(b), frame(c), frame(a)));
        // A declared length too short leaves the reader inside the body: the rest is skipped
        // up to the next header.
        let input = format!("Content-Length: 10\r\n\r\n{a}{}", frame(b));
        let out = pumped(input.into_bytes());
        assert!(out.ends_with(&frame(b)), "{out}");
    }

    #[test]
    fn skipped_bytes_are_garbage_unless_they_are_headers_or_line_breaks() {
        let skipped = |s: &str| {
            let mut sk = Skipped::default();
            s.bytes().for_each(|b| sk.push(b));
            sk.is_garbage()
        };
        assert!(!skipped(""));
        assert!(!skipped("\r\n"));
        assert!(!skipped(
            "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n"
        ));
        assert!(skipped("Content-Type: nothing\r\n\r\n"));
        assert!(skipped("{\"jsonrpc\"}"));
        assert!(skipped(&"x".repeat(500)));
    }
}
