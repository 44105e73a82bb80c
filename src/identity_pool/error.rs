//! What can go wrong when asking the identity pool for credentials, classified by who
//! failed, and how each failure is answered: clear 4xx/5xx JSON that never repeats the
//! service's own message (logged instead) or anything about the sidecar's setup.

use http::header::{HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};

use crate::respond::{self, Body};

/// Longest service message kept for the log.
const MAX_MESSAGE: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityPoolError {
    /// Client: the pool refused the login (a forged, expired or foreign ID token) or,
    /// for a guest, unauthenticated access.
    #[error("the identity pool refused the login ({kind}): {message}")]
    NotAuthorized { kind: String, message: String },
    /// IdP: the service is throttling this pool or account; retry shortly.
    #[error("the identity pool is throttling requests ({kind}); retry shortly")]
    Throttled { kind: String },
    /// IdP: unreachable, timed out, or failing inside.
    #[error("the identity pool service is unavailable: {reason}")]
    Unavailable { reason: String },
    /// Config: the service refused the request itself — an unknown pool or identity, a
    /// pool without this user pool as a provider, an invalid parameter.
    #[error("the identity pool rejected the request ({kind}): {message}; check identity_pool.id and the pool's authentication providers")]
    Rejected { kind: String, message: String },
    /// IdP: the answer was not what the API documents.
    #[error("the identity pool's answer could not be understood: {0}")]
    BadResponse(&'static str),
}

impl IdentityPoolError {
    /// Classifies an AWS JSON 1.1 error by its `__type` (cognito-protocol.md §4.1).
    /// The type may carry a namespace (`com.amazon…#NotAuthorizedException`) or a
    /// `:`-suffix; both are dropped, as the AWS SDKs do.
    pub fn from_service(status: u16, raw_type: Option<&str>, message: Option<&str>) -> Self {
        let kind = raw_type.map(short_type).unwrap_or_default();
        let message: String = message
            .unwrap_or_default()
            .chars()
            .take(MAX_MESSAGE)
            .collect();
        match kind.as_str() {
            "NotAuthorizedException" => Self::NotAuthorized { kind, message },
            "TooManyRequestsException" | "LimitExceededException" | "ThrottlingException" => {
                Self::Throttled { kind }
            }
            "InternalErrorException"
            | "ExternalServiceException"
            | "ServiceUnavailableException" => Self::Unavailable {
                reason: format!("{kind}: {message}"),
            },
            "" if status >= 500 => Self::Unavailable {
                reason: format!("HTTP {status}"),
            },
            "" => Self::BadResponse("an error without a __type"),
            _ if status >= 500 => Self::Unavailable {
                reason: format!("{kind}: {message}"),
            },
            _ => Self::Rejected { kind, message },
        }
    }

    /// The identity a guest cookie names no longer works (deleted, or now needs a login):
    /// the sidecar starts the guest over with a new identity.
    pub fn identity_gone(&self) -> bool {
        match self {
            Self::NotAuthorized { .. } => true,
            Self::Rejected { kind, .. } => kind == "ResourceNotFoundException",
            _ => false,
        }
    }

    /// The answer for the client of `/oauth2/aws-credentials`.
    pub fn response(&self, guest: bool) -> Response<Body> {
        match self {
            Self::NotAuthorized { .. } if guest => respond::json_error(
                StatusCode::UNAUTHORIZED,
                "not_authorized",
                "Guest access to AWS was refused. Sign in to get AWS credentials.",
            ),
            Self::NotAuthorized { .. } => respond::json_error(
                StatusCode::UNAUTHORIZED,
                "not_authorized",
                "AWS did not accept this sign-in for credentials. Sign in again.",
            ),
            Self::Throttled { .. } => {
                let mut resp = respond::json_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "throttled",
                    "Too many requests for AWS credentials right now. Try again in a moment.",
                );
                resp.headers_mut()
                    .insert(RETRY_AFTER, HeaderValue::from_static("2"));
                resp
            }
            Self::Unavailable { .. } => respond::json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "identity_pool_unavailable",
                "The AWS credentials service is not reachable right now. Try again in a moment.",
            ),
            Self::Rejected { .. } | Self::BadResponse(_) => respond::json_error(
                StatusCode::BAD_GATEWAY,
                "identity_pool_error",
                "The AWS credentials service refused the request. The site's operator should check the sidecar's identity_pool settings.",
            ),
        }
    }
}

/// `aws.protocoltests#NotAuthorizedException:http://…` → `NotAuthorizedException`.
fn short_type(raw: &str) -> String {
    let after_hash = raw.rsplit('#').next().unwrap_or(raw);
    after_hash
        .split(':')
        .next()
        .unwrap_or(after_hash)
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_classified_by_who_failed() {
        let e = |t: &str| IdentityPoolError::from_service(400, Some(t), Some("m"));
        assert!(matches!(
            e("NotAuthorizedException"),
            IdentityPoolError::NotAuthorized { .. }
        ));
        assert!(matches!(
            e("com.amazonaws.cognito.identity.model#NotAuthorizedException"),
            IdentityPoolError::NotAuthorized { .. }
        ));
        assert!(matches!(
            e("TooManyRequestsException:http://internal.amazon.com/coral/"),
            IdentityPoolError::Throttled { .. }
        ));
        assert!(matches!(
            e("InternalErrorException"),
            IdentityPoolError::Unavailable { .. }
        ));
        assert!(matches!(
            e("ResourceNotFoundException"),
            IdentityPoolError::Rejected { .. }
        ));
        assert!(matches!(
            IdentityPoolError::from_service(503, None, None),
            IdentityPoolError::Unavailable { .. }
        ));
        assert!(matches!(
            IdentityPoolError::from_service(400, None, None),
            IdentityPoolError::BadResponse(_)
        ));
    }

    #[test]
    fn long_service_messages_are_cut() {
        let long = "x".repeat(10_000);
        match IdentityPoolError::from_service(400, Some("InvalidParameterException"), Some(&long)) {
            IdentityPoolError::Rejected { message, .. } => assert_eq!(message.len(), MAX_MESSAGE),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn responses_map_to_status_codes_without_internals() {
        use http_body_util::BodyExt;
        let cases = [
            (
                IdentityPoolError::from_service(
                    400,
                    Some("NotAuthorizedException"),
                    Some("Invalid login token. secret-detail"),
                ),
                StatusCode::UNAUTHORIZED,
            ),
            (
                IdentityPoolError::from_service(
                    400,
                    Some("TooManyRequestsException"),
                    Some("secret-detail"),
                ),
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                IdentityPoolError::Unavailable {
                    reason: "secret-detail".into(),
                },
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            (
                IdentityPoolError::from_service(
                    400,
                    Some("ResourceNotFoundException"),
                    Some("IdentityPool 'secret-detail' not found"),
                ),
                StatusCode::BAD_GATEWAY,
            ),
            (
                IdentityPoolError::BadResponse("secret-detail"),
                StatusCode::BAD_GATEWAY,
            ),
        ];
        for (error, status) in cases {
            let resp = error.response(false);
            assert_eq!(resp.status(), status, "{error:?}");
            assert_eq!(resp.headers()["cache-control"], "no-store");
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            let body = String::from_utf8_lossy(&body);
            assert!(!body.contains("secret-detail"), "{body}");
            assert!(body.contains("\"error\""), "{body}");
        }
    }

    #[test]
    fn guests_start_over_only_when_their_identity_is_gone() {
        let e = |t: &str| IdentityPoolError::from_service(400, Some(t), Some("m"));
        assert!(e("ResourceNotFoundException").identity_gone());
        assert!(e("NotAuthorizedException").identity_gone());
        assert!(!e("InvalidParameterException").identity_gone());
        assert!(!e("TooManyRequestsException").identity_gone());
    }
}
