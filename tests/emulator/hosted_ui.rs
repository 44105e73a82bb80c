//! `/oauth2/authorize`, `/login`, `/error`: where errors go, the form, silent re-entry.

use reqwest::StatusCode;

use crate::common::form_value;
use crate::support::*;

#[tokio::test]
async fn unknown_client_gets_the_error_page_and_no_redirect() {
    let emu = start().await;
    let response = server()
        .get(emu.authorize_url("ghost", &[("state", "s")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    let html = response.text().await.unwrap();
    assert!(html.contains("An error was encountered with the requested page."));
}

#[tokio::test]
async fn unregistered_redirect_uri_goes_to_error_never_the_app() {
    let emu = start().await;
    let url = emu
        .authorize_url("app", &[("state", "s")])
        .replace("oauth2%2Fcallback", "evil");
    let response = server().get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let target = location(&response);
    assert_eq!(target, "/error?error=redirect_mismatch&client_id=app");
    let page = server().get(emu.url(&target)).send().await.unwrap();
    assert!(page
        .text()
        .await
        .unwrap()
        .contains("An error was encountered"));
}

async fn error_redirect(emu: &Emu, client: &str, extra: &[(&str, &str)]) -> (String, String) {
    let response = server()
        .get(emu.authorize_url(client, extra))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    let target = location(&response);
    assert!(target.starts_with(&format!("{CB}?")), "{target}");
    (
        query_param(&target, "error").unwrap(),
        query_param(&target, "state").unwrap_or_default(),
    )
}

#[tokio::test]
async fn invalid_request_redirects_to_the_app_with_state() {
    let emu = start().await;
    let (_, challenge) = pkce();
    let result = error_redirect(
        &emu,
        "app",
        &[
            ("state", "st-1"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "plain"),
        ],
    )
    .await;
    assert_eq!(result, ("invalid_request".into(), "st-1".into()));
    let no_type = emu
        .authorize_url("app", &[("state", "st-2")])
        .replace("response_type=code&", "");
    let response = server().get(no_type).send().await.unwrap();
    let target = location(&response);
    assert_eq!(
        query_param(&target, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(query_param(&target, "state").as_deref(), Some("st-2"));
}

#[tokio::test]
async fn invalid_scope_redirects_to_the_app_with_state() {
    let emu = start().await;
    let result = error_redirect(
        &emu,
        "public",
        &[("state", "st-3"), ("scope", "openid phone")],
    )
    .await;
    assert_eq!(result, ("invalid_scope".into(), "st-3".into()));
}

#[tokio::test]
async fn unauthorized_client_redirects_to_the_app_with_state() {
    let emu = start().await;
    let url = emu
        .authorize_url("app", &[("state", "st-4")])
        .replace("response_type=code", "response_type=token");
    let response = server().get(url).send().await.unwrap();
    let target = location(&response);
    assert!(target.starts_with(CB));
    assert_eq!(
        query_param(&target, "error").as_deref(),
        Some("unauthorized_client")
    );
    assert_eq!(query_param(&target, "state").as_deref(), Some("st-4"));
}

#[tokio::test]
async fn login_form_never_reflects_markup_raw() {
    let emu = start().await;
    let browser = browser();
    let evil = "\"><script>alert(1)</script>";
    let first = browser
        .get(emu.authorize_url("app", &[("state", evil)]))
        .send()
        .await
        .unwrap();
    let login = location(&first);
    let html = browser
        .get(emu.url(&login))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!html.contains("<script>alert(1)"), "{html}");
    // The state is carried in the form's action URL, percent-encoded.
    assert!(
        html.contains("%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E"),
        "{html}"
    );
    let failed = browser
        .post(emu.url(&login))
        .form(&[
            ("_csrf", form_value(&html, "_csrf").unwrap().as_str()),
            ("username", "<img src=x onerror=alert(1)>"),
            ("password", "x"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!failed.contains("<img src=x"), "{failed}");
    assert!(!failed.contains("<script>alert(1)"));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_message() {
    let emu = start().await;
    for (user, password) in [("alice", "wrong"), ("nobody", "Passw0rd!")] {
        let response = emu.sign_in(&browser(), "app", &[], user, password).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(response.headers().get("location").is_none());
        let html = response.text().await.unwrap();
        assert!(html.contains("Incorrect username or password."), "{html}");
    }
}

#[tokio::test]
async fn login_post_without_the_csrf_cookie_is_refused() {
    let emu = start().await;
    let url = emu
        .authorize_url("app", &[])
        .replace("/oauth2/authorize", "/login");
    let response = server()
        .post(url)
        .form(&[
            ("_csrf", "forged"),
            ("username", "alice"),
            ("password", "Passw0rd!"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(response.headers().get("location").is_none());
}

#[tokio::test]
async fn successful_login_sets_an_httponly_hosted_ui_session_and_redirects_with_code() {
    let emu = start().await;
    let response = emu
        .sign_in(&browser(), "app", &[("state", "xyz")], "alice", "Passw0rd!")
        .await;
    assert_eq!(response.status(), StatusCode::FOUND);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("cognito="))
        .expect("session cookie")
        .to_string();
    for attribute in ["HttpOnly", "Max-Age=3600", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let target = location(&response);
    assert_eq!(query_param(&target, "state").as_deref(), Some("xyz"));
    let code = query_param(&target, "code").unwrap();
    assert!(uuid::Uuid::parse_str(&code).is_ok(), "{code}");
}

#[tokio::test]
async fn second_authorize_within_the_session_is_silent() {
    let emu = start().await;
    let browser = browser();
    emu.code(&browser, "app", &[]).await;
    let again = browser
        .get(emu.authorize_url("app", &[("state", "again")]))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::FOUND);
    let target = location(&again);
    assert!(target.starts_with(&format!("{CB}?code=")), "{target}");
    assert_eq!(query_param(&target, "state").as_deref(), Some("again"));
    let code = query_param(&target, "code").unwrap();
    let (status, _) = emu
        .token(
            "app",
            Some("app-secret"),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CB),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn ignored_parameters_and_identity_provider_cognito_are_accepted() {
    let emu = start().await;
    let response = server()
        .get(emu.authorize_url(
            "app",
            &[
                ("lang", "ja"),
                ("prompt", "login"),
                ("resource", "https://api"),
                ("idp_identifier", "x"),
                ("identity_provider", "COGNITO"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert!(location(&response).starts_with("/login?"));
}
