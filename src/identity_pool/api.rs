//! The `cognito-identity` service's AWS JSON 1.1 API — only the two unsigned calls of
//! the enhanced flow, `GetId` and `GetCredentialsForIdentity` (cognito-protocol.md §4.1,
//! §4.3, §4.4). They need no SigV4 signature (service model `authtype: none`), so the
//! sidecar needs no AWS credentials of its own.
//!
//! Request bodies and the reading of answers are pure functions; [`Api`] only adds the
//! HTTP round trip through the shared IdP client (`crate::idp_http`: timeouts, no
//! redirects, capped bodies).

use serde_json::{json, Value};
use url::Url;

use super::credentials::Credentials;
use super::error::IdentityPoolError;

/// AWS JSON 1.1 content type (cognito-protocol.md §4.1).
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// `X-Amz-Target` prefix from the service model.
const TARGET_PREFIX: &str = "AWSCognitoIdentityService.";
/// Largest answer read; a real one is under 3 KB.
const MAX_RESPONSE: usize = 64 * 1024;
/// Longest session token accepted (real ones are 1–2 KB).
const MAX_SESSION_TOKEN: usize = 8 * 1024;

/// One `Logins` entry: the provider name and its token. For a user pool the provider is
/// the issuer without `https://` and the token is an **ID token** (§4.2).
#[derive(Clone, Copy)]
pub struct Login<'a> {
    pub provider: &'a str,
    pub id_token: &'a str,
}

/// The provider name of a user pool's issuer: the issuer without its scheme
/// (`cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E`).
pub fn provider_name(issuer: &str) -> String {
    let bare = issuer
        .strip_prefix("https://")
        .or_else(|| issuer.strip_prefix("http://"))
        .unwrap_or(issuer);
    bare.trim_end_matches('/').to_string()
}

/// The `GetId` request: a new identity for a guest (no `Logins`, §4.4), the user's
/// own identity otherwise.
pub fn get_id_request(pool_id: &str, login: Option<Login<'_>>) -> Value {
    let mut body = json!({ "IdentityPoolId": pool_id });
    if let (Some(login), Some(map)) = (login, body.as_object_mut()) {
        map.insert("Logins".into(), logins(login));
    }
    body
}

/// The `GetCredentialsForIdentity` request; `Logins` must be absent for a guest (§4.4).
pub fn get_credentials_request(identity_id: &str, login: Option<Login<'_>>) -> Value {
    let mut body = json!({ "IdentityId": identity_id });
    if let (Some(login), Some(map)) = (login, body.as_object_mut()) {
        map.insert("Logins".into(), logins(login));
    }
    body
}

fn logins(login: Login<'_>) -> Value {
    let mut map = serde_json::Map::new();
    map.insert(login.provider.to_string(), Value::from(login.id_token));
    Value::Object(map)
}

/// Reads an answer: 2xx must be a JSON object; anything else is classified by its
/// `__type` (body) or `X-Amzn-ErrorType` (header).
pub fn interpret(
    status: u16,
    error_type_header: Option<&str>,
    body: &[u8],
) -> Result<Value, IdentityPoolError> {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    if (200..300).contains(&status) {
        return match parsed {
            Some(value @ Value::Object(_)) => Ok(value),
            _ => Err(IdentityPoolError::BadResponse(
                "a success answer that is not a JSON object",
            )),
        };
    }
    let text = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
    };
    let kind = text("__type").or(error_type_header);
    let message = text("message").or_else(|| text("Message"));
    Err(IdentityPoolError::from_service(status, kind, message))
}

/// `IdentityId` from a `GetId` answer.
pub fn parse_identity_id(answer: &Value) -> Result<String, IdentityPoolError> {
    answer
        .get("IdentityId")
        .and_then(Value::as_str)
        .filter(|id| is_identity_id(id))
        .map(str::to_string)
        .ok_or(IdentityPoolError::BadResponse(
            "GetId answered without a valid IdentityId",
        ))
}

/// The credentials of a `GetCredentialsForIdentity` answer for `identity_id`. Every part
/// must be safe to put in a header, so forwarding never has to drop or mangle one.
pub fn parse_credentials(
    answer: &Value,
    identity_id: &str,
) -> Result<Credentials, IdentityPoolError> {
    let bad = IdentityPoolError::BadResponse;
    if answer.get("IdentityId").and_then(Value::as_str) != Some(identity_id) {
        return Err(bad(
            "GetCredentialsForIdentity answered for another IdentityId",
        ));
    }
    let creds = answer.get("Credentials").ok_or(bad(
        "GetCredentialsForIdentity answered without Credentials",
    ))?;
    let text = |name: &str| creds.get(name).and_then(Value::as_str);
    let access_key_id = text("AccessKeyId")
        .filter(|k| (16..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_alphanumeric()))
        .ok_or(bad("Credentials.AccessKeyId is missing or malformed"))?;
    let secret = text("SecretKey")
        .filter(|s| header_safe(s, 256))
        .ok_or(bad("Credentials.SecretKey is missing or malformed"))?;
    let token = text("SessionToken")
        .filter(|s| header_safe(s, MAX_SESSION_TOKEN))
        .ok_or(bad("Credentials.SessionToken is missing or malformed"))?;
    // JSON 1.1 timestamps are epoch seconds, possibly fractional (§4.3).
    let expires_at = creds
        .get("Expiration")
        .and_then(Value::as_f64)
        .filter(|e| e.is_finite() && *e >= 0.0 && *e < 1e15)
        .ok_or(bad(
            "Credentials.Expiration is missing or not epoch seconds",
        ))?;
    Ok(Credentials::new(
        identity_id.to_string(),
        access_key_id.to_string(),
        secret.to_string(),
        token.to_string(),
        // In range and non-negative (checked above), so the cast only drops the fraction.
        expires_at.floor() as u64,
    ))
}

/// `[\w-]+:[0-9a-f-]+`, at most 55 characters (the API's `IdentityId` pattern).
pub fn is_identity_id(id: &str) -> bool {
    let Some((region, rest)) = id.split_once(':') else {
        return false;
    };
    id.len() <= 55
        && !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
}

/// Visible ASCII without spaces, non-empty, at most `max` bytes.
fn header_safe(value: &str, max: usize) -> bool {
    !value.is_empty() && value.len() <= max && value.bytes().all(|b| b.is_ascii_graphic())
}

/// The HTTP side: one identity pool at one endpoint.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    endpoint: Url,
    pool_id: String,
}

impl Api {
    pub fn new(http: reqwest::Client, endpoint: Url, pool_id: String) -> Self {
        Self {
            http,
            endpoint,
            pool_id,
        }
    }

    pub fn pool_id(&self) -> &str {
        &self.pool_id
    }

    /// `GetId`: the identity of `login`'s user, or a new guest identity without one.
    pub async fn get_id(&self, login: Option<Login<'_>>) -> Result<String, IdentityPoolError> {
        let answer = self
            .call("GetId", get_id_request(&self.pool_id, login))
            .await?;
        parse_identity_id(&answer)
    }

    /// `GetCredentialsForIdentity` for `identity_id` (with the login for a user).
    pub async fn get_credentials(
        &self,
        identity_id: &str,
        login: Option<Login<'_>>,
    ) -> Result<Credentials, IdentityPoolError> {
        let answer = self
            .call(
                "GetCredentialsForIdentity",
                get_credentials_request(identity_id, login),
            )
            .await?;
        parse_credentials(&answer, identity_id)
    }

    async fn call(&self, operation: &str, body: Value) -> Result<Value, IdentityPoolError> {
        let unavailable = |reason: &str| IdentityPoolError::Unavailable {
            reason: format!("{operation}: {reason}"),
        };
        let response = self
            .http
            .post(self.endpoint.clone())
            .header(http::header::CONTENT_TYPE, CONTENT_TYPE)
            .header("x-amz-target", format!("{TARGET_PREFIX}{operation}"))
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| unavailable(crate::idp_http::describe(&e)))?;
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = crate::idp_http::read_capped(response, MAX_RESPONSE)
            .await
            .map_err(|e| unavailable(&e.to_string()))?;
        interpret(status, error_type.as_deref(), &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "us-east-1:5d6c7b8a-9e0f-1a2b-3c4d-5e6f7a8b9c0d";

    #[test]
    fn provider_is_the_issuer_without_scheme() {
        assert_eq!(
            provider_name("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E"),
            "cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E"
        );
        assert_eq!(
            provider_name("http://127.0.0.1:4181/us-east-1_LOCAL/"),
            "127.0.0.1:4181/us-east-1_LOCAL"
        );
    }

    #[test]
    fn requests_carry_logins_only_for_users() {
        let login = Login {
            provider: "cognito-idp.us-east-1.amazonaws.com/us-east-1_X",
            id_token: "eyJ.id.token",
        };
        assert_eq!(
            get_id_request("us-east-1:p", Some(login)),
            json!({"IdentityPoolId": "us-east-1:p", "Logins": {"cognito-idp.us-east-1.amazonaws.com/us-east-1_X": "eyJ.id.token"}})
        );
        assert_eq!(
            get_id_request("us-east-1:p", None),
            json!({"IdentityPoolId": "us-east-1:p"})
        );
        assert_eq!(
            get_credentials_request(ID, None),
            json!({ "IdentityId": ID })
        );
        assert!(get_credentials_request(ID, Some(login))["Logins"].is_object());
    }

    #[test]
    fn answers_are_read_and_errors_classified() {
        assert_eq!(
            interpret(200, None, br#"{"IdentityId":"x"}"#).unwrap()["IdentityId"],
            "x"
        );
        assert!(matches!(
            interpret(200, None, b"[]"),
            Err(IdentityPoolError::BadResponse(_))
        ));
        assert!(matches!(
            interpret(
                400,
                None,
                br#"{"__type":"NotAuthorizedException","message":"Invalid login token."}"#
            ),
            Err(IdentityPoolError::NotAuthorized { .. })
        ));
        assert!(matches!(
            interpret(400, Some("TooManyRequestsException"), b""),
            Err(IdentityPoolError::Throttled { .. })
        ));
        assert!(matches!(
            interpret(502, None, b"<html>"),
            Err(IdentityPoolError::Unavailable { .. })
        ));
    }

    #[test]
    fn identity_ids_are_checked() {
        assert_eq!(parse_identity_id(&json!({ "IdentityId": ID })).unwrap(), ID);
        for bad in [
            json!({}),
            json!({"IdentityId": 5}),
            json!({"IdentityId": "x"}),
            json!({"IdentityId": "us-east-1:ZZ"}),
            json!({"IdentityId": format!("{ID};x")}),
        ] {
            assert!(parse_identity_id(&bad).is_err(), "{bad}");
        }
    }

    fn answer(creds: Value) -> Value {
        json!({ "IdentityId": ID, "Credentials": creds })
    }

    #[test]
    fn credentials_are_parsed_and_checked() {
        let good = json!({
            "AccessKeyId": "ASIAEXAMPLEKEY123456",
            "SecretKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "SessionToken": "IQoJb3JpZ2luX2Vj+/=",
            "Expiration": 1718003600.5
        });
        let c = parse_credentials(&answer(good.clone()), ID).unwrap();
        assert_eq!(c.expires_at, 1_718_003_600);
        assert_eq!(c.access_key_id, "ASIAEXAMPLEKEY123456");
        assert!(parse_credentials(&answer(good.clone()), "us-east-1:other").is_err());
        for (field, value) in [
            ("AccessKeyId", json!("short")),
            ("AccessKeyId", json!("ASIA EXAMPLE KEY 123456")),
            ("SecretKey", json!("has space in it")),
            ("SecretKey", json!("")),
            ("SessionToken", json!("line\nbreak")),
            ("SessionToken", json!("x".repeat(MAX_SESSION_TOKEN + 1))),
            ("Expiration", json!("2024-06-10T07:13:20Z")),
            ("Expiration", json!(-1)),
            ("Expiration", Value::Null),
        ] {
            let mut creds = good.clone();
            creds[field] = value;
            assert!(parse_credentials(&answer(creds), ID).is_err(), "{field}");
        }
        assert!(parse_credentials(&json!({ "IdentityId": ID }), ID).is_err());
    }
}
