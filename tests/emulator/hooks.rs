//! The `/_emulator/*` test hooks and the counters the sidecar's tests rely on.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

#[tokio::test]
async fn hooks_are_404_unless_enabled() {
    let emu = start_with(Options {
        hooks: false,
        ..Options::default()
    })
    .await;
    let (status, _) = emu.hook("/_emulator/rotate-keys", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let stats = server()
        .get(emu.url("/_emulator/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(stats.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn rotate_keys_publishes_new_kids_and_keeps_the_old_ones() {
    let emu = start().await;
    let tokens = emu.tokens("app", "app-secret", &[]).await;
    let old_kid = decode_segment(tokens["access_token"].as_str().unwrap(), 0)["kid"].clone();
    let (status, body) = emu.hook("/_emulator/rotate-keys", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(body["access_kid"], old_kid);
    let jwks = emu.jwks().await;
    assert_eq!(jwks.keys.len(), 4);
    assert!(jwks.find(old_kid.as_str().unwrap()).is_some());
    // Tokens issued before the rotation still verify; new ones use the new kid.
    emu.verify(tokens["access_token"].as_str().unwrap(), None)
        .await;
    let fresh = emu.tokens("app", "app-secret", &[]).await;
    let new_kid = decode_segment(fresh["access_token"].as_str().unwrap(), 0)["kid"].clone();
    assert_eq!(new_kid, body["access_kid"]);
    emu.verify(fresh["id_token"].as_str().unwrap(), Some("app"))
        .await;
}

#[tokio::test]
async fn revoke_user_fails_userinfo_and_refresh_for_every_token_of_the_user() {
    let emu = start().await;
    let tokens = emu.tokens("app", "app-secret", &[]).await;
    let other = emu.tokens("rotating", "rot-secret", &[]).await;
    let (status, body) = emu
        .hook("/_emulator/revoke-user", json!({"username": "alice"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for (set, client, secret) in [
        (&tokens, "app", "app-secret"),
        (&other, "rotating", "rot-secret"),
    ] {
        let response = emu.userinfo(set["access_token"].as_str().unwrap()).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let (status, _) = emu
            .token(
                client,
                Some(secret),
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", set["refresh_token"].as_str().unwrap()),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    let (status, _) = emu
        .hook("/_emulator/revoke-user", json!({"username": "nobody"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn set_groups_is_seen_by_the_next_refresh() {
    let emu = start().await;
    let tokens = emu.tokens("app", "app-secret", &[]).await;
    let (status, _) = emu
        .hook(
            "/_emulator/set-groups",
            json!({"username": "alice", "groups": ["readers"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = emu
        .token(
            "app",
            Some("app-secret"),
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
            ],
        )
        .await;
    let id = emu
        .verify(body["id_token"].as_str().unwrap(), Some("app"))
        .await;
    assert_eq!(id["cognito:groups"], json!(["readers"]));
}

#[tokio::test]
async fn token_lifetimes_hook_shortens_new_tokens() {
    let emu = start().await;
    let (status, body) = emu
        .hook(
            "/_emulator/token-lifetimes",
            json!({"client_id": "app", "id_token_validity": "60s", "access_token_validity": "1s"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let tokens = emu.tokens("app", "app-secret", &[]).await;
    assert_eq!(tokens["expires_in"], 1);
    let id = decode_segment(tokens["id_token"].as_str().unwrap(), 1);
    assert_eq!(
        id["exp"].as_u64().unwrap() - id["iat"].as_u64().unwrap(),
        60
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let response = emu.userinfo(tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let (status, _) = emu
        .hook(
            "/_emulator/token-lifetimes",
            json!({"client_id": "ghost", "id_token_validity": "60s"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn stats_count_requests_by_endpoint() {
    let emu = start().await;
    let tokens = emu.tokens("app", "app-secret", &[]).await;
    emu.jwks().await;
    emu.jwks().await;
    emu.userinfo(tokens["access_token"].as_str().unwrap()).await;
    let stats: Value = emu.stats().await;
    assert_eq!(
        stats,
        json!({"token_requests": 1, "jwks_requests": 2, "authorize_requests": 1, "userinfo_requests": 1, "revoke_requests": 0, "identity_requests": 0})
    );
}
