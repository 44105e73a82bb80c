//! Authentication: who is making this request? A Cognito bearer token (API clients) or
//! a session found through the session store (browsers), refreshed when its tokens have
//! expired (SPEC §5.3, §7). Never anything the request says about itself in plain
//! headers. Refresh coordination lives in [`refresh`].

mod refresh;

pub use refresh::{coordinate, RefreshError, Refreshed};

mod fresh;
pub use fresh::{refresh_now, FreshOutcome, FreshSession};

mod authenticated;
pub use authenticated::{Authenticated, Via};

use std::sync::Arc;

use aws_lc_rs::digest;
use http::header::{HeaderValue, AUTHORIZATION};
use http::HeaderMap;

use crate::app::{App, Settings};
use crate::oauth::TokenSet;
use crate::session::cookies::{self, request_cookies};
use crate::session::store::{Loaded, Lookup, SessionStore, Store};
use crate::session::Session;
use crate::session::SessionStatus;
use crate::tokens::TokenError;

#[derive(Debug)]
pub enum AuthOutcome {
    Authenticated(Authenticated),
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
    /// The shared session store did not answer: 503, cookie kept (fail closed — never
    /// anonymous, never signed in by default).
    StoreUnavailable,
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

/// [`bearer_token`] as raw bytes, for the verified-token cache: no pass over the ~1 KB
/// token to check that it is text. It finds the same token whenever the token is one
/// that verified (ASCII), because the parts around it (`Bearer`, spaces, tabs) are ASCII
/// too; any other value simply misses the cache. Where this finds nothing,
/// [`bearer_token`] finds nothing either.
fn raw_bearer_token(headers: &HeaderMap) -> Option<&[u8]> {
    let value = headers.get(AUTHORIZATION)?.as_bytes();
    // `bearer_token` splits at the first space, so its scheme is `bearer` exactly when
    // the value starts `bearer ` (any case).
    let (scheme, rest) = value.split_at_checked(b"bearer ".len())?;
    let token = rest.trim_ascii();
    (scheme.eq_ignore_ascii_case(b"bearer ") && !token.is_empty()).then_some(token)
}

/// The caller, when the request carries a credential verified before that needs
/// nothing more: a bearer token in the verified-token cache, or a session cookie in the
/// opened-session cache whose session is valid and sealed with the current key. This
/// is every steady-state request, and it needs no I/O, so it is a plain function: the
/// request path builds and polls the [`authenticate`] future only when this finds
/// nothing. A request with a bearer token is never answered from its cookie.
pub fn cached(
    app: &App,
    settings: &Settings,
    headers: &HeaderMap,
    now: u64,
) -> Option<Authenticated> {
    if let Some(raw) = bearer_raw(settings, headers) {
        return app
            .verifier
            .cached_bearer(raw, now)
            .map(Authenticated::bearer);
    }
    let store = app.store(settings);
    let (hit, sole_cookie) = store.opened(headers, now)?;
    let lifetime = settings.lifetime_secs();
    let refresh_enabled = settings.config.session.refresh;
    let valid = hit.session.status(now, lifetime, refresh_enabled) == SessionStatus::Valid;
    (valid && !hit.needs_reseal).then(|| Authenticated::opened(hit, sole_cookie))
}

/// The raw bearer token, when the request has one and bearer clients are accepted.
fn bearer_raw<'h>(settings: &Settings, headers: &'h HeaderMap) -> Option<&'h [u8]> {
    raw_bearer_token(headers).filter(|_| !settings.config.bearer.token_use.is_empty())
}

/// Who the request is from (SPEC §5.3): [`cached`], or else [`uncached`].
pub async fn authenticate(
    app: &App,
    settings: &Settings,
    headers: &HeaderMap,
    now: u64,
) -> AuthOutcome {
    match cached(app, settings, headers, now) {
        Some(auth) => AuthOutcome::Authenticated(auth),
        None => uncached(app, settings, headers, now).await,
    }
}

/// The full checks, for a request [`cached`] found nothing for: a bearer token
/// verified, or a session cookie opened or loaded from the store, and refreshed when its
/// tokens have expired.
pub async fn uncached(
    app: &App,
    settings: &Settings,
    headers: &HeaderMap,
    now: u64,
) -> AuthOutcome {
    // Without a raw token there is no text one either (see `raw_bearer_token`).
    if bearer_raw(settings, headers).is_some() {
        if let Some(token) = bearer_token(headers) {
            return match Box::pin(app.verifier.verify_bearer(token)).await {
                Ok(bearer) => AuthOutcome::Authenticated(Authenticated::bearer(bearer)),
                Err(e) => {
                    tracing::info!(reason = %e, "bearer token rejected");
                    AuthOutcome::InvalidBearer
                }
            };
        }
    }
    from_session(app, settings, headers, now).await
}

/// The session of a request [`cached`] found nothing for: opened, or loaded from the
/// store, and refreshed when its tokens have expired.
async fn from_session(
    app: &App,
    settings: &Settings,
    headers: &HeaderMap,
    now: u64,
) -> AuthOutcome {
    let store = app.store(settings);
    let lifetime = settings.lifetime_secs();
    let refresh_enabled = settings.config.session.refresh;
    let name = settings.cookie_name();
    let present = session_cookies(settings, headers);
    let clear = || AuthOutcome::Anonymous {
        clear_cookies: cookies::clear_session(name, settings.secure_cookies, &present),
    };
    let loaded = match store.load(&present, now).await {
        Ok(Lookup::NoCookie) => {
            return AuthOutcome::Anonymous {
                clear_cookies: Vec::new(),
            }
        }
        Ok(Lookup::Invalid) => return clear(),
        Ok(Lookup::Found(loaded)) => loaded,
        Err(e) => {
            // Fail closed, and keep the cookie: the session outlives the outage.
            tracing::warn!(error = %e, "session store unavailable");
            return AuthOutcome::StoreUnavailable;
        }
    };
    match loaded.session.status(now, lifetime, refresh_enabled) {
        SessionStatus::Ended => clear(),
        // Opened with an older key of the ring: `reseal` carries the cookie sealed with
        // the current one (session key rotation, SPEC §3 `session.secrets`).
        SessionStatus::Valid => {
            let Loaded {
                session, reseal, ..
            } = *loaded;
            AuthOutcome::Authenticated(Authenticated::session(session, reseal))
        }
        // Boxed: the refresh future (single flight, store lock, IdP call) is several KB,
        // and every request would otherwise carry and move its space.
        SessionStatus::NeedsRefresh => {
            match Box::pin(refresh(app, settings, &store, &loaded)).await {
                Ok(fresh) => {
                    let set_cookies = if fresh.set_cookies.is_empty() {
                        loaded.reseal
                    } else {
                        fresh.set_cookies.clone()
                    };
                    let auth = Authenticated::session(fresh.session.clone(), set_cookies);
                    AuthOutcome::Authenticated(auth)
                }
                Err(RefreshError::Unavailable) => AuthOutcome::IdpUnavailable,
                Err(RefreshError::StoreUnavailable) => AuthOutcome::StoreUnavailable,
                Err(RefreshError::Ended) => clear(),
            }
        }
    }
}

/// `NAME` or `NAME_<n>`: the cookies that carry the session (not the sign-in state).
pub fn is_session_cookie(base: &str, name: &str) -> bool {
    match name.strip_prefix(base) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix('_')
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
        None => false,
    }
}

/// The session cookies (`NAME`, `NAME_<n>`) of a request.
pub fn session_cookies(settings: &Settings, headers: &HeaderMap) -> Vec<(String, String)> {
    let name = settings.cookie_name();
    request_cookies(headers)
        .into_iter()
        .filter(|(n, _)| is_session_cookie(name, n))
        .collect()
}

/// Refreshes once per refresh token at a time in this process; concurrent requests of
/// the session wait for the same result (SPEC §7 "one refresh per session at a time"),
/// and [`refresh::coordinate`] extends that across replicas when the store is shared.
pub(crate) async fn refresh(
    app: &App,
    settings: &Settings,
    store: &Store<'_>,
    loaded: &Loaded,
) -> Result<Arc<Refreshed>, RefreshError> {
    let Some(refresh_token) = loaded.session.refresh_token.as_deref() else {
        return Err(RefreshError::Ended);
    };
    let key: [u8; 32] = digest::digest(&digest::SHA256, refresh_token.as_bytes())
        .as_ref()
        .try_into()
        .map_err(|_| RefreshError::Ended)?;
    // A cached result only stands in while its tokens are still valid; after that the
    // same (unrotated) refresh token is spent again for fresh tokens and claims.
    if let Some(cached) = app.refreshes.get(&key).await {
        if cached.session.tokens_expire_at > crate::app::unix_now() {
            return Ok(cached);
        }
        app.refreshes.invalidate(&key).await;
    }
    let wait = app.sessions.refresh_wait();
    app.refreshes
        .try_get_with(key, async move {
            refresh::coordinate(store, loaded, wait, |session| {
                refresh::redeem(app, settings, session)
            })
            .await
            .map(Arc::new)
        })
        .await
        .map_err(|e: Arc<RefreshError>| (*e).clone())
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
    fn raw_bearer_tokens_are_the_text_ones() {
        let mut h = HeaderMap::new();
        assert_eq!(raw_bearer_token(&h), None);
        for value in [
            "Bearer abc.def.ghi",
            "bearer   x",
            "BEARER\tx",
            "Bearer x \t",
            "Basic Zm9vOmJhcg==",
            "Bearer ",
            "Bearer",
            " Bearer x",
            "Bearerx y",
        ] {
            h.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            assert_eq!(
                raw_bearer_token(&h),
                bearer_token(&h).map(str::as_bytes),
                "{value:?}"
            );
        }
        // Not text: no token as text, and raw bytes that no verified token has.
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer t\xffk").unwrap(),
        );
        assert_eq!(bearer_token(&h), None);
        assert_eq!(raw_bearer_token(&h), Some(&b"t\xffk"[..]));
    }

    proptest::proptest! {
        /// Any text value: where the text parse finds a token, the raw one finds the
        /// same bytes; where the raw one finds none, neither does the text parse.
        #[test]
        fn the_raw_token_is_the_text_token(
            scheme in "(?i:bearer|basic|bearerx|)",
            gap in "[ \t]{0,3}",
            token in "[ -~\t]{0,12}",
        ) {
            let value = format!("{scheme}{gap}{token}");
            let Ok(value) = HeaderValue::from_str(&value) else { return Ok(()) };
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, value);
            if let Some(text) = bearer_token(&h) {
                proptest::prop_assert_eq!(raw_bearer_token(&h), Some(text.as_bytes()));
            }
            if raw_bearer_token(&h).is_none() {
                proptest::prop_assert_eq!(bearer_token(&h), None);
            }
        }
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
