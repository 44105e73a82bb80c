//! What Cognito's token and revocation endpoints answer, and how each answer is
//! classified: the IdP said no ([`OAuthError::Rejected`], RFC 6749 §5.2 error codes),
//! or the IdP could not be used ([`OAuthError::Unavailable`]: transport failure,
//! timeout, 5xx, 429, redirects, unreadable bodies).

use serde::Deserialize;

/// Tokens from `/oauth2/token` (RFC 6749 §5.1). `Debug` shows which are present, never
/// their values.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    /// Present when the `openid` scope was granted.
    pub id_token: Option<String>,
    pub access_token: String,
    /// Present after a code exchange, and after a refresh only when the app client
    /// rotates refresh tokens; otherwise keep the one you have (cognito-protocol §1.3).
    pub refresh_token: Option<String>,
    /// Access-token lifetime in seconds; 0 when Cognito did not say (use the token's `exp`).
    pub expires_in: u64,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |present: bool| if present { "<redacted>" } else { "<none>" };
        f.debug_struct("TokenSet")
            .field("id_token", &shown(self.id_token.is_some()))
            .field("access_token", &shown(true))
            .field("refresh_token", &shown(self.refresh_token.is_some()))
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// A failed call to Cognito's OAuth endpoints. Carries no tokens or secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    /// Cognito answered with an OAuth error such as `invalid_grant` (code reused or
    /// expired, refresh token revoked) or `invalid_client` (wrong client secret).
    #[error("Cognito refused the request with `{error}`; the sign-in must start over (for invalid_client, check cognito.client_id and cognito.client_secret)")]
    Rejected { error: String },
    /// Cognito could not be reached or gave no usable answer; nothing was decided.
    #[error("Cognito is unavailable ({reason}); retry later, and check cognito.domain and egress to Cognito")]
    Unavailable { reason: String },
}

impl OAuthError {
    pub(super) fn unavailable(reason: impl Into<String>) -> Self {
        OAuthError::Unavailable {
            reason: reason.into(),
        }
    }
}

#[derive(Deserialize)]
struct RawTokens {
    access_token: String,
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    expires_in: serde_json::Value,
    #[serde(default)]
    token_type: Option<String>,
}

#[derive(Deserialize)]
struct RawError {
    error: String,
}

/// Classifies a `/oauth2/token` answer.
pub(super) fn token_response(status: u16, body: &[u8]) -> Result<TokenSet, OAuthError> {
    if !(200..300).contains(&status) {
        return Err(failure(status, body));
    }
    let raw: RawTokens = serde_json::from_slice(body)
        .map_err(|_| OAuthError::unavailable("the token response is not the expected JSON"))?;
    if raw.access_token.is_empty() {
        return Err(OAuthError::unavailable(
            "the token response has no access_token",
        ));
    }
    // RFC 6749 §7.1: a client must not use a token whose type it does not understand.
    // Cognito writes `Bearer`; compare case-insensitively (cognito-protocol §1.1).
    if raw
        .token_type
        .as_deref()
        .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
    {
        return Err(OAuthError::unavailable(
            "the token response has an unexpected token_type",
        ));
    }
    let expires_in = match &raw.expires_in {
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
        serde_json::Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    };
    Ok(TokenSet {
        id_token: raw.id_token.filter(|t| !t.is_empty()),
        access_token: raw.access_token,
        refresh_token: raw.refresh_token.filter(|t| !t.is_empty()),
        expires_in,
    })
}

/// Classifies a `/oauth2/revoke` answer: 200 with any body is success (Cognito answers
/// 200 even for unknown tokens, RFC 7009 §2.2).
pub(super) fn revoke_response(status: u16, body: &[u8]) -> Result<(), OAuthError> {
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(failure(status, body))
    }
}

/// A non-2xx answer: a 4xx with an OAuth error body is a decision by Cognito; anything
/// else (5xx, 408/429, 3xx since redirects are not followed, or a 4xx without an OAuth
/// error) means Cognito could not be used.
fn failure(status: u16, body: &[u8]) -> OAuthError {
    let decided = (400..500).contains(&status) && status != 408 && status != 429;
    if decided {
        if let Ok(raw) = serde_json::from_slice::<RawError>(body) {
            if let Some(error) = error_code(&raw.error) {
                return OAuthError::Rejected { error };
            }
        }
        return OAuthError::unavailable(format!("HTTP {status} without an OAuth error code"));
    }
    OAuthError::unavailable(format!("HTTP {status}"))
}

/// An `error` value as RFC 6749 §5.2 defines its characters (%x20-21 / %x23-5B /
/// %x5D-7E), at most 64 of them; anything else is not trusted into logs or pages.
fn error_code(raw: &str) -> Option<String> {
    let valid = !raw.is_empty()
        && raw.len() <= 64
        && raw
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E));
    valid.then(|| raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(value: serde_json::Value) -> Vec<u8> {
        value.to_string().into_bytes()
    }

    #[test]
    fn a_full_code_exchange_answer() {
        let set = token_response(
            200,
            &body(json!({"id_token": "i", "access_token": "a", "refresh_token": "r", "expires_in": 3600, "token_type": "Bearer"})),
        )
        .unwrap();
        assert_eq!(
            set,
            TokenSet {
                id_token: Some("i".into()),
                access_token: "a".into(),
                refresh_token: Some("r".into()),
                expires_in: 3600
            }
        );
    }

    #[test]
    fn a_refresh_answer_without_rotation() {
        let set = token_response(200, &body(json!({"id_token": "i", "access_token": "a", "expires_in": "60", "token_type": "bearer"}))).unwrap();
        assert_eq!((set.refresh_token, set.expires_in), (None, 60));
        let bare = token_response(200, &body(json!({"access_token": "a"}))).unwrap();
        assert_eq!((bare.id_token, bare.expires_in), (None, 0));
    }

    #[test]
    fn unusable_success_answers_mean_unavailable() {
        for raw in [
            b"<html>".to_vec(),
            Vec::new(),
            body(json!({"id_token": "i"})),
            body(json!({"access_token": ""})),
            body(json!({"access_token": 5})),
            body(json!({"access_token": "a", "token_type": "mac"})),
        ] {
            assert!(matches!(
                token_response(200, &raw),
                Err(OAuthError::Unavailable { .. })
            ));
        }
    }

    #[test]
    fn oauth_errors_are_rejections() {
        for status in [400, 401, 403] {
            assert_eq!(
                token_response(
                    status,
                    &body(json!({"error": "invalid_grant", "error_description": "x"}))
                ),
                Err(OAuthError::Rejected {
                    error: "invalid_grant".into()
                })
            );
        }
        assert_eq!(
            revoke_response(400, &body(json!({"error": "unsupported_token_type"}))),
            Err(OAuthError::Rejected {
                error: "unsupported_token_type".into()
            })
        );
    }

    #[test]
    fn server_trouble_is_unavailability() {
        for (status, raw) in [
            (500, body(json!({"error": "server_error"}))),
            (503, b"busy".to_vec()),
            (429, body(json!({"error": "slow_down"}))),
            (408, Vec::new()),
            (302, Vec::new()),
            (400, b"<html>bad</html>".to_vec()),
            (400, body(json!({"error": "bad\r\nInjected: yes"}))),
            (400, body(json!({"error": "x".repeat(65)}))),
            (400, body(json!({"error": ""}))),
        ] {
            assert!(
                matches!(
                    token_response(status, &raw),
                    Err(OAuthError::Unavailable { .. })
                ),
                "{status}"
            );
        }
        assert_eq!(revoke_response(200, b""), Ok(()));
        assert!(matches!(
            revoke_response(502, b""),
            Err(OAuthError::Unavailable { .. })
        ));
    }

    #[test]
    fn debug_hides_the_tokens() {
        let set = TokenSet {
            id_token: Some("secret-id".into()),
            access_token: "secret-access".into(),
            refresh_token: Some("secret-refresh".into()),
            expires_in: 1,
        };
        let shown = format!("{set:?}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
