//! Test doubles for Cognito's HTTP side, shared by the unit tests of [`crate::jwks`],
//! [`crate::tokens`] and [`crate::oauth`]: a loopback HTTP server that records what it
//! receives and answers from a closure, and RSA signing keys that mint Cognito-shaped
//! JWTs (valid ones and deliberately broken ones).

mod keys;
mod server;

pub use keys::{b64url, hs256_token, jwks_json, test_key, unsigned_token, TestKey};
pub use server::{Recorded, Reply, StubServer};
