//! A [`Session`]'s bytes inside the sealed cookie: JSON with one-letter names, except
//! that tokens are carried as the raw bytes their base64url text stands for.
//!
//! A Cognito refresh token is a JWE in compact form (RFC 7516 §7.1): five base64url
//! segments, ~1.7 KB of text for ~1.3 KB of bytes. Sealing base64url-encodes the whole
//! payload once more, so a token kept as text costs 4/3 × 4/3 of its bytes on every
//! request, and the refresh token is most of a session cookie. Kept as bytes, a typical
//! session cookie is ~550 bytes (a fifth) smaller: less for every browser to send with
//! every request, and less for the sidecar to receive, parse and compare.
//!
//! Format (version byte `0x01`; a JSON payload, which earlier releases wrote and which
//! still opens, starts with `{`):
//!
//! ```text
//! 0x01 ‖ json_len (u16 BE) ‖ JSON of the session without the packed tokens
//!      ‖ per packed token: field letter (r, a, i) ‖ segment count (u8)
//!                          ‖ per segment: length (u16 BE) ‖ bytes
//! ```
//!
//! A token packs only when each `.`-separated segment is canonical unpadded base64url
//! (RFC 4648 §5), so that unpacking gives back exactly the text that went in; any other
//! token stays in the JSON as text.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::Session;

const PACKED_V1: u8 = 0x01;
/// Segments in a token: a JWS has 3, a JWE 5.
const MAX_SEGMENTS: usize = 8;

pub(super) fn encode(session: &Session) -> Vec<u8> {
    let mut rest = session.clone();
    let mut tail = Vec::new();
    for (letter, token) in [
        (b'r', &mut rest.refresh_token),
        (b'a', &mut rest.access_token),
        (b'i', &mut rest.id_token),
    ] {
        if let Some(packed) = token.as_deref().and_then(pack) {
            tail.push(letter);
            tail.extend_from_slice(&packed);
            *token = None;
        }
    }
    // Serialising a struct of strings, integers and string lists cannot fail.
    let json = serde_json::to_vec(&rest).unwrap_or_default();
    let Ok(json_len) = u16::try_from(json.len()) else {
        // Far beyond any cookie: the sealing step rejects it by size anyway.
        return serde_json::to_vec(session).unwrap_or_default();
    };
    let mut out = Vec::with_capacity(3 + json.len() + tail.len());
    out.push(PACKED_V1);
    out.extend_from_slice(&json_len.to_be_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&tail);
    out
}

/// `None` for anything that is not an encoded session; never panics.
pub(super) fn decode(bytes: &[u8]) -> Option<Session> {
    let Some((&PACKED_V1, rest)) = bytes.split_first() else {
        return serde_json::from_slice(bytes).ok();
    };
    let (json_len, rest) = take_u16(rest)?;
    let (json, mut tail) = split_at(rest, usize::from(json_len))?;
    let mut session: Session = serde_json::from_slice(json).ok()?;
    while let Some((&letter, rest)) = tail.split_first() {
        let (token, rest) = unpack(rest)?;
        let slot = match letter {
            b'r' => &mut session.refresh_token,
            b'a' => &mut session.access_token,
            b'i' => &mut session.id_token,
            _ => return None,
        };
        // Each token once, and never both as text and as bytes.
        if slot.is_some() {
            return None;
        }
        *slot = Some(token);
        tail = rest;
    }
    Some(session)
}

/// The segment count and segments of `token`, or `None` when it does not pack exactly.
fn pack(token: &str) -> Option<Vec<u8>> {
    let segments: Vec<&str> = token.split('.').collect();
    let count = u8::try_from(segments.len())
        .ok()
        .filter(|&n| usize::from(n) <= MAX_SEGMENTS)?;
    let mut out = vec![count];
    for segment in segments {
        let bytes = URL_SAFE_NO_PAD.decode(segment).ok()?;
        if URL_SAFE_NO_PAD.encode(&bytes) != segment {
            return None;
        }
        out.extend_from_slice(&u16::try_from(bytes.len()).ok()?.to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    Some(out)
}

/// A packed token at the start of `bytes` as text, and what follows it.
fn unpack(bytes: &[u8]) -> Option<(String, &[u8])> {
    let (&count, mut rest) = bytes.split_first()?;
    if count == 0 || usize::from(count) > MAX_SEGMENTS {
        return None;
    }
    let mut token = String::new();
    for i in 0..count {
        let (len, after) = take_u16(rest)?;
        let (segment, after) = split_at(after, usize::from(len))?;
        if i > 0 {
            token.push('.');
        }
        URL_SAFE_NO_PAD.encode_string(segment, &mut token);
        rest = after;
    }
    Some((token, rest))
}

fn take_u16(bytes: &[u8]) -> Option<(u16, &[u8])> {
    let (head, rest) = split_at(bytes, 2)?;
    Some((u16::from_be_bytes(head.try_into().ok()?), rest))
}

fn split_at(bytes: &[u8], at: usize) -> Option<(&[u8], &[u8])> {
    (at <= bytes.len()).then(|| bytes.split_at(at))
}
