//! The identities the emulator's identity pools have handed out: whose each is (a guest,
//! or a user by `sub`) and in which pool, so `GetCredentialsForIdentity` can tell an
//! unknown identity from one that needs a login (cognito-protocol.md §4.4).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// More identities than this are refused with `LimitExceededException`: an emulator
/// hammered by guests should not grow without bound.
pub const MAX_IDENTITIES: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    Guest,
    User(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub pool_id: String,
    pub owner: Owner,
}

/// The registry is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

#[derive(Debug, Default)]
pub struct Identities {
    records: Mutex<HashMap<String, Record>>,
}

impl Identities {
    /// A panic while holding the lock cannot leave the map half-updated, so a poisoned
    /// lock is reused.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Record>> {
        self.records.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `identity_id`; registering a known id again is a no-op.
    pub fn register(&self, identity_id: &str, record: Record) -> Result<(), Full> {
        let mut records = self.lock();
        if records.contains_key(identity_id) {
            return Ok(());
        }
        if records.len() >= MAX_IDENTITIES {
            return Err(Full);
        }
        records.insert(identity_id.to_string(), record);
        Ok(())
    }

    pub fn get(&self, identity_id: &str) -> Option<Record> {
        self.lock().get(identity_id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identities_are_remembered_once() {
        let ids = Identities::default();
        let guest = Record {
            pool_id: "p".into(),
            owner: Owner::Guest,
        };
        assert_eq!(ids.get("a"), None);
        assert_eq!(ids.register("a", guest.clone()), Ok(()));
        let user = Record {
            pool_id: "p".into(),
            owner: Owner::User("s".into()),
        };
        assert_eq!(ids.register("a", user), Ok(()));
        assert_eq!(ids.get("a"), Some(guest));
    }
}
