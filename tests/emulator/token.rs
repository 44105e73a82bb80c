//! `/oauth2/token`: the code grant with PKCE and its failure modes, client
//! authentication, client credentials, and the exact claim sets of issued tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

fn code_form<'a>(code: &'a str, verifier: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
    ];
    if let Some(v) = verifier {
        form.push(("code_verifier", v));
    }
    form
}

#[tokio::test]
async fn code_flow_with_pkce_issues_cognito_shaped_tokens() {
    let emu = start().await;
    let (verifier, challenge) = pkce();
    let code = emu
        .code(
            &browser(),
            "app",
            &[
                ("nonce", "n-123"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
                ("scope", "openid email profile"),
            ],
        )
        .await;
    let (status, body) = emu
        .token(
            "app",
            Some("app-secret"),
            &code_form(&code, Some(&verifier)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        sorted(&fields),
        sorted(&[
            "id_token",
            "access_token",
            "refresh_token",
            "expires_in",
            "token_type"
        ])
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);

    let id_token = body["id_token"].as_str().unwrap();
    let access_token = body["access_token"].as_str().unwrap();
    let id = emu.verify(id_token, Some("app")).await;
    let access = emu.verify(access_token, None).await;

    assert_eq!(
        keys(&id),
        sorted(&[
            "at_hash",
            "sub",
            "cognito:groups",
            "email_verified",
            "iss",
            "cognito:username",
            "nonce",
            "origin_jti",
            "aud",
            "event_id",
            "token_use",
            "auth_time",
            "exp",
            "iat",
            "jti",
            "email",
            "name",
            "custom:tenant",
        ])
    );
    assert_eq!(
        keys(&access),
        sorted(&[
            "sub",
            "cognito:groups",
            "iss",
            "version",
            "client_id",
            "origin_jti",
            "event_id",
            "token_use",
            "scope",
            "auth_time",
            "exp",
            "iat",
            "jti",
            "username",
        ])
    );
    assert_eq!(id["sub"], ALICE_SUB);
    assert_eq!(id["aud"], "app");
    assert_eq!(id["token_use"], "id");
    assert_eq!(id["email_verified"], Value::Bool(true));
    assert_eq!(id["cognito:groups"], json!(["admins", "staff"]));
    assert_eq!(id["cognito:username"], "alice");
    assert_eq!(id["nonce"], "n-123");
    assert_eq!(id["custom:tenant"], "acme");
    assert_eq!(id["iss"], emu.issuer.as_str());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    assert_eq!(
        id["at_hash"],
        URL_SAFE_NO_PAD.encode(&digest.as_ref()[..16])
    );
    assert_eq!(access["token_use"], "access");
    assert_eq!(access["client_id"], "app");
    assert_eq!(access["username"], "alice");
    assert_eq!(access["version"], 2);
    assert_eq!(access["scope"], "openid email profile");
    assert_eq!(access["origin_jti"], id["origin_jti"]);
    assert_eq!(access["event_id"], id["event_id"]);
    assert_ne!(access["jti"], id["jti"]);
    assert_eq!(
        access["exp"].as_u64().unwrap() - access["iat"].as_u64().unwrap(),
        3600
    );

    let id_header = decode_segment(id_token, 0);
    let access_header = decode_segment(access_token, 0);
    assert_eq!(keys(id_header.as_object().unwrap()), vec!["alg", "kid"]);
    assert_eq!(id_header["kid"].as_str().unwrap().len(), 44);
    assert_ne!(id_header["kid"], access_header["kid"]);

    let refresh = body["refresh_token"].as_str().unwrap();
    assert!(refresh.starts_with("eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ."));
    assert_eq!(refresh.split('.').count(), 5);
    assert!(refresh.len() > 1500, "{}", refresh.len());
}

#[tokio::test]
async fn id_token_omits_nonce_and_groups_when_absent() {
    let emu = start().await;
    let code = {
        let done = emu
            .sign_in(&browser(), "app", &[], "bob", "Passw0rd!")
            .await;
        query_param(&location(&done), "code").unwrap()
    };
    let (_, body) = emu
        .token("app", Some("app-secret"), &code_form(&code, None))
        .await;
    let id = emu
        .verify(body["id_token"].as_str().unwrap(), Some("app"))
        .await;
    assert!(!id.contains_key("nonce"));
    assert!(!id.contains_key("cognito:groups"));
    assert_eq!(id["email_verified"], Value::Bool(false));
    let access = emu
        .verify(body["access_token"].as_str().unwrap(), None)
        .await;
    assert!(!access.contains_key("cognito:groups"));
}

#[tokio::test]
async fn reused_code_is_invalid_grant() {
    let emu = start().await;
    let code = emu.code(&browser(), "app", &[]).await;
    let (first, _) = emu
        .token("app", Some("app-secret"), &code_form(&code, None))
        .await;
    assert_eq!(first, StatusCode::OK);
    let (second, body) = emu
        .token("app", Some("app-secret"), &code_form(&code, None))
        .await;
    assert_eq!(
        (second, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let emu = start_with(Options {
        code_validity: "1s",
        ..Options::default()
    })
    .await;
    let code = emu.code(&browser(), "app", &[]).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let (status, body) = emu
        .token("app", Some("app-secret"), &code_form(&code, None))
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
}

#[tokio::test]
async fn wrong_or_missing_pkce_verifier_is_invalid_grant() {
    let emu = start().await;
    let (_, challenge) = pkce();
    let (other_verifier, _) = pkce();
    let extra = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let code = emu.code(&browser(), "app", &extra).await;
    let (status, body) = emu
        .token(
            "app",
            Some("app-secret"),
            &code_form(&code, Some(&other_verifier)),
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
    let code = emu.code(&browser(), "app", &extra).await;
    let (status, body) = emu
        .token("app", Some("app-secret"), &code_form(&code, None))
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
}

#[tokio::test]
async fn public_client_redeems_with_pkce_and_client_id_only() {
    let emu = start().await;
    let (verifier, challenge) = pkce();
    let code = emu
        .code(
            &browser(),
            "public",
            &[
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    let mut form = code_form(&code, Some(&verifier));
    form.push(("client_id", "public"));
    let (status, body) = emu.token("public", None, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    emu.verify(body["id_token"].as_str().unwrap(), Some("public"))
        .await;
}

#[tokio::test]
async fn wrong_redirect_uri_at_token_endpoint_is_invalid_grant() {
    let emu = start().await;
    let code = emu.code(&browser(), "app", &[]).await;
    let (status, body) = emu
        .token(
            "app",
            Some("app-secret"),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://localhost:4180/oauth2/callback/"),
            ],
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
}

#[tokio::test]
async fn code_of_another_client_is_invalid_grant() {
    let emu = start().await;
    let code = emu.code(&browser(), "app", &[]).await;
    let (status, body) = emu
        .token("rotating", Some("rot-secret"), &code_form(&code, None))
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_grant"}))
    );
}
