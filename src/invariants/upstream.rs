//! Upstream responses as the serving task reads them (`proxy::exchange`): the upstream
//! is on the network too, and a confused or hostile app must not panic the sidecar or
//! make it misread where a response ends (response splitting, RFC 9112 §6.3).

use bytes::BytesMut;

use super::{ensure, Violation};
use crate::proxy::exchange::framing::{response_framing, Chunked, Step};
use crate::proxy::exchange::parse_head;

const AREA: &str = "proxy::exchange::{parse_head, framing}";

/// Reading a head from `bytes` either waits for more, fails, or splits off exactly the
/// head; its framing is then decided without panicking. Decoding `bytes` as a chunked
/// body, fed in pieces of `piece` bytes, ends, fails or asks for more, never consumes
/// past the end of the body, and gives the same data however it is split.
pub fn check_response(bytes: &[u8], piece: usize) -> Result<(), Violation> {
    let mut buf = BytesMut::from(bytes);
    if let Ok(Some(head)) = parse_head(&mut buf) {
        ensure(buf.len() < bytes.len(), AREA, || {
            format!("a head was parsed from {bytes:?} without consuming it")
        })?;
        for head_request in [false, true] {
            let _ = response_framing(head_request, head.status, head.version, &head.fields);
        }
    }
    let whole = decode_chunked(bytes, bytes.len().max(1));
    let split = decode_chunked(bytes, piece.max(1));
    ensure(whole == split, AREA, || {
        format!("{bytes:?} decodes differently in pieces of {piece}: {whole:?} vs {split:?}")
    })
}

/// The data and how decoding ended: `Some(rest)` (the bytes left after the body) or
/// `None` (an error, or input ran out first).
fn decode_chunked(bytes: &[u8], piece: usize) -> (Vec<u8>, Option<Vec<u8>>) {
    let mut decoder = Chunked::default();
    let mut buf = BytesMut::new();
    let mut data = Vec::new();
    let mut fed = 0;
    loop {
        match decoder.decode(&mut buf) {
            Ok(Step::Data(chunk)) => data.extend_from_slice(&chunk),
            Ok(Step::Trailers(_)) => {}
            Ok(Step::End) => {
                let mut rest = buf.to_vec();
                rest.extend_from_slice(&bytes[fed..]);
                return (data, Some(rest));
            }
            Ok(Step::NeedMore) if fed < bytes.len() => {
                let n = piece.min(bytes.len() - fed);
                buf.extend_from_slice(&bytes[fed..fed + n]);
                fed += n;
            }
            // Data already handed on stays handed on; how far it got may depend on
            // the split, so only the outcome is compared.
            Ok(Step::NeedMore) | Err(_) => return (Vec::new(), None),
        }
    }
}
