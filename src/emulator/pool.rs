//! The user pool as the running emulator sees it: app clients and users from the config,
//! looked up by id, with the issuer and origin resolved once at startup. Read-only;
//! everything that changes at run time lives in [`super::store`].

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use crate::config::Secret;

use super::config::{ClientConfig, EmulatorConfig, OAuthFlow};
use super::scopes;

/// A user of the pool with its `sub` resolved.
#[derive(Debug, Clone)]
pub struct User {
    pub username: String,
    password: Secret,
    pub sub: String,
    pub attributes: BTreeMap<String, String>,
    pub groups: Vec<String>,
}

#[derive(Debug)]
pub struct Pool {
    pub user_pool_id: String,
    pub base_url: String,
    pub issuer: String,
    pub code_validity: Duration,
    pub hooks_enabled: bool,
    pub https: bool,
    clients: Vec<ClientConfig>,
    users: Vec<User>,
    /// Custom scopes enabled on any client: requesting one of them from a client that
    /// lacks it is `invalid_scope`, not ignored.
    custom_scopes: HashSet<String>,
}

impl Pool {
    pub fn new(config: &EmulatorConfig) -> Self {
        let base_url = config.base_url();
        Pool {
            user_pool_id: config.user_pool_id.clone(),
            https: base_url.starts_with("https://"),
            issuer: config.issuer(),
            base_url,
            code_validity: config.code_validity.get(),
            hooks_enabled: config.hooks.enabled,
            clients: config.clients.clone(),
            users: config
                .users
                .iter()
                .map(|u| User {
                    username: u.username.clone(),
                    password: u.password.clone(),
                    sub: u.resolved_sub(&config.user_pool_id),
                    attributes: u.attributes.clone(),
                    groups: u.groups.clone(),
                })
                .collect(),
            custom_scopes: config
                .clients
                .iter()
                .flat_map(|c| c.allowed_scopes.iter())
                .filter(|s| scopes::is_custom(s))
                .cloned()
                .collect(),
        }
    }

    pub fn client(&self, client_id: &str) -> Option<&ClientConfig> {
        self.clients.iter().find(|c| c.client_id == client_id)
    }

    /// Usernames are case-insensitive (cognito-protocol.md §5).
    pub fn user(&self, username: &str) -> Option<&User> {
        let wanted = username.to_lowercase();
        self.users
            .iter()
            .find(|u| u.username.to_lowercase() == wanted)
    }

    /// The user when `password` is theirs. Unknown users and wrong passwords are
    /// indistinguishable to the caller ("Prevent user existence errors", §5).
    pub fn authenticate(&self, username: &str, password: &str) -> Option<&User> {
        let user = self.user(username);
        let expected = user
            .map(|u| u.password.expose())
            .unwrap_or("\u{0}no-such-user");
        let a = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, expected.as_bytes());
        let b = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, password.as_bytes());
        let same =
            aws_lc_rs::constant_time::verify_slices_are_equal(a.as_ref(), b.as_ref()).is_ok();
        user.filter(|_| same)
    }

    pub fn knows_custom_scope(&self, scope: &str) -> bool {
        self.custom_scopes.contains(scope)
    }
}

/// Whether `client` may use `flow`.
pub fn allows(client: &ClientConfig, flow: OAuthFlow) -> bool {
    client.flows().contains(&flow)
}

/// True when `secret` is the client's secret (constant time).
pub fn secret_matches(client: &ClientConfig, secret: &str) -> bool {
    client.client_secret.as_ref().is_some_and(|expected| {
        let a = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, expected.expose().as_bytes());
        let b = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
        aws_lc_rs::constant_time::verify_slices_are_equal(a.as_ref(), b.as_ref()).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_are_found_case_insensitively_and_passwords_checked() {
        let pool = Pool::new(&EmulatorConfig::demo());
        assert_eq!(
            pool.user("ALICE").map(|u| u.username.as_str()),
            Some("alice")
        );
        assert!(pool.authenticate("alice", "Passw0rd!").is_some());
        assert!(pool.authenticate("alice", "wrong").is_none());
        assert!(pool.authenticate("nobody", "Passw0rd!").is_none());
        assert_eq!(pool.issuer, "http://127.0.0.1:4181/us-east-1_LOCAL");
    }

    #[test]
    fn client_secrets_compare() {
        let pool = Pool::new(&EmulatorConfig::demo());
        let client = pool.client("local-client").unwrap();
        assert!(secret_matches(client, "local-secret"));
        assert!(!secret_matches(client, "local-secreT"));
        assert!(allows(client, OAuthFlow::ClientCredentials));
    }
}
