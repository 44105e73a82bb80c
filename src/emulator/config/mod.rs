//! The emulator's configuration (SPEC §9): the user pool, its app clients and users, as
//! read from YAML, plus the built-in demo pool used by `demo` and by `emulator` without
//! `-c`.
//!
//! Reading and path-precise error messages live in [`load`]; the semantic checks that
//! report every problem at once live in [`validate`]. Fields are plain data: the running
//! emulator turns them into its own lookup tables once at startup.

mod experience;
mod load;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::config::{HumanDuration, Secret};

pub use experience::{
    Mfa, PasswordPolicyConfig, SignInAttribute, SignInConfig, SignUpConfig, VerifiedAttribute,
};
pub use load::{load_config, load_config_str};
pub use validate::{is_attribute_name, validate};

/// Every problem found in an emulator config, each as `key.path: what is wrong`.
/// The CLI prints them one per line and exits 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblems(pub Vec<String>);

impl fmt::Display for ConfigProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for ConfigProblems {}

/// The whole emulator config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmulatorConfig {
    /// Address the emulator binds.
    #[serde(default = "defaults::listen")]
    pub listen: SocketAddr,
    /// The externally visible origin (`http://emulator:4181` inside docker-compose).
    /// Default: `http://{listen}`.
    #[serde(default)]
    pub base_url: Option<String>,
    #[serde(default = "defaults::region")]
    pub region: String,
    #[serde(default = "defaults::user_pool_id")]
    pub user_pool_id: String,
    /// Authorization-code lifetime. Cognito fixes it at 5 minutes; tests may shorten it.
    #[serde(default = "defaults::code_validity")]
    pub code_validity: HumanDuration,
    #[serde(default)]
    pub hooks: HooksConfig,
    /// Sign-in identifiers, password policy, MFA (console: "Sign-in experience").
    #[serde(default)]
    pub sign_in: SignInConfig,
    /// Self-registration, required attributes, verification (console: "Sign-up
    /// experience").
    #[serde(default)]
    pub sign_up: SignUpConfig,
    pub clients: Vec<ClientConfig>,
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// Identity pools served as the `cognito-identity` API at `POST /`.
    #[serde(default)]
    pub identity_pools: Vec<IdentityPoolConfig>,
}

/// One identity pool whose authentication provider is this user pool
/// (cognito-protocol.md §4).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityPoolConfig {
    /// `<region>:<uuid>`.
    pub id: String,
    /// Guests (no `Logins`) get identities and credentials (§4.4).
    #[serde(default)]
    pub allow_unauthenticated: bool,
    /// App clients whose ID tokens the pool accepts (Cognito's
    /// `CognitoIdentityProviders[].ClientId`); default: every client of the pool.
    #[serde(default)]
    pub client_ids: Vec<String>,
    /// Lifetime of issued credentials. Cognito fixes it at 1 hour; tests may shorten it.
    #[serde(default = "defaults::credentials_validity")]
    pub credentials_validity: HumanDuration,
}

/// `hooks:` — the `/_emulator/*` test endpoints (off unless enabled).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HooksConfig {
    #[serde(default)]
    pub enabled: bool,
}

/// An OAuth flow an app client may use (Cognito's `AllowedOAuthFlows`, minus `implicit`,
/// which the emulator does not implement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthFlow {
    Code,
    ClientCredentials,
}

/// One app client of the pool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    pub client_id: String,
    /// Absent for a public client (PKCE only, no client authentication).
    #[serde(default)]
    pub client_secret: Option<Secret>,
    #[serde(default)]
    pub callback_urls: Vec<String>,
    #[serde(default)]
    pub logout_urls: Vec<String>,
    #[serde(default = "defaults::scopes")]
    pub allowed_scopes: Vec<String>,
    /// Default: `[code, client_credentials]` with a secret, `[code]` without.
    #[serde(default)]
    pub allowed_flows: Option<Vec<OAuthFlow>>,
    #[serde(default = "defaults::token_validity")]
    pub id_token_validity: HumanDuration,
    #[serde(default = "defaults::token_validity")]
    pub access_token_validity: HumanDuration,
    #[serde(default = "defaults::refresh_token_validity")]
    pub refresh_token_validity: HumanDuration,
    #[serde(default)]
    pub refresh_token_rotation: bool,
    /// How long a rotated-out refresh token still works (Cognito's
    /// `RetryGracePeriodSeconds`, 0–60 s).
    #[serde(default = "defaults::zero")]
    pub refresh_token_grace_period: HumanDuration,
    #[serde(default = "defaults::yes")]
    pub enable_token_revocation: bool,
}

impl ClientConfig {
    /// The flows this client may use, with the documented default applied.
    pub fn flows(&self) -> Vec<OAuthFlow> {
        match &self.allowed_flows {
            Some(flows) => flows.clone(),
            None if self.client_secret.is_some() => {
                vec![OAuthFlow::Code, OAuthFlow::ClientCredentials]
            }
            None => vec![OAuthFlow::Code],
        }
    }
}

/// One user of the pool.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub username: String,
    pub password: Secret,
    /// Fixed `sub` UUID; default: derived from the pool id and username, so it is
    /// stable across restarts.
    #[serde(default)]
    pub sub: Option<String>,
    /// Standard attributes (`email`, `email_verified`, `name`, …) and `custom:*` ones.
    /// Cognito stores every attribute as a string; YAML booleans and numbers are
    /// accepted and kept as their text.
    #[serde(default, deserialize_with = "string_map")]
    pub attributes: BTreeMap<String, String>,
    #[serde(default)]
    pub groups: Vec<String>,
}

impl UserConfig {
    /// The user's `sub`: the configured one, else a UUID derived from the pool id and
    /// username so it stays the same across restarts (sessions held by the sidecar keep
    /// pointing at the same user).
    pub fn resolved_sub(&self, user_pool_id: &str) -> String {
        if let Some(sub) = &self.sub {
            return sub.to_ascii_lowercase();
        }
        let seed = format!(
            "cognito-sidecar-emulator\0{user_pool_id}\0{}",
            self.username
        );
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, seed.as_bytes());
        let mut bytes = [0u8; 16];
        for (out, byte) in bytes.iter_mut().zip(digest.as_ref()) {
            *out = *byte;
        }
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .to_string()
    }
}

fn string_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Str(String),
        Bool(bool),
        Int(i64),
        Float(f64),
    }
    let raw = BTreeMap::<String, Scalar>::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(k, v)| {
            let text = match v {
                Scalar::Str(s) => s,
                Scalar::Bool(b) => b.to_string(),
                Scalar::Int(i) => i.to_string(),
                Scalar::Float(f) => f.to_string(),
            };
            (k, text)
        })
        .collect())
}

/// The identity pool of the built-in demo pool.
pub const DEMO_IDENTITY_POOL: &str = "us-east-1:0c0ffee0-0000-4000-8000-000000000001";

impl EmulatorConfig {
    /// The built-in pool of `cognito-sidecar demo` and `emulator` without `-c`.
    pub fn demo() -> Self {
        let user = |name: &str, sub: &str, groups: Vec<String>, verified: bool| UserConfig {
            username: name.into(),
            password: Secret::new("Passw0rd!".into()),
            sub: Some(sub.into()),
            attributes: BTreeMap::from([
                ("email".to_string(), format!("{name}@example.com")),
                ("email_verified".to_string(), verified.to_string()),
            ]),
            groups,
        };
        EmulatorConfig {
            listen: defaults::listen(),
            base_url: None,
            region: defaults::region(),
            user_pool_id: defaults::user_pool_id(),
            code_validity: defaults::code_validity(),
            hooks: HooksConfig::default(),
            sign_in: SignInConfig::default(),
            sign_up: SignUpConfig::default(),
            clients: vec![ClientConfig {
                client_id: "local-client".into(),
                client_secret: Some(Secret::new("local-secret".into())),
                callback_urls: vec![
                    "http://localhost:4180/oauth2/callback".into(),
                    "http://127.0.0.1:4180/oauth2/callback".into(),
                ],
                logout_urls: vec![
                    "http://localhost:4180/".into(),
                    "http://127.0.0.1:4180/".into(),
                ],
                allowed_scopes: defaults::scopes(),
                allowed_flows: None,
                id_token_validity: defaults::token_validity(),
                access_token_validity: defaults::token_validity(),
                refresh_token_validity: defaults::refresh_token_validity(),
                refresh_token_rotation: false,
                refresh_token_grace_period: defaults::zero(),
                enable_token_revocation: true,
            }],
            users: vec![
                user(
                    "alice",
                    "7d8f2a44-5b1c-4e0f-9a3d-1c2b3a4d5e6f",
                    vec!["admins".into()],
                    true,
                ),
                user("bob", "0b6e3c9a-2f4d-4a81-b7e5-9c8d7e6f5a4b", vec![], false),
            ],
            identity_pools: vec![IdentityPoolConfig {
                id: DEMO_IDENTITY_POOL.into(),
                allow_unauthenticated: true,
                client_ids: Vec::new(),
                credentials_validity: defaults::credentials_validity(),
            }],
        }
    }

    /// The origin the emulator's own URLs are built on, without a trailing slash.
    pub fn base_url(&self) -> String {
        match &self.base_url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://{}", self.listen),
        }
    }

    /// `iss` of every token: `{base_url}/{user_pool_id}` (SPEC §9).
    pub fn issuer(&self) -> String {
        format!("{}/{}", self.base_url(), self.user_pool_id)
    }
}

mod defaults {
    use super::*;

    pub fn listen() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 4181))
    }
    pub fn region() -> String {
        "us-east-1".into()
    }
    pub fn user_pool_id() -> String {
        "us-east-1_LOCAL".into()
    }
    pub fn scopes() -> Vec<String> {
        vec!["openid".into(), "email".into(), "profile".into()]
    }
    /// Cognito's fixed authorization-code lifetime (cognito-protocol.md §2.5).
    pub fn code_validity() -> HumanDuration {
        HumanDuration(Duration::from_secs(300))
    }
    pub fn token_validity() -> HumanDuration {
        HumanDuration(Duration::from_secs(3600))
    }
    pub fn refresh_token_validity() -> HumanDuration {
        HumanDuration(Duration::from_secs(30 * 24 * 3600))
    }
    /// Identity-pool credentials last one hour (cognito-protocol.md §4.3).
    pub fn credentials_validity() -> HumanDuration {
        HumanDuration(Duration::from_secs(3600))
    }
    pub fn zero() -> HumanDuration {
        HumanDuration(Duration::ZERO)
    }
    pub fn yes() -> bool {
        true
    }
}
