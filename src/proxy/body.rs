//! The client's request body on its way upstream. It passes frames through untouched
//! and tracks where the body stands, so a failure is blamed on the right party: a
//! malformed or cut-short body (a bad chunk size, a connection closed before
//! `Content-Length` bytes) is the client's fault (400), and a response timeout while
//! the body is still waiting for the client's next bytes is a slow client (408), not a
//! slow upstream (504). The upstream client itself only sees "the body stream errored".

use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

/// Where the client's body stands, as seen by the last poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyState {
    /// More to come; the upstream side has not asked for it (or got what it asked).
    Streaming,
    /// The last poll found no data from the client yet.
    WaitingOnClient,
    /// Fully read.
    Done,
    /// Reading from the client failed (malformed framing or the client went away).
    Failed,
}

impl BodyState {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => BodyState::WaitingOnClient,
            2 => BodyState::Done,
            3 => BodyState::Failed,
            _ => BodyState::Streaming,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            BodyState::Streaming => 0,
            BodyState::WaitingOnClient => 1,
            BodyState::Done => 2,
            BodyState::Failed => 3,
        }
    }
}

/// A handle on a [`ClientBody`]'s state that outlives the body.
#[derive(Debug, Clone)]
pub struct BodyWatch(Arc<AtomicU8>);

impl BodyWatch {
    pub fn state(&self) -> BodyState {
        BodyState::from_u8(self.0.load(Ordering::Relaxed))
    }

    fn set(&self, state: BodyState) {
        self.0.store(state.as_u8(), Ordering::Relaxed);
    }
}

/// Wraps the downstream body; `size_hint` and `is_end_stream` are passed through so
/// the upstream request keeps the client's framing (`Content-Length` or chunked).
#[derive(Debug)]
pub struct ClientBody {
    /// `None`: no body (a request the pool re-sends after a failed first attempt).
    inner: Option<Incoming>,
    watch: BodyWatch,
}

impl ClientBody {
    /// The body and a watch on how far reading it from the client got.
    pub fn new(inner: Incoming) -> (Self, BodyWatch) {
        let watch = BodyWatch(Arc::new(AtomicU8::new(0)));
        if inner.is_end_stream() {
            watch.set(BodyState::Done);
        }
        (
            Self {
                inner: Some(inner),
                watch: watch.clone(),
            },
            watch,
        )
    }

    /// An empty body, for re-sending a bodiless request.
    pub fn empty() -> Self {
        Self {
            inner: None,
            watch: BodyWatch(Arc::new(AtomicU8::new(BodyState::Done.as_u8()))),
        }
    }
}

impl Body for ClientBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(&mut *inner).poll_frame(cx);
        let state = match &polled {
            Poll::Pending => BodyState::WaitingOnClient,
            Poll::Ready(None) => BodyState::Done,
            Poll::Ready(Some(Err(_))) => BodyState::Failed,
            Poll::Ready(Some(Ok(_))) if inner.is_end_stream() => BodyState::Done,
            Poll::Ready(Some(Ok(_))) => BodyState::Streaming,
        };
        self.watch.set(state);
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}
