//! One HTTP/1.1 request/response exchange with a plain-http upstream, driven on the task
//! that serves the client's request.
//!
//! Why a second client next to hyper's: hyper runs each upstream connection on a task
//! of its own and hands the request, the response head and every body chunk across
//! channels between that task and the one serving the client. On the sidecar's hot path
//! that hand-off was the largest cost left (bench/README.md, "What changed"). Here the
//! serving task writes the request, reads the response head and, through
//! [`ExchangeBody`], the body, from the socket itself.
//!
//! It only takes the simplest and most common requests: a safe method (GET, HEAD,
//! OPTIONS, TRACE) with no body and no `Upgrade`, to an `http://` upstream — exactly
//! the requests the pool may send again after a keep-alive race. Everything else
//! (bodies, which need full-duplex streaming; upgrades; TLS) goes through hyper's
//! client in `super::pool`. The response is parsed by httparse, the parser inside
//! hyper, with hyper's client limits, and framed by the rules in [`framing`].

mod body;
pub(crate) mod framing;

use std::io;
use std::mem::MaybeUninit;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{request, HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Version};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub use body::ExchangeBody;
pub use framing::FramingError;

use super::idle::IdleStack;
use crate::headers::{self, Added};
use framing::{Fields, MAX_FIELDS};

/// hyper's client default: a response head may fill its ~400 KiB read buffer.
const MAX_HEAD_BYTES: usize = 400 * 1024;
const READ_CHUNK: usize = 8 * 1024;
/// Room a read needs before the buffer grows. Reads go into what is left of the current
/// block, so consecutive small responses share one allocation instead of taking one
/// each (their heads and bodies are slices of it, alive until hyper has sent them).
const MIN_READ_ROOM: usize = 2 * 1024;

/// Where a connection goes back to when its response has been read.
pub(super) type Idle = Arc<IdleStack<Conn>>;

/// A keep-alive connection to the upstream and what has been read from it.
pub struct Conn {
    io: TcpStream,
    read: BytesMut,
    /// The last request head, kept to reuse its allocation.
    write: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("upstream connection failed: {0}")]
    Io(#[from] io::Error),
    #[error("the upstream closed the connection before answering")]
    Closed,
    #[error("malformed response head: {0}")]
    Head(&'static str),
    #[error("response head larger than {MAX_HEAD_BYTES} bytes")]
    HeadTooLarge,
    #[error("101 Switching Protocols to a request that did not ask for it")]
    UnexpectedSwitch,
    #[error("bad response framing: {0}")]
    Framing(#[from] FramingError),
    #[error("the upstream closed the connection before the end of the response body")]
    IncompleteBody,
}

impl ExchangeError {
    /// The connection ended before a response arrived, what a reused connection the
    /// upstream closed while idle looks like (RFC 9112 §9.3.1) rather than an answer
    /// it broke off.
    pub fn lost_to_a_close(&self) -> bool {
        match self {
            ExchangeError::Closed => true,
            ExchangeError::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}

impl Conn {
    pub(super) fn new(io: TcpStream) -> Self {
        Self {
            io,
            read: BytesMut::new(),
            write: Vec::new(),
        }
    }

    /// Makes room in the read buffer for the next read.
    fn make_room(&mut self) {
        if self.read.capacity() - self.read.len() < MIN_READ_ROOM {
            self.read.reserve(READ_CHUNK);
        }
    }

    /// Whether an idle connection may still carry a request: nothing (no EOF, no stray
    /// bytes) has arrived since its last response. A system call only when the socket
    /// has reported readiness since then; tokio clears readiness on a short read.
    pub(super) fn still_open(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        match self.io.poll_read_ready(&mut cx) {
            Poll::Pending => true,
            Poll::Ready(Err(_)) => false,
            Poll::Ready(Ok(())) => {
                let mut probe = [0u8; 1];
                matches!(self.io.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
            }
        }
    }

    /// Sends `req` (which has no body) with the `added` fields and reads the response
    /// head. The returned body reads the rest and gives the connection back to `idle`
    /// when the response ends and the connection may be reused.
    pub(super) async fn exchange(
        mut self,
        req: &request::Parts,
        added: &Added<'_>,
        idle: &Idle,
    ) -> Result<Response<ExchangeBody>, ExchangeError> {
        encode_head(req, added, &mut self.write);
        self.io.write_all(&self.write).await?;
        let head_request = req.method == Method::HEAD;
        loop {
            if let Some(head) = parse_head(&mut self.read)? {
                if head.status == StatusCode::SWITCHING_PROTOCOLS {
                    return Err(ExchangeError::UnexpectedSwitch);
                }
                // 100 Continue and other interim answers precede the final response
                // (RFC 9110 §15.2); hyper's client skips them too.
                if head.status.is_informational() {
                    continue;
                }
                let framing = framing::response_framing(
                    head_request,
                    head.status,
                    head.version,
                    &head.fields,
                )?;
                let mut headers = head.headers;
                // Transfer-Encoding overrides Content-Length, which a proxy must then
                // not pass on (RFC 9112 §6.3 ¶3).
                if head.fields.last_transfer_coding.is_some() {
                    headers.remove(CONTENT_LENGTH);
                }
                let mut resp = Response::new(ExchangeBody::new(self, framing, Arc::clone(idle)));
                *resp.status_mut() = head.status;
                *resp.version_mut() = head.version;
                *resp.headers_mut() = headers;
                if let Some(reason) = head.reason {
                    resp.extensions_mut().insert(reason);
                }
                return Ok(resp);
            }
            if self.read.len() >= MAX_HEAD_BYTES {
                return Err(ExchangeError::HeadTooLarge);
            }
            self.make_room();
            if self.io.read_buf(&mut self.read).await? == 0 {
                return Err(if self.read.is_empty() {
                    ExchangeError::Closed
                } else {
                    ExchangeError::Head("the connection closed inside it")
                });
            }
        }
    }
}

/// The request line and fields, as hyper's client writes them: origin-form target
/// (RFC 9112 §3.2.1), lowercase names, values as given (the `http` types already
/// refuse CR, LF and NUL in every part).
/// The request head: the client's fields but those `added` replaces, then `added`'s.
fn encode_head(req: &request::Parts, added: &Added<'_>, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(req.method.as_str().as_bytes());
    out.push(b' ');
    let target = req.uri.path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &req.headers {
        // A request without a body has no transfer coding; hyper's client drops the
        // field in that case as well.
        if name == TRANSFER_ENCODING || added.replaces(name) {
            continue;
        }
        headers::encode_field(name, value, out);
    }
    added.encode(out);
    out.extend_from_slice(b"\r\n");
}

#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: StatusCode,
    pub(crate) version: Version,
    /// Only when it differs from the standard one, which hyper's server then repeats.
    reason: Option<hyper::ext::ReasonPhrase>,
    /// The end-to-end fields: the hop-by-hop ones, and those `Connection` names, are
    /// left out.
    pub(crate) headers: HeaderMap,
    pub(crate) fields: Fields,
}

/// A complete response head at the start of `buf`, split off it; `None` until one is
/// there. Field values are slices of the head's bytes, not copies.
pub(crate) fn parse_head(buf: &mut BytesMut) -> Result<Option<Head>, ExchangeError> {
    let mut fields = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_FIELDS];
    let mut resp = httparse::Response::new(&mut []);
    let len = match httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut resp,
        buf,
        &mut fields,
    ) {
        Ok(httparse::Status::Complete(len)) if len > MAX_HEAD_BYTES => {
            return Err(ExchangeError::HeadTooLarge)
        }
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(ExchangeError::Head("too many fields")),
        Err(_) => return Err(ExchangeError::Head("not HTTP/1.x")),
    };
    let status = resp
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or(ExchangeError::Head("bad status code"))?;
    let version = if resp.version == Some(1) {
        Version::HTTP_11
    } else {
        Version::HTTP_10
    };
    let reason = resp
        .reason
        .filter(|reason| !reason.is_empty() && Some(*reason) != status.canonical_reason())
        .and_then(|reason| {
            hyper::ext::ReasonPhrase::try_from(Bytes::copy_from_slice(reason.as_bytes())).ok()
        });
    // Where each field sits in the head, so that values can be shared slices of it (in a
    // vector sized to the fields found: zeroing a fixed array for the maximum cost more
    // than the parse).
    let start = buf.as_ptr() as usize;
    let spans: Vec<(usize, usize, usize, usize)> = resp
        .headers
        .iter()
        .map(|field| {
            let name = field.name.as_ptr() as usize - start;
            let value = field.value.as_ptr() as usize - start;
            (
                name,
                name + field.name.len(),
                value,
                value + field.value.len(),
            )
        })
        .collect();
    let head = buf.split_to(len).freeze();
    let mut headers = HeaderMap::with_capacity(spans.len());
    let mut fields = Fields::default();
    let mut named = Vec::new();
    for &(name_start, name_end, value_start, value_end) in &spans {
        let name = HeaderName::from_bytes(&head[name_start..name_end])
            .map_err(|_| ExchangeError::Head("bad field name"))?;
        let value = HeaderValue::from_maybe_shared(head.slice(value_start..value_end))
            .map_err(|_| ExchangeError::Head("bad field value"))?;
        fields.add(&name, &value);
        // Hop-by-hop fields (RFC 9110 §7.6.1) end here: only their framing facts (in
        // `fields`) matter, and never inserting them is cheaper than removing them.
        if headers::is_hop_by_hop(&name) {
            if name == CONNECTION {
                named.extend(headers::connection_options(&value).0);
            }
            continue;
        }
        headers.append(name, value);
    }
    for name in &named {
        headers.remove(name);
    }
    Ok(Some(Head {
        status,
        version,
        reason,
        headers,
        fields,
    }))
}

#[cfg(test)]
mod tests;
