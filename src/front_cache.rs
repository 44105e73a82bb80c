//! A few slots per thread in front of the shared credential caches (opened sessions,
//! verified bearer tokens). A worker thread serves the same few clients request after
//! request, and a hit here costs one comparison of the key instead of the shared cache's
//! keyed hash, lock-free map lookup and access bookkeeping: ~700 instructions of a
//! ~32 000-instruction cookie-session request (bench/README.md).
//!
//! It only memoises what its owner's shared cache would answer, so it holds the same
//! kind of entries, inserted by the owner after the same verification, and the owner
//! still makes every per-request decision (expiry, key publication, lifetime) on what it
//! gets from here. Keys are compared in full. Entries of a cache that was replaced (a
//! configuration reload) never match: each owner has its own id.
//!
//! A slot is picked by the key's last bytes: for every key inserted they are the end of
//! an AES-GCM tag or an RSA signature, random and not chosen by the client.

use std::any::Any;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Slots per thread, shared by every owner on it.
const SLOTS: usize = 16;

static NEXT_OWNER: AtomicU64 = AtomicU64::new(1);

struct Slot {
    owner: u64,
    key: Arc<[u8]>,
    value: Arc<dyn Any + Send + Sync>,
}

thread_local! {
    static FRONT: RefCell<[Option<Slot>; SLOTS]> = const { RefCell::new([const { None }; SLOTS]) };
}

/// One shared cache's view of the thread's slots. Clones are the same view, as clones
/// of the shared cache are the same cache.
#[derive(Debug, Clone)]
pub struct FrontCache {
    owner: u64,
}

impl Default for FrontCache {
    fn default() -> Self {
        Self::new()
    }
}

impl FrontCache {
    pub fn new() -> Self {
        Self {
            owner: NEXT_OWNER.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// The value this owner put under exactly `key` on this thread, if it is still there.
    pub fn get<V: Any + Send + Sync>(&self, key: &[u8]) -> Option<Arc<V>> {
        FRONT.with_borrow(|slots| {
            let slot = slots[slot_of(key)].as_ref()?;
            if slot.owner != self.owner || *slot.key != *key {
                return None;
            }
            Arc::clone(&slot.value).downcast::<V>().ok()
        })
    }

    /// Remembers `value` under `key` on this thread, in place of whatever shared its slot.
    pub fn put<V: Any + Send + Sync>(&self, key: Arc<[u8]>, value: Arc<V>) {
        let index = slot_of(&key);
        FRONT.with_borrow_mut(|slots| {
            slots[index] = Some(Slot {
                owner: self.owner,
                key,
                value,
            });
        });
    }

    /// Forgets `key` on this thread (the owner found its entry no longer valid).
    pub fn remove(&self, key: &[u8]) {
        FRONT.with_borrow_mut(|slots| {
            let slot = &mut slots[slot_of(key)];
            if slot
                .as_ref()
                .is_some_and(|s| s.owner == self.owner && *s.key == *key)
            {
                *slot = None;
            }
        });
    }
}

/// The slot for `key`: its last eight bytes (fewer for a short key), mixed by a
/// multiplication so that every bit of them reaches the top bits used.
fn slot_of(key: &[u8]) -> usize {
    let mut tail = [0u8; 8];
    let start = key.len().saturating_sub(8);
    let bytes = key.get(start..).unwrap_or_default();
    tail[..bytes.len()].copy_from_slice(bytes);
    let mixed = u64::from_le_bytes(tail).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    // The top bits of the product depend on all the input bits.
    (mixed >> (64 - SLOTS.trailing_zeros())) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> Arc<[u8]> {
        Arc::from(text.as_bytes())
    }

    #[test]
    fn a_hit_needs_the_same_owner_the_exact_key_and_the_same_type() {
        let a = FrontCache::new();
        let b = FrontCache::new();
        a.put(key("sealed-value-1"), Arc::new(7u32));
        assert_eq!(a.get::<u32>(b"sealed-value-1").as_deref(), Some(&7));
        assert!(b.get::<u32>(b"sealed-value-1").is_none(), "another owner");
        assert!(a.get::<u32>(b"sealed-value-2").is_none(), "another key");
        assert!(a.get::<u64>(b"sealed-value-1").is_none(), "another type");
    }

    #[test]
    fn entries_are_per_thread() {
        let cache = Arc::new(FrontCache::new());
        cache.put(key("k"), Arc::new(1u8));
        let there = Arc::clone(&cache);
        let seen = std::thread::spawn(move || there.get::<u8>(b"k").is_some())
            .join()
            .expect("thread");
        assert!(!seen);
        assert!(cache.get::<u8>(b"k").is_some());
    }

    #[test]
    fn remove_forgets_only_its_own_entry() {
        let a = FrontCache::new();
        a.put(key("token-x"), Arc::new("x"));
        a.remove(b"token-y");
        FrontCache::new().remove(b"token-x");
        assert!(a.get::<&str>(b"token-x").is_some());
        a.remove(b"token-x");
        assert!(a.get::<&str>(b"token-x").is_none());
    }

    #[test]
    fn a_slot_holds_the_latest_key_and_short_keys_work() {
        let a = FrontCache::new();
        for k in ["", "a", "ab", "abcdefgh", "abcdefghi"] {
            a.put(key(k), Arc::new(k.len()));
            assert_eq!(a.get::<usize>(k.as_bytes()).as_deref(), Some(&k.len()));
        }
        // Keys that share a slot replace each other; neither is ever mistaken for the
        // other.
        let first = "x".repeat(40) + "same-end";
        let second = "y".repeat(40) + "same-end";
        a.put(key(&first), Arc::new(1usize));
        a.put(key(&second), Arc::new(2usize));
        assert!(a.get::<usize>(first.as_bytes()).is_none());
        assert_eq!(a.get::<usize>(second.as_bytes()).as_deref(), Some(&2));
    }

    #[test]
    fn slots_spread_random_tails() {
        let mut used = [0usize; SLOTS];
        for i in 0..1600u64 {
            let tail = i.wrapping_mul(0xD6E8_FEB8_6659_FD93).to_le_bytes();
            used[slot_of(&tail)] += 1;
        }
        assert!(used.iter().all(|&n| n > 50), "{used:?}");
    }
}
