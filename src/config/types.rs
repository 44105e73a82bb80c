//! Config types. Every struct rejects unknown keys (SPEC §3: "Unknown keys are errors").

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use super::server::{ProxyConfig, ServerConfig};

/// A secret value from the config: `Debug` and `Serialize` never show it.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    pub fn new(value: String) -> Self {
        Self(SecretString::from(value))
    }
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("<redacted>")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// A duration written as `30s`, `15m`, `12h`, `7d` (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub const fn secs(s: u64) -> Self {
        Self(Duration::from_secs(s))
    }
    pub fn get(self) -> Duration {
        self.0
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(self.0).to_string())
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Number(serde_json::Number),
        }
        let raw = match Raw::deserialize(d)? {
            Raw::Text(s) => s,
            Raw::Number(n) => n.to_string(),
        };
        parse_duration(&raw)
            .map(HumanDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// Parses `30s`, `15m`, `12h`, `7d`, `1h30m`, `250ms`. A bare number is refused so that
/// `lifetime: 7` can never silently mean seven seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() || trimmed.chars().all(|c| c.is_ascii_digit()) {
        return Err(format!(
            "`{raw}` is not a duration; write it with a unit, like 30s, 15m, 12h or 7d"
        ));
    }
    humantime::parse_duration(trimmed).map_err(|_| {
        format!("`{raw}` is not a duration; write it with a unit, like 30s, 15m, 12h or 7d")
    })
}

/// Numbers may arrive as strings from environment overrides.
pub(super) fn number_or_string<'de, D: Deserializer<'de>, T>(d: D) -> Result<T, D::Error>
where
    T: std::str::FromStr + Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either<T> {
        Num(T),
        Str(String),
    }
    match Either::<T>::deserialize(d)? {
        Either::Num(n) => Ok(n),
        Either::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("`{s}` is not a whole number"))),
    }
}

/// Booleans may arrive as strings from environment overrides.
pub(super) fn bool_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Bool(bool),
        Str(String),
    }
    match Either::deserialize(d)? {
        Either::Bool(b) => Ok(b),
        Either::Str(s) => match s.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(serde::de::Error::custom(format!(
                "`{other}` is not a boolean; use true or false"
            ))),
        },
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "defaults::listen")]
    pub listen: SocketAddr,
    pub upstream: Url,
    pub public_url: Url,
    pub cognito: CognitoConfig,
    pub session: SessionConfig,
    #[serde(default)]
    pub access: AccessConfig,
    #[serde(default)]
    pub bearer: BearerConfig,
    #[serde(default)]
    pub headers: HeadersConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<SocketAddr>,
    #[serde(default = "defaults::proxy_prefix")]
    pub proxy_prefix: String,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub proxy: ProxyConfig,
    #[serde(default)]
    pub log: LogConfig,
    /// Cognito identity pool: temporary AWS credentials for users and guests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_pool: Option<super::identity_pool::IdentityPoolConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CognitoConfig {
    pub region: String,
    pub user_pool_id: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    pub domain: Url,
    #[serde(default = "defaults::scopes")]
    pub scopes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Url>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_url: Option<Url>,
    /// Timeout for every call to Cognito (token, revoke, JWKS).
    #[serde(default = "defaults::idp_timeout")]
    pub timeout: HumanDuration,
    /// How often the JWKS is re-read in the background.
    #[serde(default = "defaults::jwks_refresh")]
    pub jwks_refresh: HumanDuration,
}

impl CognitoConfig {
    /// `https://cognito-idp.{region}.amazonaws.com/{user_pool_id}` unless overridden.
    pub fn issuer(&self) -> String {
        match &self.issuer {
            Some(url) => url.as_str().trim_end_matches('/').to_string(),
            None => format!(
                "https://cognito-idp.{}.amazonaws.com/{}",
                self.region, self.user_pool_id
            ),
        }
    }

    /// The hosted-UI base URL without a trailing slash.
    pub fn domain_base(&self) -> String {
        self.domain.as_str().trim_end_matches('/').to_string()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    #[serde(default = "defaults::cookie_name")]
    pub cookie_name: String,
    #[serde(default = "defaults::lifetime")]
    pub lifetime: HumanDuration,
    #[serde(default = "defaults::yes", deserialize_with = "bool_or_string")]
    pub refresh: bool,
    /// Force the `Secure` attribute on or off; default: on when `public_url` is https.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "opt_bool_or_string"
    )]
    pub cookie_secure: Option<bool>,
    /// Where sessions live: `cookie` (default) or `redis` (issue 10).
    #[serde(default)]
    pub store: super::redis::StoreKind,
    /// The shared Redis for `store: redis`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<super::redis::RedisConfig>,
}

fn opt_bool_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    bool_or_string(d).map(Some)
}

impl SessionConfig {
    /// The key ring in order: the first seals, all open (SPEC §3 `session.secrets`).
    pub fn key_ring(&self) -> Vec<Secret> {
        let mut keys: Vec<Secret> = self.secret.iter().cloned().collect();
        keys.extend(self.secrets.iter().cloned());
        keys
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessConfig {
    #[serde(default)]
    pub public_paths: Vec<String>,
    #[serde(default)]
    pub allowed_groups: Vec<String>,
    #[serde(default)]
    pub rules: Vec<AccessRule>,
    #[serde(default)]
    pub allowed_redirect_hosts: Vec<String>,
    /// What an unauthenticated browser navigation gets: a sign-in redirect or a 401.
    #[serde(default)]
    pub unauthenticated: Unauthenticated,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRule {
    pub path: String,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unauthenticated: Option<Unauthenticated>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unauthenticated {
    #[default]
    Redirect,
    Deny,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenUse {
    Access,
    Id,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BearerConfig {
    #[serde(default = "defaults::token_use")]
    pub token_use: Vec<TokenUse>,
    #[serde(default)]
    pub client_ids: Vec<String>,
}

impl Default for BearerConfig {
    fn default() -> Self {
        Self {
            token_use: defaults::token_use(),
            client_ids: Vec::new(),
        }
    }
}

/// Which identity headers go upstream (SPEC §6); each can be turned off.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadersConfig {
    #[serde(default = "defaults::yes", deserialize_with = "bool_or_string")]
    pub user: bool,
    #[serde(default = "defaults::yes", deserialize_with = "bool_or_string")]
    pub email: bool,
    #[serde(default = "defaults::yes", deserialize_with = "bool_or_string")]
    pub groups: bool,
    #[serde(default = "defaults::yes", deserialize_with = "bool_or_string")]
    pub sub: bool,
    #[serde(default, deserialize_with = "bool_or_string")]
    pub access_token: bool,
    /// `Authorization: Bearer <token>` upstream: `none` (default), `id` or `access`.
    #[serde(default)]
    pub authorization: AuthorizationHeader,
    /// AWS ALB-compatible `x-amzn-oidc-*` headers (off by default).
    #[serde(default)]
    pub alb: AlbConfig,
}

/// The ALB's `authenticate-cognito` headers, so apps written for an ALB run unchanged.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlbConfig {
    #[serde(default, deserialize_with = "bool_or_string")]
    pub enabled: bool,
    /// The `signer` header field (an ALB ARN on AWS); apps should pin it.
    #[serde(default = "defaults::alb_signer")]
    pub signer: String,
    /// P-256 private key (PKCS#8 PEM) signing `x-amzn-oidc-data`. Without it a key is
    /// generated at startup, so every restart and replica gets its own `kid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
}

impl Default for AlbConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            signer: defaults::alb_signer(),
            key_file: None,
        }
    }
}

impl Default for HeadersConfig {
    fn default() -> Self {
        Self {
            user: true,
            email: true,
            groups: true,
            sub: true,
            access_token: false,
            authorization: AuthorizationHeader::None,
            alb: AlbConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthorizationHeader {
    #[default]
    None,
    Id,
    Access,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    /// How often the certificate files are checked for changes.
    #[serde(default = "defaults::tls_reload")]
    pub reload_interval: HumanDuration,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    #[serde(default)]
    pub format: LogFormat,
    /// A tracing filter such as `info` or `cognito_sidecar=debug`; `RUST_LOG` wins.
    #[serde(default = "defaults::log_level")]
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            level: defaults::log_level(),
        }
    }
}

mod defaults {
    use super::{HumanDuration, TokenUse};
    use std::net::SocketAddr;

    pub fn listen() -> SocketAddr {
        SocketAddr::from(([0, 0, 0, 0], 4180))
    }
    pub fn proxy_prefix() -> String {
        "/oauth2".into()
    }
    pub fn scopes() -> Vec<String> {
        ["openid", "email", "profile"].map(String::from).to_vec()
    }
    pub fn cookie_name() -> String {
        "_cognito_sidecar".into()
    }
    pub fn lifetime() -> HumanDuration {
        HumanDuration::secs(7 * 24 * 3600)
    }
    pub fn yes() -> bool {
        true
    }
    pub fn token_use() -> Vec<TokenUse> {
        vec![TokenUse::Access, TokenUse::Id]
    }
    pub fn idp_timeout() -> HumanDuration {
        HumanDuration::secs(5)
    }
    pub fn jwks_refresh() -> HumanDuration {
        HumanDuration::secs(3600)
    }
    pub fn tls_reload() -> HumanDuration {
        HumanDuration::secs(10)
    }
    pub fn alb_signer() -> String {
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/cognito-sidecar/0000000000000000".into()
    }
    pub fn log_level() -> String {
        "info".into()
    }
}
