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
}
