//! Sign-in identifiers: a verified email as an alias of the username, and email as the
//! username itself (then `cognito:username` is a UUID equal to `sub`).

use serde_json::json;

use crate::common::idp::{Browser, Emulator, CLIENT, POOL, SECRET};
use crate::common::{free_port, upstream};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verified_email_alias_signs_in() {
    let s = stack("sign_in:\n  alias_attributes: [email]\n").await;
    let browser = Browser::new(s.port);
    let login = login_page(&browser, "/").await;
    let landed = sign_in(
        &browser,
        &login,
        "ALICE@example.com",
        crate::common::idp::PASSWORD,
    )
    .await;
    let (user, email, _, _) = identity(&landed);
    assert_eq!(user, "alice");
    assert_eq!(email, "alice@example.com");

    // An email-shaped username is refused in a pool with an email alias.
    let other = Browser::new(s.port);
    let login = login_page(&other, "/").await;
    let signup = open(&other, &login, "/signup?").await;
    let refused = submit_and_follow(
        &other,
        &signup,
        &[
            ("username", "new@example.com"),
            ("email", "new@example.com"),
            ("password", "Passw0rd!"),
        ],
    )
    .await;
    assert_eq!(
        refused.error().as_deref(),
        Some("Username cannot be of email format, since user pool is configured for email alias.")
    );

    // An unverified email is no alias: a new user's email works only once confirmed.
    let confirm = submit_and_follow(
        &other,
        &refused,
        &[
            ("username", "lena"),
            ("email", "lena@example.com"),
            ("password", "Passw0rd!"),
        ],
    )
    .await;
    assert_eq!(confirm.path(), "/confirmUser");
    let third = Browser::new(s.port);
    let login = login_page(&third, "/").await;
    let before = sign_in(&third, &login, "lena@example.com", "Passw0rd!").await;
    assert_eq!(
        before.error().as_deref(),
        Some("Incorrect username or password.")
    );
    let code = latest_code(&s.idp, "lena").await;
    submit_and_follow(&other, &confirm, &[("code", &code)]).await;
    let after = sign_in(&third, &before, "lena@example.com", "Passw0rd!").await;
    assert_eq!(identity(&after).0, "lena");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_as_username_makes_cognito_username_the_sub() {
    let up = upstream::start().await;
    let port = free_port();
    let idp_port = free_port();
    let yaml = format!(
        r#"listen: 127.0.0.1:{idp_port}
user_pool_id: {POOL}
hooks: {{enabled: true}}
sign_in:
  username_attributes: [email]
clients:
  - client_id: {CLIENT}
    client_secret: {SECRET}
    callback_urls: [http://localhost:{port}/oauth2/callback]
    logout_urls: [http://localhost:{port}/]
users:
  - username: mia@example.com
    password: Passw0rd!
    sub: 33333333-3333-4333-8333-333333333333
    attributes: {{email: mia@example.com, email_verified: "true"}}
"#
    );
    let s = stack_on(Emulator::spawn(idp_port, &yaml), up, port).await;

    let browser = Browser::new(s.port);
    let login = login_page(&browser, "/").await;
    let landed = sign_in(&browser, &login, "Mia@Example.com", "Passw0rd!").await;
    let (user, email, _, sub) = identity(&landed);
    assert_eq!(user, "33333333-3333-4333-8333-333333333333");
    assert_eq!(sub, user);
    assert_eq!(email, "mia@example.com");

    // Signing up with an email: the form asks for the email as the username.
    let other = Browser::new(s.port);
    let login = login_page(&other, "/").await;
    let signup = open(&other, &login, "/signup?").await;
    assert!(signup.html.contains(">Email</label>"), "{}", signup.html);
    assert!(
        !signup.html.contains("name=\"email\""),
        "asked once: {}",
        signup.html
    );
    let taken = submit_and_follow(
        &other,
        &signup,
        &[("username", "MIA@example.com"), ("password", "Passw0rd!")],
    )
    .await;
    assert_eq!(
        taken.error().as_deref(),
        Some("An account with the given email already exists.")
    );
    let confirm = submit_and_follow(
        &other,
        &taken,
        &[("username", "noah@example.com"), ("password", "Passw0rd!")],
    )
    .await;
    assert_eq!(confirm.path(), "/confirmUser");
    let code = latest_code(&s.idp, "noah@example.com").await;
    let landed = submit_and_follow(&other, &confirm, &[("code", &code)]).await;
    let (user, email, _, sub) = identity(&landed);
    assert_eq!(user, sub);
    assert!(uuid::Uuid::parse_str(&user).is_ok(), "{user}");
    assert_eq!(email, "noah@example.com");
    let (_, described) = hook(
        &s.idp,
        "admin-get-user",
        json!({"username": "noah@example.com"}),
    )
    .await;
    assert_eq!(described["username"], user.as_str());
}
