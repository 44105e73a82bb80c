//! Faults around the real binary (issue 7 item 3): the IdP down or hanging (through a
//! fault-injecting gate in front of the emulator), a failing refresh endpoint, JWKS
//! rotation, an upstream that breaks off mid-body or never answers, a client that leaves
//! mid-stream, and SIGTERM under load.

mod common;

#[path = "faults/idp.rs"]
mod idp;
#[path = "faults/upstream.rs"]
mod upstream;

const DEAD_IDP: &str = "http://127.0.0.1:9";
