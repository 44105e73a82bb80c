//! JWT decoding before the signature check and the claim checks after it (SPEC §7,
//! RFC 7515 §7.1, RFC 8725; peers.md §4 "Token validation"): only three clean parts
//! split, only `alg: RS256` with a `kid` selects a key, and a claim set passes only when
//! every documented condition holds.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use super::{ensure, Violation};
use crate::config::TokenUse;
use crate::tokens::checks::{check, Envelope, Expected, Policy};
use crate::tokens::compact::{key_id, split, unverified_token_use};
use crate::tokens::{AccessClaims, IdClaims, MAX_TOKEN_BYTES};

const COMPACT: &str = "tokens::compact";
const CHECKS: &str = "tokens::checks::check";

/// A token built from header and claims JSON as an attacker would, with a junk
/// signature; lets the fuzzer reach past the base64 layer.
pub fn assemble(header: &[u8], payload: &[u8]) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

fn decoded_object(part: &str) -> Option<serde_json::Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// For any string: `split` accepts only three non-empty base64url parts within
/// [`MAX_TOKEN_BYTES`]; `key_id` returns a kid only for a JSON-object header with
/// `alg` exactly `RS256`, that kid, and no `crit`; the unverified `token_use` is only
/// `access` or `id` as written.
pub fn check_compact(token: &str) -> Result<(), Violation> {
    let Ok(parts) = split(token) else {
        return Ok(());
    };
    let is_b64url = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    ensure(
        token.len() <= MAX_TOKEN_BYTES
            && [parts.header, parts.payload, parts.signature]
                .into_iter()
                .all(is_b64url)
            && [parts.header, parts.payload, parts.signature].join(".") == token,
        COMPACT,
        || "split accepted a token that is not three base64url parts".to_owned(),
    )?;
    if let Ok(kid) = key_id(parts.header) {
        let header = decoded_object(parts.header);
        let holds = header.as_ref().is_some_and(|h| {
            h.get("alg") == Some(&Value::from("RS256"))
                && h.get("kid") == Some(&Value::from(kid.as_str()))
                && !kid.is_empty()
                && h.get("crit").is_none_or(Value::is_null)
        });
        ensure(holds, COMPACT, || {
            "key_id accepted a header that is not alg RS256 with that kid".to_owned()
        })?;
    }
    if let Ok(token_use) = unverified_token_use(parts.payload) {
        let written = match token_use {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
        };
        let payload = decoded_object(parts.payload);
        ensure(
            payload.is_some_and(|p| p.get("token_use") == Some(&Value::from(written))),
            COMPACT,
            || format!("unverified_token_use returned {written} for another claim"),
        )?;
    }
    Ok(())
}

/// What the verifier expects, for [`check_claims`].
#[derive(Debug, Clone)]
pub struct Expectations {
    pub issuer: String,
    pub client_id: String,
    pub nonce: Option<String>,
    pub bearer_client_ids: Vec<String>,
    pub leeway_secs: u64,
    pub now: u64,
}

/// For any claims JSON: the typed claim structs never panic, and [`check`] passes a
/// claim set as an ID or access token only when `iss`, `token_use`, `exp`, `nbf`,
/// `sub` and `aud`/`nonce` or `client_id` are exactly as required.
pub fn check_claims(json: &[u8], want: &Expectations) -> Result<(), Violation> {
    let Ok(value) = serde_json::from_slice::<Value>(json) else {
        return Ok(());
    };
    if let Ok(id) = IdClaims::deserialize(&value) {
        let _ = id.identity();
    }
    if let Ok(access) = AccessClaims::deserialize(&value) {
        let _ = (access.identity(), access.scopes());
    }
    let Ok(envelope) = Envelope::deserialize(&value) else {
        return Ok(());
    };
    let policy = Policy {
        issuer: &want.issuer,
        leeway_secs: want.leeway_secs,
        now: want.now,
    };
    let id = Expected::Id {
        client_id: &want.client_id,
        nonce: want.nonce.as_deref(),
    };
    let access = Expected::Access {
        client_ids: &want.bearer_client_ids,
    };
    for (expected, token_use) in [(id, "id"), (access, "access")] {
        if check(&envelope, &policy, &expected).is_err() {
            continue;
        }
        let common = envelope.iss.as_deref() == Some(want.issuer.as_str())
            && envelope.token_use.as_deref() == Some(token_use)
            && envelope
                .exp
                .is_some_and(|exp| want.now <= exp.saturating_add(want.leeway_secs))
            && envelope
                .nbf
                .is_none_or(|nbf| nbf <= want.now.saturating_add(want.leeway_secs))
            && envelope.sub.as_deref().is_some_and(|s| !s.is_empty());
        let specific = match expected {
            Expected::Id { client_id, nonce } => {
                envelope.aud.as_str() == Some(client_id)
                    && nonce.is_none_or(|n| envelope.nonce.as_deref() == Some(n))
            }
            Expected::Access { client_ids } => envelope
                .client_id
                .as_ref()
                .is_some_and(|c| client_ids.contains(c)),
        };
        ensure(common && specific, CHECKS, || {
            format!("claims passed as a {token_use} token without meeting every check")
        })?;
    }
    Ok(())
}
