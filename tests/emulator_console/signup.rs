//! Self sign-up through the hosted UI, confirmed with the code from the outbox, ending
//! signed in at the app behind the sidecar; the password policy's messages; unconfirmed
//! users routed to confirm; self-registration switched off.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::idp::{Browser, PASSWORD};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_confirm_with_the_outbox_code_then_use_the_app() {
    let s = stack("").await;
    let browser = Browser::new(s.port);
    let login = login_page(&browser, "/reports?q=1").await;
    let signup = open(&browser, &login, "/signup?").await;
    assert_eq!(signup.path(), "/signup");
    assert!(signup.html.contains("name=\"email\""), "{}", signup.html);

    // An existing username is refused with Cognito's message.
    let taken = submit_and_follow(
        &browser,
        &signup,
        &[
            ("username", "alice"),
            ("email", "a2@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(taken.error().as_deref(), Some("User already exists"));

    let confirm = submit_and_follow(
        &browser,
        &taken,
        &[
            ("username", "dave"),
            ("email", "dave@example.com"),
            ("password", "Dave-Passw0rd"),
        ],
    )
    .await;
    assert_eq!(confirm.path(), "/confirmUser", "{}", confirm.html);
    assert!(confirm.html.contains("d***@e***"), "{}", confirm.html);
    let messages = outbox(&s.idp, "dave").await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0]["kind"], "confirm_sign_up");
    assert_eq!(messages[0]["destination"], "dave@example.com");
    let code = latest_code(&s.idp, "dave").await;
    assert!(s.idp.proc.logs().contains(&code), "the code is logged");

    // Until confirmed, dave is UNCONFIRMED.
    let (_, before) = hook(&s.idp, "admin-get-user", json!({"username": "dave"})).await;
    assert_eq!(before["status"], "UNCONFIRMED");

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let retry = submit_and_follow(&browser, &confirm, &[("code", wrong)]).await;
    assert_eq!(
        retry.error().as_deref(),
        Some("Invalid verification code provided, please try again.")
    );

    // The right code confirms the account and, in the browser that signed up, finishes
    // the sign-in: the app gets dave's identity at the page first asked for.
    let landed = submit_and_follow(&browser, &retry, &[("code", &code)]).await;
    assert_eq!(landed.url.as_str(), browser.app("/reports?q=1"));
    let (user, email, groups, sub) = identity(&landed);
    assert_eq!(user, "dave");
    assert_eq!(email, "dave@example.com");
    assert_eq!(groups, "");
    let (_, after) = hook(&s.idp, "admin-get-user", json!({"username": "dave"})).await;
    assert_eq!(after["status"], "CONFIRMED");
    assert_eq!(after["attributes"]["email_verified"], "true");
    assert_eq!(after["sub"], sub);

    // The new account signs in with its password in another browser.
    let other = Browser::new(s.port);
    let login = login_page(&other, "/").await;
    let again = sign_in(&other, &login, "dave", "Dave-Passw0rd").await;
    assert_eq!(identity(&again).0, "dave");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_policy_violations_get_the_policys_message() {
    let s = stack("").await;
    let browser = Browser::new(s.port);
    let login = login_page(&browser, "/").await;
    let mut page = open(&browser, &login, "/signup?").await;
    let p = "Password did not conform with policy: ";
    for (password, message) in [
        ("Aa1!", "Password not long enough"),
        ("password1!", "Password must have uppercase characters"),
        ("PASSWORD1!", "Password must have lowercase characters"),
        ("Password!!", "Password must have numeric characters"),
        ("Password11", "Password must have symbol characters"),
    ] {
        page = submit_and_follow(
            &browser,
            &page,
            &[
                ("username", "erin"),
                ("email", "erin@example.com"),
                ("password", password),
            ],
        )
        .await;
        assert_eq!(page.path(), "/signup");
        assert_eq!(page.error(), Some(format!("{p}{message}")), "{password}");
        // What was typed (never the password) is kept.
        assert!(page.html.contains("value=\"erin\""));
        assert!(!page.html.contains(password));
    }
    let (status, _) = hook(&s.idp, "admin-get-user", json!({"username": "erin"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_policy_and_required_attributes_apply() {
    let s = stack(
        "sign_in:\n  password_policy: {minimum_length: 12, require_symbols: false}\nsign_up:\n  required_attributes: [email, name]\n",
    )
    .await;
    let browser = Browser::new(s.port);
    let login = login_page(&browser, "/").await;
    let page = open(&browser, &login, "/signup?").await;
    let fields = [
        ("username", "fay"),
        ("email", "fay@example.com"),
        ("password", "Passw0rd1234"),
    ];
    let missing = submit_and_follow(&browser, &page, &fields).await;
    assert_eq!(
        missing.error().as_deref(),
        Some("Attributes did not conform to the schema: name: The attribute is required")
    );
    let short = submit_and_follow(
        &browser,
        &missing,
        &[
            ("username", "fay"),
            ("email", "fay@example.com"),
            ("name", "Fay"),
            ("password", "Passw0rd!"),
        ],
    )
    .await;
    assert_eq!(
        short.error().as_deref(),
        Some("Password did not conform with policy: Password not long enough")
    );
    let confirm = submit_and_follow(
        &browser,
        &short,
        &[
            ("username", "fay"),
            ("email", "fay@example.com"),
            ("name", "Fay"),
            ("password", "Passw0rd1234"),
        ],
    )
    .await;
    assert_eq!(confirm.path(), "/confirmUser");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unconfirmed_users_are_routed_to_confirm_when_they_sign_in() {
    let s = stack("").await;
    let browser = Browser::new(s.port);
    let login = login_page(&browser, "/").await;
    let signup = open(&browser, &login, "/signup?").await;
    submit(
        &browser,
        &signup,
        &[
            ("username", "gil"),
            ("email", "gil@example.com"),
            ("password", PASSWORD),
        ],
    )
    .await;

    // Later, in another browser, gil signs in before confirming: a fresh code is sent
    // and the hosted UI asks for it.
    let other = Browser::new(s.port);
    let login = login_page(&other, "/").await;
    let wrong_password = sign_in(&other, &login, "gil", "Wrong-Passw0rd").await;
    assert_eq!(
        wrong_password.error().as_deref(),
        Some("Incorrect username or password.")
    );
    let confirm = sign_in(&other, &wrong_password, "gil", PASSWORD).await;
    assert_eq!(confirm.path(), "/confirmUser", "{}", confirm.html);
    assert_eq!(outbox(&s.idp, "gil").await.len(), 2);
    let code = latest_code(&s.idp, "gil").await;
    let landed = submit_and_follow(&other, &confirm, &[("code", &code)]).await;
    assert_eq!(identity(&landed).0, "gil");

    // Resending from the confirm page of a confirmed account sends nothing.
    let page = Page::read(
        other
            .navigate(
                &confirm
                    .url
                    .as_str()
                    .replace("username=gil", "username=alice"),
            )
            .await,
    )
    .await;
    let resent = submit_and_follow(&other, &page, &[("resend", "1")]).await;
    assert!(resent.html.contains("We have sent you a new code."));
    assert!(outbox(&s.idp, "alice").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_self_registration_there_is_no_sign_up() {
    let s = stack("sign_up:\n  self_registration: false\n").await;
    let browser = Browser::new(s.port);
    let login = login_page(&browser, "/").await;
    assert!(href(&login.html, "/signup?").is_none());
    assert!(href(&login.html, "/forgotPassword?").is_some());
    let url = login.url.as_str().replace("/login?", "/signup?");
    let refused = Page::read(browser.navigate(&url).await).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused
        .html
        .contains("SignUp is not permitted for this user pool"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_pages_check_the_authorize_parameters_and_escape_what_they_reflect() {
    let s = stack("").await;
    let browser = Browser::new(s.port);
    let bad = Page::read(
        browser
            .navigate(&format!("{}/signup?client_id=ghost", s.idp.url()))
            .await,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad
        .html
        .contains("An error was encountered with the requested page."));

    let login = login_page(&browser, "/").await;
    let evil = "<script>alert(1)</script>\"'";
    let confirm_url = format!(
        "{}&username={}",
        login.url.as_str().replace("/login?", "/confirmUser?"),
        crate::common::idp::urlencode(evil)
    );
    let page = Page::read(browser.navigate(&confirm_url).await).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.html.contains("<script>alert"), "{}", page.html);
    let signup = open(&browser, &login, "/signup?").await;
    let echoed = submit_and_follow(
        &browser,
        &signup,
        &[
            ("username", evil),
            ("email", "x@example.com"),
            ("password", "short"),
        ],
    )
    .await;
    assert!(!echoed.html.contains("<script>alert"), "{}", echoed.html);
    // A form posted without its CSRF token is refused.
    let forged = browser
        .http
        .post(signup.url.as_str())
        .form(&[
            ("username", "mallory"),
            ("email", "m@example.com"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
}
