//! The server's output: tower-lsp-server writes its frames into [`Output`], which hands each
//! flushed batch to a thread that writes it to stdout with plain blocking writes.
//!
//! `tokio::io::stdout` runs every write as a task on the blocking pool, so a message cost a few
//! thread hand-offs (header, body, flush) on the path of every diagnostic publish; here it is
//! one channel send per flush, and the async threads never block on a slow client.

use std::io::Write;
use std::pin::Pin;
use std::sync::mpsc;
use std::task::{Context, Poll};
use tokio::io::AsyncWrite;

pub struct Output {
    buf: Vec<u8>,
    tx: Option<mpsc::Sender<Vec<u8>>>,
}

/// Starts the writer thread over `out`. Join the handle after the server has finished (and
/// dropped its [`Output`]) so every message is written before the process exits.
pub fn spawn_writer(mut out: impl Write + Send + 'static) -> (Output, std::thread::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    let handle = std::thread::Builder::new()
        .name("fused-ls-stdout".into())
        .spawn(move || {
            for chunk in rx {
                if out.write_all(&chunk).and_then(|_| out.flush()).is_err() {
                    // The client is gone; nothing more can be said.
                    return;
                }
            }
        })
        .expect("a thread can be started");
    (
        Output {
            buf: Vec::new(),
            tx: Some(tx),
        },
        handle,
    )
}

impl Output {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::take(&mut self.buf);
        match &self.tx {
            Some(tx) if tx.send(chunk).is_ok() => Ok(()),
            _ => Err(std::io::ErrorKind::BrokenPipe.into()),
        }
    }
}

impl AsyncWrite for Output {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.get_mut().buf.extend_from_slice(data);
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(self.get_mut().send())
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let r = this.send();
        this.tx = None;
        Poll::Ready(r)
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        let _ = self.send();
    }
}
