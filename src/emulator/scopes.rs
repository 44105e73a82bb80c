//! OAuth scope decisions for the authorize and token endpoints (cognito-protocol.md
//! §1.1 `scope`, §1.3 client credentials). Pure functions: the caller passes what was
//! requested and what the client and pool allow.

/// Scopes Cognito reserves; everything else must be a resource-server scope `server/name`.
pub const RESERVED: &[&str] = &[
    "openid",
    "email",
    "phone",
    "profile",
    "aws.cognito.signin.user.admin",
];

/// Scopes that are only granted together with `openid` (Cognito authorize endpoint doc).
pub const NEED_OPENID: &[&str] = &["email", "phone", "profile"];

/// The request asked for a scope it may not have: answered with `invalid_scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidScope;

pub fn is_reserved(scope: &str) -> bool {
    RESERVED.contains(&scope)
}

/// A resource-server scope: `<identifier>/<name>`; the identifier may itself be a URL
/// (`https://api.example.com/read`), so only the last `/` separates the name.
pub fn is_custom(scope: &str) -> bool {
    !is_reserved(scope)
        && scope.bytes().all(|b| b.is_ascii_graphic())
        && scope
            .rsplit_once('/')
            .is_some_and(|(server, name)| !server.is_empty() && !name.is_empty())
}

/// Splits a `scope` parameter on spaces (form decoding already turned `+` into spaces),
/// dropping empty pieces and repeats.
pub fn split(raw: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for scope in raw.split(' ').filter(|s| !s.is_empty()) {
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    out
}

/// Scopes granted at `/oauth2/authorize`. Nothing requested → every scope enabled on the
/// client. A requested scope the pool knows (reserved, or enabled on any client) but this
/// client may not use → `invalid_scope`; a scope nobody defines is ignored, as Cognito
/// ignores scopes that are not enabled. `email`/`phone`/`profile` need `openid`.
pub fn grant_for_authorize(
    requested: Option<&str>,
    client_allowed: &[String],
    known_in_pool: impl Fn(&str) -> bool,
) -> Result<Vec<String>, InvalidScope> {
    let requested = requested.map(split).unwrap_or_default();
    if requested.is_empty() {
        return Ok(client_allowed.to_vec());
    }
    let mut granted = Vec::new();
    for scope in requested {
        if client_allowed.iter().any(|s| s == scope) {
            granted.push(scope.to_string());
        } else if is_reserved(scope) || known_in_pool(scope) {
            return Err(InvalidScope);
        }
    }
    let has_openid = granted.iter().any(|s| s == "openid");
    if granted.is_empty()
        || (!has_openid && granted.iter().any(|s| NEED_OPENID.contains(&s.as_str())))
    {
        return Err(InvalidScope);
    }
    Ok(granted)
}

/// Scopes granted to a client-credentials request: only custom scopes enabled on the
/// client; nothing requested → all of them; a reserved or not-enabled scope →
/// `invalid_scope` (cognito-protocol.md §1.3).
pub fn grant_for_client_credentials(
    requested: Option<&str>,
    client_allowed: &[String],
) -> Result<Vec<String>, InvalidScope> {
    let requested = requested.map(split).unwrap_or_default();
    let granted: Vec<String> = if requested.is_empty() {
        client_allowed
            .iter()
            .filter(|s| is_custom(s))
            .cloned()
            .collect()
    } else {
        let mut granted = Vec::new();
        for scope in requested {
            if !is_custom(scope) || !client_allowed.iter().any(|s| s == scope) {
                return Err(InvalidScope);
            }
            granted.push(scope.to_string());
        }
        granted
    };
    if granted.is_empty() {
        return Err(InvalidScope);
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn allowed(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn custom_scope_shapes() {
        assert!(is_custom("orders-api/read"));
        assert!(is_custom("https://api.example.com/read"));
        assert!(!is_custom("openid"));
        assert!(!is_custom("read"));
        assert!(!is_custom("/read"));
        assert!(!is_custom("api/"));
        assert!(!is_custom("api/re ad"));
    }

    #[test]
    fn authorize_defaults_to_every_client_scope() {
        let client = allowed(&["openid", "email", "api/read"]);
        assert_eq!(
            grant_for_authorize(None, &client, |_| false),
            Ok(client.clone())
        );
        assert_eq!(
            grant_for_authorize(Some("  "), &client, |_| false),
            Ok(client)
        );
    }

    #[test]
    fn authorize_rejects_known_but_not_allowed_and_ignores_unknown() {
        let client = allowed(&["openid", "email"]);
        assert_eq!(
            grant_for_authorize(Some("openid email whatever"), &client, |_| false),
            Ok(allowed(&["openid", "email"]))
        );
        assert_eq!(
            grant_for_authorize(Some("openid phone"), &client, |_| false),
            Err(InvalidScope)
        );
        assert_eq!(
            grant_for_authorize(Some("openid api/write"), &client, |s| s == "api/write"),
            Err(InvalidScope)
        );
        assert_eq!(
            grant_for_authorize(Some("nothing"), &client, |_| false),
            Err(InvalidScope)
        );
    }

    #[test]
    fn authorize_needs_openid_for_email() {
        let client = allowed(&["openid", "email"]);
        assert_eq!(
            grant_for_authorize(Some("email"), &client, |_| false),
            Err(InvalidScope)
        );
    }

    #[test]
    fn client_credentials_only_custom_scopes() {
        let client = allowed(&["openid", "api/read", "api/write"]);
        assert_eq!(
            grant_for_client_credentials(None, &client),
            Ok(allowed(&["api/read", "api/write"]))
        );
        assert_eq!(
            grant_for_client_credentials(Some("api/read"), &client),
            Ok(allowed(&["api/read"]))
        );
        assert_eq!(
            grant_for_client_credentials(Some("openid"), &client),
            Err(InvalidScope)
        );
        assert_eq!(
            grant_for_client_credentials(Some("api/delete"), &client),
            Err(InvalidScope)
        );
        assert_eq!(
            grant_for_client_credentials(None, &allowed(&["openid"])),
            Err(InvalidScope)
        );
    }

    proptest! {
        #[test]
        fn granted_scopes_are_always_allowed_and_respect_openid(
            requested in proptest::collection::vec(
                prop_oneof![Just("openid"), Just("email"), Just("phone"), Just("profile"),
                    Just("api/read"), Just("api/write"), Just("junk")], 0..6),
            client in proptest::collection::vec(
                prop_oneof![Just("openid"), Just("email"), Just("profile"), Just("api/read")], 1..4),
        ) {
            let client: Vec<String> = client.iter().map(|s| s.to_string()).collect();
            let raw = requested.join(" ");
            if let Ok(granted) = grant_for_authorize(Some(&raw), &client, |s| s == "api/write") {
                prop_assert!(!granted.is_empty());
                prop_assert!(granted.iter().all(|g| client.contains(g)));
                if !requested.is_empty() {
                    prop_assert!(granted.iter().all(|g| requested.contains(&g.as_str())));
                    if granted.iter().any(|g| NEED_OPENID.contains(&g.as_str())) {
                        prop_assert!(granted.iter().any(|g| g == "openid"));
                    }
                }
            }
            if let Ok(granted) = grant_for_client_credentials(Some(&raw), &client) {
                prop_assert!(granted.iter().all(|g| is_custom(g) && client.contains(g)));
            }
        }
    }
}
