//! The `cognito-sidecar` binary: parse the command line, install the crypto provider,
//! and hand over to the library. Exit codes: 0 ok, 1 runtime failure, 2 bad config.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use cognito_sidecar::cli::{Cli, Command, ConfigArg, RevokeArgs, SessionsCommand};
use cognito_sidecar::config;

/// mimalloc: the proxy allocates and frees many small buffers per request, where the
/// system allocator showed up at ~9% of CPU in profiles (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cognito_sidecar::install_crypto_provider();
    let cli = Cli::parse();
    match cli.command {
        None => serve(&cli.run),
        Some(Command::Run(arg)) => serve(&arg),
        Some(Command::CheckConfig(arg)) => check_config(&arg),
        Some(Command::Secret) => {
            println!("{}", cognito_sidecar::session_secret());
            ExitCode::SUCCESS
        }
        Some(Command::Emulator(arg)) => emulator(arg.config.as_deref()),
        Some(Command::Sessions(SessionsCommand::Revoke(args))) => revoke_sessions(&args),
        Some(Command::Demo) => {
            cognito_sidecar::telemetry::init(&config::LogConfig::default());
            report(runtime().and_then(|rt| {
                rt.block_on(cognito_sidecar::demo::main())
                    .context("demo failed")
            }))
        }
    }
}

fn load(arg: &ConfigArg) -> Result<config::Config, ExitCode> {
    let path = arg.path();
    config::load(&path, std::env::vars()).map_err(|errors| {
        eprintln!("{}: invalid configuration:", path.display());
        for problem in &errors.0 {
            eprintln!("  {problem}");
        }
        ExitCode::from(2)
    })
}

fn check_config(arg: &ConfigArg) -> ExitCode {
    match load(arg) {
        Ok(config) => match serde_saphyr::to_string(&config) {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot render the configuration: {e}");
                ExitCode::FAILURE
            }
        },
        Err(code) => code,
    }
}

fn serve(arg: &ConfigArg) -> ExitCode {
    let config = match load(arg) {
        Ok(config) => config,
        Err(code) => return code,
    };
    cognito_sidecar::telemetry::init(&config.log);
    report(control_runtime().and_then(|rt| {
        rt.block_on(cognito_sidecar::run(config, Some(arg.path())))
            .context("cognito-sidecar stopped")
    }))
}

/// `sessions revoke --sub SUB`: exit 0 with the count, 2 when the config cannot do it,
/// 1 when Redis does not answer.
fn revoke_sessions(args: &RevokeArgs) -> ExitCode {
    use cognito_sidecar::session::revoke::{revoke_user, RevokeError};
    let config = match load(&args.config) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return report(Err(e)),
    };
    match rt.block_on(revoke_user(&config, &args.sub)) {
        Ok(count) => {
            println!("ended {count} session(s) of {}", args.sub);
            ExitCode::SUCCESS
        }
        Err(e @ RevokeError::Store(_)) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn emulator(path: Option<&std::path::Path>) -> ExitCode {
    use cognito_sidecar::emulator::{self, EmulatorError};
    cognito_sidecar::telemetry::init(&config::LogConfig::default());
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return report(Err(e)),
    };
    match rt.block_on(emulator::main(path)) {
        Err(EmulatorError::Config(problems)) => {
            eprintln!("invalid emulator configuration:");
            for problem in &problems.0 {
                eprintln!("  {problem}");
            }
            ExitCode::from(2)
        }
        other => report(other.context("emulator failed")),
    }
}

/// The runtime `run` is called on. Proxied connections never run here: each worker
/// thread (`server.workers`) has a runtime of its own. What does — signals, reloads, the
/// signing-key refresh, `/metrics`, waiting for the drain — is a few tasks that are idle
/// nearly always, so one thread, the main one, is enough, and `server.workers: 1` means
/// one busy thread, not a worker pool's.
fn control_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// For the other commands, which serve on it directly (`emulator`, `demo`'s emulator and
/// app) or only wait on the network (`sessions revoke`).
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
