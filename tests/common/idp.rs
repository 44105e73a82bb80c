//! The local Cognito emulator as the IdP of a test, and a browser-like client that signs
//! in through the hosted UI with plain HTTP (a cookie jar, redirects followed by hand).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::Jar;
use reqwest::header::{ACCEPT, LOCATION};
use reqwest::StatusCode;

use super::{form_value, free_port, path_str, write_temp, Proc};

pub const POOL: &str = "us-east-1_LOCAL";
pub const CLIENT: &str = "local-client";
pub const SECRET: &str = "local-secret";
pub const PASSWORD: &str = "Passw0rd!";

/// A running emulator with hooks enabled.
pub struct Emulator {
    pub proc: Proc,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Emulator {
    /// Users `alice` (admins) and `bob` (no groups); client `local-client` whose callback
    /// and logout URLs point at a sidecar on `localhost:{sidecar_port}`; a second client
    /// `api-client` for bearer tests. `client_extra` is appended to local-client.
    pub fn start(sidecar_port: u16, client_extra: &str) -> Emulator {
        Self::start_with(sidecar_port, client_extra, "")
    }

    /// The same on a chosen port (for tests that start the IdP late).
    pub fn start_on(port: u16, sidecar_port: u16, client_extra: &str) -> Emulator {
        Self::start_with_on(port, sidecar_port, client_extra, "")
    }

    /// Like [`Emulator::start`], with `pool_extra` added as top-level keys of the
    /// emulator config (e.g. `sign_in:`, `sign_up:`, `identity_pools:`).
    pub fn start_with(sidecar_port: u16, client_extra: &str, pool_extra: &str) -> Emulator {
        Self::start_with_on(free_port(), sidecar_port, client_extra, pool_extra)
    }

    /// An emulator reached through `base_url` (a fault-injecting gate in front of it):
    /// its issuer and endpoint URLs name the gate.
    pub fn start_behind(base_url: &str, sidecar_port: u16) -> Emulator {
        Self::start_with_on(
            free_port(),
            sidecar_port,
            "",
            &format!("base_url: {base_url}\n"),
        )
    }

    fn start_with_on(
        port: u16,
        sidecar_port: u16,
        client_extra: &str,
        pool_extra: &str,
    ) -> Emulator {
        let yaml = format!(
            r#"listen: 127.0.0.1:{port}
region: us-east-1
user_pool_id: {POOL}
hooks:
  enabled: true
{pool_extra}
clients:
  - client_id: {CLIENT}
    client_secret: {SECRET}
    callback_urls: [http://localhost:{sidecar_port}/oauth2/callback]
    logout_urls: [http://localhost:{sidecar_port}/]
    allowed_scopes: [openid, email, profile]
{client_extra}
  - client_id: other-client
    client_secret: other-secret
    callback_urls: [http://localhost:9/cb]
    logout_urls: [http://localhost:9/]
    allowed_scopes: [openid, email, profile, orders-api/read]
users:
  - username: alice
    password: {PASSWORD}
    sub: 11111111-1111-4111-8111-111111111111
    attributes: {{email: alice@example.com, email_verified: "true"}}
    groups: [admins]
  - username: bob
    password: {PASSWORD}
    sub: 22222222-2222-4222-8222-222222222222
    attributes: {{email: bob@example.com, email_verified: "true"}}
"#
        );
        Self::spawn(port, &yaml)
    }

    /// Runs `cognito-sidecar emulator` with a complete config `yaml` that listens on
    /// 127.0.0.1:`port`.
    pub fn spawn(port: u16, yaml: &str) -> Emulator {
        let (dir, path) = write_temp("emulator.yaml", yaml);
        let mut proc = Proc::spawn(&["emulator", "-c", path_str(&path)], &[]);
        proc.wait_listening(port);
        Emulator {
            proc,
            port,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn hook(&self, name: &str, body: serde_json::Value) {
        let resp = reqwest::Client::new()
            .post(format!("{}/_emulator/{name}", self.url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success(), "hook {name}: {}", resp.status());
    }

    pub async fn stats(&self) -> serde_json::Value {
        reqwest::get(format!("{}/_emulator/stats", self.url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn token_requests(&self) -> u64 {
        self.stats().await["token_requests"].as_u64().unwrap_or(0)
    }
}

/// The sidecar config for tests that sign in: protected by default, `/public/*` public,
/// `/admin/*` for admins.
pub fn sidecar_config(port: u16, upstream: &str, idp: &Emulator, extra: &str) -> String {
    format!(
        r#"listen: 127.0.0.1:{port}
upstream: {upstream}
public_url: http://localhost:{port}
cognito:
  region: us-east-1
  user_pool_id: {POOL}
  client_id: {CLIENT}
  client_secret: {SECRET}
  domain: {idp}
  issuer: {idp}/{POOL}
session:
  secret: 3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
{extra}"#,
        idp = idp.url()
    )
}

/// A browser stand-in: one cookie jar for the sidecar (`localhost`) and the emulator
/// (`127.0.0.1`), redirects followed by hand so tests can see each hop.
#[derive(Clone)]
pub struct Browser {
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
    pub sidecar_port: u16,
}

impl Browser {
    pub fn new(sidecar_port: u16) -> Browser {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .resolve(
                "localhost",
                SocketAddr::from(([127, 0, 0, 1], sidecar_port)),
            )
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap();
        Browser {
            http,
            jar,
            sidecar_port,
        }
    }

    pub fn app(&self, path: &str) -> String {
        format!("http://localhost:{}{}", self.sidecar_port, path)
    }

    /// A top-level navigation.
    pub async fn navigate(&self, url: &str) -> reqwest::Response {
        self.http
            .get(url)
            .header(ACCEPT, "text/html,application/xhtml+xml")
            .send()
            .await
            .unwrap()
    }

    /// Follows redirects until a non-3xx answer or a page on the emulator's `/login`.
    pub async fn follow(&self, mut resp: reqwest::Response) -> reqwest::Response {
        for _ in 0..10 {
            if !resp.status().is_redirection() {
                return resp;
            }
            let next = location(&resp, resp.url().as_str());
            resp = self.navigate(&next).await;
        }
        panic!("redirect loop");
    }

    /// Opens `path` on the app, signs in at the hosted UI as `user`, and returns the
    /// final response (after the callback's redirect back to the app).
    pub async fn sign_in(&self, path: &str, user: &str) -> reqwest::Response {
        let first = self.navigate(&self.app(path)).await;
        assert_eq!(
            first.status(),
            StatusCode::FOUND,
            "expected a sign-in redirect for {path}"
        );
        let login_page = self.follow(first).await;
        self.submit_login(login_page, user, PASSWORD).await
    }

    /// Fills in the hosted UI's form on `page` and follows the redirects back to the app.
    pub async fn submit_login(
        &self,
        page: reqwest::Response,
        user: &str,
        password: &str,
    ) -> reqwest::Response {
        let login_url = page.url().clone();
        assert_eq!(
            login_url.path(),
            "/login",
            "expected the hosted UI sign-in page"
        );
        let html = page.text().await.unwrap();
        let csrf = form_value(&html, "_csrf").expect("_csrf field on the login page");
        let posted = self
            .http
            .post(login_url.as_str())
            .form(&[
                ("_csrf", csrf.as_str()),
                ("username", user),
                ("password", password),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), StatusCode::FOUND, "login did not redirect");
        self.follow(posted).await
    }

    /// The value of a cookie the jar holds for the sidecar.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = url::Url::parse(&self.app("/")).unwrap();
        let header = self.jar.cookies(&url)?;
        header
            .to_str()
            .ok()?
            .split("; ")
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_string))
    }
}

/// The absolute `Location` of a redirect.
pub fn location(resp: &reqwest::Response, base: &str) -> String {
    let raw = resp.headers()[LOCATION].to_str().unwrap();
    url::Url::parse(base)
        .unwrap()
        .join(raw)
        .unwrap()
        .to_string()
}

/// Tokens for `user` straight from the emulator as `client` (authorization code + PKCE),
/// the way an API client's own front end would get them.
pub async fn user_tokens(
    idp: &Emulator,
    client: &str,
    secret: &str,
    redirect_uri: &str,
    user: &str,
) -> serde_json::Value {
    use base64::Engine;
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let verifier = "a".repeat(43);
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref());
    let authorize = format!(
        "{}/oauth2/authorize?response_type=code&client_id={client}&redirect_uri={}&scope=openid+email+profile&state=s&code_challenge_method=S256&code_challenge={challenge}",
        idp.url(),
        urlencode(redirect_uri)
    );
    let to_login = http.get(&authorize).send().await.unwrap();
    let login_url = location(&to_login, &authorize);
    let html = http
        .get(&login_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = form_value(&html, "_csrf").unwrap();
    let done = http
        .post(&login_url)
        .form(&[
            ("_csrf", csrf.as_str()),
            ("username", user),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    let callback = url::Url::parse(&location(&done, &login_url)).unwrap();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    http.post(format!("{}/oauth2/token", idp.url()))
        .basic_auth(client, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
