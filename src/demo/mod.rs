//! `cognito-sidecar demo` (SPEC §2): the local Cognito emulator, a demo app that shows
//! the identity headers it receives, and the proxy in front of it — one process, fixed
//! loopback ports, nothing to configure, and Ctrl-C (or SIGTERM) stops all three.
//!
//! Every run uses a fresh random session secret and keeps everything in memory, so a
//! demo never leaves anything behind and its cookies die with it.

mod page;
mod upstream;
mod websocket;

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{self, ConfigErrors};
use crate::emulator::{Emulator, EmulatorConfig, EmulatorError};
use crate::error::RunError;

/// Where the proxy listens: the URL the demo prints.
pub const PROXY_PORT: u16 = 4180;
/// Where the emulator (the hosted UI) listens; matches `EmulatorConfig::demo()`.
pub const EMULATOR_PORT: u16 = 4181;
/// Where the demo app listens (reachable directly too, but only the proxy adds identity).
pub const APP_PORT: u16 = 4182;

/// Why the demo could not run, by who has to act.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The user must free the port (often: another demo is still running).
    #[error(
        "cannot listen on 127.0.0.1:{port} for the demo {role}: {cause}; the demo needs ports \
         4180-4182: stop whatever uses port {port} (another `cognito-sidecar demo`?) and try again"
    )]
    Port {
        port: u16,
        role: &'static str,
        cause: std::io::Error,
    },
    #[error("internal: the demo emulator cannot start: {0}")]
    Emulator(#[from] EmulatorError),
    #[error("internal: the demo proxy configuration is invalid:\n{0}")]
    Config(ConfigErrors),
    #[error("the demo proxy stopped: {0}")]
    Proxy(#[from] RunError),
    #[error("internal: the demo emulator server failed: {0}")]
    EmulatorServer(std::io::Error),
}

/// The proxy's configuration: the demo pool's `local-client`, `/public/*` open,
/// `/admin/*` for the `admins` group, and `secret` as the session key. Ctrl-C should
/// feel immediate, so open requests get 3 s to finish instead of the usual 25 s.
pub fn sidecar_yaml(secret: &str) -> String {
    format!(
        r#"listen: 127.0.0.1:{PROXY_PORT}
upstream: http://127.0.0.1:{APP_PORT}
public_url: http://localhost:{PROXY_PORT}
cognito:
  region: us-east-1
  user_pool_id: us-east-1_LOCAL
  client_id: local-client
  client_secret: local-secret
  domain: http://127.0.0.1:{EMULATOR_PORT}
  issuer: http://127.0.0.1:{EMULATOR_PORT}/us-east-1_LOCAL
session:
  secret: "{secret}"
access:
  public_paths: [/public/*]
  rules:
    - {{path: /admin/*, groups: [admins]}}
server:
  shutdown_grace: 3s
identity_pool:
  id: {pool}
  endpoint: http://127.0.0.1:{EMULATOR_PORT}
  allow_unauthenticated: true
"#,
        pool = crate::emulator::DEMO_IDENTITY_POOL
    )
}

/// What the demo prints on stdout once everything listens.
pub fn banner() -> String {
    let app = format!("http://localhost:{PROXY_PORT}");
    [
        String::new(),
        "cognito-sidecar demo: a local Cognito user pool, a demo app, and the proxy in front of it.".into(),
        String::new(),
        format!("  Open {app}/"),
        String::new(),
        format!("  Sign in on the emulator's hosted UI (http://127.0.0.1:{EMULATOR_PORT}) as"),
        "    alice / Passw0rd!    in group `admins`".into(),
        "    bob   / Passw0rd!    no groups".into(),
        "  or create an account with \"Sign up\" there: the verification code appears in the log".into(),
        "  below (stderr), as the emulator's stand-in for the email Cognito would send.".into(),
        String::new(),
        "  Then try".into(),
        format!("    {app}/admin/            alice sees the admin area; bob gets 403 from the sidecar"),
        format!("    {app}/api/whoami        the identity headers the app received, as JSON"),
        format!("    {app}/ws-test           a WebSocket through the proxy, authenticated by the session cookie"),
        format!("    {app}/public/           a public path: no sign-in, no identity"),
        format!("    {app}/oauth2/userinfo   what the sidecar knows about you"),
        format!("    {app}/oauth2/aws-credentials   temporary AWS credentials (emulated identity pool)"),
        format!("    {app}/oauth2/sign_out   sign out here and at the hosted UI"),
        String::new(),
        "  This is a demo: the session secret is random for this run and nothing is persisted".into(),
        "  (users and sessions live in memory, and end when the demo stops).".into(),
        format!("  Proxy 127.0.0.1:{PROXY_PORT}, emulator 127.0.0.1:{EMULATOR_PORT}, app 127.0.0.1:{APP_PORT}; logs go to stderr."),
        "  Press Ctrl-C to stop all three.".into(),
    ]
    .join("\n")
}

async fn bind(port: u16, role: &'static str) -> Result<TcpListener, DemoError> {
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .map_err(|cause| DemoError::Port { port, role, cause })
}

/// Runs `task`, cancelling `stop` when it ends for any reason, so one server failing
/// stops the whole demo instead of leaving it half up.
fn supervise<F>(stop: &CancellationToken, task: F) -> tokio::task::JoinHandle<Result<(), DemoError>>
where
    F: Future<Output = Result<(), DemoError>> + Send + 'static,
{
    let stop = stop.clone();
    tokio::spawn(async move {
        let result = task.await;
        stop.cancel();
        result
    })
}

/// `cognito-sidecar demo`: binds 127.0.0.1:4180-4182, serves until SIGINT/SIGTERM, then
/// stops all three servers and returns `Ok` (exit 0).
pub async fn main() -> Result<(), DemoError> {
    // Bind everything first: a taken port is reported before anything starts.
    let proxy_listener = bind(PROXY_PORT, "proxy").await?;
    let emulator_listener = bind(EMULATOR_PORT, "Cognito emulator").await?;
    let app_listener = bind(APP_PORT, "app").await?;

    let emulator = Emulator::new(EmulatorConfig::demo())?;
    let config = config::load_from_str(&sidecar_yaml(&crate::session_secret()), std::iter::empty())
        .map_err(DemoError::Config)?;

    let stop = CancellationToken::new();
    let tasks = [
        supervise(&stop, {
            let stop = stop.clone();
            async move {
                emulator
                    .serve(emulator_listener, stop)
                    .await
                    .map_err(DemoError::EmulatorServer)
            }
        }),
        supervise(&stop, {
            let stop = stop.clone();
            async move {
                upstream::serve(app_listener, stop).await;
                Ok(())
            }
        }),
        supervise(&stop, {
            let stop = stop.clone();
            async move { Ok(crate::serve(config, proxy_listener, stop).await?) }
        }),
    ];
    println!("{}", banner());

    tokio::select! {
        signal = crate::shutdown::terminate() => {
            tracing::info!(signal, "stopping the demo");
        }
        () = stop.cancelled() => {}
    }
    stop.cancel();
    let mut outcome = Ok(());
    for task in tasks {
        let result = task
            .await
            .unwrap_or_else(|e| Err(DemoError::EmulatorServer(std::io::Error::other(e))));
        if outcome.is_ok() {
            outcome = result;
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_is_valid_and_guards_admin() {
        let config =
            config::load_from_str(&sidecar_yaml(&crate::session_secret()), std::iter::empty())
                .map_err(|e| e.0)
                .unwrap();
        assert_eq!(config.public_url.as_str(), "http://localhost:4180/");
        assert_eq!(config.access.public_paths, vec!["/public/*"]);
        assert_eq!(config.access.rules.len(), 1);
        assert_eq!(config.access.rules[0].path, "/admin/*");
    }

    #[test]
    fn the_demo_pool_matches_the_proxy() {
        let pool = EmulatorConfig::demo();
        assert_eq!(pool.listen.port(), EMULATOR_PORT);
        let client = &pool.clients[0];
        assert_eq!(client.client_id, "local-client");
        assert!(client
            .callback_urls
            .contains(&format!("http://localhost:{PROXY_PORT}/oauth2/callback")));
        assert!(client
            .logout_urls
            .contains(&format!("http://localhost:{PROXY_PORT}/")));
    }

    #[test]
    fn banner_tells_what_to_open_and_who_to_be() {
        let text = banner();
        for needed in [
            "http://localhost:4180/",
            "alice / Passw0rd!",
            "bob   / Passw0rd!",
            "/admin/",
            "403",
            "/oauth2/userinfo",
            "/oauth2/sign_out",
            "random",
            "nothing is persisted",
            "Ctrl-C",
        ] {
            assert!(text.contains(needed), "banner lacks {needed}:\n{text}");
        }
    }

    #[tokio::test]
    async fn a_taken_port_is_named() {
        let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = bind(port, "proxy").await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(text.contains("demo proxy"), "{text}");
    }
}
