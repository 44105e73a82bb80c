//! The response body of an [`super::Conn::exchange`], read from the connection by
//! whoever polls it (the task serving the client). When it has been read to its end the
//! connection goes back to the pool, if the response allows another request on it;
//! dropped before that (the client went away), the connection is closed with it, as a
//! half-read response cannot be reused.

use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::framing::{Chunked, Framing, Length, Step};
use super::{Conn, ExchangeError, Idle};

pub struct ExchangeBody {
    /// `None` once the body ended or failed.
    conn: Option<Conn>,
    decoder: Decoder,
    reusable: bool,
    idle: Idle,
}

#[derive(Debug)]
enum Decoder {
    Exact { left: u64 },
    Chunked(Chunked),
    UntilClose,
    Done,
}

impl ExchangeBody {
    pub(super) fn new(conn: Conn, framing: Framing, idle: Idle) -> Self {
        let decoder = match framing.length {
            Length::Empty => Decoder::Done,
            Length::Exact(left) => Decoder::Exact { left },
            Length::Chunked => Decoder::Chunked(Chunked::default()),
            Length::UntilClose => Decoder::UntilClose,
        };
        let mut body = Self {
            conn: Some(conn),
            decoder,
            reusable: framing.reusable,
            idle,
        };
        if matches!(body.decoder, Decoder::Done) {
            body.finish();
        }
        body
    }

    /// The response ended. Bytes already read past its end would be the start of an
    /// answer nobody asked for: such a connection is not reused either.
    fn finish(&mut self) {
        self.decoder = Decoder::Done;
        if let Some(conn) = self.conn.take() {
            if self.reusable && conn.read.is_empty() {
                self.idle.push(conn);
            }
        }
    }

    fn fail(&mut self, error: ExchangeError) -> Poll<Option<Result<Frame<Bytes>, ExchangeError>>> {
        self.conn = None;
        self.decoder = Decoder::Done;
        Poll::Ready(Some(Err(error)))
    }
}

impl Body for ExchangeBody {
    type Data = Bytes;
    type Error = ExchangeError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, ExchangeError>>> {
        let this = &mut *self;
        loop {
            let Some(conn) = this.conn.as_mut() else {
                return Poll::Ready(None);
            };
            let step = match &mut this.decoder {
                Decoder::Done => Step::End,
                Decoder::Exact { .. } | Decoder::UntilClose if conn.read.is_empty() => {
                    Step::NeedMore
                }
                Decoder::Exact { left } => {
                    let take = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(conn.read.len());
                    *left -= take as u64;
                    Step::Data(conn.read.split_to(take).freeze())
                }
                Decoder::UntilClose => Step::Data(conn.read.split().freeze()),
                Decoder::Chunked(chunked) => match chunked.decode(&mut conn.read) {
                    Ok(step) => step,
                    Err(e) => return this.fail(e.into()),
                },
            };
            match step {
                Step::Data(data) => {
                    if matches!(this.decoder, Decoder::Exact { left: 0 }) {
                        this.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                // Trailers end the body: hyper does not poll past them.
                Step::Trailers(trailers) => {
                    this.finish();
                    return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                }
                Step::End => {
                    this.finish();
                    return Poll::Ready(None);
                }
                Step::NeedMore => {
                    conn.make_room();
                    let read = ready!(tokio_util::io::poll_read_buf(
                        Pin::new(&mut conn.io),
                        cx,
                        &mut conn.read
                    ));
                    match read {
                        Ok(0) if matches!(this.decoder, Decoder::UntilClose) => {
                            this.conn = None;
                            this.decoder = Decoder::Done;
                            return Poll::Ready(None);
                        }
                        Ok(0) => return this.fail(ExchangeError::IncompleteBody),
                        Ok(_) => {}
                        Err(e) => return this.fail(e.into()),
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.decoder, Decoder::Done)
    }

    fn size_hint(&self) -> SizeHint {
        match self.decoder {
            Decoder::Done => SizeHint::with_exact(0),
            Decoder::Exact { left } => SizeHint::with_exact(left),
            Decoder::Chunked(_) | Decoder::UntilClose => SizeHint::default(),
        }
    }
}
