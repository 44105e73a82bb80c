//! Driving a spawned emulator: config, browser-like clients, the hosted-UI sign-in,
//! token requests, and independent JWT verification against the published JWKS.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::redirect::Policy;
use reqwest::StatusCode;
use serde_json::{Map, Value};

use crate::common::{form_value, free_port, path_str, wait_http, write_temp, Proc};

pub const CB: &str = "http://localhost:4180/oauth2/callback";
pub const LOGOUT: &str = "http://localhost:4180/";
pub const POOL: &str = "us-east-1_TEST";
pub const ALICE_SUB: &str = "11111111-2222-4333-8444-555555555555";

/// Knobs of the test config.
pub struct Options {
    pub hooks: bool,
    pub code_validity: &'static str,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            hooks: true,
            code_validity: "5m",
        }
    }
}

pub fn config(port: u16, options: &Options) -> String {
    format!(
        r#"
listen: 127.0.0.1:{port}
region: us-east-1
user_pool_id: {POOL}
code_validity: {code_validity}
hooks: {{enabled: {hooks}}}
clients:
  - client_id: app
    client_secret: app-secret
    callback_urls: [{CB}]
    logout_urls: [{LOGOUT}]
    allowed_scopes: [openid, email, profile, api/read, api/write]
  - client_id: rotating
    client_secret: rot-secret
    callback_urls: [{CB}]
    refresh_token_rotation: true
  - client_id: public
    callback_urls: [{CB}]
    allowed_scopes: [openid, email]
  - client_id: codeonly
    client_secret: code-secret
    callback_urls: [{CB}]
    allowed_flows: [code]
    allowed_scopes: [openid, api/read]
users:
  - username: alice
    password: "Passw0rd!"
    sub: {ALICE_SUB}
    attributes:
      email: alice@example.com
      email_verified: "true"
      name: Alice
      custom:tenant: acme
    groups: [admins, staff]
  - username: bob
    password: "Passw0rd!"
    attributes: {{email: bob@example.com, email_verified: "false"}}
  - username: carol
    password: "Passw0rd!"
    attributes: {{email: carol@example.com}}
"#,
        code_validity = options.code_validity,
        hooks = options.hooks,
    )
}

/// A running emulator on a free loopback port.
pub struct Emu {
    pub proc: Proc,
    pub base: String,
    pub issuer: String,
    _dir: tempfile::TempDir,
}

pub async fn start() -> Emu {
    start_with(Options::default()).await
}

pub async fn start_with(options: Options) -> Emu {
    let port = free_port();
    let (dir, path) = write_temp("emulator.yaml", &config(port, &options));
    spawn(dir, path_str(&path), port).await
}

/// Spawns `cognito-sidecar emulator -c PATH` where the config listens on `port`.
pub async fn spawn(dir: tempfile::TempDir, path: &str, port: u16) -> Emu {
    let proc = Proc::spawn(&["emulator", "-c", path], &[]);
    let base = format!("http://127.0.0.1:{port}");
    wait_http(&format!("{base}/error"), Duration::from_secs(20)).await;
    Emu {
        proc,
        issuer: format!("{base}/{POOL}"),
        base,
        _dir: dir,
    }
}

/// A browser: keeps cookies, never follows redirects (tests inspect each hop).
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .cookie_store(true)
        .build()
        .expect("client")
}

/// A server-side HTTP client without cookies.
pub fn server() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

pub fn location(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a Location header")
        .to_string()
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let parsed = url::Url::parse(url)
        .or_else(|_| url::Url::parse(&format!("http://x{url}")))
        .ok()?;
    parsed
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A PKCE pair: (verifier, S256 challenge).
pub fn pkce() -> (String, String) {
    let verifier = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    (verifier, URL_SAFE_NO_PAD.encode(digest.as_ref()))
}

pub fn decode_segment(token: &str, index: usize) -> Value {
    let segment = token.split('.').nth(index).expect("segment");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).expect("base64url")).expect("json")
}

impl Emu {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn authorize_url(&self, client: &str, extra: &[(&str, &str)]) -> String {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", client),
            ("redirect_uri", CB),
        ];
        pairs.extend_from_slice(extra);
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.url(&format!("/oauth2/authorize?{query}"))
    }

    /// Follows authorize → /login, submits the form; returns the final response.
    pub async fn sign_in(
        &self,
        browser: &reqwest::Client,
        client: &str,
        extra: &[(&str, &str)],
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let first = browser
            .get(self.authorize_url(client, extra))
            .send()
            .await
            .expect("authorize");
        assert_eq!(first.status(), StatusCode::FOUND);
        let login = location(&first);
        assert!(login.starts_with("/login?"), "{login}");
        let page = browser
            .get(self.url(&login))
            .send()
            .await
            .expect("login page");
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.expect("html");
        let csrf = form_value(&html, "_csrf").expect("a _csrf field");
        browser
            .post(self.url(&login))
            .form(&[
                ("_csrf", csrf.as_str()),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .expect("login post")
    }

    /// Signs alice in and returns the authorization code.
    pub async fn code(
        &self,
        browser: &reqwest::Client,
        client: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let done = self
            .sign_in(browser, client, extra, "alice", "Passw0rd!")
            .await;
        assert_eq!(done.status(), StatusCode::FOUND);
        let target = location(&done);
        assert!(target.starts_with(CB), "{target}");
        query_param(&target, "code").expect("code")
    }

    /// POST /oauth2/token with Basic client auth (when `secret` is given).
    pub async fn token(
        &self,
        client: &str,
        secret: Option<&str>,
        form: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let mut request = server().post(self.url("/oauth2/token")).form(form);
        if let Some(secret) = secret {
            request = request.basic_auth(client, Some(secret));
        }
        let response = request.send().await.expect("token request");
        let status = response.status();
        if status != StatusCode::OK {
            assert_eq!(
                response.headers()["content-type"],
                "application/json;charset=UTF-8"
            );
        }
        (status, response.json().await.expect("json body"))
    }

    /// Runs the whole code flow for alice on client `app` and returns the token response.
    pub async fn tokens(&self, client: &str, secret: &str, extra: &[(&str, &str)]) -> Value {
        let code = self.code(&browser(), client, extra).await;
        let (status, body) = self
            .token(
                client,
                Some(secret),
                &[
                    ("grant_type", "authorization_code"),
                    ("code", &code),
                    ("redirect_uri", CB),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    pub async fn jwks(&self) -> jsonwebtoken::jwk::JwkSet {
        server()
            .get(self.url(&format!("/{POOL}/.well-known/jwks.json")))
            .send()
            .await
            .expect("jwks")
            .json()
            .await
            .expect("jwks json")
    }

    /// Verifies a token with jsonwebtoken against the published JWKS, RS256 pinned, the
    /// issuer checked, and `aud` checked when given (ID tokens) or skipped (access).
    pub async fn verify(&self, token: &str, audience: Option<&str>) -> Map<String, Value> {
        cognito_sidecar::install_crypto_provider();
        let header = jsonwebtoken::decode_header(token).expect("header");
        let kid = header.kid.expect("kid");
        let jwks = self.jwks().await;
        let jwk = jwks.find(&kid).expect("kid published in the JWKS");
        let key = DecodingKey::from_jwk(jwk).expect("decoding key");
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.leeway = 0;
        match audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .expect("token verifies")
            .claims
    }

    pub async fn userinfo(&self, access_token: &str) -> reqwest::Response {
        server()
            .get(self.url("/oauth2/userInfo"))
            .bearer_auth(access_token)
            .send()
            .await
            .expect("userInfo")
    }

    pub async fn hook(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let response = server()
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .expect("hook");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn stats(&self) -> Value {
        server()
            .get(self.url("/_emulator/stats"))
            .send()
            .await
            .expect("stats")
            .json()
            .await
            .expect("stats json")
    }
}

pub fn keys(map: &Map<String, Value>) -> Vec<&str> {
    let mut keys: Vec<&str> = map.keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

pub fn sorted<'a>(list: &[&'a str]) -> Vec<&'a str> {
    let mut list = list.to_vec();
    list.sort_unstable();
    list
}
