//! The `/_emulator/*` test hooks (documented in the module doc of [`super`]); every
//! path is a 404 unless `hooks.enabled` is true. The user-administration hooks (Cognito's
//! `Admin*` operations and the outbox) live in [`admin`].

mod admin;

use std::time::Duration;

use http::request::Parts;
use http::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::request::{read_body, Params};
use super::response::{self, Body};
use super::store::LifetimeOverride;
use super::Emulator;
use crate::config::parse_duration;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Username {
    username: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Lifetimes {
    client_id: String,
    #[serde(default)]
    id_token_validity: Option<String>,
    #[serde(default)]
    access_token_validity: Option<String>,
    #[serde(default)]
    refresh_token_validity: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Groups {
    username: String,
    groups: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdvanceClock {
    seconds: u64,
}

const DAY: u64 = 24 * 3600;

pub async fn handle<B>(emulator: &Emulator, parts: &Parts, body: B) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if !emulator.pool.hooks_enabled {
        return response::not_found();
    }
    let path = parts.uri.path();
    let result = if parts.method == Method::GET {
        match path {
            "/_emulator/stats" => Ok(emulator.stats.snapshot()),
            "/_emulator/outbox" => Ok(admin::outbox(
                emulator,
                &Params::from_query(parts.uri.query()),
            )),
            _ => return response::not_found(),
        }
    } else if parts.method == Method::POST {
        let bytes = match read_body(body).await {
            Ok(bytes) => bytes,
            Err(e) => return error(e.to_string()),
        };
        match post(emulator, path, &bytes).await {
            Some(result) => result,
            None => return response::not_found(),
        }
    } else {
        return response::not_found();
    };
    match result {
        Ok(value) => response::json(StatusCode::OK, &value),
        Err(message) => error(message),
    }
}

fn error(message: String) -> Response<Body> {
    response::json(StatusCode::BAD_REQUEST, &json!({ "error": message }))
}

/// The POST hooks; `None` for an unknown path.
async fn post(
    emulator: &Emulator,
    path: &str,
    body: &[u8],
) -> Option<Result<serde_json::Value, String>> {
    Some(match path {
        "/_emulator/rotate-keys" => rotate_keys(emulator).await,
        "/_emulator/revoke-user" | "/_emulator/admin-user-global-sign-out" => {
            parse::<Username>(body).and_then(|req| revoke_user(emulator, &req.username))
        }
        "/_emulator/token-lifetimes" => {
            parse::<Lifetimes>(body).and_then(|req| token_lifetimes(emulator, &req))
        }
        "/_emulator/set-groups" => parse::<Groups>(body).and_then(|req| set_groups(emulator, req)),
        "/_emulator/advance-clock" => {
            parse::<AdvanceClock>(body).map(|req| advance_clock(emulator, req.seconds))
        }
        other => return admin::handle(emulator, other, body),
    })
}

/// A hook's JSON body; unknown keys are errors, as in the config.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("client: invalid JSON body: {e}"))
}

async fn rotate_keys(emulator: &Emulator) -> Result<serde_json::Value, String> {
    let current = emulator.keys.load_full();
    // RSA key generation takes a while; keep it off the request threads.
    let rotated = tokio::task::spawn_blocking(move || current.rotated())
        .await
        .map_err(|_| "internal: key generation task failed".to_string())?
        .map_err(|e| e.to_string())?;
    let answer = json!({
        "id_kid": rotated.current.id.kid(),
        "access_kid": rotated.current.access.kid(),
    });
    emulator.keys.store(std::sync::Arc::new(rotated));
    Ok(answer)
}

/// Global sign-out (Cognito `AdminUserGlobalSignOut`).
fn revoke_user(emulator: &Emulator, username: &str) -> Result<serde_json::Value, String> {
    let user = admin::user(emulator, username)?;
    let revoked = emulator.store.revoke_user(&user.username);
    Ok(json!({ "username": user.username, "revoked_sign_ins": revoked }))
}

/// Moves the emulator's clock forward (see [`super::clock`]).
fn advance_clock(emulator: &Emulator, seconds: u64) -> serde_json::Value {
    let offset = emulator.clock.advance(Duration::from_secs(seconds));
    json!({ "offset_seconds": offset.as_secs(), "now": emulator.now().as_secs() })
}

/// Parses a hook duration: at least 1 s, at most `max_secs`.
fn duration(key: &str, raw: Option<&str>, max_secs: u64) -> Result<Option<Duration>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let value = parse_duration(raw).map_err(|e| format!("{key}: {e}"))?;
    if value < Duration::from_secs(1) || value > Duration::from_secs(max_secs) {
        return Err(format!(
            "{key}: must be between 1s and {}",
            humantime::format_duration(Duration::from_secs(max_secs))
        ));
    }
    Ok(Some(value))
}

fn token_lifetimes(emulator: &Emulator, req: &Lifetimes) -> Result<serde_json::Value, String> {
    if emulator.pool.client(&req.client_id).is_none() {
        return Err(format!("client_id: no app client `{}`", req.client_id));
    }
    let current = emulator.store.lifetimes(&req.client_id);
    let next = LifetimeOverride {
        id: duration("id_token_validity", req.id_token_validity.as_deref(), DAY)?.or(current.id),
        access: duration(
            "access_token_validity",
            req.access_token_validity.as_deref(),
            DAY,
        )?
        .or(current.access),
        refresh: duration(
            "refresh_token_validity",
            req.refresh_token_validity.as_deref(),
            3650 * DAY,
        )?
        .or(current.refresh),
    };
    emulator.store.set_lifetimes(&req.client_id, next);
    Ok(json!({ "client_id": req.client_id }))
}

fn set_groups(emulator: &Emulator, req: Groups) -> Result<serde_json::Value, String> {
    let user = admin::user(emulator, &req.username)?;
    for group in &req.groups {
        admin::check_group(group)?;
    }
    let mut groups = Vec::new();
    for g in req.groups {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    emulator
        .users
        .update(&user.username, |u| u.groups = groups.clone());
    Ok(json!({ "username": user.username, "groups": groups }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hook_durations_allow_one_second_and_cap() {
        assert_eq!(
            duration("k", Some("1s"), DAY),
            Ok(Some(Duration::from_secs(1)))
        );
        assert_eq!(duration("k", None, DAY), Ok(None));
        assert!(duration("k", Some("500ms"), DAY).is_err());
        assert!(duration("k", Some("2d"), DAY).is_err());
        assert!(duration("k", Some("60"), DAY).is_err());
    }
}
