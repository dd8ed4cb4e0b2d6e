//! A guard in front of the JSON-RPC reader. tower-lsp-server's framed reader stops for good at
//! the first undecodable message (the stream ends after a decoder error), so one bad frame would
//! end the session. Every frame is checked here first: a frame whose body is not a JSON-RPC
//! message, or whose header is garbage, is logged to stderr and replaced by an ignored
//! `$/fused/malformedMessage` notification. Valid frames pass through byte for byte.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// Largest body accepted; a larger declared length is treated as garbage.
const MAX_BODY: usize = 256 << 20;

pub async fn pump(input: impl AsyncRead + Unpin, mut output: impl AsyncWrite + Unpin) {
    let mut r = BufReader::new(input);
    loop {
        let mut len: Option<usize> = None;
        let mut saw_header = false;
        loop {
            let mut line = Vec::new();
            match r.read_until(b'\n', &mut line).await {
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
            if forward(&mut output, &malformed("bad header"))
                .await
                .is_err()
            {
                return;
            }
            continue;
        };
        let mut body = vec![0; len];
        if r.read_exact(&mut body).await.is_err() {
            return;
        }
        let frame = if is_jsonrpc(&body) {
            body
        } else {
            eprintln!(
                "fused-ls: ignored a message that is not JSON-RPC: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            );
            malformed("not a JSON-RPC message")
        };
        if forward(&mut output, &frame).await.is_err() {
            return;
        }
    }
}

fn malformed(why: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"jsonrpc": "2.0", "method": "$/fused/malformedMessage", "params": {"error": why}}))
        .expect("a literal serialises")
}

async fn forward(out: &mut (impl AsyncWrite + Unpin), body: &[u8]) -> std::io::Result<()> {
    out.write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
        .await?;
    out.write_all(body).await?;
    out.flush().await
}

/// Whether tower-lsp-server's decoder will accept the body: a JSON object with `"jsonrpc":
/// "2.0"` that is a request/notification (`method`) or a response (`id` with `result`/`error`).
fn is_jsonrpc(body: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(m)) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    if m.get("jsonrpc").and_then(|v| v.as_str()) != Some("2.0") {
        return false;
    }
    let id_ok = |id: Option<&serde_json::Value>| {
        id.is_none_or(|v| v.is_string() || v.is_i64() || v.is_u64() || v.is_null())
    };
    match m.get("method") {
        Some(serde_json::Value::String(_)) => id_ok(m.get("id")),
        Some(_) => false,
        None => {
            m.contains_key("id")
                && (m.contains_key("result") || m.contains_key("error"))
                && id_ok(m.get("id"))
        }
    }
}
