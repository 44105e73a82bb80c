//! The user pool as the running emulator sees it: app clients and pool settings from
//! the config, looked up by id, with the issuer and origin resolved once at startup.
//! Read-only; users live in [`super::users`], everything else that changes at run time
//! in [`super::store`].

use std::collections::HashSet;
use std::time::Duration;

use super::config::{ClientConfig, EmulatorConfig, OAuthFlow, PasswordPolicyConfig, SignUpConfig};
use super::scopes;

#[derive(Debug)]
pub struct Pool {
    pub user_pool_id: String,
    pub base_url: String,
    pub issuer: String,
    pub code_validity: Duration,
    pub hooks_enabled: bool,
    pub https: bool,
    pub password_policy: PasswordPolicyConfig,
    pub sign_up: SignUpConfig,
    clients: Vec<ClientConfig>,
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
            password_policy: config.sign_in.password_policy.clone(),
            sign_up: config.sign_up.clone(),
            clients: config.clients.clone(),
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
    fn issuer_is_resolved_from_the_listen_address() {
        let pool = Pool::new(&EmulatorConfig::demo());
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
