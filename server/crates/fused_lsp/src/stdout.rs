//! The server's output: tower-lsp-server writes its frames into [`Output`], which hands each
//! flushed batch to a thread that writes it to stdout with plain blocking writes.
//!
//! `tokio::io::stdout` runs every write as a task on the blocking pool, so a message cost a few
//! thread hand-offs (header, body, flush) on the path of every diagnostic publish; here it is
//! one channel send per flush. The channel is bounded: a client that stops reading makes the
//! server wait (as a full pipe would), instead of piling up messages in memory.

use std::io::Write;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::AsyncWrite;
use tokio::sync::mpsc;
use tokio_util::sync::PollSender;

/// Batches waiting for the writer thread; beyond this a flush waits.
const QUEUE: usize = 64;

pub struct Output {
    buf: Vec<u8>,
    tx: PollSender<Vec<u8>>,
}

/// Starts the writer thread over `out`. Join the handle after the server has finished (and
/// dropped its [`Output`]) so every message is written before the process exits.
pub fn spawn_writer(mut out: impl Write + Send + 'static) -> (Output, std::thread::JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(QUEUE);
    let handle = std::thread::Builder::new()
        .name("fused-ls-stdout".into())
        .spawn(move || {
            while let Some(chunk) = rx.blocking_recv() {
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
            tx: PollSender::new(tx),
        },
        handle,
    )
}

fn gone() -> std::io::Error {
    std::io::ErrorKind::BrokenPipe.into()
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

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if this.buf.is_empty() {
            return Poll::Ready(Ok(()));
        }
        ready!(this.tx.poll_reserve(cx)).map_err(|_| gone())?;
        let chunk = std::mem::take(&mut this.buf);
        Poll::Ready(this.tx.send_item(chunk).map_err(|_| gone()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        self.get_mut().tx.close();
        Poll::Ready(Ok(()))
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // Whatever was written but not flushed: best effort, the server is done.
        if !self.buf.is_empty() {
            if let Some(tx) = self.tx.get_ref() {
                let _ = tx.try_send(std::mem::take(&mut self.buf));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tokio::io::AsyncWriteExt;

    /// A `Write` into shared memory that can be held shut, like a client not reading.
    #[derive(Clone)]
    struct Sink(Arc<Mutex<Vec<u8>>>, Arc<Mutex<()>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            let _open = self.1.lock().unwrap();
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn everything_flushed_is_written_in_order_and_a_stalled_client_holds_the_server() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let sink = Sink(Arc::default(), Arc::default());
        let (mut output, writer) = spawn_writer(sink.clone());
        rt.block_on(async {
            for i in 0..100 {
                output
                    .write_all(format!("message {i};").as_bytes())
                    .await
                    .unwrap();
                output.flush().await.unwrap();
            }
        });
        // The client stops reading: the writer thread blocks, the queue fills, a flush waits.
        let stall = sink.1.lock().unwrap();
        let stalled = rt.block_on(async {
            for _ in 0..QUEUE + 2 {
                output.write_all(b"x").await.unwrap();
                let flush =
                    tokio::time::timeout(std::time::Duration::from_millis(200), output.flush());
                if flush.await.is_err() {
                    return true;
                }
            }
            false
        });
        assert!(
            stalled,
            "a flush should wait while the client does not read"
        );
        drop(stall);
        drop(output);
        writer.join().unwrap();
        let written = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let expected: String = (0..100).map(|i| format!("message {i};")).collect();
        assert!(written.starts_with(&expected), "{written}");
    }
}
