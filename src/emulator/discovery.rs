//! The issuer endpoints: `/{user_pool_id}/.well-known/openid-configuration` in the shape
//! Cognito publishes (cognito-protocol.md §1.7, endpoint URLs on the emulator's own
//! origin) and `/{user_pool_id}/.well-known/jwks.json` (§1.8).

use http::{Response, StatusCode};
use serde_json::json;

use super::response::{self, Body};
use super::stats::Stats;
use super::Emulator;

pub fn openid_configuration(emulator: &Emulator) -> Response<Body> {
    let base = &emulator.pool.base_url;
    let issuer = &emulator.pool.issuer;
    response::json(
        StatusCode::OK,
        &json!({
            "authorization_endpoint": format!("{base}/oauth2/authorize"),
            "end_session_endpoint": format!("{base}/logout"),
            "id_token_signing_alg_values_supported": ["RS256"],
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "response_types_supported": ["code", "token"],
            "revocation_endpoint": format!("{base}/oauth2/revoke"),
            "scopes_supported": ["openid", "email", "phone", "profile"],
            "subject_types_supported": ["public"],
            "token_endpoint": format!("{base}/oauth2/token"),
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "userinfo_endpoint": format!("{base}/oauth2/userInfo"),
        }),
    )
}

pub fn jwks(emulator: &Emulator) -> Response<Body> {
    Stats::count(&emulator.stats.jwks_requests);
    response::json(StatusCode::OK, &emulator.keys.load().jwks())
}
