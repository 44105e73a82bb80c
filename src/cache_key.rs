//! Hashing for the caches keyed by long, high-entropy credentials (a sealed session
//! cookie, a signed JWT): only the last [`TAIL`] bytes and the length go through the
//! keyed SipHash, and lookups still compare the whole key.
//!
//! Why that is enough: entries are only ever inserted for values that verified — a
//! sealed value this process sealed (its tail is the AES-GCM tag), a JWT whose tail is
//! its RSA signature — so the hashed tails of the entries are unpredictable and cannot be
//! chosen by a client. A client's lookup with a forged value is a miss after a full
//! comparison, exactly as with a full hash. Hashing all of a 2.6 KB cookie on every
//! request was ~2% of the sidecar's CPU.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Bytes of the key that are hashed: more than a GCM tag or an RS256 signature's
/// base64 holds entropy-wise, far less than the key.
pub const TAIL: usize = 48;

/// A [`BuildHasher`] whose hashers feed only the tail of each written byte string (and
/// its length) to a randomly keyed SipHash.
#[derive(Debug, Clone, Default)]
pub struct TailHash(RandomState);

impl BuildHasher for TailHash {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.0.build_hasher())
    }
}

pub struct TailHasher(std::collections::hash_map::DefaultHasher);

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        let tail = bytes
            .get(bytes.len().saturating_sub(TAIL)..)
            .unwrap_or(bytes);
        self.0.write(tail);
        self.0.write_usize(bytes.len());
    }

    /// Lengths and the `str` terminator are hashed as they are, not as byte strings
    /// (which would append a length of their own): every lookup hashes its key.
    fn write_u8(&mut self, i: u8) {
        self.0.write_u8(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.0.write_usize(i);
    }

    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(builder: &TailHash, key: &str) -> u64 {
        builder.hash_one(key)
    }

    #[test]
    fn equal_keys_hash_equal_and_tails_or_lengths_tell_keys_apart() {
        let b = TailHash::default();
        let long = "h".repeat(3000) + "tail-A";
        assert_eq!(hash(&b, &long), hash(&b, &long.clone()));
        assert_ne!(hash(&b, &long), hash(&b, &("h".repeat(3000) + "tail-B")));
        assert_ne!(hash(&b, &long), hash(&b, &("h".repeat(2999) + "tail-A")));
        // Only the tail is hashed: a different head alone does not change the hash
        // (lookups still compare whole keys).
        let other_head = "x".repeat(100) + &"h".repeat(2900) + "tail-A";
        assert_eq!(hash(&b, &long), hash(&b, &other_head));
    }

    #[test]
    fn byte_keys_hash_like_their_tails() {
        let b = TailHash::default();
        let key = "k".repeat(100).into_bytes();
        assert_eq!(b.hash_one(&key[..]), b.hash_one(key.clone().as_slice()));
        assert_ne!(b.hash_one(&key[..]), b.hash_one(&key[..99]));
        let other_head = [b"x".repeat(52), b"k".repeat(48)].concat();
        assert_eq!(b.hash_one(&key[..]), b.hash_one(&other_head[..]));
    }

    #[test]
    fn keys_of_different_hashers_are_keyed_differently() {
        let (a, b) = (TailHash::default(), TailHash::default());
        assert_ne!(hash(&a, "same key"), hash(&b, "same key"));
    }

    #[test]
    fn a_cache_still_compares_whole_keys() {
        let cache: moka::sync::Cache<std::sync::Arc<str>, u8, TailHash> =
            moka::sync::Cache::builder().build_with_hasher(TailHash::default());
        let genuine = "genuine-".to_string() + &"t".repeat(TAIL);
        // Same length, same tail: the same hash, a different key.
        let forged = "forged!-".to_string() + &"t".repeat(TAIL);
        let builder = TailHash::default();
        assert_eq!(hash(&builder, &genuine), hash(&builder, &forged));
        cache.insert(genuine.clone().into(), 1);
        assert_eq!(cache.get(forged.as_str()), None);
        assert_eq!(cache.get(genuine.as_str()), Some(1));
    }
}
