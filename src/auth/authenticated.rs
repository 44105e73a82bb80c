//! The authenticated caller as the rest of the request path sees it: who it is, the
//! header values the upstream gets for it, and the credential it proved itself with.

use std::borrow::Cow;
use std::sync::Arc;

use http::header::HeaderValue;
use http::HeaderMap;

use super::bearer_token;
use crate::app::Settings;
use crate::headers::IdentityHeaders;
use crate::identity::Identity;
use crate::session::store::opened::OpenedSession;
use crate::session::Session;
use crate::tokens::BearerIdentity;

/// How the caller proved who they are.
#[derive(Debug, Clone, Copy)]
pub enum Via<'a> {
    Session(&'a Session),
    Bearer(&'a BearerIdentity),
}

/// The credential-cache entry that describes the caller: its identity, the header
/// values for the upstream and the credential, side by side.
#[derive(Debug)]
enum Entry {
    Session(Arc<OpenedSession>),
    Bearer(Arc<BearerIdentity>),
}

/// A caller whose credential checked out. It holds the entry of the credential cache
/// the caller was found in (or one made the same way), so that the identity and the
/// header values always describe the same caller, and a request that hits the cache
/// takes one reference to it: no copies, and one reference count instead of one per
/// part (each a locked instruction on the hot path).
#[derive(Debug)]
pub struct Authenticated {
    entry: Entry,
    /// `Set-Cookie` values to send with the response (a refreshed or re-sealed session).
    pub set_cookies: Vec<HeaderValue>,
    /// The request's `Cookie` field is the session cookie and nothing else (see
    /// [`crate::session::cookies::only_session_cookie`]): forwarding drops it without reading it again.
    pub sole_cookie: bool,
}

impl Authenticated {
    pub fn bearer(bearer: Arc<BearerIdentity>) -> Self {
        Self {
            entry: Entry::Bearer(bearer),
            set_cookies: Vec::new(),
            sole_cookie: false,
        }
    }

    /// A session that was just refreshed or loaded from the store.
    pub fn session(session: Session, set_cookies: Vec<HeaderValue>) -> Self {
        Self {
            entry: Entry::Session(Arc::new(OpenedSession::unsealed(session))),
            set_cookies,
            sole_cookie: false,
        }
    }

    /// A session found in the opened-session cache; `sole_cookie` as in
    /// [`Authenticated::sole_cookie`].
    pub(super) fn opened(opened: Arc<OpenedSession>, sole_cookie: bool) -> Self {
        Self {
            entry: Entry::Session(opened),
            set_cookies: Vec::new(),
            sole_cookie,
        }
    }

    /// Who the caller is.
    pub fn identity(&self) -> &Identity {
        match &self.entry {
            Entry::Session(opened) => &opened.identity,
            Entry::Bearer(bearer) => &bearer.identity,
        }
    }

    /// `identity`'s header values for the upstream (SPEC §6), without a bearer
    /// caller's own token (see [`Self::upstream_headers`]).
    pub fn headers(&self) -> &IdentityHeaders {
        match &self.entry {
            Entry::Session(opened) => &opened.headers,
            Entry::Bearer(bearer) => &bearer.headers,
        }
    }

    /// The credential the caller proved itself with.
    pub fn via(&self) -> Via<'_> {
        match &self.entry {
            Entry::Session(opened) => Via::Session(&opened.session),
            Entry::Bearer(bearer) => Via::Bearer(bearer),
        }
    }

    /// The header values to send upstream for this request: the shared ones, plus a
    /// bearer caller's own token (from `request`) when a header forwards it — copied
    /// only then, as it is ~1 KB.
    pub fn upstream_headers(
        &self,
        settings: &Settings,
        request: &HeaderMap,
    ) -> Cow<'_, IdentityHeaders> {
        match self.via() {
            Via::Bearer(b) if settings.keeps_access_token() || settings.keeps_id_token() => {
                match bearer_token(request) {
                    Some(token) => Cow::Owned(self.headers().with_bearer_token(b.token_use, token)),
                    None => Cow::Borrowed(self.headers()),
                }
            }
            _ => Cow::Borrowed(self.headers()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{load_from_str, TokenUse};
    use http::header::AUTHORIZATION;

    fn settings(env: &[(&str, &str)]) -> Settings {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        let config = load_from_str(include_str!("../../config.yaml"), env).expect("config");
        Settings::new(config).expect("settings")
    }

    fn alice() -> Identity {
        Identity {
            sub: "s-1".into(),
            user: "alice".into(),
            email: None,
            groups: vec![],
            expires_at: 0,
        }
    }

    fn bearer(token_use: TokenUse) -> Authenticated {
        let identity = alice();
        Authenticated::bearer(Arc::new(BearerIdentity {
            headers: Arc::new(IdentityHeaders::new(&identity, None, None)),
            identity: Arc::new(identity),
            token_use,
            scopes: vec![],
            client_id: "c".into(),
        }))
    }

    fn request() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer tok.en"));
        h
    }

    #[test]
    fn a_bearer_token_is_added_only_when_a_header_forwards_it() {
        let auth = bearer(TokenUse::Access);
        let plain = settings(&[]);
        assert!(matches!(
            auth.upstream_headers(&plain, &request()),
            Cow::Borrowed(_)
        ));
        let forwarding = settings(&[("COGNITO_SIDECAR_HEADERS__ACCESS_TOKEN", "true")]);
        let values = auth.upstream_headers(&forwarding, &request());
        assert_eq!(
            values.access_token().map(HeaderValue::as_bytes),
            Some(&b"tok.en"[..])
        );
        // The cached values themselves never hold the token.
        assert_eq!(auth.headers().access_token(), None);
    }

    #[test]
    fn a_session_brings_its_own_values() {
        let mut session = Session {
            sub: "s-1".into(),
            user: "alice".into(),
            email: None,
            groups: vec![],
            created_at: 0,
            tokens_expire_at: 10,
            refresh_token: None,
            access_token: Some("at".into()),
            id_token: None,
        };
        let forwarding = settings(&[("COGNITO_SIDECAR_HEADERS__ACCESS_TOKEN", "true")]);
        let auth = Authenticated::session(session.clone(), Vec::new());
        let values = auth.upstream_headers(&forwarding, &request());
        assert!(matches!(values, Cow::Borrowed(_)));
        assert_eq!(
            values.access_token().map(HeaderValue::as_bytes),
            Some(&b"at"[..])
        );
        assert_eq!(*auth.identity(), session.identity());
        session.access_token = None;
        let without = Authenticated::session(session, Vec::new());
        assert_eq!(without.headers().access_token(), None);
    }
}
