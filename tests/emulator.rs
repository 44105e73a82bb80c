//! The local Cognito emulator, driven over HTTP as the real binary
//! (`cognito-sidecar emulator -c <temp yaml>` on a free loopback port). One test per
//! behaviour of cognito-protocol.md §1/§2/§7; tokens are checked with an independent
//! `jsonwebtoken::decode` against the published JWKS.

#[path = "common/mod.rs"]
mod common;

#[path = "emulator/support.rs"]
mod support;

#[path = "emulator/clients.rs"]
mod clients;
#[path = "emulator/config_cli.rs"]
mod config_cli;
#[path = "emulator/hooks.rs"]
mod hooks;
#[path = "emulator/hosted_ui.rs"]
mod hosted_ui;
#[path = "emulator/sessions.rs"]
mod sessions;
#[path = "emulator/token.rs"]
mod token;
