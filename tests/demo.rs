//! `cognito-sidecar demo` end to end, through the real binary on its fixed ports
//! 4180-4182. Only this one test function may use those ports (every other test binds
//! free ports), so it runs alone without a lock.

mod common;

use std::time::Duration;

use common::idp::Browser;
use common::{wait_ready, Proc};
use futures_util::{SinkExt, StreamExt};
use reqwest::header::ACCEPT;
use reqwest::StatusCode;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const ALICE_SUB: &str = "7d8f2a44-5b1c-4e0f-9a3d-1c2b3a4d5e6f";

/// The session cookies the browser holds for the demo, as a `Cookie` header value.
fn cookie_header(browser: &Browser) -> String {
    use reqwest::cookie::CookieStore;
    let url = url::Url::parse(&browser.app("/")).unwrap();
    browser
        .jar
        .cookies(&url)
        .map(|v| v.to_str().unwrap().to_string())
        .expect("session cookie after sign-in")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_signs_in_guards_admin_tunnels_websockets_and_stops_on_ctrl_c() {
    let mut demo = Proc::spawn(&["demo"], &[]);
    for port in [4180, 4181, 4182] {
        demo.wait_listening(port);
    }
    wait_ready(4180).await;
    let printed = demo.stdout();
    for needed in [
        "http://localhost:4180/",
        "alice / Passw0rd!",
        "bob   / Passw0rd!",
    ] {
        assert!(
            printed.contains(needed),
            "banner lacks {needed}:\n{printed}"
        );
    }

    // alice signs in through the emulator's hosted UI and lands on the demo page, which
    // lists the identity headers the sidecar sent.
    let alice = Browser::new(4180);
    let landed = alice.sign_in("/", "alice").await;
    assert_eq!(landed.status(), StatusCode::OK);
    assert_eq!(landed.url().as_str(), alice.app("/"));
    let page = landed.text().await.unwrap();
    assert!(page.contains("Hello, alice"), "{page}");
    for row in [
        "<th>User</th><td>alice</td>",
        "<th>Email</th><td>alice@example.com</td>",
        "<th>Groups</th><td>admins</td>",
        &format!("<th>Sub</th><td>{ALICE_SUB}</td>"),
    ] {
        assert!(page.contains(row), "missing {row} in {page}");
    }

    let admin = alice.navigate(&alice.app("/admin/")).await;
    assert_eq!(admin.status(), StatusCode::OK);
    assert!(admin.text().await.unwrap().contains("Only admins see this"));

    let whoami: serde_json::Value = alice
        .http
        .get(alice.app("/api/whoami"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(whoami["user"], "alice");
    assert_eq!(whoami["email"], "alice@example.com");
    assert_eq!(whoami["groups"], serde_json::json!(["admins"]));
    assert_eq!(whoami["sub"], ALICE_SUB);
    let json_home: serde_json::Value = alice
        .http
        .get(alice.app("/anything"))
        .header(ACCEPT, "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json_home["path"], "/anything");

    let info: serde_json::Value = alice
        .http
        .get(alice.app("/oauth2/userinfo"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["user"], "alice");

    // The WebSocket echo, through the proxy, authenticated by the session cookie.
    let mut request = "ws://127.0.0.1:4180/ws".into_client_request().unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie_header(&alice).parse().unwrap());
    let (mut ws, resp) = tokio_tungstenite::connect_async(request)
        .await
        .expect("websocket handshake through the demo proxy");
    assert_eq!(resp.status(), 101);
    for text in ["hello demo", &"y".repeat(5000)] {
        ws.send(Message::text(text)).await.unwrap();
        let echoed = ws.next().await.unwrap().unwrap();
        assert_eq!(echoed.into_text().unwrap().as_str(), text);
    }
    ws.close(None).await.unwrap();
    // Finish the closing handshake and hang up, as a browser tab would.
    while let Some(Ok(_)) = ws.next().await {}
    drop(ws);
    // Without the cookie the proxy refuses the upgrade.
    let refused = tokio_tungstenite::connect_async("ws://127.0.0.1:4180/ws").await;
    assert!(refused.is_err());

    let ws_page = alice.navigate(&alice.app("/ws-test")).await;
    assert!(ws_page.text().await.unwrap().contains("new WebSocket("));

    // bob is signed in but not an admin: the sidecar answers 403 itself.
    let bob = Browser::new(4180);
    let denied = bob.sign_in("/admin/", "bob").await;
    assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    let bob_home = bob.navigate(&bob.app("/")).await;
    assert!(bob_home.text().await.unwrap().contains("Hello, bob"));

    // Ctrl-C stops all three servers and the process exits 0.
    demo.sigint();
    let code = tokio::task::spawn_blocking(move || {
        let code = demo.wait_exit(Duration::from_secs(10));
        (code, demo)
    })
    .await
    .unwrap();
    assert_eq!(code.0, Some(0), "exit code; logs:\n{}", code.1.logs());
    for port in [4180, 4181, 4182] {
        assert!(
            std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
            "port {port} still open"
        );
    }
}
