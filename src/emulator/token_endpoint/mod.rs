//! `POST /oauth2/token` (cognito-protocol.md §1.3): form body only, client
//! authentication, then one of the three grants in [`grants`]. Errors are HTTP 400
//! `{"error":"<code>"}` with `application/json;charset=UTF-8`, as Cognito sends them —
//! `invalid_client` included.

mod grants;
mod issue;

use http::request::Parts;
use http::{Response, StatusCode};
use serde::Serialize;

use super::client_auth::{self, ClientAuthError};
use super::keys::KeyError;
use super::request::{is_form, read_body, Params};
use super::response::{self, Body};
use super::stats::Stats;
use super::Emulator;

/// A refused token request, by its OAuth error code.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("invalid_request")]
    InvalidRequest,
    #[error("invalid_client")]
    InvalidClient,
    #[error("invalid_grant")]
    InvalidGrant,
    #[error("unauthorized_client")]
    UnauthorizedClient,
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    #[error("invalid_scope")]
    InvalidScope,
    #[error(transparent)]
    Internal(#[from] KeyError),
}

impl TokenError {
    fn respond(&self) -> Response<Body> {
        match self {
            TokenError::Internal(e) => {
                tracing::error!(error = %e, "token endpoint failed");
                response::oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error")
            }
            other => response::oauth_error(StatusCode::BAD_REQUEST, &other.to_string()),
        }
    }
}

impl From<ClientAuthError> for TokenError {
    fn from(e: ClientAuthError) -> Self {
        match e {
            ClientAuthError::InvalidRequest => TokenError::InvalidRequest,
            ClientAuthError::InvalidClient => TokenError::InvalidClient,
        }
    }
}

/// The success body, fields in Cognito's order; absent ones are omitted.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub access_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub expires_in: u64,
    pub token_type: &'static str,
}

pub async fn handle<B>(emulator: &Emulator, parts: &Parts, body: B) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Stats::count(&emulator.stats.token_requests);
    let result = match read_form(parts, body).await {
        Ok(form) => exchange(emulator, parts, &form),
        Err(e) => Err(e),
    };
    let response = match result {
        Ok(tokens) => response::json(StatusCode::OK, &tokens),
        Err(e) => e.respond(),
    };
    // The token endpoint answers browsers too (§1.3: `Access-Control-Allow-Origin: *`).
    response::with_header(response, http::header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
}

async fn read_form<B>(parts: &Parts, body: B) -> Result<Params, TokenError>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if !is_form(&parts.headers) {
        return Err(TokenError::InvalidRequest);
    }
    let bytes = read_body(body)
        .await
        .map_err(|_| TokenError::InvalidRequest)?;
    Ok(Params::parse(&bytes))
}

fn exchange(
    emulator: &Emulator,
    parts: &Parts,
    form: &Params,
) -> Result<TokenResponse, TokenError> {
    let grant_type = form
        .non_empty("grant_type")
        .map_err(|_| TokenError::InvalidRequest)?
        .ok_or(TokenError::InvalidRequest)?;
    if !matches!(
        grant_type,
        "authorization_code" | "refresh_token" | "client_credentials"
    ) {
        return Err(TokenError::UnsupportedGrantType);
    }
    let client = client_auth::authenticate(&emulator.pool, &parts.headers, form)?;
    match grant_type {
        "authorization_code" => grants::authorization_code(emulator, client, form),
        "refresh_token" => grants::refresh_token(emulator, client, form),
        _ => grants::client_credentials(emulator, client, form),
    }
}
