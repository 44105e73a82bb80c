//! The Cognito-console features of the local emulator (issue 9), through the real
//! binaries: the emulator with console-style pool settings, the sidecar in front of an
//! echo app, and a browser driving the hosted UI's plain HTML forms.

#[path = "common/mod.rs"]
mod common;

#[path = "emulator_console/support.rs"]
mod support;

#[path = "emulator_console/admin.rs"]
mod admin;
#[path = "emulator_console/identifiers.rs"]
mod identifiers;
#[path = "emulator_console/reset.rs"]
mod reset;
#[path = "emulator_console/signup.rs"]
mod signup;
