//! Hot reload (issue: operations): SIGHUP, or a change to the config file, re-reads the
//! configuration and swaps in what can change while running — access rules, header
//! settings, public paths, session secrets, trusted proxies — for new requests, without
//! dropping connections. An invalid new config is rejected with a logged error and the
//! old one stays in force. TLS certificates reload on the same triggers.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use crate::app::{App, Settings};
use crate::config::Config;
use crate::tls::CertStore;

/// How often the config file's modification time is checked when no TLS interval is set.
const FILE_POLL: Duration = Duration::from_secs(5);

pub async fn watch(
    app: Arc<App>,
    certs: Option<Arc<CertStore>>,
    config_path: Option<PathBuf>,
    tls_every: Option<Duration>,
    stop: CancellationToken,
) {
    let mut hangups = crate::shutdown::hangups();
    let every = tls_every.unwrap_or(FILE_POLL).min(FILE_POLL);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_stamp = config_path.as_deref().and_then(stamp);
    loop {
        let forced = tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => false,
            Some(()) = async {
                match hangups.as_mut() {
                    Some(h) => h.recv().await,
                    None => std::future::pending().await,
                }
            } => true,
        };
        if let Some(certs) = &certs {
            match certs.reload(forced) {
                Ok(true) => tracing::info!("TLS certificate reloaded"),
                Ok(false) => {}
                Err(e) => {
                    tracing::error!(error = %e, "TLS certificate reload failed; keeping the previous certificate")
                }
            }
        }
        if let Some(path) = &config_path {
            let now = stamp(path);
            if forced || now != last_stamp {
                last_stamp = now;
                reload_config(&app, path);
            }
        }
    }
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Re-reads `path` and applies it; logs and keeps the running config on any problem.
pub fn reload_config(app: &App, path: &Path) {
    let config = match crate::config::load(path, std::env::vars()) {
        Ok(config) => config,
        Err(errors) => {
            for problem in &errors.0 {
                tracing::error!(problem = %problem, "config reload rejected; keeping the running configuration");
            }
            return;
        }
    };
    let current = app.settings.load();
    let restart = needs_restart(&current.config, &config);
    if !restart.is_empty() {
        tracing::warn!(keys = %restart.join(", "), "these changed keys take effect only after a restart");
    }
    match Settings::new(config) {
        Ok(settings) => {
            app.settings.store(Arc::new(settings));
            tracing::info!(path = %path.display(), "configuration reloaded");
        }
        Err(e) => {
            tracing::error!(error = %e, "config reload rejected; keeping the running configuration")
        }
    }
}

/// Keys whose change needs a restart (they shape listeners, clients or signing keys
/// built once at startup).
pub fn needs_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    fn changed<T: serde::Serialize>(a: &T, b: &T) -> bool {
        serde_json::to_value(a).ok() != serde_json::to_value(b).ok()
    }
    let secret = |c: &Config| {
        c.cognito
            .client_secret
            .as_ref()
            .map(|s| s.expose().to_string())
    };
    let mut keys = Vec::new();
    let mut check = |key: &'static str, differs: bool| {
        if differs {
            keys.push(key);
        }
    };
    check("listen", old.listen != new.listen);
    check("upstream", old.upstream != new.upstream);
    check("public_url", old.public_url != new.public_url);
    check(
        "cognito",
        changed(&old.cognito, &new.cognito) || secret(old) != secret(new),
    );
    check("bearer", changed(&old.bearer, &new.bearer));
    check("tls", changed(&old.tls, &new.tls));
    check("metrics_listen", old.metrics_listen != new.metrics_listen);
    check("server", changed(&old.server, &new.server));
    check("proxy", changed(&old.proxy, &new.proxy));
    check("headers.alb", changed(&old.headers.alb, &new.headers.alb));
    check(
        "identity_pool",
        changed(&old.identity_pool, &new.identity_pool),
    );
    let redis_password = |c: &Config| {
        c.session
            .redis
            .as_ref()
            .and_then(|r| r.password.as_ref())
            .map(|s| s.expose().to_string())
    };
    check(
        "session.store",
        old.session.store != new.session.store
            || changed(&old.session.redis, &new.session.redis)
            || redis_password(old) != redis_password(new),
    );
    keys
}
