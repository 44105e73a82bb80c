//! The emulator's HTTP server: an accept loop on hyper-util's auto (HTTP/1 + h2c)
//! builder, a connection cap, a header-read timeout, and graceful shutdown when the
//! cancellation token fires.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::Emulator;

/// Slow-client bound: a request head must arrive within this time (also bounds idle
/// keep-alive connections).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests may take to finish after shutdown starts.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Open connections at once; more wait in the kernel's accept queue.
const MAX_CONNECTIONS: usize = 1024;

pub async fn serve(
    emulator: Arc<Emulator>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let mut builder = Builder::new(TokioExecutor::new());
    // hyper has no clock of its own: without a timer the header-read timeout is dropped
    // silently, and setting one without a timer panics per connection (deps.md §1).
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));

    loop {
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(e) => {
                    // Usually EMFILE; back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let emulator = emulator.clone();
        let service = service_fn(move |req| {
            let emulator = emulator.clone();
            async move { Ok::<_, Infallible>(emulator.handle(req).await) }
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("emulator shutdown grace period ended with connections still open");
    }
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::{EmulatorConfig, EmulatorError};

    #[tokio::test]
    async fn serves_in_process_and_stops_when_cancelled() {
        let emulator = Emulator::new(EmulatorConfig::demo()).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(emulator.serve(listener, shutdown.clone()));
        let jwks = reqwest::get(format!(
            "http://{addr}/us-east-1_LOCAL/.well-known/jwks.json"
        ))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
        assert!(jwks.contains("\"alg\":\"RS256\""), "{jwks}");
        shutdown.cancel();
        let stopped = tokio::time::timeout(Duration::from_secs(10), task).await;
        assert!(matches!(stopped, Ok(Ok(Ok(())))));
    }

    #[test]
    fn invalid_config_is_refused_with_its_problems() {
        let mut config = EmulatorConfig::demo();
        config.clients.clear();
        match Emulator::new(config) {
            Err(EmulatorError::Config(problems)) => {
                assert_eq!(problems.0, vec!["clients: list at least one app client"]);
            }
            _ => panic!("expected a config error"),
        }
    }
}
