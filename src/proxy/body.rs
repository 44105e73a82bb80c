//! The client's request body on its way upstream. It passes frames through untouched
//! and remembers whether reading them from the client failed, so that a malformed or
//! cut-short body (a bad chunk size, a connection closed before `Content-Length` bytes)
//! is answered as the client's fault (400) rather than reported as an upstream failure
//! (502): the upstream client only sees "the body stream errored".

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

/// Wraps the downstream body; `size_hint` and `is_end_stream` are passed through so
/// the upstream request keeps the client's framing (`Content-Length` or chunked).
#[derive(Debug)]
pub struct ClientBody {
    inner: Incoming,
    failed: Arc<AtomicBool>,
}

impl ClientBody {
    /// The body and a flag that turns true once reading it from the client fails.
    pub fn new(inner: Incoming) -> (Self, Arc<AtomicBool>) {
        let failed = Arc::new(AtomicBool::new(false));
        (
            Self {
                inner,
                failed: failed.clone(),
            },
            failed,
        )
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(Some(Err(_))) = &polled {
            self.failed.store(true, Ordering::Relaxed);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
