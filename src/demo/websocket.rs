//! The demo app's WebSocket echo (`/ws`): the server side of the RFC 6455 handshake and
//! a minimal frame codec, enough to echo what a browser sends through the proxy.
//!
//! Frames are parsed by pure functions with hard limits (masked client frames only,
//! bounded payloads, well-formed control frames); anything else closes the connection
//! with a protocol-error status instead of panicking or buffering without bound.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::{Buf, BytesMut};
use http::HeaderMap;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_util::sync::CancellationToken;

/// RFC 6455 §1.3: the GUID appended to `Sec-WebSocket-Key` before hashing.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Largest frame payload the echo accepts; a demo page sends short lines.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// RFC 6455 §5.2 opcodes.
pub mod opcode {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xA;
}

/// RFC 6455 §7.4.1 status codes the echo sends.
const GOING_AWAY: u16 = 1001;
const PROTOCOL_ERROR: u16 = 1002;
const TOO_BIG: u16 = 1009;

/// One decoded (unmasked) frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

/// Why a byte stream is not acceptable WebSocket client traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("client: frame payload over {MAX_PAYLOAD} bytes")]
    TooBig,
    #[error("client: unmasked, reserved-bit, unknown-opcode or oversized control frame")]
    Protocol,
}

impl FrameError {
    fn close_code(self) -> u16 {
        match self {
            FrameError::TooBig => TOO_BIG,
            FrameError::Protocol => PROTOCOL_ERROR,
        }
    }
}

/// The `Sec-WebSocket-Key` of a valid upgrade request (RFC 6455 §4.2.1): `Upgrade:
/// websocket`, a `Connection` listing `upgrade`, version 13 and a 16-byte key.
pub fn upgrade_key(headers: &HeaderMap) -> Option<&str> {
    let has_token = |name: &str, token: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    let version_ok = headers
        .get("sec-websocket-version")
        .is_some_and(|v| v.as_bytes() == b"13");
    let key = headers.get("sec-websocket-key")?.to_str().ok()?.trim();
    let key_ok = STANDARD.decode(key).is_ok_and(|raw| raw.len() == 16);
    (has_token("upgrade", "websocket")
        && has_token("connection", "upgrade")
        && version_ok
        && key_ok)
        .then_some(key)
}

/// `Sec-WebSocket-Accept` for a key: base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2).
pub fn accept_key(key: &str) -> String {
    let mut input = String::with_capacity(key.len() + GUID.len());
    input.push_str(key);
    input.push_str(GUID);
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        input.as_bytes(),
    );
    STANDARD.encode(digest.as_ref())
}

/// Decodes the first client frame in `buf`: `Ok(None)` while it is incomplete, else the
/// frame and how many bytes it used. Client frames must be masked (§5.1), reserved bits
/// clear, opcodes known, control frames final and at most 125 bytes (§5.5).
pub fn parse(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0F;
    let masked = b1 & 0x80 != 0;
    if b0 & 0x70 != 0 || !masked {
        return Err(FrameError::Protocol);
    }
    let control = opcode & 0x08 != 0;
    if !matches!(
        opcode,
        opcode::CONTINUATION
            | opcode::TEXT
            | opcode::BINARY
            | opcode::CLOSE
            | opcode::PING
            | opcode::PONG
    ) {
        return Err(FrameError::Protocol);
    }
    let (len, mut at) = match b1 & 0x7F {
        126 => match buf.get(2..4).and_then(|b| <[u8; 2]>::try_from(b).ok()) {
            Some(b) => (u64::from(u16::from_be_bytes(b)), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => (u64::from_be_bytes(b), 10),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if control && (!fin || len > 125) {
        return Err(FrameError::Protocol);
    }
    let len = usize::try_from(len)
        .ok()
        .filter(|&l| l <= MAX_PAYLOAD)
        .ok_or(FrameError::TooBig)?;
    let Some(mask) = buf
        .get(at..at + 4)
        .and_then(|m| <[u8; 4]>::try_from(m).ok())
    else {
        return Ok(None);
    };
    at += 4;
    let Some(payload) = buf.get(at..at + len) else {
        return Ok(None);
    };
    let payload = payload
        .iter()
        .zip(mask.iter().cycle())
        .map(|(b, m)| b ^ m)
        .collect();
    Ok(Some((
        Frame {
            fin,
            opcode,
            payload,
        },
        at + len,
    )))
}

/// Encodes a server frame (servers never mask, §5.1).
pub fn encode(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(if fin { 0x80 } else { 0 } | (opcode & 0x0F));
    match payload.len() {
        n @ 0..=125 => out.push(n as u8),
        n @ 126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

fn close_frame(code: u16) -> Vec<u8> {
    encode(true, opcode::CLOSE, &code.to_be_bytes())
}

/// What the echo answers to one client frame; `None` payload means "nothing to send".
/// The boolean is true when the connection ends after the answer.
pub fn answer(frame: &Frame) -> (Option<Vec<u8>>, bool) {
    match frame.opcode {
        opcode::PING => (Some(encode(true, opcode::PONG, &frame.payload)), false),
        opcode::PONG => (None, false),
        // Echo the peer's status code (or none), as §5.5.1 asks of the closing answer.
        opcode::CLOSE => {
            let code = frame.payload.get(..2).unwrap_or_default();
            (Some(encode(true, opcode::CLOSE, code)), true)
        }
        // Data frames, fragments included, go back exactly as they came.
        op => (Some(encode(frame.fin, op, &frame.payload)), false),
    }
}

/// Echoes frames on an upgraded connection until the client closes, a protocol error
/// occurs, or `shutdown` fires (then a `1001 going away` close is sent).
pub async fn echo<S>(mut io: S, shutdown: CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        loop {
            match parse(&buf) {
                Ok(Some((frame, used))) => {
                    buf.advance(used);
                    let (reply, done) = answer(&frame);
                    if let Some(reply) = reply {
                        if io.write_all(&reply).await.is_err() {
                            return;
                        }
                    }
                    if done {
                        let _ = io.shutdown().await;
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = io.write_all(&close_frame(e.close_code())).await;
                    let _ = io.shutdown().await;
                    return;
                }
            }
        }
        let read = tokio::select! {
            () = shutdown.cancelled() => {
                let _ = io.write_all(&close_frame(GOING_AWAY)).await;
                let _ = io.shutdown().await;
                return;
            }
            read = io.read_buf(&mut buf) => read,
        };
        if !matches!(read, Ok(n) if n > 0) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A client frame as a browser would send it.
    fn masked(fin: bool, op: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let plain = encode(fin, op, payload);
        let header_len = plain.len() - payload.len();
        let mut out = plain[..header_len].to_vec();
        out[1] |= 0x80;
        out.extend_from_slice(&mask);
        out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
        out
    }

    #[test]
    fn accept_key_matches_rfc6455_example() {
        // RFC 6455 §1.3.
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn upgrade_requests_are_recognised() {
        let mut h = HeaderMap::new();
        h.insert("upgrade", "WebSocket".parse().unwrap());
        h.insert("connection", "keep-alive, Upgrade".parse().unwrap());
        h.insert("sec-websocket-version", "13".parse().unwrap());
        h.insert(
            "sec-websocket-key",
            "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap(),
        );
        assert_eq!(upgrade_key(&h), Some("dGhlIHNhbXBsZSBub25jZQ=="));
        h.insert("sec-websocket-key", "c2hvcnQ=".parse().unwrap());
        assert_eq!(upgrade_key(&h), None);
        h.insert(
            "sec-websocket-key",
            "dGhlIHNhbXBsZSBub25jZQ==".parse().unwrap(),
        );
        h.insert("sec-websocket-version", "8".parse().unwrap());
        assert_eq!(upgrade_key(&h), None);
    }

    #[test]
    fn frames_decode_at_every_length_form() {
        for len in [0usize, 5, 125, 126, 300, 65535, 65536] {
            let payload = vec![b'x'; len];
            let wire = masked(true, opcode::BINARY, &payload, [1, 2, 3, 4]);
            let (frame, used) = parse(&wire).unwrap().unwrap();
            assert_eq!(used, wire.len());
            assert_eq!(frame.payload, payload);
            assert!(parse(&wire[..wire.len() - 1]).unwrap().is_none());
        }
    }

    #[test]
    fn bad_frames_are_refused() {
        let mut unmasked = encode(true, opcode::TEXT, b"hi");
        assert_eq!(parse(&unmasked), Err(FrameError::Protocol));
        unmasked[1] |= 0x80;
        unmasked[0] |= 0x40;
        assert_eq!(parse(&unmasked), Err(FrameError::Protocol));
        let long_ping = masked(true, opcode::PING, &[0; 126], [0; 4]);
        assert_eq!(parse(&long_ping), Err(FrameError::Protocol));
        let fragmented_close = masked(false, opcode::CLOSE, &[], [0; 4]);
        assert_eq!(parse(&fragmented_close), Err(FrameError::Protocol));
        let unknown = masked(true, 0x3, b"", [0; 4]);
        assert_eq!(parse(&unknown), Err(FrameError::Protocol));
        let huge = [0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        assert_eq!(parse(&huge), Err(FrameError::TooBig));
    }

    #[test]
    fn answers_follow_rfc6455() {
        let ping = Frame {
            fin: true,
            opcode: opcode::PING,
            payload: b"p".to_vec(),
        };
        assert_eq!(
            answer(&ping),
            (Some(encode(true, opcode::PONG, b"p")), false)
        );
        let close = Frame {
            fin: true,
            opcode: opcode::CLOSE,
            payload: vec![0x03, 0xE8, b'b', b'y', b'e'],
        };
        assert_eq!(
            answer(&close),
            (Some(encode(true, opcode::CLOSE, &[0x03, 0xE8])), true)
        );
        let text = Frame {
            fin: false,
            opcode: opcode::TEXT,
            payload: b"part".to_vec(),
        };
        assert_eq!(
            answer(&text),
            (Some(encode(false, opcode::TEXT, b"part")), false)
        );
    }

    #[tokio::test]
    async fn echo_round_trips_and_says_goodbye_on_shutdown() {
        let (mut client, server) = tokio::io::duplex(1024);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(echo(server, shutdown.clone()));
        client
            .write_all(&masked(true, opcode::TEXT, b"hello", [9, 8, 7, 6]))
            .await
            .unwrap();
        let mut got = [0u8; 7];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got.to_vec(), encode(true, opcode::TEXT, b"hello"));
        shutdown.cancel();
        let mut bye = Vec::new();
        client.read_to_end(&mut bye).await.unwrap();
        assert_eq!(bye, close_frame(GOING_AWAY));
        task.await.unwrap();
    }

    proptest! {
        #[test]
        fn any_bytes_parse_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn masked_frames_round_trip(
            payload in proptest::collection::vec(any::<u8>(), 0..2000),
            mask in any::<[u8; 4]>(),
            fin in any::<bool>(),
        ) {
            let wire = masked(fin, opcode::BINARY, &payload, mask);
            let (frame, used) = parse(&wire).unwrap().unwrap();
            prop_assert_eq!(used, wire.len());
            prop_assert_eq!(frame, Frame { fin, opcode: opcode::BINARY, payload });
        }
    }
}
