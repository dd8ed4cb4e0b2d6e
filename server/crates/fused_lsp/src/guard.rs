//! The service in front of tower-lsp-server's `LspService`: every message goes through here, so
//! what must hold for all of them holds in one place.
//!
//! - **No handler can end the server.** Each handler's future (requests, notifications and
//!   commands alike) is polled under `catch_unwind`: a panic is logged to stderr and, for a
//!   request, answered with an `InternalError`.
//! - **A request always gets an answer.** tower-lsp-server answers nothing to an unknown request
//!   whose method starts with `$/` (it treats them all like the notifications the LSP lets a
//!   server ignore); the LSP says such a request must get `MethodNotFound`. Any request that
//!   would go unanswered gets an error instead.
//! - Frames the reader refused (see `sanitize`) arrive as [`REJECT_METHOD`] requests and are
//!   answered here with the error they carry.

use crate::sanitize::REJECT_METHOD;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Id, Request, Response};
use tower_service::Service;

pub struct Guard<S> {
    inner: S,
}

impl<S> Guard<S> {
    pub fn new(inner: S) -> Self {
        Guard { inner }
    }
}

type Reply<E> = Result<Option<Response>, E>;

/// The message of a caught panic.
pub fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// Polls the inner future under `catch_unwind`.
struct CatchUnwind<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchUnwind<F> {
    type Output = Result<F::Output, String>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
            Err(p) => Poll::Ready(Err(panic_message(p.as_ref()))),
        }
    }
}

fn error(code: ErrorCode, message: String) -> Error {
    Error {
        code,
        message: message.into(),
        data: None,
    }
}

/// The answer to a request that got none: `MethodNotFound` for a `$/` request (the LSP's rule),
/// `InvalidRequest` otherwise (a notification's method sent with an id).
fn unanswered(id: Id, method: &str) -> Response {
    let e = if method.starts_with("$/") {
        error(
            ErrorCode::MethodNotFound,
            format!("unknown request `{method}`"),
        )
    } else {
        error(
            ErrorCode::InvalidRequest,
            format!("`{method}` is not a request (it takes no id)"),
        )
    };
    Response::from_error(id, e)
}

/// The error a [`REJECT_METHOD`] request carries in its params.
fn rejection(params: Option<&serde_json::Value>) -> Error {
    let p = params.cloned().unwrap_or_default();
    error(
        ErrorCode::from(p["code"].as_i64().unwrap_or(-32600)),
        p["message"]
            .as_str()
            .unwrap_or("the message cannot be decoded")
            .to_string(),
    )
}

impl<S> Service<Request> for Guard<S>
where
    S: Service<Request, Response = Option<Response>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Option<Response>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Reply<S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let id = req.id().cloned();
        let method = req.method().to_string();
        if method == REJECT_METHOD {
            let e = rejection(req.params());
            return Box::pin(std::future::ready(Ok(
                id.map(|id| Response::from_error(id, e))
            )));
        }
        let fut = match std::panic::catch_unwind(AssertUnwindSafe(|| self.inner.call(req))) {
            Ok(fut) => fut,
            Err(p) => {
                let msg = format!("fused-ls: {method} panicked: {}", panic_message(p.as_ref()));
                eprintln!("{msg}");
                return Box::pin(std::future::ready(Ok(id.map(|id| {
                    Response::from_error(id, error(ErrorCode::InternalError, msg))
                }))));
            }
        };
        Box::pin(async move {
            match CatchUnwind(Box::pin(fut)).await {
                Ok(Ok(None)) => Ok(id.map(|id| unanswered(id, &method))),
                Ok(other) => other,
                Err(panic) => {
                    let msg = format!("fused-ls: {method} panicked: {panic}");
                    eprintln!("{msg}");
                    Ok(id.map(|id| Response::from_error(id, error(ErrorCode::InternalError, msg))))
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A service that panics, answers nothing, or echoes.
    struct Fake;

    impl Service<Request> for Fake {
        type Response = Option<Response>;
        type Error = std::convert::Infallible;
        type Future = Pin<Box<dyn Future<Output = Reply<Self::Error>> + Send>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, req: Request) -> Self::Future {
            let (method, id, _) = req.into_parts();
            Box::pin(async move {
                tokio::task::yield_now().await;
                match &*method {
                    "panic" => panic!("boom"),
                    "echo" => Ok(id.map(|id| Response::from_ok(id, serde_json::json!("ok")))),
                    _ => Ok(None),
                }
            })
        }
    }

    fn call(req: Request) -> Option<Response> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(Guard::new(Fake).call(req)).unwrap()
    }

    #[test]
    fn panics_become_internal_errors_and_unanswered_requests_get_errors() {
        let r = call(Request::build("panic").id(1i64).finish()).unwrap();
        assert_eq!(r.error().unwrap().code, ErrorCode::InternalError);
        assert!(r.error().unwrap().message.contains("boom"));
        assert!(call(Request::build("panic").finish()).is_none());
        let r = call(Request::build("$/unknown").id(2i64).finish()).unwrap();
        assert_eq!(r.error().unwrap().code, ErrorCode::MethodNotFound);
        assert!(call(Request::build("$/unknown").finish()).is_none());
        let r = call(Request::build("echo").id("x").finish()).unwrap();
        assert_eq!(r.result(), Some(&serde_json::json!("ok")));
        let r = call(
            Request::build(REJECT_METHOD)
                .id(Id::Null)
                .params(serde_json::json!({"code": -32700, "message": "not JSON"}))
                .finish(),
        )
        .unwrap();
        assert_eq!(r.id(), &Id::Null);
        assert_eq!(r.error().unwrap().code, ErrorCode::ParseError);
    }
}
