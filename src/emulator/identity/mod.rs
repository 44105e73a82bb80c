//! The emulator's `cognito-identity` service (cognito-protocol.md §4): the configured
//! identity pools, served as the AWS JSON 1.1 API at `POST /` on the emulator's address
//! — `X-Amz-Target: AWSCognitoIdentityService.GetId` and `.GetCredentialsForIdentity`,
//! `Content-Type: application/x-amz-json-1.1`, unsigned like the real calls (§4.1).
//!
//! Users log in with an ID token of the emulator's own user pool (checked in [`login`]);
//! guests get identities when their pool allows it (§4.4). Credentials are fake but
//! well-formed ([`credentials`]); errors have Cognito's shape,
//! `400 {"__type":"NotAuthorizedException","message":…}`.

mod credentials;
mod identities;
mod login;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::request::Parts;
use http::{HeaderMap, Response, StatusCode};
use serde_json::{json, Map, Value};

use super::config::{EmulatorConfig, IdentityPoolConfig};
use super::request::read_body;
use super::response::{self, Body};
use super::stats::Stats;
use super::Emulator;

use identities::{Identities, Owner, Record};
use login::LoginError;

/// AWS JSON 1.1 (§4.1).
const JSON_1_1: &str = "application/x-amz-json-1.1";
const TARGET_PREFIX: &str = "AWSCognitoIdentityService.";

/// The identity pools and the identities they handed out.
#[derive(Debug)]
pub struct IdentityService {
    pools: Vec<IdentityPoolConfig>,
    identities: Identities,
}

impl IdentityService {
    pub fn new(config: &EmulatorConfig) -> Self {
        Self {
            pools: config.identity_pools.clone(),
            identities: Identities::default(),
        }
    }

    fn pool(&self, id: &str) -> Option<&IdentityPoolConfig> {
        self.pools.iter().find(|p| p.id == id)
    }
}

/// An error answer (HTTP 400): `__type` and `message`, as the service sends them.
struct Fault {
    kind: &'static str,
    message: String,
}

fn fault(kind: &'static str, message: impl Into<String>) -> Fault {
    Fault {
        kind,
        message: message.into(),
    }
}

impl From<LoginError> for Fault {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::NotAuthorized(m) => fault("NotAuthorizedException", m),
            LoginError::InvalidParameter(m) => fault("InvalidParameterException", m),
        }
    }
}

fn answer(status: StatusCode, body: &Value) -> Response<Body> {
    let resp = response::with_header(response::json(status, body), CONTENT_TYPE, JSON_1_1);
    response::with_header(
        resp,
        http::HeaderName::from_static("x-amzn-requestid"),
        &uuid::Uuid::new_v4().to_string(),
    )
}

/// `POST /`: one call of the `cognito-identity` API.
pub async fn handle<B>(emulator: &Emulator, parts: &Parts, body: B) -> Response<Body>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    Stats::count(&emulator.stats.identity_requests);
    let result = match read_body(body).await {
        Ok(bytes) => call(emulator, &parts.headers, &bytes),
        Err(e) => Err(fault("SerializationException", e.to_string())),
    };
    match result {
        Ok(value) => answer(StatusCode::OK, &value),
        Err(f) => answer(
            StatusCode::BAD_REQUEST,
            &json!({ "__type": f.kind, "message": f.message }),
        ),
    }
}

fn call(emulator: &Emulator, headers: &HeaderMap, body: &[u8]) -> Result<Value, Fault> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let json_1_1 = text("content-type")
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(JSON_1_1));
    if !json_1_1 {
        return Err(fault(
            "SerializationException",
            format!("Content-Type must be {JSON_1_1}"),
        ));
    }
    let operation = text("x-amz-target")
        .and_then(|t| t.strip_prefix(TARGET_PREFIX))
        .unwrap_or_default();
    let request = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => map,
        _ => {
            return Err(fault(
                "SerializationException",
                "the request body must be a JSON object",
            ))
        }
    };
    let now = emulator.now().as_secs();
    match operation {
        "GetId" => get_id(emulator, &request, now),
        "GetCredentialsForIdentity" => get_credentials(emulator, &request, now),
        _ => Err(fault(
            "UnknownOperationException",
            "the emulator implements GetId and GetCredentialsForIdentity (X-Amz-Target: AWSCognitoIdentityService.<Operation>)",
        )),
    }
}

/// A required string member, else `InvalidParameterException` naming it.
fn required<'a>(request: &'a Map<String, Value>, name: &str) -> Result<&'a str, Fault> {
    request
        .get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            fault(
                "InvalidParameterException",
                format!("1 validation error detected: Value at '{name}' failed to satisfy constraint: Member must not be null"),
            )
        })
}

/// `Logins`, when present and not empty.
fn logins(request: &Map<String, Value>) -> Result<Option<&Map<String, Value>>, Fault> {
    match request.get("Logins") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) if map.is_empty() => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(fault(
            "InvalidParameterException",
            "Logins must be a map of provider names to tokens",
        )),
    }
}

fn region(pool_id: &str) -> &str {
    pool_id.split_once(':').map_or(pool_id, |(r, _)| r)
}

fn register(emulator: &Emulator, identity_id: &str, record: Record) -> Result<(), Fault> {
    emulator
        .identity
        .identities
        .register(identity_id, record)
        .map_err(|_| {
            fault(
                "LimitExceededException",
                "too many identities in the emulator; restart it",
            )
        })
}

fn get_id(emulator: &Emulator, request: &Map<String, Value>, now: u64) -> Result<Value, Fault> {
    let pool_id = required(request, "IdentityPoolId")?;
    let pool = emulator.identity.pool(pool_id).ok_or_else(|| {
        fault(
            "ResourceNotFoundException",
            format!("IdentityPool '{pool_id}' not found."),
        )
    })?;
    let (identity_id, owner) = match logins(request)? {
        Some(logins) => {
            let sub = login::verify(emulator, pool, logins, now)?;
            let provider = login::provider_name(&emulator.pool.issuer);
            let id = credentials::user_identity_id(region(pool_id), pool_id, provider, &sub);
            (id, Owner::User(sub))
        }
        None if pool.allow_unauthenticated => (
            credentials::guest_identity_id(region(pool_id)),
            Owner::Guest,
        ),
        None => {
            return Err(fault(
                "NotAuthorizedException",
                "Unauthenticated access is not supported for this identity pool.",
            ))
        }
    };
    register(
        emulator,
        &identity_id,
        Record {
            pool_id: pool_id.to_string(),
            owner,
        },
    )?;
    Ok(json!({ "IdentityId": identity_id }))
}

fn get_credentials(
    emulator: &Emulator,
    request: &Map<String, Value>,
    now: u64,
) -> Result<Value, Fault> {
    let identity_id = required(request, "IdentityId")?;
    let record = emulator
        .identity
        .identities
        .get(identity_id)
        .ok_or_else(|| {
            fault(
                "ResourceNotFoundException",
                format!("Identity '{identity_id}' not found."),
            )
        })?;
    let pool = emulator.identity.pool(&record.pool_id).ok_or_else(|| {
        fault(
            "ResourceNotFoundException",
            format!("Identity '{identity_id}' not found."),
        )
    })?;
    match (logins(request)?, &record.owner) {
        (Some(logins), Owner::User(owner)) => {
            let sub = login::verify(emulator, pool, logins, now)?;
            if sub != *owner {
                return Err(fault(
                    "NotAuthorizedException",
                    "Logins don't match. Please include at least one valid login for this identity or identity pool.",
                ));
            }
        }
        (Some(_), Owner::Guest) => {
            return Err(fault(
                "NotAuthorizedException",
                "Logins don't match. Please include at least one valid login for this identity or identity pool.",
            ))
        }
        (None, Owner::Guest) if pool.allow_unauthenticated => {}
        (None, Owner::Guest) => {
            return Err(fault(
                "NotAuthorizedException",
                "Unauthenticated access is not supported for this identity pool.",
            ))
        }
        (None, Owner::User(_)) => {
            return Err(fault(
                "NotAuthorizedException",
                format!("Access to Identity '{identity_id}' is forbidden."),
            ))
        }
    }
    let expires_at = now.saturating_add(pool.credentials_validity.get().as_secs());
    Ok(json!({
        "IdentityId": identity_id,
        "Credentials": credentials::credentials(expires_at),
    }))
}
