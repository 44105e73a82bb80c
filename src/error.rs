//! Errors that stop the sidecar from starting or serving, classified by who must act.

use crate::tls::TlsError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The operator must free the port or change `listen`.
    #[error(
        "cannot listen on {addr}: {source}; is another process using it? change `{key}` otherwise"
    )]
    Bind {
        key: &'static str,
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    App(#[from] crate::app::AppError),
    /// Out of threads or file descriptors (`server.workers`, `ulimit`).
    #[error("cannot start the worker threads: {0}")]
    Workers(std::io::Error),
    /// A bug: a worker's accept loop ended on its own (its panic is logged before this).
    #[error("worker thread {0} stopped unexpectedly; the sidecar shut down")]
    WorkerStopped(usize),
}
