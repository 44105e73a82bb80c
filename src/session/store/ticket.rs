//! The server-side store's ticket (issue 10): what the browser's cookie holds instead of
//! the session — a random 256-bit session id and a random 256-bit per-session key — and
//! the encryption of the stored value under that key. Pure: no I/O, no clock.
//!
//! The store only ever sees `SHA-256(id)` (as the key name) and the value sealed with
//! AES-256-GCM under the per-session key, with a fresh random 96-bit nonce per write
//! (NIST SP 800-38D §8.2.2) and the key name as associated data (RFC 5116 §2.1), so a
//! value moved to another key does not open. A dump of the store therefore opens
//! nothing: every key it would need lives only in browsers, and the ticket itself is
//! sealed under the session key ring before it becomes a cookie.

use std::fmt;

use aws_lc_rs::aead::{Aad, Nonce, RandomizedNonceKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::digest;
use secrecy::zeroize::Zeroizing;

/// The ticket format tag, first in the sealed cookie payload. A cookie-store session
/// (JSON, starting with `{`) never starts with it, so switching stores ends old
/// sessions cleanly instead of misreading them.
const TICKET_TAG: &[u8; 2] = b"T1";
const ID_LEN: usize = 32;
const KEY_LEN: usize = 32;
const TICKET_LEN: usize = TICKET_TAG.len() + ID_LEN + KEY_LEN;
/// The stored value's format version, first byte of every value.
const VALUE_VERSION: u8 = 1;
const TAG_LEN: usize = 16;
/// Domain separation for the value's associated data.
const VALUE_AAD: &[u8] = b"cognito-sidecar session v1\0";

/// Why a ticket or a stored value could not be made (internal errors).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TicketError {
    #[error("the system random number generator failed; the session could not be created")]
    Random,
    #[error("encrypting the session failed inside the AEAD implementation")]
    Crypto,
}

/// A session's id and key. `Debug` never shows either.
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket {
    id: [u8; ID_LEN],
    key: Zeroizing<[u8; KEY_LEN]>,
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ticket(<redacted>)")
    }
}

impl Ticket {
    /// A fresh ticket from the system RNG.
    pub fn generate() -> Result<Ticket, TicketError> {
        let mut id = [0u8; ID_LEN];
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        aws_lc_rs::rand::fill(&mut id).map_err(|_| TicketError::Random)?;
        aws_lc_rs::rand::fill(&mut *key).map_err(|_| TicketError::Random)?;
        Ok(Ticket { id, key })
    }

    /// `T1 ‖ id ‖ key`: the payload sealed into the cookie.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(TICKET_LEN));
        out.extend_from_slice(TICKET_TAG);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&*self.key);
        out
    }

    /// `None` for anything that is not exactly an encoded ticket.
    pub fn decode(bytes: &[u8]) -> Option<Ticket> {
        if bytes.len() != TICKET_LEN {
            return None;
        }
        let rest = bytes.strip_prefix(TICKET_TAG)?;
        let (id, key) = rest.split_at_checked(ID_LEN)?;
        Some(Ticket {
            id: id.try_into().ok()?,
            key: Zeroizing::new(key.try_into().ok()?),
        })
    }

    /// What the store calls this session: lowercase hex of SHA-256(id). Knowing it
    /// does not give the id, so neither the cookie nor the key can be rebuilt from it.
    pub fn storage_id(&self) -> String {
        hex(digest::digest(&digest::SHA256, &self.id).as_ref())
    }

    /// Encrypts `plaintext` for storage under the key named `key_name`:
    /// `version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`.
    pub fn seal_value(&self, key_name: &str, plaintext: &[u8]) -> Result<Vec<u8>, TicketError> {
        let key =
            RandomizedNonceKey::new(&AES_256_GCM, &*self.key).map_err(|_| TicketError::Crypto)?;
        let mut in_out = Zeroizing::new(plaintext.to_vec());
        let nonce = key
            .seal_in_place_append_tag(Aad::from(value_aad(key_name)), &mut *in_out)
            .map_err(|_| TicketError::Crypto)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + in_out.len());
        out.push(VALUE_VERSION);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        Ok(out)
    }

    /// Opens a value written by [`Ticket::seal_value`] for `key_name`; `None` when it
    /// was tampered with, truncated, moved from another key or sealed with another key.
    pub fn open_value(&self, key_name: &str, sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
        let (&version, rest) = sealed.split_first()?;
        if version != VALUE_VERSION || rest.len() < NONCE_LEN + TAG_LEN {
            return None;
        }
        let (nonce, ciphertext) = rest.split_at_checked(NONCE_LEN)?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let key = RandomizedNonceKey::new(&AES_256_GCM, &*self.key).ok()?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let plain_len = key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(value_aad(key_name)),
                &mut buf,
            )
            .ok()?
            .len();
        buf.truncate(plain_len);
        Some(buf)
    }
}

/// The name under which a user's sessions are indexed: hex of SHA-256 of the `sub`, so
/// the store holds no user identifiers in the clear either.
pub fn user_index_id(sub: &str) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(b"sub\0");
    ctx.update(sub.as_bytes());
    hex(ctx.finish().as_ref())
}

fn value_aad(key_name: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(VALUE_AAD.len() + key_name.len());
    aad.extend_from_slice(VALUE_AAD);
    aad.extend_from_slice(key_name.as_bytes());
    aad
}

/// Lowercase hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tickets_round_trip_and_are_unique() {
        let a = Ticket::generate().unwrap();
        let b = Ticket::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(Ticket::decode(&a.encode()), Some(a.clone()));
        assert_eq!(a.storage_id().len(), 64);
        assert_ne!(a.storage_id(), b.storage_id());
        assert_eq!(format!("{a:?}"), "Ticket(<redacted>)");
    }

    #[test]
    fn anything_else_is_not_a_ticket() {
        let a = Ticket::generate().unwrap();
        let encoded = a.encode();
        assert_eq!(Ticket::decode(&encoded[..encoded.len() - 1]), None);
        assert_eq!(Ticket::decode(b"{\"s\":\"sub\"}"), None);
        let mut other_tag = encoded.to_vec();
        other_tag[1] = b'2';
        assert_eq!(Ticket::decode(&other_tag), None);
        let mut longer = encoded.to_vec();
        longer.push(0);
        assert_eq!(Ticket::decode(&longer), None);
    }

    #[test]
    fn values_open_only_with_their_ticket_and_key_name() {
        let a = Ticket::generate().unwrap();
        let b = Ticket::generate().unwrap();
        let sealed = a.seal_value("p:s:1", b"secret payload").unwrap();
        assert_eq!(
            a.open_value("p:s:1", &sealed).as_deref().map(Vec::as_slice),
            Some(&b"secret payload"[..])
        );
        assert!(a.open_value("p:s:2", &sealed).is_none());
        assert!(b.open_value("p:s:1", &sealed).is_none());
        assert!(!sealed
            .windows(b"secret".len())
            .any(|w| w == b"secret".as_slice()));
        assert!(a.open_value("p:s:1", &[]).is_none());
        assert!(a.open_value("p:s:1", &sealed[..10]).is_none());
    }

    #[test]
    fn user_index_ids_hide_the_sub() {
        let id = user_index_id("11111111-1111-4111-8111-111111111111");
        assert_eq!(id.len(), 64);
        assert!(!id.contains("1111-4111"));
        assert_ne!(id, user_index_id("11111111-1111-4111-8111-111111111112"));
        assert_eq!(hex(&[0, 0xab, 0x10]), "00ab10");
    }

    proptest! {
        #[test]
        fn any_single_byte_flip_fails_to_open(payload in proptest::collection::vec(any::<u8>(), 0..256), at in any::<prop::sample::Index>(), bit in 0u8..8) {
            let t = Ticket::generate().unwrap();
            let mut sealed = t.seal_value("k", &payload).unwrap();
            let i = at.index(sealed.len());
            sealed[i] ^= 1 << bit;
            prop_assert!(t.open_value("k", &sealed).is_none());
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = Ticket::decode(&bytes);
        }
    }
}
