//! The identity headers the upstream gets (SPEC §6), as ready header values.
//!
//! A browser or API client presents the same credential on request after request, and
//! the credential caches (opened sessions, verified bearer tokens) hand back the same
//! identity each time. Its header values are therefore built once, next to the cached
//! identity, and each request only clones them — a reference count, not a copy and a
//! re-validation of every value (formatting, `Bearer <token>`, groups joined).

use std::fmt;

use http::header::{HeaderName, HeaderValue, AUTHORIZATION};
use http::HeaderMap;

use crate::config::{AuthorizationHeader, HeadersConfig, TokenUse};
use crate::identity::Identity;

pub const X_FORWARDED_USER: HeaderName = HeaderName::from_static("x-forwarded-user");
pub const X_FORWARDED_EMAIL: HeaderName = HeaderName::from_static("x-forwarded-email");
pub const X_FORWARDED_GROUPS: HeaderName = HeaderName::from_static("x-forwarded-groups");
pub const X_FORWARDED_SUB: HeaderName = HeaderName::from_static("x-forwarded-sub");
pub const X_FORWARDED_ACCESS_TOKEN: HeaderName =
    HeaderName::from_static("x-forwarded-access-token");

/// The claim headers, in the order they are sent.
static CLAIM_NAMES: [HeaderName; 4] = [
    X_FORWARDED_USER,
    X_FORWARDED_EMAIL,
    X_FORWARDED_GROUPS,
    X_FORWARDED_SUB,
];

/// One caller's identity header values. A value that cannot be a header value (control
/// characters) is absent: that header is left out rather than mangled.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct IdentityHeaders {
    user: Option<HeaderValue>,
    email: Option<HeaderValue>,
    /// `None` when the caller is in no group: the header is then not sent at all.
    groups: Option<HeaderValue>,
    sub: Option<HeaderValue>,
    /// The access token itself (`X-Forwarded-Access-Token`, `x-amzn-oidc-accesstoken`).
    access_token: Option<HeaderValue>,
    /// `Bearer <access token>`, for `headers.authorization: access`.
    bearer_access: Option<HeaderValue>,
    /// `Bearer <ID token>`, for `headers.authorization: id`.
    bearer_id: Option<HeaderValue>,
    /// The four claim headers (user, email, groups, sub) as HTTP/1 field lines, each
    /// `name: value\r\n` (or nothing, when that value is absent), back to back. The
    /// upstream client copies the enabled lines instead of writing each field
    /// (bench/README.md, session 7).
    claim_lines: Box<[u8]>,
    /// Where each claim's line ends in `claim_lines`, in the same order.
    claim_ends: [usize; 4],
}

/// Tokens are secrets: `Debug` shows only which values are present.
impl fmt::Debug for IdentityHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let token = |v: &Option<HeaderValue>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("IdentityHeaders")
            .field("user", &self.user)
            .field("email", &self.email)
            .field("groups", &self.groups)
            .field("sub", &self.sub)
            .field("access_token", &token(&self.access_token))
            .field("bearer_access", &token(&self.bearer_access))
            .field("bearer_id", &token(&self.bearer_id))
            .finish()
    }
}

fn value(text: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(text).ok()
}

fn bearer(token: &str) -> Option<HeaderValue> {
    value(&format!("Bearer {token}"))
}

impl IdentityHeaders {
    /// The values for `identity`, with the tokens a session keeps for forwarding.
    pub fn new(identity: &Identity, access_token: Option<&str>, id_token: Option<&str>) -> Self {
        let mut headers = Self {
            user: value(&identity.user),
            email: identity.email.as_deref().and_then(value),
            groups: (!identity.groups.is_empty())
                .then(|| value(&identity.groups.join(",")))
                .flatten(),
            sub: value(&identity.sub),
            access_token: access_token.and_then(value),
            bearer_access: access_token.and_then(bearer),
            bearer_id: id_token.and_then(bearer),
            ..Self::default()
        };
        let mut lines = Vec::new();
        let mut ends = [0; 4];
        for (end, (name, value)) in ends.iter_mut().zip(headers.claims()) {
            if let Some(value) = value {
                super::encode_field(name, value, &mut lines);
            }
            *end = lines.len();
        }
        headers.claim_lines = lines.into_boxed_slice();
        headers.claim_ends = ends;
        headers
    }

    /// The claim headers with their values, in the order they are sent.
    fn claims(&self) -> [(&'static HeaderName, &Option<HeaderValue>); 4] {
        let [user, email, groups, sub] = &CLAIM_NAMES;
        [
            (user, &self.user),
            (email, &self.email),
            (groups, &self.groups),
            (sub, &self.sub),
        ]
    }

    /// These values plus a bearer caller's own token, which is never cached with them.
    pub fn with_bearer_token(&self, token_use: TokenUse, token: &str) -> Self {
        let mut with = self.clone();
        match token_use {
            TokenUse::Access => {
                with.access_token = value(token);
                with.bearer_access = bearer(token);
            }
            TokenUse::Id => with.bearer_id = bearer(token),
        }
        with
    }

    /// `sub` as a header value (also `x-amzn-oidc-identity`).
    pub fn sub(&self) -> Option<&HeaderValue> {
        self.sub.as_ref()
    }

    /// The access token as a header value, when there is one to forward.
    pub fn access_token(&self) -> Option<&HeaderValue> {
        self.access_token.as_ref()
    }

    /// Bytes held, for the caches that weigh their entries.
    pub fn weight(&self) -> usize {
        [
            &self.user,
            &self.email,
            &self.groups,
            &self.sub,
            &self.access_token,
            &self.bearer_access,
            &self.bearer_id,
        ]
        .iter()
        .map(|v| v.as_ref().map_or(0, HeaderValue::len))
        .sum()
    }
}

/// Sets the identity headers the config enables (SPEC §6), after
/// [`super::strip_identity`] removed any the client sent.
pub fn inject_identity(headers: &mut HeaderMap, config: &HeadersConfig, values: &IdentityHeaders) {
    values.for_each_enabled(config, |name, value| {
        headers.insert(name.clone(), value.clone());
    });
}

impl IdentityHeaders {
    /// Calls `f` with each identity header `config` enables and a value exists for, in
    /// a fixed order.
    pub fn for_each_enabled(
        &self,
        config: &HeadersConfig,
        mut f: impl FnMut(&HeaderName, &HeaderValue),
    ) {
        for (on, (name, value)) in claims_enabled(config).into_iter().zip(self.claims()) {
            if let (true, Some(v)) = (on, value) {
                f(name, v);
            }
        }
        self.for_each_token(config, f);
    }

    /// Writes what [`Self::for_each_enabled`] yields as HTTP/1 field lines, the same
    /// bytes in the same order, copying the claim lines rendered in advance.
    pub fn encode_enabled(&self, config: &HeadersConfig, out: &mut Vec<u8>) {
        let on = claims_enabled(config);
        if on == [true; 4] {
            out.extend_from_slice(&self.claim_lines);
        } else {
            let mut start = 0;
            for (on, end) in on.into_iter().zip(self.claim_ends) {
                if on {
                    out.extend_from_slice(self.claim_lines.get(start..end).unwrap_or_default());
                }
                start = end;
            }
        }
        self.for_each_token(config, |name, value| super::encode_field(name, value, out));
    }

    /// The token headers `config` enables, after the claims.
    fn for_each_token(&self, config: &HeadersConfig, mut f: impl FnMut(&HeaderName, &HeaderValue)) {
        if let (true, Some(v)) = (config.access_token, &self.access_token) {
            f(&X_FORWARDED_ACCESS_TOKEN, v);
        }
        if let Some(v) = self.authorization(config) {
            f(&AUTHORIZATION, v);
        }
    }

    /// The `Authorization` value `config` sends upstream, if any.
    pub fn authorization(&self, config: &HeadersConfig) -> Option<&HeaderValue> {
        match config.authorization {
            AuthorizationHeader::None => None,
            AuthorizationHeader::Access => self.bearer_access.as_ref(),
            AuthorizationHeader::Id => self.bearer_id.as_ref(),
        }
    }
}

/// Which of the claim headers (user, email, groups, sub) `config` turns on.
fn claims_enabled(config: &HeadersConfig) -> [bool; 4] {
    [config.user, config.email, config.groups, config.sub]
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Shared with the other header tests (`added`).
    pub(in crate::headers) fn alice() -> Identity {
        Identity {
            sub: "5c3e".into(),
            user: "alice".into(),
            email: Some("alice@example.com".into()),
            groups: vec!["admins".into(), "staff".into()],
            expires_at: 0,
        }
    }

    pub(in crate::headers) fn all_on() -> HeadersConfig {
        HeadersConfig {
            access_token: true,
            authorization: AuthorizationHeader::Access,
            ..HeadersConfig::default()
        }
    }

    #[test]
    fn values_follow_the_identity() {
        let mut h = HeaderMap::new();
        let values = IdentityHeaders::new(&alice(), Some("at"), Some("it"));
        inject_identity(&mut h, &all_on(), &values);
        assert_eq!(h["x-forwarded-user"], "alice");
        assert_eq!(h["x-forwarded-email"], "alice@example.com");
        assert_eq!(h["x-forwarded-groups"], "admins,staff");
        assert_eq!(h["x-forwarded-sub"], "5c3e");
        assert_eq!(h["x-forwarded-access-token"], "at");
        assert_eq!(h["authorization"], "Bearer at");
        assert_eq!(values.sub().map(HeaderValue::as_bytes), Some(&b"5c3e"[..]));
        assert_eq!(values.weight(), 5 + 17 + 12 + 4 + 2 + 9 + 9);
    }

    #[test]
    fn no_groups_no_email_no_tokens_means_no_headers_for_them() {
        let nobody = Identity {
            email: None,
            groups: vec![],
            ..alice()
        };
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic kept"));
        inject_identity(
            &mut h,
            &all_on(),
            &IdentityHeaders::new(&nobody, None, None),
        );
        assert!(!h.contains_key("x-forwarded-email"));
        assert!(!h.contains_key("x-forwarded-groups"));
        assert!(!h.contains_key("x-forwarded-access-token"));
        // Nothing to put there: the request's own header is left as it was.
        assert_eq!(h["authorization"], "Basic kept");
    }

    #[test]
    fn values_that_cannot_be_headers_are_left_out() {
        let odd = Identity {
            user: "line\nbreak".into(),
            ..alice()
        };
        let values = IdentityHeaders::new(&odd, Some("bad\rtoken"), None);
        let mut h = HeaderMap::new();
        inject_identity(&mut h, &all_on(), &values);
        assert!(!h.contains_key("x-forwarded-user"));
        assert!(!h.contains_key("x-forwarded-access-token"));
        assert!(!h.contains_key("authorization"));
        assert_eq!(h["x-forwarded-sub"], "5c3e");
    }

    #[test]
    fn a_bearer_token_is_added_by_its_use() {
        let cached = IdentityHeaders::new(&alice(), None, None);
        let access = cached.with_bearer_token(TokenUse::Access, "acc");
        assert_eq!(
            access.access_token().map(HeaderValue::as_bytes),
            Some(&b"acc"[..])
        );
        let id_config = HeadersConfig {
            authorization: AuthorizationHeader::Id,
            ..HeadersConfig::default()
        };
        let mut h = HeaderMap::new();
        inject_identity(&mut h, &id_config, &access);
        assert!(!h.contains_key("authorization"));
        let id = cached.with_bearer_token(TokenUse::Id, "idt");
        assert_eq!(id.access_token(), None);
        inject_identity(&mut h, &id_config, &id);
        assert_eq!(h["authorization"], "Bearer idt");
        // The cached values are untouched.
        assert_eq!(cached, IdentityHeaders::new(&alice(), None, None));
    }

    #[test]
    fn debug_never_shows_tokens() {
        let values = IdentityHeaders::new(&alice(), Some("secret-at"), Some("secret-it"));
        let shown = format!("{values:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("alice"));
    }
}
