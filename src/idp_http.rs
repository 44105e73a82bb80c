//! How the sidecar speaks HTTP to Cognito (token, revoke and JWKS endpoints): one
//! `reqwest` client with timeouts and no redirect following, and a body reader with a
//! hard size cap.
//!
//! Redirects are never followed: a token endpoint that answers 3xx is misbehaving, and
//! following it would let whoever controls the `Location` steer our client secret and
//! codes elsewhere (RFC 9700 §4.11; the `oauth2` crate's docs warn about the same SSRF).

use std::time::Duration;

use bytes::{Bytes, BytesMut};

/// Upper bound for establishing a TCP/TLS connection to the IdP; the overall request
/// timeout still applies on top.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Builds the client used for every call to Cognito: `timeout` bounds each whole request
/// (`cognito.timeout` in the config), connecting gets at most 2 s of it.
pub fn client(timeout: Duration) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
        .timeout(timeout)
        .build()
}

/// Why a response body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the response body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("reading the response body failed: {0}")]
    Transport(#[source] reqwest::Error),
}

/// Reads the whole body, refusing anything over `limit` bytes. The declared
/// `Content-Length` is checked first so an oversized answer is dropped without reading.
pub async fn read_capped(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Bytes, BodyError> {
    if response
        .content_length()
        .is_some_and(|declared| declared > limit as u64)
    {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| BodyError::Transport(e.without_url()))?
    {
        if body.len().saturating_add(chunk.len()) > limit {
            return Err(BodyError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A short, secret-free description of a transport failure for logs and errors.
/// (`reqwest::Error`'s own text includes the URL, which for the token endpoint is
/// harmless, but this keeps messages uniform and free of request details.)
pub fn describe(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "the request timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the response could not be read"
    } else {
        "the request failed"
    }
}
