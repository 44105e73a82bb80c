//! Sealing cookie values: authenticated encryption under the session key ring
//! (SPEC §7, deps.md §7). Owns the versioned wire format and nothing else — it never
//! sees cookie names on the wire, chunking, or what the payload means.
//!
//! Format: `v1.` + base64url-no-pad(`key_id (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`),
//! AES-256-GCM with a fresh random 96-bit nonce per seal (aws-lc-rs
//! `RandomizedNonceKey`). The plaintext is `expires_at (8, big-endian unix seconds) ‖
//! payload`, so the expiry cannot be changed without the key. The AAD binds the value to
//! its purpose (the cookie base name), the format version and the key id, so a value
//! sealed for one cookie never opens under another (RFC 5116 §2.1 on associated data).
//!
//! Random 96-bit nonces keep AES-GCM safe up to about 2³² seals per key (NIST SP 800-38D
//! §8.3); rotating `session.secrets` resets that budget.

use std::fmt;

use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::digest;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use secrecy::zeroize::Zeroizing;

use crate::config::{decode_secret, SessionConfig};

/// The format tag every sealed value starts with.
const PREFIX: &str = "v1.";
/// The version as bound into the AAD.
const VERSION: &[u8] = b"v1";
const KEY_ID_LEN: usize = 1;
const TAG_LEN: usize = 16;
const EXPIRES_LEN: usize = 8;
/// Fixed bytes around every payload: key id, nonce, expiry and tag.
const OVERHEAD: usize = KEY_ID_LEN + NONCE_LEN + EXPIRES_LEN + TAG_LEN;
/// The longest sealed string accepted or produced. Far above one session (one cookie
/// chunk is ~3.8 KB), low enough that a hostile cookie cannot make us decode much.
pub const MAX_SEALED_LEN: usize = 16 * 1024;

/// Why a key ring could not be built from the configuration (config errors).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyRingError {
    #[error("session.secret: missing; set session.secret (or secret_file, or secrets) to the output of `cognito-sidecar secret`")]
    Empty,
    #[error("session.secrets[{index}]: must be base64 of 32 random bytes; generate one with `cognito-sidecar secret`")]
    InvalidSecret { index: usize },
    #[error("session key {index} was rejected by the AEAD implementation; generate a new one with `cognito-sidecar secret`")]
    Rejected { index: usize },
}

/// Why a value could not be sealed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// Internal: the session grew beyond what a cookie may carry; store fewer tokens.
    #[error("the sealed value would be {len} bytes, over the {MAX_SEALED_LEN}-byte limit; keep fewer tokens in the session")]
    TooLarge { len: usize },
    /// Internal: the system random number generator or the cipher failed.
    #[error("sealing failed inside the AEAD implementation (system RNG unavailable?)")]
    Crypto,
}

/// A successfully opened value.
#[derive(Clone, PartialEq, Eq)]
pub struct Opened {
    pub payload: Vec<u8>,
    /// Unix seconds after which the value no longer opens.
    pub expires_at: u64,
    /// Opened with an older key of the ring: the caller should seal it again so the
    /// old key can be retired.
    pub needs_reseal: bool,
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Opened")
            .field(
                "payload",
                &format_args!("<{} bytes redacted>", self.payload.len()),
            )
            .field("expires_at", &self.expires_at)
            .field("needs_reseal", &self.needs_reseal)
            .finish()
    }
}

struct RingKey {
    id: u8,
    key: RandomizedNonceKey,
}

/// The session keys: the first seals, every key opens (SPEC §3 `session.secrets`).
/// Key bytes live only inside aws-lc's key schedule; `Debug` shows the count only.
pub struct KeyRing {
    keys: Vec<RingKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Builds a ring from raw 32-byte keys, primary first.
    pub fn new(keys: &[[u8; 32]]) -> Result<Self, KeyRingError> {
        if keys.is_empty() {
            return Err(KeyRingError::Empty);
        }
        let keys = keys
            .iter()
            .enumerate()
            .map(|(index, bytes)| {
                let key = RandomizedNonceKey::new(&AES_256_GCM, bytes)
                    .map_err(|_| KeyRingError::Rejected { index })?;
                Ok(RingKey {
                    id: key_id(bytes),
                    key,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { keys })
    }

    /// Builds the ring from `session.secret` / `session.secrets` (base64 of 32 bytes).
    pub fn from_config(session: &SessionConfig) -> Result<Self, KeyRingError> {
        let decoded = session
            .key_ring()
            .iter()
            .enumerate()
            .map(|(index, secret)| {
                decode_secret(secret.expose())
                    .map(Zeroizing::new)
                    .ok_or(KeyRingError::InvalidSecret { index })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let raw: Zeroizing<Vec<[u8; 32]>> = Zeroizing::new(decoded.iter().map(|k| **k).collect());
        Self::new(&raw)
    }

    /// Seals `payload` for the purpose `name` (the cookie base name), valid until
    /// `expires_at` (unix seconds).
    pub fn seal(&self, name: &str, expires_at: u64, payload: &[u8]) -> Result<String, SealError> {
        let len = sealed_len(payload.len());
        if len > MAX_SEALED_LEN {
            return Err(SealError::TooLarge { len });
        }
        let primary = self.keys.first().ok_or(SealError::Crypto)?;
        let mut in_out = Zeroizing::new(Vec::with_capacity(EXPIRES_LEN + payload.len() + TAG_LEN));
        in_out.extend_from_slice(&expires_at.to_be_bytes());
        in_out.extend_from_slice(payload);
        let nonce = primary
            .key
            .seal_in_place_append_tag(Aad::from(aad(name, primary.id)), &mut *in_out)
            .map_err(|_| SealError::Crypto)?;
        let mut raw = Vec::with_capacity(KEY_ID_LEN + NONCE_LEN + in_out.len());
        raw.push(primary.id);
        raw.extend_from_slice(nonce.as_ref());
        raw.extend_from_slice(&in_out);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(raw)))
    }

    /// Opens a value sealed for `name`. Every failure — wrong format, wrong length,
    /// unknown key, tampering, another purpose, expiry at or before `now` — is `None`.
    pub fn open(&self, name: &str, sealed: &str, now: u64) -> Option<Opened> {
        if sealed.len() > MAX_SEALED_LEN || sealed.len() < sealed_len(0) {
            return None;
        }
        let body = sealed.strip_prefix(PREFIX)?;
        let raw = URL_SAFE_NO_PAD.decode(body).ok()?;
        if raw.len() < OVERHEAD {
            return None;
        }
        let (&id, rest) = raw.split_first()?;
        let (nonce, ciphertext) = rest.split_at_checked(NONCE_LEN)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        self.keys
            .iter()
            .enumerate()
            .filter(|(_, k)| k.id == id)
            .find_map(|(index, k)| {
                let mut buf = Zeroizing::new(ciphertext.to_vec());
                let plain = k
                    .key
                    .open_in_place(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(aad(name, id)),
                        &mut buf,
                    )
                    .ok()?;
                let (expiry, payload) = plain.split_at_checked(EXPIRES_LEN)?;
                let expires_at = u64::from_be_bytes(expiry.try_into().ok()?);
                Some(Opened {
                    payload: payload.to_vec(),
                    expires_at,
                    needs_reseal: index != 0,
                })
            })
            .filter(|opened| now < opened.expires_at)
    }
}

/// Key id: the first byte of SHA-256 of the key, so rotating keys never needs
/// hand-assigned ids; collisions only cost one extra trial decryption.
fn key_id(key: &[u8; 32]) -> u8 {
    digest::digest(&digest::SHA256, key)
        .as_ref()
        .first()
        .copied()
        .unwrap_or(0)
}

/// `version ‖ 0x00 ‖ key_id ‖ purpose`: fixed-width prefix, so the encoding is unambiguous.
fn aad(name: &str, key_id: u8) -> Vec<u8> {
    let mut aad = Vec::with_capacity(VERSION.len() + 2 + name.len());
    aad.extend_from_slice(VERSION);
    aad.push(0);
    aad.push(key_id);
    aad.extend_from_slice(name.as_bytes());
    aad
}

/// Length of the sealed string for a payload of `payload_len` bytes.
const fn sealed_len(payload_len: usize) -> usize {
    let raw = OVERHEAD.saturating_add(payload_len);
    // Unpadded base64: 4 characters per 3 bytes, rounded up.
    PREFIX
        .len()
        .saturating_add(raw.saturating_mul(4).saturating_add(2) / 3)
}

#[cfg(test)]
mod tests;
