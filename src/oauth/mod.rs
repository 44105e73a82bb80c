//! Cognito's OAuth 2.0 endpoints from the sidecar's side (cognito-protocol §1): the
//! hosted-UI authorize URL with `state`, `nonce` and PKCE S256; the code exchange and
//! refresh at `/oauth2/token`; revocation at `/oauth2/revoke`; and Cognito's own
//! `/logout` URL.
//!
//! Plain form posts over `reqwest` rather than the `oauth2` crate: Cognito's endpoints
//! are fixed, the `id_token` field and the rejected/unavailable split need custom
//! handling either way, and three small functions read more directly than the crate's
//! typestate client plus an HTTP adapter.
//!
//! Client authentication (RFC 6749 §2.3.1): a confidential client sends
//! `Authorization: Basic base64(urlencode(client_id) ":" urlencode(client_secret))`;
//! a public client sends `client_id` in the body and relies on PKCE.

mod response;
mod sign_in;
#[cfg(test)]
mod tests;

use base64::Engine;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION};
use url::Url;

pub use response::{OAuthError, TokenSet};
pub use sign_in::{new_sign_in, pkce_challenge, SignInSecrets};

use crate::config::CognitoConfig;
use crate::idp_http;

/// Token responses are a few KB; this bounds what a misbehaving endpoint can make us read.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The sidecar as an OAuth client of one Cognito app client.
pub struct CognitoClient {
    http: reqwest::Client,
    client_id: String,
    /// `Basic …` for a confidential client, marked sensitive so it is never printed.
    client_auth: Option<HeaderValue>,
    redirect_uri: String,
    scope: String,
    authorize_endpoint: Url,
    token_endpoint: Url,
    revoke_endpoint: Url,
    logout_endpoint: Url,
}

impl std::fmt::Debug for CognitoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CognitoClient")
            .field("client_id", &self.client_id)
            .field("confidential", &self.client_auth.is_some())
            .field("redirect_uri", &self.redirect_uri)
            .field("token_endpoint", &self.token_endpoint.as_str())
            .finish()
    }
}

impl CognitoClient {
    /// `redirect_uri` must be registered on the app client exactly as given (Cognito
    /// compares it byte for byte). `http` should come from [`idp_http::client`].
    pub fn new(
        config: &CognitoConfig,
        redirect_uri: impl Into<String>,
        http: reqwest::Client,
    ) -> Self {
        let client_auth = config
            .client_secret
            .as_ref()
            .map(|secret| basic_auth(&config.client_id, secret.expose()));
        Self {
            http,
            client_id: config.client_id.clone(),
            client_auth,
            redirect_uri: redirect_uri.into(),
            scope: config.scopes.join(" "),
            authorize_endpoint: endpoint(&config.domain, &["oauth2", "authorize"]),
            token_endpoint: endpoint(&config.domain, &["oauth2", "token"]),
            revoke_endpoint: endpoint(&config.domain, &["oauth2", "revoke"]),
            logout_endpoint: endpoint(&config.domain, &["logout"]),
        }
    }

    /// The hosted-UI URL that starts a sign-in (cognito-protocol §1.1): authorization
    /// code flow with PKCE S256 and an OIDC `nonce`.
    pub fn authorize_url(&self, state: &str, nonce: &str, pkce_challenge: &str) -> String {
        let mut url = self.authorize_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("scope", &self.scope)
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge_method", "S256")
            .append_pair("code_challenge", pkce_challenge);
        url.into()
    }

    /// Cognito's non-standard sign-out (cognito-protocol §1.6):
    /// `/logout?client_id=…&logout_uri=…`, where `logout_uri` must be a registered
    /// sign-out URL. OIDC's `post_logout_redirect_uri` is ignored by Cognito.
    pub fn logout_url(&self, logout_uri: &str) -> String {
        let mut url = self.logout_endpoint.clone();
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("logout_uri", logout_uri);
        url.into()
    }

    /// Redeems an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.5) with the same
    /// `redirect_uri` as the authorize request.
    pub async fn exchange_code(&self, code: &str, verifier: &str) -> Result<TokenSet, OAuthError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", verifier),
        ];
        let (status, body) = self.post(&self.token_endpoint, &form).await?;
        response::token_response(status, &body)
    }

    /// Renews tokens (RFC 6749 §6). The answer carries a new `refresh_token` only when
    /// the app client rotates them; otherwise the old one stays valid.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenSet, OAuthError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        let (status, body) = self.post(&self.token_endpoint, &form).await?;
        response::token_response(status, &body)
    }

    /// Revokes a refresh token and the access tokens issued from it (RFC 7009,
    /// cognito-protocol §1.5).
    pub async fn revoke(&self, refresh_token: &str) -> Result<(), OAuthError> {
        let (status, body) = self
            .post(&self.revoke_endpoint, &[("token", refresh_token)])
            .await?;
        response::revoke_response(status, &body)
    }

    /// POSTs `form` with the client's authentication; returns status and capped body.
    async fn post(
        &self,
        endpoint: &Url,
        form: &[(&str, &str)],
    ) -> Result<(u16, bytes::Bytes), OAuthError> {
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        let mut request = self
            .http
            .post(endpoint.clone())
            .header(ACCEPT, "application/json");
        match &self.client_auth {
            Some(basic) => request = request.header(AUTHORIZATION, basic.clone()),
            None => fields.push(("client_id", self.client_id.as_str())),
        }
        let response = request
            .form(&fields)
            .send()
            .await
            .map_err(|e| OAuthError::unavailable(idp_http::describe(&e)))?;
        let status = response.status().as_u16();
        let body = idp_http::read_capped(response, MAX_RESPONSE_BYTES)
            .await
            .map_err(|e| OAuthError::unavailable(e.to_string()))?;
        Ok((status, body))
    }
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` as RFC 6749 §2.3.1 requires
/// (Cognito's values are alphanumeric, but a secret is not obliged to be).
fn basic_auth(client_id: &str, secret: &str) -> HeaderValue {
    let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let credentials = format!("{}:{}", encode(client_id), encode(secret));
    let value = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    );
    // Built once at startup; base64 output is [A-Za-z0-9+/=], all valid header bytes.
    let mut header = HeaderValue::from_str(&value).expect("base64 is a valid header value");
    header.set_sensitive(true);
    header
}

/// `domain` + path segments, keeping any base path and dropping query and fragment.
fn endpoint(domain: &Url, segments: &[&str]) -> Url {
    let mut url = domain.clone();
    url.set_query(None);
    url.set_fragment(None);
    // Only cannot-be-a-base URLs (e.g. `mailto:`) refuse segments; config validation
    // admits only http(s) URLs with a host, so the error branch is unreachable there.
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty().extend(segments);
    }
    url
}
