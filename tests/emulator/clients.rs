//! Client authentication, the grant types and scopes clients may use, and the issuer
//! documents (discovery, JWKS).

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::*;

fn code_form(code: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
    ]
}

#[tokio::test]
async fn basic_and_body_client_authentication_both_work() {
    let emu = start().await;
    let code = emu.code(&browser(), "app", &[]).await;
    let (status, _) = emu
        .token("app", Some("app-secret"), &code_form(&code))
        .await;
    assert_eq!(status, StatusCode::OK);
    let code = emu.code(&browser(), "app", &[]).await;
    let mut form = code_form(&code);
    form.extend([("client_id", "app"), ("client_secret", "app-secret")]);
    let (status, body) = emu.token("app", None, &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn confidential_client_without_or_with_wrong_secret_is_invalid_client() {
    let emu = start().await;
    let code = emu.code(&browser(), "app", &[]).await;
    let mut form = code_form(&code);
    form.push(("client_id", "app"));
    let (status, body) = emu.token("app", None, &form).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_client"}))
    );
    let (status, body) = emu.token("app", Some("wrong"), &code_form(&code)).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_client"}))
    );
}

#[tokio::test]
async fn unknown_grant_type_and_missing_parameters() {
    let emu = start().await;
    let (status, body) = emu
        .token("app", Some("app-secret"), &[("grant_type", "password")])
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "unsupported_grant_type"})
        )
    );
    let (status, body) = emu
        .token(
            "app",
            Some("app-secret"),
            &[("grant_type", "refresh_token")],
        )
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"error": "invalid_request"}))
    );
    let response = server()
        .post(emu.url("/oauth2/token"))
        .basic_auth("app", Some("app-secret"))
        .json(&json!({"grant_type": "client_credentials"}))
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
async fn client_credentials_issue_an_access_token_for_the_client() {
    let emu = start().await;
    let (status, body) = emu
        .token(
            "app",
            Some("app-secret"),
            &[("grant_type", "client_credentials"), ("scope", "api/read")],
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
        sorted(&["access_token", "expires_in", "token_type"])
    );
    let access = emu
        .verify(body["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(
        keys(&access),
        sorted(&[
            "sub",
            "token_use",
            "scope",
            "auth_time",
            "iss",
            "exp",
            "iat",
            "version",
            "jti",
            "client_id"
        ])
    );
    assert_eq!(access["sub"], "app");
    assert_eq!(access["scope"], "api/read");

    let (_, all) = emu
        .token(
            "app",
            Some("app-secret"),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let access = emu
        .verify(all["access_token"].as_str().unwrap(), None)
        .await;
    assert_eq!(access["scope"], "api/read api/write");

    for scope in ["openid", "api/delete"] {
        let (status, body) = emu
            .token(
                "app",
                Some("app-secret"),
                &[("grant_type", "client_credentials"), ("scope", scope)],
            )
            .await;
        assert_eq!(
            (status, body),
            (StatusCode::BAD_REQUEST, json!({"error": "invalid_scope"}))
        );
    }
    let (status, body) = emu
        .token(
            "codeonly",
            Some("code-secret"),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "unauthorized_client"})
        )
    );
    let (status, body) = emu
        .token(
            "public",
            None,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "public"),
            ],
        )
        .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::BAD_REQUEST,
            json!({"error": "unauthorized_client"})
        )
    );
}

#[tokio::test]
async fn discovery_document_points_at_the_emulator() {
    let emu = start().await;
    let doc: Value = server()
        .get(emu.url(&format!("/{POOL}/.well-known/openid-configuration")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["issuer"], emu.issuer.as_str());
    assert_eq!(
        doc["jwks_uri"],
        format!("{}/.well-known/jwks.json", emu.issuer)
    );
    assert_eq!(doc["authorization_endpoint"], emu.url("/oauth2/authorize"));
    assert_eq!(doc["token_endpoint"], emu.url("/oauth2/token"));
    assert_eq!(doc["userinfo_endpoint"], emu.url("/oauth2/userInfo"));
    assert_eq!(doc["revocation_endpoint"], emu.url("/oauth2/revoke"));
    assert_eq!(doc["end_session_endpoint"], emu.url("/logout"));
    let jwks: Value = server()
        .get(emu.url(&format!("/{POOL}/.well-known/jwks.json")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let published = jwks["keys"].as_array().unwrap();
    assert_eq!(published.len(), 2);
    for key in published {
        assert_eq!(
            keys(key.as_object().unwrap()),
            vec!["alg", "e", "kid", "kty", "n", "use"]
        );
        assert_eq!(key["kty"], "RSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["alg"], "RS256");
    }
}
