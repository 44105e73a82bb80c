//! Client authentication at the token and revoke endpoints (cognito-protocol.md §1.3):
//! HTTP Basic (`client_secret_basic`) or `client_id` + `client_secret` in the form
//! (`client_secret_post`). A client with a secret must authenticate; a public client
//! sends only its `client_id`.

use http::HeaderMap;

use super::config::ClientConfig;
use super::pool::{secret_matches, Pool};
use super::request::{basic, Basic, Params};

/// Why a client could not be authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuthError {
    /// Malformed: more than one method, or a repeated parameter (`invalid_request`).
    InvalidRequest,
    /// Unknown client, wrong or missing secret (`invalid_client`).
    InvalidClient,
}

pub fn authenticate<'p>(
    pool: &'p Pool,
    headers: &HeaderMap,
    form: &Params,
) -> Result<&'p ClientConfig, ClientAuthError> {
    let body_id = form
        .non_empty("client_id")
        .map_err(|_| ClientAuthError::InvalidRequest)?;
    let body_secret = form
        .one("client_secret")
        .map_err(|_| ClientAuthError::InvalidRequest)?;
    let (id, secret) = match basic(headers) {
        Basic::Malformed => return Err(ClientAuthError::InvalidClient),
        Basic::Credentials { id, secret } => {
            // RFC 6749 §2.3: a client must not use more than one method per request.
            if body_secret.is_some() {
                return Err(ClientAuthError::InvalidRequest);
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(ClientAuthError::InvalidClient);
            }
            (id, Some(secret))
        }
        Basic::Absent => (
            body_id.ok_or(ClientAuthError::InvalidClient)?.to_string(),
            body_secret.map(str::to_string),
        ),
    };
    let client = pool.client(&id).ok_or(ClientAuthError::InvalidClient)?;
    let ok = match (&client.client_secret, secret.as_deref()) {
        (Some(_), Some(given)) => secret_matches(client, given),
        (Some(_), None) => false,
        (None, None) | (None, Some("")) => true,
        (None, Some(_)) => false,
    };
    if ok {
        Ok(client)
    } else {
        Err(ClientAuthError::InvalidClient)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::config::EmulatorConfig;
    use base64::Engine;
    use http::header::AUTHORIZATION;
    use http::HeaderValue;

    fn pool() -> Pool {
        let mut config = EmulatorConfig::demo();
        let mut public = config.clients[0].clone();
        public.client_id = "public".into();
        public.client_secret = None;
        config.clients.push(public);
        Pool::new(&config)
    }

    fn basic_header(id: &str, secret: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let value = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        h.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {value}")).unwrap(),
        );
        h
    }

    fn run(headers: &HeaderMap, form: &str) -> Result<String, ClientAuthError> {
        let pool = pool();
        authenticate(&pool, headers, &Params::parse(form.as_bytes())).map(|c| c.client_id.clone())
    }

    #[test]
    fn basic_and_body_methods_work() {
        let none = HeaderMap::new();
        assert_eq!(
            run(&basic_header("local-client", "local-secret"), ""),
            Ok("local-client".into())
        );
        assert_eq!(
            run(&none, "client_id=local-client&client_secret=local-secret"),
            Ok("local-client".into())
        );
        assert_eq!(run(&none, "client_id=public"), Ok("public".into()));
    }

    #[test]
    fn failures_are_classified() {
        let none = HeaderMap::new();
        use ClientAuthError::*;
        assert_eq!(run(&none, "client_id=local-client"), Err(InvalidClient));
        assert_eq!(
            run(&none, "client_id=local-client&client_secret=nope"),
            Err(InvalidClient)
        );
        assert_eq!(run(&none, ""), Err(InvalidClient));
        assert_eq!(run(&none, "client_id=ghost"), Err(InvalidClient));
        assert_eq!(
            run(&none, "client_id=public&client_secret=x"),
            Err(InvalidClient)
        );
        assert_eq!(
            run(&basic_header("local-client", "bad"), ""),
            Err(InvalidClient)
        );
        assert_eq!(
            run(
                &basic_header("local-client", "local-secret"),
                "client_secret=local-secret"
            ),
            Err(InvalidRequest)
        );
        assert_eq!(
            run(
                &basic_header("local-client", "local-secret"),
                "client_id=public"
            ),
            Err(InvalidClient)
        );
        assert_eq!(run(&none, "client_id=a&client_id=b"), Err(InvalidRequest));
    }
}
