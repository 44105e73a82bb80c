//! The `/_emulator/*` test hooks (documented in the module doc of [`super`]); every
//! path is a 404 unless `hooks.enabled` is true.

use std::time::Duration;

use http::request::Parts;
use http::{Method, Response, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::request::read_body;
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

const DAY: u64 = 24 * 3600;

pub async fn handle<B>(emulator: &Emulator, parts: &Parts, body: B) -> Response<Body>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if !emulator.pool.hooks_enabled {
        return response::not_found();
    }
    let post = parts.method == Method::POST;
    let result = match parts.uri.path() {
        "/_emulator/stats" if parts.method == Method::GET => Ok(emulator.stats.snapshot()),
        "/_emulator/rotate-keys" if post => rotate_keys(emulator).await,
        "/_emulator/revoke-user" if post => match read_json::<Username, _>(body).await {
            Ok(req) => revoke_user(emulator, &req.username),
            Err(e) => Err(e),
        },
        "/_emulator/token-lifetimes" if post => match read_json::<Lifetimes, _>(body).await {
            Ok(req) => token_lifetimes(emulator, &req),
            Err(e) => Err(e),
        },
        "/_emulator/set-groups" if post => match read_json::<Groups, _>(body).await {
            Ok(req) => set_groups(emulator, req),
            Err(e) => Err(e),
        },
        _ => return response::not_found(),
    };
    match result {
        Ok(value) => response::json(StatusCode::OK, &value),
        Err(message) => response::json(StatusCode::BAD_REQUEST, &json!({ "error": message })),
    }
}

async fn read_json<T: DeserializeOwned, B>(body: B) -> Result<T, String>
where
    B: http_body::Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let bytes = read_body(body).await.map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("client: invalid JSON body: {e}"))
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

fn revoke_user(emulator: &Emulator, username: &str) -> Result<serde_json::Value, String> {
    let user = emulator
        .pool
        .user(username)
        .ok_or_else(|| format!("client: no user `{username}` in the pool"))?;
    let revoked = emulator.store.revoke_user(&user.username);
    Ok(json!({ "username": user.username, "revoked_sign_ins": revoked }))
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
    let user = emulator
        .pool
        .user(&req.username)
        .ok_or_else(|| format!("username: no user `{}` in the pool", req.username))?;
    if let Some(bad) = req
        .groups
        .iter()
        .find(|g| g.is_empty() || g.len() > 128 || g.chars().any(char::is_control))
    {
        return Err(format!(
            "groups: `{}` must be 1-128 characters without control characters",
            bad.escape_debug()
        ));
    }
    let mut groups = Vec::new();
    for g in req.groups {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    emulator.store.set_groups(&user.username, groups.clone());
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
