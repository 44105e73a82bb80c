//! What the demo app shows: the identity headers the sidecar sent and every other
//! request header, as an HTML page or JSON, plus the admin area and the WebSocket test
//! page. Pure rendering; every received value goes through [`escape_html`] (the attack
//! class "reflected values in HTML pages", peers.md §4).

use std::collections::BTreeMap;

use http::HeaderMap;
use serde_json::{json, Value};

use crate::respond::escape_html;

/// The identity headers of SPEC §6 the page puts first, with their labels.
pub const IDENTITY_HEADERS: [(&str, &str); 4] = [
    ("x-forwarded-user", "User"),
    ("x-forwarded-email", "Email"),
    ("x-forwarded-groups", "Groups"),
    ("x-forwarded-sub", "Sub"),
];

/// What the app received with one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub path: String,
    /// Every header as received, in order; values lossily decoded as UTF-8.
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn new(path: &str, headers: &HeaderMap) -> Seen {
        Seen {
            path: path.to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
        }
    }

    /// The first value of `name` (lower-case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn user(&self) -> Option<&str> {
        self.header("x-forwarded-user")
    }

    /// `X-Forwarded-Groups` split on `,` (empty when absent).
    pub fn groups(&self) -> Vec<&str> {
        self.header("x-forwarded-groups")
            .map(|g| {
                g.split(',')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d2530}\
header{background:#232f3e;color:#fff;padding:.9rem 1.5rem}header b{color:#ff9900}\
main{max-width:56rem;margin:1.5rem auto;padding:0 1rem}\
section{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.12);padding:1rem 1.4rem;margin-bottom:1.2rem}\
h1{font-size:1.35rem;margin:.2rem 0 .8rem}h2{font-size:1.05rem;margin:.2rem 0 .6rem}\
table{border-collapse:collapse;width:100%;font-size:.9rem}\
td,th{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e5e7eb;vertical-align:top}\
td{font-family:ui-monospace,monospace;word-break:break-all}th{width:30%;font-weight:600}\
nav a{display:inline-block;margin:.2rem .8rem .2rem 0;color:#0b63ce}\
.ok{color:#1a7f37}.muted{color:#6b7280}ul#log{font-family:ui-monospace,monospace}";

const LINKS: [(&str, &str); 6] = [
    ("/", "Home"),
    ("/admin/", "Admin area (admins only)"),
    ("/api/whoami", "JSON: /api/whoami"),
    ("/ws-test", "WebSocket test"),
    ("/oauth2/userinfo", "Sidecar: /oauth2/userinfo"),
    ("/oauth2/sign_out", "Sign out"),
];

fn document(title: &str, content: &str) -> String {
    let nav: String = LINKS
        .iter()
        .map(|(href, label)| format!("<a href=\"{href}\">{label}</a>"))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head><body>\
<header><b>cognito-sidecar</b> demo app</header><main>\
<section><nav>{nav}</nav></section>{content}</main></body></html>\n",
        title = escape_html(title),
    )
}

fn rows<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    pairs
        .map(|(k, v)| {
            format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                escape_html(k),
                escape_html(v)
            )
        })
        .collect()
}

/// The signed-in user's identity-pool identity id, fetched by the browser from the
/// sidecar's `/oauth2/aws-credentials`; only the id is shown, never the secret parts.
const AWS_IDENTITY: &str = "<p>AWS identity (Cognito identity pool): \
<code id=\"aws-identity\">…</code></p><script>\
fetch('/oauth2/aws-credentials',{headers:{accept:'application/json'}})\
.then(r=>r.json()).then(c=>{document.getElementById('aws-identity').textContent=\
c.identity_id||('none: '+c.error);})\
.catch(()=>{document.getElementById('aws-identity').textContent='unavailable';});\
</script>";

fn identity_section(seen: &Seen) -> String {
    let Some(user) = seen.user() else {
        return "<section><h1>No identity</h1><p class=\"muted\">The sidecar sent no \
identity headers: this is a public path (<code>/public/*</code>), forwarded without \
sign-in.</p></section>"
            .to_string();
    };
    let table = rows(IDENTITY_HEADERS.iter().map(|(name, label)| {
        let value = seen.header(name).unwrap_or("(not sent)");
        (*label, value)
    }));
    format!(
        "<section><h1>Hello, {user}</h1><p>The app needs no sign-in code: the sidecar \
checked your session and sent who you are as request headers.</p>\
<table><tr><th>Header</th><td><b>Value</b></td></tr>{table}</table>{AWS_IDENTITY}</section>",
        user = escape_html(user),
        table = table
    )
}

fn headers_section(seen: &Seen) -> String {
    format!(
        "<section><h2>Every request header the app received for <code>{path}</code></h2>\
<table>{rows}</table></section>",
        path = escape_html(&seen.path),
        rows = rows(seen.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    )
}

/// The page at `/` and every other path.
pub fn home(seen: &Seen) -> String {
    document(
        "cognito-sidecar demo",
        &format!("{}{}", identity_section(seen), headers_section(seen)),
    )
}

/// The `/admin/` area: the sidecar's `access.rules` only lets `admins` reach it.
pub fn admin(seen: &Seen) -> String {
    let groups = seen.groups().join(", ");
    let content = format!(
        "<section><h1 class=\"ok\">Admin area</h1><p>Only admins see this. The sidecar let \
this request through because the rule <code>{{path: /admin/*, groups: [admins]}}</code> \
matched and your groups are <code>{groups}</code>; everyone else gets a 403 from the \
sidecar and the app never sees the request.</p></section>{headers}",
        groups = escape_html(&groups),
        headers = headers_section(seen),
    );
    document("Admin area", &content)
}

/// The JSON answer of `/api/whoami` (and of any path asked for `application/json`).
pub fn whoami(seen: &Seen) -> Value {
    let mut headers: BTreeMap<&str, String> = BTreeMap::new();
    for (k, v) in &seen.headers {
        headers
            .entry(k.as_str())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(v);
            })
            .or_insert_with(|| v.clone());
    }
    json!({
        "path": seen.path,
        "user": seen.user(),
        "email": seen.header("x-forwarded-email"),
        "groups": seen.groups(),
        "sub": seen.header("x-forwarded-sub"),
        "headers": headers,
    })
}

/// `/ws-test`: connects to `/ws` on the same host through the proxy (the session cookie
/// rides on the handshake) and shows what comes back. Plain script, no external assets.
pub fn ws_test() -> String {
    let content = "<section><h1>WebSocket echo</h1><p>This page opens a WebSocket to \
<code>/ws</code> on the same host. The sidecar authenticates the upgrade with your \
session cookie, then tunnels the connection to the app, which echoes every message.</p>\
<form id=\"send\"><input id=\"msg\" autocomplete=\"off\" value=\"hello\" \
style=\"padding:.4rem;width:60%\"> <button>Send</button></form><ul id=\"log\"></ul></section>\
<script>\
const log=document.getElementById('log');\
function add(t){const li=document.createElement('li');li.textContent=t;log.appendChild(li);}\
const ws=new WebSocket((location.protocol==='https:'?'wss://':'ws://')+location.host+'/ws');\
ws.onopen=()=>add('connected');\
ws.onmessage=(e)=>add('echo: '+e.data);\
ws.onclose=(e)=>add('closed ('+e.code+')');\
ws.onerror=()=>add('error: is the session still valid? reload the page');\
document.getElementById('send').onsubmit=(ev)=>{ev.preventDefault();\
const m=document.getElementById('msg');ws.send(m.value);add('sent: '+m.value);};\
</script>";
    document("WebSocket test", content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn seen(headers: &[(&str, &str)]) -> Seen {
        Seen {
            path: "/x".into(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn identity_is_listed_first() {
        let s = seen(&[
            ("x-forwarded-user", "alice"),
            ("x-forwarded-groups", "admins,staff"),
            ("accept", "*/*"),
        ]);
        let page = home(&s);
        assert!(page.contains("Hello, alice"));
        assert!(page.contains("<th>Groups</th><td>admins,staff</td>"));
        assert!(page.contains("<th>Email</th><td>(not sent)</td>"));
        assert!(page.contains("<th>accept</th><td>*/*</td>"));
        assert_eq!(s.groups(), vec!["admins", "staff"]);
    }

    #[test]
    fn signed_in_pages_show_the_aws_identity_id_only() {
        let page = home(&seen(&[("x-forwarded-user", "alice")]));
        assert!(page.contains("fetch('/oauth2/aws-credentials'"), "{page}");
        assert!(page.contains("c.identity_id"), "{page}");
        assert!(!page.contains("secret_access_key") && !page.contains("session_token"));
        assert!(!home(&seen(&[])).contains("aws-credentials"));
    }

    #[test]
    fn public_requests_say_so() {
        assert!(home(&seen(&[])).contains("No identity"));
    }

    #[test]
    fn reflected_values_are_escaped() {
        let evil = "<script>alert(1)</script>";
        let s = Seen {
            path: format!("/{evil}"),
            headers: vec![
                ("x-forwarded-user".into(), evil.into()),
                (
                    "x-evil".into(),
                    format!("\"><img src=x onerror=alert(1)>{evil}"),
                ),
                ("x-forwarded-groups".into(), evil.into()),
            ],
        };
        for page in [home(&s), admin(&s)] {
            assert!(!page.contains("<script>alert"), "{page}");
            assert!(!page.contains("<img"), "{page}");
        }
    }

    #[test]
    fn whoami_joins_repeated_headers() {
        let s = seen(&[
            ("x-forwarded-user", "bob"),
            ("x-forwarded-email", "bob@example.com"),
            ("x-forwarded-sub", "s"),
            ("via", "a"),
            ("via", "b"),
        ]);
        let v = whoami(&s);
        assert_eq!(v["user"], "bob");
        assert_eq!(v["email"], "bob@example.com");
        assert_eq!(v["sub"], "s");
        assert_eq!(v["groups"], json!([]));
        assert_eq!(v["headers"]["via"], "a, b");
        assert_eq!(whoami(&seen(&[]))["user"], Value::Null);
    }

    #[test]
    fn admin_page_names_the_rule() {
        let page = admin(&seen(&[("x-forwarded-groups", "admins")]));
        assert!(page.contains("Only admins see this"));
        assert!(page.contains("{path: /admin/*, groups: [admins]}"));
    }

    proptest! {
        #[test]
        fn no_header_value_injects_markup(name in "[a-z-]{1,12}", value in ".{0,60}") {
            let s = seen(&[("x-forwarded-user", &value), (&name, &value)]);
            let page = home(&s);
            let body = page.split("</style>").nth(1).unwrap_or_default();
            // Only the page's own tags appear: no `<` from the value survives unescaped.
            prop_assert_eq!(
                body.matches('<').count(),
                home(&seen(&[("x-forwarded-user", "v"), (&name, "v")]))
                    .split("</style>").nth(1).unwrap_or_default().matches('<').count()
            );
        }
    }
}
