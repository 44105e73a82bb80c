//! Command line (SPEC §2): `run` (the default), `check-config`, `demo`, `emulator`,
//! `secret`, and `sessions revoke` (issue 10: end a user's server-side sessions).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "cognito-sidecar",
    version,
    about = "Authenticating reverse proxy for Amazon Cognito user pools",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: ConfigArg,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve: authenticate requests and proxy them to the upstream (the default).
    Run(ConfigArg),
    /// Validate the configuration and print it with secrets redacted; exit 2 on problems.
    CheckConfig(ConfigArg),
    /// Zero-setup demo: local Cognito emulator, a demo app and the proxy on 127.0.0.1.
    Demo,
    /// Run the local Cognito emulator alone.
    Emulator(EmulatorArg),
    /// Print a fresh random session secret (base64 of 32 bytes).
    Secret,
    /// Manage server-side sessions (session.store: redis).
    #[command(subcommand)]
    Sessions(SessionsCommand),
}

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// End every session of one user on every replica at once (a replayed cookie is
    /// refused from then on). Prints how many sessions were ended.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The user's Cognito `sub` (the X-Forwarded-Sub header the app receives).
    #[arg(long, value_name = "SUB")]
    pub sub: String,
    #[command(flatten)]
    pub config: ConfigArg,
}

#[derive(Debug, Args)]
pub struct ConfigArg {
    /// Config file [default: $COGNITO_SIDECAR_CONFIG, else ./config.yaml]
    #[arg(short, long, value_name = "PATH", env = "COGNITO_SIDECAR_CONFIG")]
    pub config: Option<PathBuf>,
}

impl ConfigArg {
    pub fn path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| PathBuf::from("config.yaml"))
    }
}

#[derive(Debug, Args)]
pub struct EmulatorArg {
    /// Emulator config file; built-in demo defaults when omitted.
    #[arg(short, long, value_name = "PATH")]
    pub config: Option<PathBuf>,
}
