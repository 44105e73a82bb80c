//! What happens after sign-in: refresh (with and without rotation), revocation,
//! userInfo as a live check, and `/logout` ending the hosted-UI session.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

async fn refresh(emu: &Emu, client: &str, secret: &str, token: &str) -> (StatusCode, Value) {
    emu.token(
        client,
        Some(secret),
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

async fn revoke(emu: &Emu, client: &str, secret: &str, token: &str) -> reqwest::Response {
    server()
        .post(emu.url("/oauth2/revoke"))
        .basic_auth(client, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn refresh_without_rotation_keeps_the_sign_in_and_returns_no_refresh_token() {
    let emu = start().await;
    let first = emu.tokens("app", "app-secret", &[("nonce", "n1")]).await;
    let original = emu
        .verify(first["id_token"].as_str().unwrap(), Some("app"))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let refresh_token = first["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&emu, "app", "app-secret", refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    let id = emu
        .verify(body["id_token"].as_str().unwrap(), Some("app"))
        .await;
    let access = emu
        .verify(body["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(id["auth_time"], original["auth_time"]);
    assert_eq!(id["origin_jti"], original["origin_jti"]);
    assert_eq!(access["origin_jti"], original["origin_jti"]);
    assert_ne!(id["jti"], original["jti"]);
    assert!(id["iat"].as_u64() > original["iat"].as_u64());
    // The original refresh token keeps working.
    let (again, _) = refresh(&emu, "app", "app-secret", refresh_token).await;
    assert_eq!(again, StatusCode::OK);
}

#[tokio::test]
async fn refresh_with_rotation_returns_a_new_token_and_retires_the_old_one() {
    let emu = start().await;
    let first = emu.tokens("rotating", "rot-secret", &[]).await;
    let old = first["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&emu, "rotating", "rot-secret", old).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new = body["refresh_token"]
        .as_str()
        .expect("a rotated refresh token");
    assert_ne!(new, old);
    let (status, body) = refresh(&emu, "rotating", "rot-secret", old).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
    let (status, _) = refresh(&emu, "rotating", "rot-secret", new).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn refresh_token_of_another_client_or_unknown_is_invalid_grant() {
    let emu = start().await;
    let first = emu.tokens("app", "app-secret", &[]).await;
    let token = first["refresh_token"].as_str().unwrap();
    let (status, body) = refresh(&emu, "rotating", "rot-secret", token).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
    let (status, body) = refresh(&emu, "app", "app-secret", "eyJjdHkiOi.x.y.z.w").await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
}

#[tokio::test]
async fn revoked_refresh_token_cannot_refresh() {
    let emu = start().await;
    let tokens = emu.tokens("app", "app-secret", &[]).await;
    let token = tokens["refresh_token"].as_str().unwrap();
    let response = revoke(&emu, "app", "app-secret", token).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.bytes().await.unwrap().is_empty());
    let (status, body) = refresh(&emu, "app", "app-secret", token).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
    // Revoking again (or an unknown token) is still 200.
    assert_eq!(
        revoke(&emu, "app", "app-secret", token).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        revoke(&emu, "app", "app-secret", "unknown").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn userinfo_answers_by_scope_and_fails_after_revoke() {
    let emu = start().await;
    let tokens = emu
        .tokens("app", "app-secret", &[("scope", "openid email")])
        .await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = emu.userinfo(access).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "application/json;charset=UTF-8"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"sub": ALICE_SUB, "email": "alice@example.com", "email_verified": "true", "username": "alice"})
    );
    revoke(
        &emu,
        "app",
        "app-secret",
        tokens["refresh_token"].as_str().unwrap(),
    )
    .await;
    let response = emu.userinfo(access).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "error=\"invalid_token\", error_description=\"Access token is expired, disabled, or deleted, or the user has globally signed out.\""
    );
}

#[tokio::test]
async fn userinfo_rejects_missing_forged_and_non_openid_tokens() {
    let emu = start().await;
    let response = server()
        .get(emu.url("/oauth2/userInfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("error=\"invalid_request\""));
    assert_eq!(
        emu.userinfo("not.a.jwt").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let tokens = emu.tokens("app", "app-secret", &[]).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    assert_eq!(
        emu.userinfo(id_token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let (_, machine) = emu
        .token(
            "app",
            Some("app-secret"),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        emu.userinfo(machine["access_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn revoke_distinguishes_token_types_and_client_errors() {
    let emu = start().await;
    let tokens = emu.tokens("app", "app-secret", &[]).await;
    let access = tokens["access_token"].as_str().unwrap();
    let response = revoke(&emu, "app", "app-secret", access).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"error": "unsupported_token_type"})
    );
    let response = revoke(
        &emu,
        "app",
        "wrong",
        tokens["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"error": "invalid_client"})
    );
    let response = server()
        .post(emu.url("/oauth2/revoke"))
        .basic_auth("app", Some("app-secret"))
        .form(&[("nothing", "here")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"error": "invalid_request"})
    );
}

#[tokio::test]
async fn logout_to_a_registered_uri_ends_the_hosted_ui_session() {
    let emu = start().await;
    let browser = browser();
    emu.code(&browser, "app", &[]).await;
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("client_id", "app"), ("logout_uri", LOGOUT)])
        .finish();
    let response = browser
        .get(emu.url(&format!("/logout?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response), LOGOUT);
    let cleared = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|c| c.starts_with("cognito=") && c.contains("Max-Age=0"));
    assert!(cleared);
    let again = browser
        .get(emu.authorize_url("app", &[]))
        .send()
        .await
        .unwrap();
    assert!(location(&again).starts_with("/login?"), "no longer silent");
}

#[tokio::test]
async fn logout_to_an_unregistered_uri_is_an_error_page_and_keeps_the_session() {
    let emu = start().await;
    let browser = browser();
    emu.code(&browser, "app", &[]).await;
    let response = browser
        .get(emu.url("/logout?client_id=app&logout_uri=https%3A%2F%2Fevil.example%2F"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    assert!(
        html.contains("Required String parameter &#x27;redirect_uri&#x27; is not present"),
        "{html}"
    );
    let again = browser
        .get(emu.authorize_url("app", &[]))
        .send()
        .await
        .unwrap();
    assert!(location(&again).starts_with(CB), "still signed in");
}

#[tokio::test]
async fn logout_with_redirect_uri_signs_out_and_reenters_login() {
    let emu = start().await;
    let browser = browser();
    emu.code(&browser, "app", &[]).await;
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("client_id", "app"),
            ("redirect_uri", CB),
            ("response_type", "code"),
            ("state", "s9"),
        ])
        .finish();
    let response = browser
        .get(emu.url(&format!("/logout?{query}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let target = location(&response);
    assert!(target.starts_with("/login?"), "{target}");
    assert_eq!(query_param(&target, "state").as_deref(), Some("s9"));
    assert_eq!(
        query_param(&target, "scope").as_deref(),
        Some("openid email profile api/read api/write")
    );
    let page = browser.get(emu.url(&target)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}
