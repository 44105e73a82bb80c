//! The life of a running sidecar: build everything that can fail before binding, serve
//! the public listener on the worker threads (`crate::workers`, `server.workers`), and
//! on the caller's runtime serve the metrics listener when configured, load the signing
//! keys in the background, react to SIGHUP and file changes, and drain on SIGTERM/SIGINT
//! (SPEC §5.7).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::App;
use crate::config::Config;
use crate::error::RunError;
use crate::respond::{self, Body};
use crate::workers::Workers;
use crate::{dispatch, reload, server, shutdown, tls};

/// How long the worker threads may take to stop once everything has drained.
const WORKERS_STOP: Duration = Duration::from_secs(2);

/// Serves the proxy until SIGTERM/SIGINT, then drains. With `config_path`, SIGHUP and
/// changes to that file re-read the configuration (hot reload).
///
/// The certificate and the application state are built before the port is bound, so a
/// bad TLS file or IdP setting is reported without ever accepting a connection.
pub async fn run(config: Config, config_path: Option<PathBuf>) -> Result<(), RunError> {
    let listen = config.listen;
    let prepared = Prepared::new(config, config_path)?;
    let listener = bind("listen", listen).await?;
    let shutdown = CancellationToken::new();
    let trigger = shutdown.clone();
    tokio::spawn(async move {
        let signal = shutdown::terminate().await;
        tracing::info!(signal, "signal received");
        trigger.cancel();
    });
    prepared.serve(listener, shutdown).await
}

/// Serves the proxy on an already bound `listener` until `shutdown` is cancelled, then
/// drains like [`run`] does after a signal. Lets `demo` run the proxy next to other
/// servers in one process, all stopped by one token. The listener is served by worker
/// threads as in [`run`], whatever runtime calls this.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    Prepared::new(config, None)?.serve(listener, shutdown).await
}

/// Binds a listener; a taken port names the key to change.
async fn bind(key: &'static str, addr: std::net::SocketAddr) -> Result<TcpListener, RunError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Bind { key, addr, source })
}

/// A listener's limits, with a connection cap of its own.
fn limits(config: &Config) -> server::Limits {
    let cap = config.server.max_connections.min(Semaphore::MAX_PERMITS);
    server::Limits {
        header_read_timeout: config.server.header_read_timeout.get(),
        connections: Arc::new(Semaphore::new(cap)),
        max_header_bytes: config.server.max_header_bytes,
        active_connections: None,
    }
}

/// Everything the proxy needs before it accepts connections.
struct Prepared {
    app: Arc<App>,
    certs: Option<Arc<tls::CertStore>>,
    config_path: Option<PathBuf>,
}

impl Prepared {
    fn new(config: Config, config_path: Option<PathBuf>) -> Result<Self, RunError> {
        let certs = config.tls.as_ref().map(tls::CertStore::load).transpose()?;
        Ok(Prepared {
            app: Arc::new(App::new(config)?),
            certs,
            config_path,
        })
    }

    async fn serve(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> Result<(), RunError> {
        let Prepared {
            app,
            certs,
            config_path,
        } = self;
        let config = app.settings.load().config.clone();
        let grace = config.server.shutdown_grace.get();
        let bound = listener.local_addr().unwrap_or(config.listen);
        // The caller's token starts the shutdown; this one stops the listeners and the
        // background tasks once readiness reports draining.
        let stopping = CancellationToken::new();
        let tracker = TaskTracker::new();

        let metrics_server = match config.metrics_listen {
            Some(addr) => {
                let listener = bind("metrics_listen", addr).await?;
                tracing::info!("metrics on http://{addr}/metrics");
                let app = app.clone();
                let handler = move |req: http::Request<hyper::body::Incoming>, _conn| {
                    let resp = metrics_response(&app, req.method(), req.uri().path());
                    async move { resp }
                };
                Some(tokio::spawn(server::serve(
                    listener,
                    None,
                    limits(&config),
                    handler,
                    stopping.clone(),
                    grace,
                )))
            }
            None => None,
        };

        tracker.spawn(reload::watch(
            app.clone(),
            certs.clone(),
            config_path,
            config.tls.as_ref().map(|t| t.reload_interval.get()),
            stopping.clone(),
        ));
        // Readiness waits for the signing keys; the listener serves (and /healthz answers)
        // meanwhile, and requests needing keys fail closed until they arrive.
        {
            let app = app.clone();
            let cancel = stopping.clone();
            let refresher_tracker = tracker.clone();
            tracker.spawn(async move {
                app.jwks.load_until_ready(&cancel).await;
                if app.jwks.is_ready() {
                    tracing::info!(keys = app.jwks.key_count(), "signing keys loaded");
                }
                app.jwks.spawn_refresher(&refresher_tracker, cancel);
            });
        }
        app.readiness.set_loaded();

        let acceptor = certs.map(|c| tokio_rustls::TlsAcceptor::from(c.server_config()));
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        // One cap for all workers: their accept loops share the semaphore.
        let mut server_limits = limits(&config);
        server_limits.active_connections = Some(app.metrics.connections_gauge());
        let serve_worker = {
            let app = app.clone();
            let stopping = stopping.clone();
            move |_index, listener| {
                // Boxed: the request future holds every phase's state (several KB), and
                // hyper moves it a few times per request; a box makes each move a pointer
                // copy.
                let handler = {
                    let app = app.clone();
                    move |req, conn| Box::pin(dispatch::handle(app.clone(), req, conn))
                };
                server::serve(
                    listener,
                    acceptor.clone(),
                    server_limits.clone(),
                    handler,
                    stopping.clone(),
                    grace,
                )
            }
        };
        // Bound by tokio (SO_REUSEADDR, a 1024-connection backlog), served by the
        // workers: each registers a duplicate of the socket with its own runtime.
        let started = listener
            .into_std()
            .and_then(|l| Workers::start(app.upstream.workers(), l, serve_worker));
        let mut workers = match started {
            Ok(workers) => workers,
            Err(e) => {
                stopping.cancel();
                return Err(RunError::Workers(e));
            }
        };
        tracing::info!(
            address = %bound,
            upstream = %config.upstream,
            workers = workers.count(),
            "cognito-sidecar listening on {scheme}://{bound}"
        );

        // A worker's accept loop ends only when told to, or by a panic. The process must
        // not limp on with fewer workers unnoticed, so that shuts it down.
        let mut crashed = tokio::select! {
            _ = shutdown.cancelled() => None,
            Some(exit) = workers.next_exit() => {
                tracing::error!(worker = exit.index, "a worker thread stopped unexpectedly; shutting down");
                Some(exit.index)
            }
        };
        let deadline = tokio::time::Instant::now() + grace;
        tracing::info!(
            grace_secs = grace.as_secs(),
            "shutting down: draining connections"
        );
        app.readiness.set_draining();
        stopping.cancel();
        if let Some(exit) = workers.all_exited().await {
            crashed = crashed.or(Some(exit.index));
        }
        if let Some(metrics) = metrics_server {
            let _ = metrics.await;
        }
        app.upstream
            .tunnels
            .shutdown(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await;
        tracker.close();
        tracker.wait().await;
        // Tunnels and upstream connections run on the workers' runtimes: only now may
        // those stop.
        workers.join(WORKERS_STOP).await;
        tracing::info!("stopped");
        match crashed {
            Some(index) => Err(RunError::WorkerStopped(index)),
            None => Ok(()),
        }
    }
}

/// `GET /metrics` on the metrics listener; nothing else is served there.
fn metrics_response(app: &App, method: &Method, path: &str) -> Response<Body> {
    if path != "/metrics" || !matches!(*method, Method::GET | Method::HEAD) {
        return respond::json_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "only /metrics is served here",
        );
    }
    let text = app.metrics.render(
        app.jwks.fetch_ok(),
        app.jwks.fetch_failed(),
        app.upstream.tunnels.open_count(),
    );
    let mut resp = Response::new(respond::full(text));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}
