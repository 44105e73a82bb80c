//! A stack for the console-feature tests — the emulator (hooks on) with extra pool
//! settings, the sidecar and an echo upstream — plus a browser helper that fills and
//! posts the hosted UI's simple forms, and readers for the outbox.

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::idp::{sidecar_config, Browser, Emulator};
use crate::common::upstream::{self, echoed_headers, header};
use crate::common::{free_port, wait_ready, Sidecar};

pub struct Stack {
    pub idp: Emulator,
    _sidecar: Sidecar,
    _upstream: upstream::Upstream,
    pub port: u16,
}

/// Starts the emulator with `pool_extra` (top-level `sign_in:`/`sign_up:` YAML), a
/// sidecar for it, and the echo upstream.
pub async fn stack(pool_extra: &str) -> Stack {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start_with(port, "", pool_extra);
    stack_on(idp, up, port).await
}

/// The same around an emulator started by the caller for a sidecar on `port`.
pub async fn stack_on(idp: Emulator, up: upstream::Upstream, port: u16) -> Stack {
    let sidecar = Sidecar::start(&sidecar_config(port, &up.url(), &idp, ""), port);
    wait_ready(port).await;
    Stack {
        idp,
        _sidecar: sidecar,
        _upstream: up,
        port,
    }
}

/// HTML attribute entities the emulator's escaper emits, decoded.
fn unescape(raw: &str) -> String {
    raw.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&#x3D;", "=")
        .replace("&#x60;", "`")
        .replace("&amp;", "&")
}

/// Every `attr="…"` value in `html`, decoded.
fn attributes(html: &str, attr: &str) -> Vec<String> {
    let marker = format!("{attr}=\"");
    html.match_indices(&marker)
        .filter_map(|(at, _)| {
            let rest = html.get(at + marker.len()..)?;
            rest.find('"').map(|end| unescape(&rest[..end]))
        })
        .collect()
}

/// The first link on a page whose target starts with `path`.
pub fn href(html: &str, path: &str) -> Option<String> {
    attributes(html, "href")
        .into_iter()
        .find(|h| h.starts_with(path))
}

/// The hidden inputs of the page's form as (name, value).
fn hidden_inputs(html: &str) -> Vec<(String, String)> {
    html.match_indices("<input type=\"hidden\" name=\"")
        .filter_map(|(at, _)| {
            let tag = html.get(at..)?;
            let tag = &tag[..tag.find('>')?];
            let name = attributes(tag, "name").into_iter().next()?;
            let value = attributes(tag, "value")
                .into_iter()
                .next()
                .unwrap_or_default();
            Some((name, value))
        })
        .collect()
}

/// A page that was read: where it is, its status and HTML.
pub struct Page {
    pub url: url::Url,
    pub status: StatusCode,
    pub html: String,
}

impl Page {
    pub async fn read(resp: reqwest::Response) -> Page {
        Page {
            url: resp.url().clone(),
            status: resp.status(),
            html: resp.text().await.unwrap(),
        }
    }

    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// The text of the page's error message, if any.
    pub fn error(&self) -> Option<String> {
        let start = self.html.find("class=\"error\"")?;
        let text = self.html.get(start..)?;
        let text = text.get(text.find('>')? + 1..)?;
        Some(unescape(&text[..text.find('<')?]))
    }
}

/// Fills the page's form (its hidden fields, `_csrf` included, plus `fields`) and posts
/// it to the form's action, without following the answer.
pub async fn submit(browser: &Browser, page: &Page, fields: &[(&str, &str)]) -> reqwest::Response {
    let action = attributes(&page.html, "action")
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no form on {}:\n{}", page.url, page.html));
    let target = page.url.join(&action).unwrap();
    let mut form = hidden_inputs(&page.html);
    for (name, value) in fields {
        form.retain(|(n, _)| n != name);
        form.push((name.to_string(), value.to_string()));
    }
    browser.http.post(target).form(&form).send().await.unwrap()
}

/// Submits and follows redirects to the next page.
pub async fn submit_and_follow(browser: &Browser, page: &Page, fields: &[(&str, &str)]) -> Page {
    let resp = submit(browser, page, fields).await;
    Page::read(browser.follow(resp).await).await
}

/// Opens `path` on the app and follows the sign-in redirects to the hosted UI's `/login`.
pub async fn login_page(browser: &Browser, path: &str) -> Page {
    let first = browser.navigate(&browser.app(path)).await;
    assert_eq!(
        first.status(),
        StatusCode::FOUND,
        "expected a sign-in redirect"
    );
    let page = Page::read(browser.follow(first).await).await;
    assert_eq!(page.path(), "/login", "{}", page.html);
    page
}

/// Opens a link of `page` (a path on the same origin).
pub async fn open(browser: &Browser, page: &Page, link: &str) -> Page {
    let target = href(&page.html, link).unwrap_or_else(|| panic!("no {link} link:\n{}", page.html));
    let url = page.url.join(&target).unwrap();
    Page::read(browser.follow(browser.navigate(url.as_str()).await).await).await
}

/// The identity headers the upstream received, from its echo page.
pub fn identity(page: &Page) -> (String, String, String, String) {
    let body: Value = serde_json::from_str(&page.html)
        .unwrap_or_else(|_| panic!("expected the app's echo at {}:\n{}", page.url, page.html));
    let h = echoed_headers(&body);
    let get = |name: &str| header(&h, name).unwrap_or_default().to_string();
    (
        get("x-forwarded-user"),
        get("x-forwarded-email"),
        get("x-forwarded-groups"),
        get("x-forwarded-sub"),
    )
}

/// Calls a hook and returns its status and JSON answer.
pub async fn hook(idp: &Emulator, name: &str, body: Value) -> (StatusCode, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{}/_emulator/{name}", idp.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Messages in the outbox for a username or address.
pub async fn outbox(idp: &Emulator, who: &str) -> Vec<Value> {
    let url = format!(
        "{}/_emulator/outbox?username={}",
        idp.url(),
        crate::common::idp::urlencode(who)
    );
    let body: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    body["messages"].as_array().cloned().unwrap_or_default()
}

/// The newest code sent to `who`.
pub async fn latest_code(idp: &Emulator, who: &str) -> String {
    outbox(idp, who)
        .await
        .iter()
        .rev()
        .find_map(|m| m["code"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no code in the outbox for {who}"))
}

/// Signs in at the hosted UI page `login` and returns where the browser lands.
pub async fn sign_in(browser: &Browser, login: &Page, user: &str, password: &str) -> Page {
    submit_and_follow(
        browser,
        login,
        &[("username", user), ("password", password)],
    )
    .await
}
