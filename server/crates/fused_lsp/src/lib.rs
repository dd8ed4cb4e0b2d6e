//! The Language Server Protocol front end of fused-ls: a thin layer over `fused_core`.
//!
//! `session` holds what the server knows between requests (documents, settings, configuration
//! files), `settings` reads the editor's settings, `server` is the `LanguageServer`
//! implementation (notifications change the session; requests go to `handlers`, one module per
//! request), `convert` every conversion between core values and protocol types, `document` an
//! open document, `memory` giving a closed document's memory back, `analysis` what `fused-ls check` would print for a file.

pub mod analysis;
pub mod convert;
pub mod document;
mod guard;
pub mod handlers;
mod memory;
mod sanitize;
pub mod server;
pub mod session;
pub mod settings;
mod stdout;

use tower_lsp_server::{LspService, Server};

/// Serves LSP over stdin/stdout until the client sends `exit`. Returns the process exit code:
/// 0 after `shutdown` then `exit`, 1 when `exit` comes without `shutdown` or the input ends.
/// `hooks`: what the live map borrows from the binary (`handlers::preview::PreviewHooks`).
pub fn run_stdio(hooks: handlers::preview::PreviewHooks) -> i32 {
    memory::init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(16)
        .thread_stack_size(256 << 20)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 2;
        }
    };
    // Deep stacks: the exact parser recurses once per nesting level of the user's code, and a
    // stack overflow would abort the whole server.
    let code = runtime.block_on(async {
        let shutdown = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = shutdown.clone();
        let mut builder = LspService::build(move |client| {
            server::Backend::new(client, flag.clone(), hooks.clone())
        });
        builder = builder.custom_method(
            "window/workDoneProgress/cancel",
            server::Backend::progress_cancel,
        );
        if server::test_hooks() {
            builder = builder.custom_method("fused/debugPanic", server::Backend::debug_panic);
        }
        let (service, socket) = builder.finish();
        // Frames pass through the sanitizer so one malformed message cannot end the session.
        // Both ends are plain threads doing blocking I/O (see `sanitize` and `stdout`).
        let input = sanitize::spawn_reader(std::io::stdin());
        let (output, writer) = stdout::spawn_writer(std::io::stdout());
        // Every message goes through the guard: panics caught, every request answered.
        Server::new(input, output, socket)
            .serve(guard::Guard::new(service))
            .await;
        // The server dropped its output: wait until everything it sent is written.
        let _ = writer.join();
        if shutdown.load(std::sync::atomic::Ordering::SeqCst) {
            0
        } else {
            1
        }
    });
    // Tasks still running (a background parse, a run's progress) are not waited for; the stdin
    // thread may still be blocked in a read and ends with the process.
    runtime.shutdown_background();
    code
}
