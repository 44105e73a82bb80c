//! Sealed cookie values and what they carry (SPEC §7, deps.md §7): no input opens
//! without the key, a sealed value opens back exactly until it expires, and any change
//! to it — a byte, a truncation, another purpose — makes it fail.

use super::{ensure, Violation};
use crate::session::cookies::SignInState;
use crate::session::seal::{KeyRing, SealError, MAX_SEALED_LEN};
use crate::session::Session;

const AREA: &str = "session::seal::KeyRing";

/// A fixed two-key ring for fuzzing and tests; key bytes are public, which is fine for
/// checking the format, never for sealing anything real.
pub fn test_ring() -> Result<KeyRing, Violation> {
    KeyRing::new(&[[0x42; 32], [0x17; 32]]).map_err(|e| Violation {
        area: AREA,
        broken: format!("a valid 32-byte key was refused: {e}"),
    })
}

/// An attacker-chosen string never opens: forging needs the key.
pub fn check_open(ring: &KeyRing, name: &str, sealed: &str, now: u64) -> Result<(), Violation> {
    let opened = ring.open(name, sealed, now);
    ensure(opened.is_none(), AREA, || {
        format!("an unsealed value of {} bytes opened", sealed.len())
    })
}

/// Where and how [`check_round_trip`] tampers with the sealed value.
#[derive(Debug, Clone, Copy)]
pub struct Tamper {
    /// Index (modulo the length) of the byte to replace, and of the truncation point.
    pub at: usize,
    /// The replacement byte; a no-op replacement is skipped.
    pub byte: u8,
}

/// Seal → open returns the payload and expiry until `expires_at`, nothing after; a
/// changed byte, a truncation or another purpose never opens.
pub fn check_round_trip(
    ring: &KeyRing,
    name: &str,
    payload: &[u8],
    expires_at: u64,
    now: u64,
    tamper: Tamper,
) -> Result<(), Violation> {
    let sealed = match ring.seal(name, expires_at, payload) {
        Ok(sealed) => sealed,
        Err(SealError::TooLarge { .. }) => return Ok(()),
        Err(e) => {
            return Err(Violation {
                area: AREA,
                broken: format!("sealing failed: {e}"),
            })
        }
    };
    ensure(
        sealed.len() <= MAX_SEALED_LEN && sealed.is_ascii(),
        AREA,
        || format!("sealed value of {} bytes", sealed.len()),
    )?;
    let opened = ring.open(name, &sealed, now);
    if now < expires_at {
        let opened = opened.ok_or_else(|| Violation {
            area: AREA,
            broken: "a fresh value did not open".to_owned(),
        })?;
        ensure(
            opened.payload == payload && opened.expires_at == expires_at && !opened.needs_reseal,
            AREA,
            || "the opened value differs from the sealed one".to_owned(),
        )?;
    } else {
        ensure(opened.is_none(), AREA, || {
            "an expired value opened".to_owned()
        })?;
    }
    let at = tamper.at % sealed.len().max(1);
    let mut bytes = sealed.clone().into_bytes();
    if let Some(b) = bytes.get_mut(at).filter(|b| **b != tamper.byte) {
        *b = tamper.byte;
        let changed = String::from_utf8_lossy(&bytes);
        ensure(ring.open(name, &changed, 0).is_none(), AREA, || {
            format!("changing byte {at} still opened")
        })?;
    }
    if let Some(truncated) = sealed.get(..at) {
        ensure(ring.open(name, truncated, 0).is_none(), AREA, || {
            format!("truncating to {at} bytes still opened")
        })?;
    }
    let other = format!("{name}_other");
    ensure(ring.open(&other, &sealed, 0).is_none(), AREA, || {
        "the value opened under another purpose".to_owned()
    })
}

/// Decoding the plaintext of a session or sign-in cookie never panics, and whatever
/// decodes re-encodes to the same thing.
pub fn check_decode(bytes: &[u8]) -> Result<(), Violation> {
    if let Some(session) = Session::decode(bytes) {
        ensure(
            Session::decode(&session.encode()).as_ref() == Some(&session),
            "session::Session::decode",
            || "decode(encode(s)) differs from s".to_owned(),
        )?;
    }
    if let Some(signin) = SignInState::decode(bytes) {
        ensure(
            SignInState::decode(&signin.encode()).as_ref() == Some(&signin),
            "session::cookies::SignInState::decode",
            || "decode(encode(s)) differs from s".to_owned(),
        )?;
    }
    Ok(())
}
