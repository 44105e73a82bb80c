//! Authentication: who is making this request? A Cognito bearer token (API clients) or
//! a sealed session cookie (browsers), refreshed when its tokens have expired
//! (SPEC §5.3, §7). Never anything the request says about itself in plain headers.

use std::sync::Arc;

use http::header::{HeaderValue, AUTHORIZATION};
use http::HeaderMap;

use crate::app::{App, Settings};
use crate::identity::Identity;
use crate::oauth::TokenSet;
use crate::session::cookies::{self, join, request_cookies};
use crate::session::Session;
use crate::session::SessionStatus;
use crate::tokens::{BearerIdentity, TokenError};

mod refresh;

use refresh::refresh;
pub use refresh::{refresh_now, FreshOutcome, FreshSession, RefreshError, Refreshed};

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    Session(Box<Session>),
    Bearer(Arc<BearerIdentity>),
}

#[derive(Debug)]
pub struct Authenticated {
    pub identity: Identity,
    pub via: Via,
    /// `Set-Cookie` values to send with the response (a refreshed or re-sealed session).
    pub set_cookies: Vec<HeaderValue>,
}

#[derive(Debug)]
pub enum AuthOutcome {
    Authenticated(Box<Authenticated>),
    /// No usable credential. `clear_cookies` expires a session cookie that was present
    /// but tampered, expired or ended.
    Anonymous {
        clear_cookies: Vec<HeaderValue>,
    },
    /// An `Authorization: Bearer` token that does not verify: 401, never a redirect.
    InvalidBearer,
    /// Cognito could not be reached to refresh an expired session: 503, cookie kept so
    /// the session continues once Cognito is back.
    IdpUnavailable,
}

/// The bearer token, when the request carries `Authorization: Bearer <token>`.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

pub async fn authenticate(
    app: &App,
    settings: &Settings,
    headers: &HeaderMap,
    now: u64,
) -> AuthOutcome {
    if !settings.config.bearer.token_use.is_empty() {
        if let Some(token) = bearer_token(headers) {
            return match app.verifier.verify_bearer(token).await {
                Ok(bearer) => AuthOutcome::Authenticated(Box::new(Authenticated {
                    identity: bearer.identity.clone(),
                    via: Via::Bearer(bearer),
                    set_cookies: Vec::new(),
                })),
                Err(e) => {
                    tracing::info!(reason = %e, "bearer token rejected");
                    AuthOutcome::InvalidBearer
                }
            };
        }
    }
    from_session(app, settings, headers, now).await
}

async fn from_session(
    app: &App,
    settings: &Settings,
    headers: &HeaderMap,
    now: u64,
) -> AuthOutcome {
    let (session, present, needs_reseal) = match open_session(settings, headers, now) {
        OpenedSession::Absent => {
            return AuthOutcome::Anonymous {
                clear_cookies: Vec::new(),
            }
        }
        OpenedSession::Broken { clear_cookies } => return AuthOutcome::Anonymous { clear_cookies },
        OpenedSession::Open {
            session,
            present,
            needs_reseal,
        } => (session, present, needs_reseal),
    };
    let clear = || AuthOutcome::Anonymous {
        clear_cookies: cookies::clear_session(
            settings.cookie_name(),
            settings.secure_cookies,
            &present,
        ),
    };
    match session.status(
        now,
        settings.lifetime_secs(),
        settings.config.session.refresh,
    ) {
        SessionStatus::Ended => clear(),
        SessionStatus::Valid => {
            // Opened with an older key of the ring: re-seal with the current one
            // (session key rotation, SPEC §3 `session.secrets`).
            let set_cookies = if needs_reseal {
                write_session(settings, &session, &present).unwrap_or_default()
            } else {
                Vec::new()
            };
            authenticated(session, set_cookies)
        }
        SessionStatus::NeedsRefresh => match refresh(app, settings, session).await {
            Ok(fresh) => match write_session(settings, &fresh.session, &present) {
                Some(set_cookies) => authenticated(fresh.session.clone(), set_cookies),
                None => clear(),
            },
            Err(RefreshError::Unavailable) => AuthOutcome::IdpUnavailable,
            Err(RefreshError::Ended) => clear(),
        },
    }
}

/// The request's session cookie, opened but not yet judged.
enum OpenedSession {
    /// No session cookie at all.
    Absent,
    /// Session cookies that do not open (tampered, truncated, expired, another key).
    Broken { clear_cookies: Vec<HeaderValue> },
    Open {
        session: Session,
        /// The session cookies the request carried, to replace or expire.
        present: Vec<(String, String)>,
        needs_reseal: bool,
    },
}

fn open_session(settings: &Settings, headers: &HeaderMap, now: u64) -> OpenedSession {
    let name = settings.cookie_name();
    let present: Vec<(String, String)> = request_cookies(headers)
        .into_iter()
        .filter(|(n, _)| is_session_cookie(name, n))
        .collect();
    if present.is_empty() {
        return OpenedSession::Absent;
    }
    let opened = join(&present, name)
        .and_then(|sealed| settings.keys.open(name, &sealed, now))
        .and_then(|opened| Some((Session::decode(&opened.payload)?, opened.needs_reseal)));
    match opened {
        Some((session, needs_reseal)) => OpenedSession::Open {
            session,
            present,
            needs_reseal,
        },
        None => OpenedSession::Broken {
            clear_cookies: cookies::clear_session(name, settings.secure_cookies, &present),
        },
    }
}

fn authenticated(session: Session, set_cookies: Vec<HeaderValue>) -> AuthOutcome {
    AuthOutcome::Authenticated(Box::new(Authenticated {
        identity: session.identity(),
        via: Via::Session(Box::new(session)),
        set_cookies,
    }))
}

/// `NAME` or `NAME_<n>`: the cookies that carry the session (not the sign-in state).
fn is_session_cookie(base: &str, name: &str) -> bool {
    match name.strip_prefix(base) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('_')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

/// Seals `session` and builds its `Set-Cookie` values (expiring stale chunks). `None`
/// if it cannot be written (too large for the chunk cap); the caller ends the session.
pub fn write_session(
    settings: &Settings,
    session: &Session,
    present: &[(String, String)],
) -> Option<Vec<HeaderValue>> {
    let name = settings.cookie_name();
    let expires_at = session.lifetime_ends_at(settings.lifetime_secs());
    let sealed = settings
        .keys
        .seal(name, expires_at, &session.encode())
        .ok()?;
    let max_age = expires_at.saturating_sub(crate::app::unix_now());
    match cookies::set_session(name, &sealed, settings.secure_cookies, max_age, present) {
        Ok(values) => Some(values),
        Err(e) => {
            tracing::warn!(error = %e, "session does not fit in cookies; consider fewer forwarded tokens");
            None
        }
    }
}

/// Verifies freshly issued tokens and builds the session they prove: at sign-in
/// (`nonce` from the sign-in state, no previous session) or at refresh (same `sub`,
/// original `created_at`, the old refresh token unless Cognito rotated it).
pub async fn session_from_tokens(
    app: &App,
    settings: &Settings,
    tokens: TokenSet,
    nonce: Option<&str>,
    previous: Option<&Session>,
) -> Result<Session, TokenError> {
    let access = app
        .verifier
        .verify_access_token(&tokens.access_token)
        .await?;
    let (identity, id_exp) = match (&tokens.id_token, nonce) {
        (Some(id), _) => {
            let claims = app.verifier.verify_id_token(id, nonce).await?;
            let exp = claims.exp;
            (claims.identity(), exp)
        }
        // At sign-in the ID token is required: it carries the nonce.
        (None, Some(_)) => return Err(TokenError::MissingClaim("id_token")),
        (None, None) => {
            let identity = access.identity();
            (identity, access.exp)
        }
    };
    if access.sub != identity.sub {
        return Err(TokenError::MissingClaim("matching sub"));
    }
    if let Some(prev) = previous {
        if prev.sub != identity.sub {
            return Err(TokenError::MissingClaim("matching sub"));
        }
    }
    let email = identity
        .email
        .clone()
        .or_else(|| previous.and_then(|p| p.email.clone()));
    Ok(Session {
        sub: identity.sub,
        user: identity.user,
        email,
        groups: identity.groups,
        created_at: previous.map_or_else(crate::app::unix_now, |p| p.created_at),
        tokens_expire_at: id_exp.min(access.exp),
        refresh_token: tokens
            .refresh_token
            .or_else(|| previous.and_then(|p| p.refresh_token.clone())),
        access_token: settings
            .keeps_access_token()
            .then(|| tokens.access_token.clone()),
        id_token: if settings.keeps_id_token() {
            tokens.id_token
        } else {
            None
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_token_parsing() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), None);
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer abc.def.ghi"),
        );
        assert_eq!(bearer_token(&h), Some("abc.def.ghi"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer   x"));
        assert_eq!(bearer_token(&h), Some("x"));
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Basic Zm9vOmJhcg=="),
        );
        assert_eq!(bearer_token(&h), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&h), None);
    }

    #[test]
    fn session_cookie_names() {
        assert!(is_session_cookie("_s", "_s"));
        assert!(is_session_cookie("_s", "_s_0"));
        assert!(is_session_cookie("_s", "_s_3"));
        assert!(!is_session_cookie("_s", "_s_csrf_abc"));
        assert!(!is_session_cookie("_s", "_s_"));
        assert!(!is_session_cookie("_s", "_sx"));
        assert!(!is_session_cookie("_s", "other"));
    }
}
