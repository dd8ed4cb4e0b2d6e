//! A guard in front of the JSON-RPC reader. tower-lsp-server's framed reader stops for good at
//! the first undecodable message (the stream ends after a decoder error), so one bad frame would
//! end the session. Every frame is checked here first: a frame whose body is not a JSON-RPC
//! message, or whose header is garbage, is logged to stderr and replaced by an ignored
//! `$/fused/malformedMessage` notification. Valid frames pass through byte for byte.
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

fn pump(mut r: impl BufRead, tx: mpsc::Sender<Vec<u8>>) {
    let send = |body: &[u8]| {
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(body);
        tx.blocking_send(frame).is_ok()
    };
    loop {
        let mut len: Option<usize> = None;
        let mut saw_header = false;
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line);
            let text = text.trim_end_matches(['\r', '\n']);
            if text.is_empty() {
                if saw_header {
                    break;
                }
                continue;
            }
            saw_header = true;
            if let Some((k, v)) = text.split_once(':') {
                if k.trim().eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().ok();
                }
            }
        }
        let Some(len) = len.filter(|l| *l <= MAX_BODY) else {
            eprintln!(
                "fused-ls: ignored a message with a missing or invalid Content-Length header"
            );
            if !send(&malformed("bad header")) {
                return;
            }
            continue;
        };
        let mut body = vec![0; len];
        if r.read_exact(&mut body).is_err() {
            return;
        }
        let ok = if is_jsonrpc(&body) {
            send(&body)
        } else {
            eprintln!(
                "fused-ls: ignored a message that is not JSON-RPC: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            );
            send(&malformed("not a JSON-RPC message"))
        };
        if !ok {
            return;
        }
    }
}

fn malformed(why: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"jsonrpc": "2.0", "method": "$/fused/malformedMessage", "params": {"error": why}}))
        .expect("a literal serialises")
}

/// What [`is_jsonrpc`] reads of a message: its shape, with the (possibly large) params and
/// results checked as JSON but not built into values.
#[derive(Deserialize)]
struct Shape {
    jsonrpc: Option<String>,
    #[serde(default, deserialize_with = "present")]
    method: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present")]
    id: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "present_any")]
    result: Option<IgnoredAny>,
    #[serde(default, deserialize_with = "present_any")]
    error: Option<IgnoredAny>,
    #[serde(default)]
    #[allow(dead_code)]
    params: Option<IgnoredAny>,
}

/// `Some` for a key that is there, even with a `null` value (a response's `"result": null`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
}

fn present_any<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<IgnoredAny>, D::Error> {
    IgnoredAny::deserialize(d).map(Some)
}

/// Whether tower-lsp-server's decoder will accept the body: a JSON object with `"jsonrpc":
/// "2.0"` that is a request/notification (`method`) or a response (`id` with `result`/`error`).
fn is_jsonrpc(body: &[u8]) -> bool {
    // Duplicate keys or a non-object fail here, as they would in the decoder.
    let Ok(m) = serde_json::from_slice::<Shape>(body) else {
        return false;
    };
    if m.jsonrpc.as_deref() != Some("2.0") {
        return false;
    }
    let id_ok = |id: &Option<serde_json::Value>| {
        id.as_ref()
            .is_none_or(|v| v.is_string() || v.is_i64() || v.is_u64() || v.is_null())
    };
    match &m.method {
        Some(serde_json::Value::String(_)) => id_ok(&m.id),
        Some(_) => false,
        None => m.id.is_some() && (m.result.is_some() || m.error.is_some()) && id_ok(&m.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_decoder_accepts() {
        let ok = [
            r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#,
            r#"{"jsonrpc":"2.0","id":"a","result":null}"#,
            r#"{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"m"}}"#,
            r#"{"params":{"text":"x\n"},"method":"textDocument/didOpen","jsonrpc":"2.0","extra":1}"#,
        ];
        for m in ok {
            assert!(is_jsonrpc(m.as_bytes()), "{m}");
        }
        let bad = [
            r#"{"jsonrpc":"2.0","method":"m","params":{"unclosed":[}"#,
            r#"{"jsonrpc":"1.0","method":"m"}"#,
            r#"{"method":"m"}"#,
            r#"{"jsonrpc":"2.0","method":3}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"m"}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"[{"jsonrpc":"2.0","method":"m"}]"#,
            "not json",
        ];
        for m in bad {
            assert!(!is_jsonrpc(m.as_bytes()), "{m}");
        }
    }

    #[test]
    fn frames_pass_through_and_bad_ones_are_replaced() {
        let good = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = format!(
            "Content-Length: {}\r\n\r\n{good}Content-Length: 5\r\n\r\nhello",
            good.len()
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let out = rt.block_on(async {
            use tokio::io::AsyncReadExt;
            let mut frames = spawn_reader(std::io::Cursor::new(input.into_bytes()));
            let mut out = String::new();
            frames.read_to_string(&mut out).await.unwrap();
            out
        });
        let (first, second) = out.split_at(out.find(good).unwrap() + good.len());
        assert_eq!(
            first,
            format!("Content-Length: {}\r\n\r\n{good}", good.len())
        );
        assert!(second.contains("$/fused/malformedMessage"), "{second}");
    }
}
