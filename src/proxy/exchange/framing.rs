//! How an upstream response's body is delimited (RFC 9112 §6.3) and the decoder for
//! the chunked transfer coding (RFC 9112 §7.1). No I/O: the decoder is fed the
//! connection's read buffer. The rules and limits are hyper's client ones, so a
//! response reads the same whichever of the two clients fetched it; anything ambiguous
//! is an error (a 502) or a connection that is not reused.

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Version};

/// Chunk extensions carry nothing the sidecar uses; their total per body is capped like
/// hyper's (its fix for unbounded extension reads).
const MAX_EXTENSION_BYTES: usize = 16 * 1024;
/// The trailer section, like a response head, is bounded.
pub(super) const MAX_TRAILER_BYTES: usize = 64 * 1024;
pub(super) const MAX_FIELDS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Length {
    /// No content (HEAD, 204, 304, `Content-Length: 0`).
    Empty,
    Exact(u64),
    Chunked,
    /// Delimited by the upstream closing the connection.
    UntilClose,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Framing {
    pub length: Length,
    /// Whether the connection may carry another request after this response.
    pub reusable: bool,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FramingError {
    #[error("Transfer-Encoding in an HTTP/1.0 response")]
    TransferEncodingInHttp10,
    #[error("invalid or conflicting Content-Length")]
    BadContentLength,
    #[error("invalid chunk size line")]
    BadChunkSize,
    #[error("chunk data not followed by CRLF")]
    BadChunkEnd,
    #[error("chunk extensions longer than {MAX_EXTENSION_BYTES} bytes")]
    ExtensionsTooLong,
    #[error("malformed or oversized trailer section")]
    BadTrailers,
}

/// RFC 9112 §6.3, in its order. `head_request`: the request was HEAD.
pub(crate) fn response_framing(
    head_request: bool,
    status: StatusCode,
    version: Version,
    fields: &Fields,
) -> Result<Framing, FramingError> {
    // HTTP/1.0 keep-alive is an extension; such a connection is simply not reused.
    let persistent = version == Version::HTTP_11 && !fields.close;
    let status = status.as_u16();
    if head_request || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(Framing {
            length: Length::Empty,
            reusable: persistent,
        });
    }
    if let Some(last) = &fields.last_transfer_coding {
        if version != Version::HTTP_11 {
            return Err(FramingError::TransferEncodingInHttp10);
        }
        let chunked = last
            .as_bytes()
            .rsplit(|&b| b == b',')
            .next()
            .is_some_and(|coding| coding.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        return Ok(if chunked {
            Framing {
                length: Length::Chunked,
                // Both headers is the shape of a smuggling attempt (§6.3 ¶3): read this
                // response as chunked, then close.
                reusable: persistent && fields.content_length.is_none(),
            }
        } else {
            Framing {
                length: Length::UntilClose,
                reusable: false,
            }
        });
    }
    match fields.content_length.clone().transpose()? {
        Some(0) => Ok(Framing {
            length: Length::Empty,
            reusable: persistent,
        }),
        Some(n) => Ok(Framing {
            length: Length::Exact(n),
            reusable: persistent,
        }),
        None => Ok(Framing {
            length: Length::UntilClose,
            reusable: false,
        }),
    }
}

/// What §6.3 needs from a response's fields, gathered while they are read (one pass
/// per response, instead of a hashed lookup per name).
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    /// `Connection` lists `close` (case-insensitive, RFC 9110 §5.6.1).
    pub close: bool,
    /// The last `Transfer-Encoding` field, whose last coding decides.
    pub last_transfer_coding: Option<HeaderValue>,
    /// Every `Content-Length` value (repeated fields and comma lists) must be the same
    /// non-negative integer (RFC 9110 §8.6); anything else is an error.
    pub content_length: Option<Result<u64, FramingError>>,
}

impl Fields {
    /// Takes note of one field of the head, in order.
    pub fn add(&mut self, name: &HeaderName, value: &HeaderValue) {
        if name == CONNECTION {
            self.close |= value
                .as_bytes()
                .split(|&b| b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"close"));
        } else if name == TRANSFER_ENCODING {
            self.last_transfer_coding = Some(value.clone());
        } else if name == CONTENT_LENGTH {
            let so_far = self.content_length.take();
            self.content_length = Some(add_content_length(so_far, value));
        }
    }

    #[cfg(test)]
    pub fn of(headers: &HeaderMap) -> Self {
        let mut fields = Fields::default();
        for (name, value) in headers {
            fields.add(name, value);
        }
        fields
    }
}

fn add_content_length(
    so_far: Option<Result<u64, FramingError>>,
    value: &HeaderValue,
) -> Result<u64, FramingError> {
    let mut found = so_far.transpose()?;
    for item in value.as_bytes().split(|&b| b == b',') {
        let n = parse_decimal(item.trim_ascii()).ok_or(FramingError::BadContentLength)?;
        if found.is_some_and(|f| f != n) {
            return Err(FramingError::BadContentLength);
        }
        found = Some(n);
    }
    found.ok_or(FramingError::BadContentLength)
}

fn parse_decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |n, &b| {
        let d = char::from(b).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })
}

/// What the chunked decoder produced from the buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Data(Bytes),
    Trailers(HeaderMap),
    /// The body ended; nothing after it in the buffer belongs to it.
    End,
    /// The buffer holds no complete next item: read more.
    NeedMore,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Hex digits of a chunk size; `digits` read so far.
    Size {
        size: u64,
        digits: u8,
    },
    /// Whitespace after the size (hyper accepts it, as do most parsers).
    SizeSpace {
        size: u64,
    },
    Extension {
        size: u64,
    },
    SizeLf {
        size: u64,
    },
    Data {
        left: u64,
    },
    DataCr,
    DataLf,
    Trailers,
    Done,
}

/// RFC 9112 §7.1 decoder. Framing bytes are consumed one at a time (they are few);
/// chunk data is split off the buffer without copying.
#[derive(Debug)]
pub(crate) struct Chunked {
    state: State,
    extension_bytes: usize,
}

impl Default for Chunked {
    fn default() -> Self {
        Self {
            state: State::Size { size: 0, digits: 0 },
            extension_bytes: 0,
        }
    }
}

impl Chunked {
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Step, FramingError> {
        loop {
            match self.state {
                State::Done => return Ok(Step::End),
                State::Data { left } => {
                    if buf.is_empty() {
                        return Ok(Step::NeedMore);
                    }
                    let take = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                    let left = left - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { left }
                    };
                    return Ok(Step::Data(buf.split_to(take).freeze()));
                }
                State::Trailers => return self.trailers(buf),
                _ => {
                    let Some(&byte) = buf.first() else {
                        return Ok(Step::NeedMore);
                    };
                    buf.advance(1);
                    self.state = self.next(byte)?;
                }
            }
        }
    }

    fn next(&mut self, byte: u8) -> Result<State, FramingError> {
        let state = match (self.state, byte) {
            (State::Size { size, digits }, _) if byte.is_ascii_hexdigit() => {
                // 16 hex digits fill a u64; more would overflow.
                if digits == 16 {
                    return Err(FramingError::BadChunkSize);
                }
                let digit = u64::from(char::from(byte).to_digit(16).unwrap_or(0));
                State::Size {
                    size: size << 4 | digit,
                    digits: digits + 1,
                }
            }
            (State::Size { digits: 0, .. }, _) => return Err(FramingError::BadChunkSize),
            (State::Size { size, .. } | State::SizeSpace { size }, b' ' | b'\t') => {
                State::SizeSpace { size }
            }
            (State::Size { size, .. } | State::SizeSpace { size }, b';') => {
                State::Extension { size }
            }
            (
                State::Size { size, .. } | State::SizeSpace { size } | State::Extension { size },
                b'\r',
            ) => State::SizeLf { size },
            (State::Extension { .. }, b'\n') => return Err(FramingError::BadChunkSize),
            (State::Extension { size }, _) => {
                self.extension_bytes += 1;
                if self.extension_bytes > MAX_EXTENSION_BYTES {
                    return Err(FramingError::ExtensionsTooLong);
                }
                State::Extension { size }
            }
            (State::SizeLf { size: 0 }, b'\n') => State::Trailers,
            (State::SizeLf { size }, b'\n') => State::Data { left: size },
            (State::DataCr, b'\r') => State::DataLf,
            (State::DataLf, b'\n') => State::Size { size: 0, digits: 0 },
            (State::DataCr | State::DataLf, _) => return Err(FramingError::BadChunkEnd),
            _ => return Err(FramingError::BadChunkSize),
        };
        Ok(state)
    }

    /// The trailer section: header fields up to an empty line (RFC 9112 §7.1.2).
    fn trailers(&mut self, buf: &mut BytesMut) -> Result<Step, FramingError> {
        let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
        let (used, fields) = match httparse::parse_headers(buf, &mut fields) {
            Ok(httparse::Status::Complete(done)) => done,
            Ok(httparse::Status::Partial) if buf.len() <= MAX_TRAILER_BYTES => {
                return Ok(Step::NeedMore)
            }
            _ => return Err(FramingError::BadTrailers),
        };
        let mut trailers = HeaderMap::with_capacity(fields.len());
        for field in fields.iter() {
            let name = HeaderName::from_bytes(field.name.as_bytes())
                .map_err(|_| FramingError::BadTrailers)?;
            let value =
                HeaderValue::from_bytes(field.value).map_err(|_| FramingError::BadTrailers)?;
            trailers.append(name, value);
        }
        buf.advance(used);
        self.state = State::Done;
        Ok(if trailers.is_empty() {
            Step::End
        } else {
            Step::Trailers(trailers)
        })
    }
}

#[cfg(test)]
mod tests;
