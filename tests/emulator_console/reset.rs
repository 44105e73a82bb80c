//! Forgot password: a code to the verified email, a new password that must satisfy the
//! policy, then sign-in through the sidecar with it.

use crate::common::idp::{Browser, PASSWORD};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_resets_with_the_emailed_code() {
    let s = stack("").await;
    let browser = Browser::new(s.port);
    let login = login_page(&browser, "/after-reset").await;
    let forgot = open(&browser, &login, "/forgotPassword?").await;
    assert_eq!(forgot.path(), "/forgotPassword");

    let reset = submit_and_follow(&browser, &forgot, &[("username", "alice")]).await;
    assert_eq!(reset.path(), "/confirmForgotPassword", "{}", reset.html);
    let messages = outbox(&s.idp, "alice").await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["kind"], "forgot_password");
    assert_eq!(messages[0]["destination"], "alice@example.com");
    let code = latest_code(&s.idp, "alice").await;

    let weak = submit_and_follow(
        &browser,
        &reset,
        &[
            ("code", &code),
            ("password", "alllowercase1!"),
            ("confirmPassword", "alllowercase1!"),
        ],
    )
    .await;
    assert_eq!(
        weak.error().as_deref(),
        Some("Password did not conform with policy: Password must have uppercase characters")
    );
    let wrong_code = if code == "123456" { "654321" } else { "123456" };
    let wrong = submit_and_follow(
        &browser,
        &weak,
        &[
            ("code", wrong_code),
            ("password", "N3w-Passw0rd"),
            ("confirmPassword", "N3w-Passw0rd"),
        ],
    )
    .await;
    assert_eq!(
        wrong.error().as_deref(),
        Some("Invalid verification code provided, please try again.")
    );
    let back = submit_and_follow(
        &browser,
        &wrong,
        &[
            ("code", &code),
            ("password", "N3w-Passw0rd"),
            ("confirmPassword", "N3w-Passw0rd"),
        ],
    )
    .await;
    assert_eq!(back.path(), "/login", "{}", back.html);

    let old = sign_in(&browser, &back, "alice", PASSWORD).await;
    assert_eq!(
        old.error().as_deref(),
        Some("Incorrect username or password.")
    );
    let landed = sign_in(&browser, &old, "alice", "N3w-Passw0rd").await;
    assert_eq!(landed.url.as_str(), browser.app("/after-reset"));
    assert_eq!(identity(&landed).0, "alice");

    // A used code does not work twice.
    let again = Page::read(browser.navigate(reset.url.as_str()).await).await;
    let reused = submit_and_follow(
        &browser,
        &again,
        &[
            ("code", &code),
            ("password", "An0ther-Passw0rd"),
            ("confirmPassword", "An0ther-Passw0rd"),
        ],
    )
    .await;
    assert_eq!(
        reused.error().as_deref(),
        Some("Invalid code provided, please request a code again.")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_users_get_the_same_pages_and_no_code() {
    let s = stack("").await;
    let browser = Browser::new(s.port);
    let login = login_page(&browser, "/").await;
    let forgot = open(&browser, &login, "/forgotPassword?").await;
    let reset = submit_and_follow(&browser, &forgot, &[("username", "nobody")]).await;
    assert_eq!(reset.path(), "/confirmForgotPassword");
    assert!(outbox(&s.idp, "nobody").await.is_empty());
    let refused = submit_and_follow(
        &browser,
        &reset,
        &[
            ("code", "123456"),
            ("password", "N3w-Passw0rd"),
            ("confirmPassword", "N3w-Passw0rd"),
        ],
    )
    .await;
    assert_eq!(
        refused.error().as_deref(),
        Some("Invalid verification code provided, please try again.")
    );
}
