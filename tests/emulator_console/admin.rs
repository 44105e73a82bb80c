//! The admin side: users created with a temporary password must change it at first
//! sign-in and are refused once it expired; disabled users are refused and signed out;
//! group changes reach the sidecar at the next refresh.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::common::idp::{Browser, PASSWORD};
use crate::support::*;

const DAY: u64 = 24 * 3600;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_created_user_changes_the_temporary_password_at_first_sign_in() {
    let s = stack("sign_up:\n  required_attributes: [email, name]\n").await;
    let (status, created) = hook(
        &s.idp,
        "admin-create-user",
        json!({"username": "hana", "temporary_password": "Temp-0rary!",
               "attributes": {"email": "hana@example.com", "email_verified": "true"},
               "groups": ["editors"]}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["status"], "FORCE_CHANGE_PASSWORD");
    let invitation = outbox(&s.idp, "hana").await;
    assert_eq!(invitation[0]["kind"], "invitation");
    assert_eq!(
        invitation[0]["text"],
        "Your username is hana and temporary password is Temp-0rary!."
    );
    assert!(
        !s.idp.proc.logs().contains("Temp-0rary!"),
        "temporary passwords are never logged"
    );

    let browser = Browser::new(s.port);
    let login = login_page(&browser, "/welcome").await;
    let change = sign_in(&browser, &login, "hana", "Temp-0rary!").await;
    assert!(change.html.contains("Change Password"), "{}", change.html);
    // `name` is required and the administrator left it out, so the form asks for it.
    assert!(change.html.contains("name=\"name\""), "{}", change.html);

    let weak = submit_and_follow(
        &browser,
        &change,
        &[
            ("password", "weakpass"),
            ("confirmPassword", "weakpass"),
            ("name", "Hana"),
        ],
    )
    .await;
    assert_eq!(
        weak.error().as_deref(),
        Some("Password did not conform with policy: Password must have uppercase characters")
    );
    let differ = submit_and_follow(
        &browser,
        &weak,
        &[
            ("password", "Hana-Passw0rd"),
            ("confirmPassword", "Hana-Passw0rd2"),
            ("name", "Hana"),
        ],
    )
    .await;
    assert_eq!(differ.error().as_deref(), Some("Passwords do not match."));
    let landed = submit_and_follow(
        &browser,
        &differ,
        &[
            ("password", "Hana-Passw0rd"),
            ("confirmPassword", "Hana-Passw0rd"),
            ("name", "Hana"),
        ],
    )
    .await;
    assert_eq!(landed.url.as_str(), browser.app("/welcome"));
    let (user, email, groups, _) = identity(&landed);
    assert_eq!(
        (user.as_str(), email.as_str(), groups.as_str()),
        ("hana", "hana@example.com", "editors")
    );
    let (_, now) = hook(&s.idp, "admin-get-user", json!({"username": "hana"})).await;
    assert_eq!(now["status"], "CONFIRMED");
    assert_eq!(now["attributes"]["name"], "Hana");

    // The temporary password is gone; the new one works.
    let other = Browser::new(s.port);
    let login = login_page(&other, "/").await;
    let refused = sign_in(&other, &login, "hana", "Temp-0rary!").await;
    assert_eq!(
        refused.error().as_deref(),
        Some("Incorrect username or password.")
    );
    let again = sign_in(&other, &refused, "hana", "Hana-Passw0rd").await;
    assert_eq!(identity(&again).0, "hana");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_passwords_expire_after_the_configured_days() {
    let s = stack("sign_in:\n  password_policy: {temporary_password_validity_days: 3}\n").await;
    let (status, created) = hook(
        &s.idp,
        "admin-create-user",
        json!({"username": "ivan", "attributes": {"email": "ivan@example.com"}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let temporary = created["temporary_password"].as_str().unwrap().to_string();

    let (status, _) = hook(&s.idp, "advance-clock", json!({"seconds": 2 * DAY})).await;
    assert_eq!(status, StatusCode::OK);
    let browser = Browser::new(s.port);
    let login = login_page(&browser, "/").await;
    let change = sign_in(&browser, &login, "ivan", &temporary).await;
    assert!(
        change.html.contains("Change Password"),
        "still valid after 2 days"
    );

    hook(&s.idp, "advance-clock", json!({"seconds": DAY + 1})).await;
    let login = login_page(&browser, "/").await;
    let expired = sign_in(&browser, &login, "ivan", &temporary).await;
    assert_eq!(expired.path(), "/login");
    assert_eq!(
        expired.error().as_deref(),
        Some("Temporary password has expired and must be reset by an administrator.")
    );
    // The change form shown before the expiry no longer works either.
    let late = submit_and_follow(
        &browser,
        &change,
        &[
            ("password", "Ivan-Passw0rd"),
            ("confirmPassword", "Ivan-Passw0rd"),
        ],
    )
    .await;
    assert!(late.error().is_some(), "{}", late.html);
    assert!(!late.html.contains("\"x-forwarded-user\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabled_users_are_refused_and_signed_out() {
    let s = stack("").await;
    let browser = Browser::new(s.port);
    let landed = browser.sign_in("/", "bob").await;
    assert_eq!(landed.status(), StatusCode::OK);

    let (status, body) = hook(&s.idp, "admin-disable-user", json!({"username": "bob"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["enabled"], false);
    assert_eq!(body["revoked_sign_ins"], 1);

    let other = Browser::new(s.port);
    let login = login_page(&other, "/").await;
    let wrong = sign_in(&other, &login, "bob", "not-his-password").await;
    assert_eq!(
        wrong.error().as_deref(),
        Some("Incorrect username or password.")
    );
    let refused = sign_in(&other, &wrong, "bob", PASSWORD).await;
    assert_eq!(refused.error().as_deref(), Some("User is disabled."));

    // The hosted-UI session of the first browser ended too: signing in again needs the
    // form, where bob is refused.
    let cookie = browser.cookie("_cognito_sidecar");
    assert!(cookie.is_some());
    browser.jar.add_cookie_str(
        "_cognito_sidecar=; Max-Age=0",
        &url::Url::parse(&browser.app("/")).unwrap(),
    );
    let page = login_page(&browser, "/").await;
    assert_eq!(page.path(), "/login");

    hook(&s.idp, "admin-enable-user", json!({"username": "bob"})).await;
    let back = sign_in(&other, &refused, "bob", PASSWORD).await;
    assert_eq!(identity(&back).0, "bob");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_changes_reach_the_sidecar_at_the_next_refresh() {
    let s = stack("").await;
    let (status, _) = hook(
        &s.idp,
        "token-lifetimes",
        json!({"client_id": "local-client", "id_token_validity": "2s", "access_token_validity": "2s"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let browser = Browser::new(s.port);
    let first = Page::read(browser.sign_in("/", "alice").await).await;
    assert_eq!(identity(&first).2, "admins");

    let (status, body) = hook(
        &s.idp,
        "admin-add-user-to-group",
        json!({"username": "alice", "group": "editors"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, body) = hook(
        &s.idp,
        "admin-remove-user-from-group",
        json!({"username": "alice", "group": "admins"}),
    )
    .await;
    assert_eq!(body["groups"], json!(["editors"]));

    // Until the tokens expire, the session keeps the groups it was issued with; the
    // refresh that follows their expiry brings the new ones.
    let before = Page::read(browser.navigate(&browser.app("/")).await).await;
    assert_eq!(identity(&before).2, "admins");
    tokio::time::sleep(Duration::from_millis(2600)).await;
    let after = Page::read(browser.navigate(&browser.app("/")).await).await;
    assert_eq!(identity(&after).2, "editors");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_hooks_validate_their_input() {
    let s = stack("").await;
    let cases = [
        (
            "admin-create-user",
            json!({"username": "alice"}),
            "User already exists",
        ),
        (
            "admin-create-user",
            json!({"username": "jo", "temporary_password": "short"}),
            "Password did not conform with policy: Password not long enough",
        ),
        (
            "admin-create-user",
            json!({"username": "jo", "attributes": {"favourite": "x"}}),
            "attributes.favourite",
        ),
        (
            "admin-disable-user",
            json!({"username": "nobody"}),
            "User does not exist.",
        ),
        (
            "admin-confirm-sign-up",
            json!({"username": "alice"}),
            "User cannot be confirmed. Current status is CONFIRMED",
        ),
        ("advance-clock", json!({"seconds": -1}), "invalid JSON body"),
    ];
    for (name, body, expected) in cases {
        let (status, answer) = hook(&s.idp, name, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {answer}");
        let text = answer["error"].as_str().unwrap_or_default();
        assert!(text.contains(expected), "{name}: {text}");
    }
    let (_, created) = hook(
        &s.idp,
        "admin-create-user",
        json!({"username": "kim", "message_action": "SUPPRESS", "attributes": {"email": "kim@example.com"}}),
    )
    .await;
    assert_eq!(created["status"], "FORCE_CHANGE_PASSWORD");
    assert!(
        outbox(&s.idp, "kim").await.is_empty(),
        "invitation suppressed"
    );
}
