//! Validating an authorize request — shared by `/oauth2/authorize`, `/login` and the
//! re-entry from `/logout`. Pure: parameters and pool in, a decision out.
//!
//! Order matters (cognito-protocol.md §1.1 "Error behaviour"): the client and its exact
//! redirect URI are checked before anything else, and only when both are valid may an
//! error be redirected to the app; otherwise the user stays on the emulator's error page.

use crate::emulator::config::OAuthFlow;
use crate::emulator::pool::{allows, Pool};
use crate::emulator::request::Params;
use crate::emulator::scopes;

/// A valid authorize request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
}

/// How an invalid authorize request is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Unknown or missing client: the error page, no redirect anywhere.
    ErrorPage,
    /// Redirect URI not registered for the client:
    /// `302 /error?error=redirect_mismatch&client_id=…`, never to the app.
    RedirectMismatch { client_id: String },
    /// Client and redirect URI are valid: `302 redirect_uri?error=…&state=…`.
    ToClient {
        redirect_uri: String,
        error: &'static str,
        state: Option<String>,
    },
}

/// Longest `state`/`nonce` accepted; real ones are tens of bytes.
const MAX_VALUE: usize = 2048;

pub fn check(pool: &Pool, params: &Params) -> Result<AuthorizeRequest, Rejection> {
    let client_id = params
        .non_empty("client_id")
        .ok()
        .flatten()
        .ok_or(Rejection::ErrorPage)?;
    let client = pool.client(client_id).ok_or(Rejection::ErrorPage)?;
    let mismatch = || Rejection::RedirectMismatch {
        client_id: client_id.to_string(),
    };
    let redirect_uri = params.one("redirect_uri").map_err(|_| mismatch())?;
    // Exact string comparison: no normalisation, trailing slash and case matter (§1.1).
    let redirect_uri = redirect_uri
        .filter(|uri| client.callback_urls.iter().any(|u| u == uri))
        .ok_or_else(mismatch)?;

    let state = params.one("state").ok().flatten().map(str::to_string);
    let to_client = |error: &'static str| Rejection::ToClient {
        redirect_uri: redirect_uri.to_string(),
        error,
        state: state.clone(),
    };
    let invalid_request = || to_client("invalid_request");

    if params.any_repeated(&[
        "state",
        "response_type",
        "scope",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "identity_provider",
    ]) || state.as_ref().is_some_and(|s| s.len() > MAX_VALUE)
    {
        return Err(invalid_request());
    }
    match params.one("response_type").ok().flatten() {
        Some("code") if allows(client, OAuthFlow::Code) => {}
        // The implicit grant is not emulated, so no client is allowed it.
        Some("code") | Some("token") => return Err(to_client("unauthorized_client")),
        _ => return Err(invalid_request()),
    }
    let challenge = params.non_empty("code_challenge").ok().flatten();
    let method = params.non_empty("code_challenge_method").ok().flatten();
    match (challenge, method) {
        (None, None) => {}
        // Only S256; `plain` and unknown methods are refused (§1.1, RFC 7636 §4.3).
        (Some(c), Some("S256")) if is_pkce_value(c) => {}
        _ => return Err(invalid_request()),
    }
    if let Some(idp) = params.non_empty("identity_provider").ok().flatten() {
        // Only the pool's own user directory exists here; federated IdPs are not emulated.
        if idp != "COGNITO" {
            return Err(invalid_request());
        }
    }
    let nonce = params.one("nonce").ok().flatten().map(str::to_string);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_VALUE) {
        return Err(invalid_request());
    }
    let granted = scopes::grant_for_authorize(
        params.one("scope").ok().flatten(),
        &client.allowed_scopes,
        |s| pool.knows_custom_scope(s),
    )
    .map_err(|_| to_client("invalid_scope"))?;

    Ok(AuthorizeRequest {
        client_id: client_id.to_string(),
        redirect_uri: redirect_uri.to_string(),
        scopes: granted,
        state,
        nonce,
        code_challenge: challenge.map(str::to_string),
    })
}

/// RFC 7636 §4.1/§4.2: 43–128 characters from the unreserved set.
pub fn is_pkce_value(raw: &str) -> bool {
    (43..=128).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::EmulatorConfig;

    const CB: &str = "http://localhost:4180/oauth2/callback";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn run(query: &str) -> Result<AuthorizeRequest, Rejection> {
        let pool = Pool::new(&EmulatorConfig::demo());
        check(&pool, &Params::parse(query.as_bytes()))
    }

    fn base() -> String {
        format!(
            "client_id=local-client&redirect_uri={}&response_type=code&state=s1",
            form_urlencoded::byte_serialize(CB.as_bytes()).collect::<String>()
        )
    }

    fn client_error(query: &str) -> Option<&'static str> {
        match run(query) {
            Err(Rejection::ToClient { error, state, .. }) => {
                assert_eq!(state.as_deref(), Some("s1"));
                Some(error)
            }
            _ => None,
        }
    }

    #[test]
    fn valid_request_grants_all_client_scopes() {
        let ok = run(&format!(
            "{}&nonce=n&code_challenge={CHALLENGE}&code_challenge_method=S256",
            base()
        ))
        .unwrap();
        assert_eq!(ok.scopes, vec!["openid", "email", "profile"]);
        assert_eq!(ok.nonce.as_deref(), Some("n"));
        assert_eq!(ok.code_challenge.as_deref(), Some(CHALLENGE));
    }

    #[test]
    fn client_and_redirect_problems_never_reach_the_app() {
        assert_eq!(run("redirect_uri=x"), Err(Rejection::ErrorPage));
        assert_eq!(
            run("client_id=nope&response_type=code"),
            Err(Rejection::ErrorPage)
        );
        let mismatch = Err(Rejection::RedirectMismatch {
            client_id: "local-client".into(),
        });
        assert_eq!(run("client_id=local-client&response_type=code"), mismatch);
        assert_eq!(
            run("client_id=local-client&redirect_uri=http%3A%2F%2Flocalhost%3A4180%2Foauth2%2Fcallback%2F"),
            mismatch
        );
        assert_eq!(
            run(&format!("{}&redirect_uri=http%3A%2F%2Fevil", base())),
            mismatch
        );
    }

    #[test]
    fn other_problems_redirect_with_state() {
        let b = base();
        assert_eq!(
            client_error(&b.replace("response_type=code", "response_type=token")),
            Some("unauthorized_client")
        );
        assert_eq!(
            client_error(&b.replace("response_type=code", "")),
            Some("invalid_request")
        );
        assert_eq!(
            client_error(&b.replace("response_type=code", "response_type=id_token")),
            Some("invalid_request")
        );
        assert_eq!(
            client_error(&format!("{b}&code_challenge={CHALLENGE}")),
            Some("invalid_request")
        );
        assert_eq!(
            client_error(&format!(
                "{b}&code_challenge={CHALLENGE}&code_challenge_method=plain"
            )),
            Some("invalid_request")
        );
        assert_eq!(
            client_error(&format!(
                "{b}&code_challenge=short&code_challenge_method=S256"
            )),
            Some("invalid_request")
        );
        assert_eq!(
            client_error(&format!("{b}&scope=openid+phone")),
            Some("invalid_scope")
        );
        assert_eq!(
            client_error(&format!("{b}&identity_provider=Google")),
            Some("invalid_request")
        );
        assert_eq!(
            client_error(&format!("{b}&nonce=a&nonce=b")),
            Some("invalid_request")
        );
    }

    #[test]
    fn ignored_parameters_are_accepted() {
        let ok = run(&format!(
            "{}&lang=ja&prompt=login&resource=https%3A%2F%2Fapi&idp_identifier=x&identity_provider=COGNITO&scope=openid+unknown",
            base()
        ))
        .unwrap();
        assert_eq!(ok.scopes, vec!["openid"]);
    }

    #[test]
    fn pkce_values() {
        assert!(is_pkce_value(CHALLENGE));
        assert!(!is_pkce_value("a"));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}=", &CHALLENGE[..42])));
    }
}
