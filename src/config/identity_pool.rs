//! The `identity_pool` section: a Cognito identity pool (federated identities) that turns
//! a signed-in user — or, when allowed, a guest — into temporary AWS credentials
//! (cognito-protocol.md §4). Types, defaults and the semantic checks of this section.

use serde::{Deserialize, Serialize};
use url::Url;

use super::types::{bool_or_string, AuthorizationHeader, Config};

/// `identity_pool:` in the config file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityPoolConfig {
    /// `<region>:<uuid>`, as the console shows it.
    pub id: String,
    /// Give visitors who are not signed in guest credentials (the pool's unauthenticated
    /// role); the pool itself must allow unauthenticated identities too.
    #[serde(default, deserialize_with = "bool_or_string")]
    pub allow_unauthenticated: bool,
    /// The `cognito-identity` API base URL; default
    /// `https://cognito-identity.<region>.amazonaws.com/`. Point it at the local emulator
    /// in development.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<Url>,
    /// Also send the signed-in user's credentials upstream as `X-Aws-*` headers.
    #[serde(default, deserialize_with = "bool_or_string")]
    pub forward_credentials: bool,
}

impl IdentityPoolConfig {
    /// The region part of `id` (`us-east-1` in `us-east-1:0f1e…`).
    pub fn region(&self) -> &str {
        self.id.split_once(':').map_or("", |(region, _)| region)
    }

    /// Where the JSON 1.1 calls go: `endpoint`, else the regional AWS endpoint.
    pub fn endpoint_url(&self) -> Result<Url, url::ParseError> {
        match &self.endpoint {
            Some(url) => Ok(url.clone()),
            None => Url::parse(&format!(
                "https://cognito-identity.{}.amazonaws.com/",
                self.region()
            )),
        }
    }
}

/// Semantic checks of the section on its own.
pub fn validate(pool: &IdentityPoolConfig) -> Vec<String> {
    let mut problems = Vec::new();
    if !is_pool_id(&pool.id) {
        problems.push(format!(
            "identity_pool.id: `{}` is not an identity pool id; it looks like us-east-1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff",
            pool.id
        ));
    }
    if let Some(url) = &pool.endpoint {
        let origin_like = url.query().is_none() && url.fragment().is_none();
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !origin_like {
            problems.push(format!(
                "identity_pool.endpoint: `{url}` must be an http:// or https:// URL with a host and no query, like http://127.0.0.1:4181"
            ));
        }
    }
    problems
}

/// Checks that need other sections: the identity pool needs a current ID token, which
/// the sidecar gets by refreshing the session unless the session keeps the ID token.
pub fn validate_against(config: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    if config.identity_pool.is_some()
        && !config.session.refresh
        && config.headers.authorization != AuthorizationHeader::Id
    {
        problems.push(
            "identity_pool: needs session.refresh: true (or headers.authorization: id), or the sidecar has no ID token to exchange for AWS credentials"
                .into(),
        );
    }
    problems
}

/// `<region>:<uuid>` with a lower-case region code and a lower-case UUID, as AWS
/// writes identity pool ids (API pattern `[\w-]+:[0-9a-f-]+`, at most 55 characters).
pub fn is_pool_id(id: &str) -> bool {
    let Some((region, uuid)) = id.split_once(':') else {
        return false;
    };
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let uuid_ok = uuid
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-')
        && uuid::Uuid::try_parse(uuid).is_ok()
        && uuid.len() == 36;
    id.len() <= 55 && region_ok && uuid_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(id: &str, endpoint: Option<&str>) -> IdentityPoolConfig {
        IdentityPoolConfig {
            id: id.into(),
            allow_unauthenticated: false,
            endpoint: endpoint.map(|e| Url::parse(e).unwrap()),
            forward_credentials: false,
        }
    }

    #[test]
    fn pool_ids_follow_the_aws_shape() {
        assert!(is_pool_id("us-east-1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff"));
        for bad in [
            "",
            "us-east-1",
            ":0f1e2d3c-4b5a-6978-8899-aabbccddeeff",
            "us-east-1:",
            "us-east-1:not-a-uuid",
            "US-EAST-1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff",
            "us-east-1:0F1E2D3C-4B5A-6978-8899-AABBCCDDEEFF",
            "us-east-1:0f1e2d3c4b5a69788899aabbccddeeff",
            "us east 1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff",
            "us-east-1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff:x",
        ] {
            assert!(!is_pool_id(bad), "{bad}");
        }
    }

    #[test]
    fn endpoint_defaults_to_the_regional_service() {
        let p = pool("eu-west-1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff", None);
        assert_eq!(p.region(), "eu-west-1");
        assert_eq!(
            p.endpoint_url().unwrap().as_str(),
            "https://cognito-identity.eu-west-1.amazonaws.com/"
        );
        let p = pool(
            "eu-west-1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff",
            Some("http://127.0.0.1:4181"),
        );
        assert_eq!(p.endpoint_url().unwrap().as_str(), "http://127.0.0.1:4181/");
        assert!(validate(&p).is_empty());
    }

    const BASE: &str = "upstream: http://127.0.0.1:8080\npublic_url: https://app.example.com\ncognito:\n  region: us-east-1\n  user_pool_id: us-east-1_Ab12Cd34E\n  client_id: c\n  domain: https://auth.example.com\nsession:\n  secret: 3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

    #[test]
    fn the_section_loads_from_yaml_and_env() {
        let yaml =
            format!("{BASE}identity_pool:\n  id: us-east-1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff\n");
        let env = [(
            "COGNITO_SIDECAR_IDENTITY_POOL__FORWARD_CREDENTIALS".to_string(),
            "true".to_string(),
        )];
        let config = crate::config::load_from_str(&yaml, env).unwrap();
        let pool = config.identity_pool.unwrap();
        assert!(pool.forward_credentials && !pool.allow_unauthenticated);
        assert_eq!(pool.endpoint, None);
    }

    #[test]
    fn problems_are_reported_with_their_key_path() {
        let problems = |extra: &str| {
            crate::config::load_from_str(&format!("{BASE}{extra}"), std::iter::empty())
                .err()
                .map(|e| e.0)
                .unwrap_or_default()
        };
        let found = problems("identity_pool:\n  id: nope\n  colour: red\n");
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("identity_pool.colour: unknown key")),
            "{found:?}"
        );
        let found = problems("identity_pool:\n  id: nope\n");
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("identity_pool.id: `nope`")),
            "{found:?}"
        );
        let found =
            problems("identity_pool:\n  id: us-east-1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff\n");
        assert!(found.is_empty(), "{found:?}");
        let no_refresh = BASE.replace("session:\n", "session:\n  refresh: false\n");
        let found = crate::config::load_from_str(
            &format!("{no_refresh}identity_pool:\n  id: us-east-1:0f1e2d3c-4b5a-6978-8899-aabbccddeeff\n"),
            std::iter::empty(),
        )
        .err()
        .map(|e| e.0)
        .unwrap_or_default();
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("identity_pool: needs session.refresh: true"),
            "{found:?}"
        );
    }

    #[test]
    fn problems_name_their_key() {
        let found = validate(&pool("nope", Some("ftp://x/?q=1")));
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("identity_pool.id: `nope`"));
        assert!(found[1].starts_with("identity_pool.endpoint: "));
    }
}
