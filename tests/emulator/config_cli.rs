//! The `emulator` command itself: the documented example config, the startup log line,
//! bad configs exiting 2, and secrets staying out of the logs.

use std::time::Duration;

use reqwest::StatusCode;

use crate::common::{free_port, path_str, write_temp, Proc};
use crate::support::*;

#[tokio::test]
async fn documented_example_config_serves() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/emulator.yaml"))
            .expect("deploy/emulator.yaml");
    let port = free_port();
    assert!(text.contains("listen: 127.0.0.1:4181"));
    let text = text.replace(
        "listen: 127.0.0.1:4181",
        &format!("listen: 127.0.0.1:{port}"),
    );
    let (dir, path) = write_temp("emulator.yaml", &text);
    let emu = spawn(dir, path_str(&path), port).await;
    let pool_doc = server()
        .get(emu.url("/us-east-1_LOCAL/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(pool_doc.status(), StatusCode::OK);
    assert!(emu
        .proc
        .logs()
        .contains(&format!("emulator listening on http://127.0.0.1:{port}")));
}

#[test]
fn bad_config_exits_2_listing_every_problem_by_key_path() {
    let (_dir, path) = write_temp(
        "bad.yaml",
        "clients:\n  - client_id: a\n    callback_urls: [not-a-url]\n  - client_id: a\n    callback_urls: [http://localhost/cb]\nusers:\n  - username: u\n    password: \"\"\n",
    );
    let mut proc = Proc::spawn(&["emulator", "-c", path_str(&path)], &[]);
    assert_eq!(proc.wait_exit(Duration::from_secs(20)), Some(2));
    let logs = proc.logs();
    for expected in [
        "clients[0].callback_urls[0]: ",
        "clients[1].client_id: `a` is used by another client",
        "users[0].password: must not be empty",
    ] {
        assert!(logs.contains(expected), "{expected} missing from:\n{logs}");
    }
}

#[test]
fn unknown_key_exits_2_naming_it() {
    let (_dir, path) = write_temp("bad.yaml", "clients: []\ncolour: red\n");
    let mut proc = Proc::spawn(&["emulator", "-c", path_str(&path)], &[]);
    assert_eq!(proc.wait_exit(Duration::from_secs(20)), Some(2));
    assert!(
        proc.logs().contains("colour: unknown key"),
        "{}",
        proc.logs()
    );
}

#[tokio::test]
async fn logs_never_contain_passwords_codes_or_tokens() {
    let emu = start().await;
    let browser = browser();
    let code = emu
        .code(&browser, "app", &[("state", "secret-state")])
        .await;
    let (_, tokens) = emu
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
    emu.userinfo(tokens["access_token"].as_str().unwrap()).await;
    let logs = emu.proc.logs();
    assert!(logs.contains("/oauth2/token"), "{logs}");
    for secret in [
        "Passw0rd!",
        "app-secret",
        code.as_str(),
        "secret-state",
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!logs.contains(secret), "a secret leaked into the logs");
    }
}

#[tokio::test]
async fn sigterm_stops_the_emulator_with_exit_code_0() {
    let mut emu = start().await;
    emu.proc.sigterm();
    let code = tokio::task::spawn_blocking(move || emu.proc.wait_exit(Duration::from_secs(10)))
        .await
        .unwrap();
    assert_eq!(code, Some(0));
}
