//! `POST /oauth2/revoke` (cognito-protocol.md §1.5, RFC 7009): revokes a refresh token
//! and every access token issued from it. Unknown or already-revoked tokens still get
//! `200` (no information leak); an ID/access token gets `unsupported_token_type`.

use http::request::Parts;
use http::{Response, StatusCode};

use super::client_auth::{authenticate, ClientAuthError};
use super::keys::looks_like_jws;
use super::request::{is_form, read_body, Params};
use super::response::{self, Body};
use super::stats::Stats;
use super::Emulator;

pub async fn handle<B>(emulator: &Emulator, parts: &Parts, body: B) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Stats::count(&emulator.stats.revoke_requests);
    let bad_request = |code| response::oauth_error(StatusCode::BAD_REQUEST, code);
    if !is_form(&parts.headers) {
        return bad_request("invalid_request");
    }
    let Ok(bytes) = read_body(body).await else {
        return bad_request("invalid_request");
    };
    let form = Params::parse(&bytes);
    let client = match authenticate(&emulator.pool, &parts.headers, &form) {
        Ok(client) => client,
        Err(ClientAuthError::InvalidRequest) => return bad_request("invalid_request"),
        Err(ClientAuthError::InvalidClient) => {
            return response::oauth_error(StatusCode::UNAUTHORIZED, "invalid_client")
        }
    };
    if !client.enable_token_revocation {
        return bad_request("invalid_request");
    }
    let Ok(Some(token)) = form.non_empty("token") else {
        return bad_request("invalid_request");
    };
    match emulator.store.refresh_owner(token) {
        Some((owner, origin_jti)) if owner == client.client_id => {
            emulator.store.revoke_family(&origin_jti);
            response::empty(StatusCode::OK)
        }
        // RFC 7009 §2.1: a token issued to another client is refused.
        Some(_) => bad_request("unauthorized_client"),
        None if looks_like_jws(token) => bad_request("unsupported_token_type"),
        None => response::empty(StatusCode::OK),
    }
}
