//! Tokens that must be refused: algorithm confusion, foreign issuers, wrong audience or
//! client, token-use swaps, expiry, tampering, malformed structure, nonce mismatch.

use serde_json::json;

use super::*;
use crate::idp_stub::{b64url, hs256_token, test_key, unsigned_token};

#[tokio::test]
async fn alg_none_is_refused_before_any_key_lookup() {
    let f = Fixture::start().await;
    for alg in ["none", "None", "NONE", "nOnE"] {
        let token = unsigned_token(&json!({"alg": alg, "kid": id_key().kid}), &id_claims(), b"");
        // An empty signature is not even a valid compact JWS for us...
        assert!(f.id(&token).await.is_err());
        let with_sig = unsigned_token(
            &json!({"alg": alg, "kid": id_key().kid}),
            &id_claims(),
            b"x",
        );
        assert_eq!(
            f.id(&with_sig).await,
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
        let unknown_kid = unsigned_token(&json!({"alg": alg, "kid": "nope"}), &id_claims(), b"x");
        assert_eq!(
            f.id(&unknown_kid).await,
            Err(TokenError::UnsupportedAlgorithm)
        );
    }
    assert_eq!(
        f.server.hits(),
        1,
        "no JWKS refetch for a refused algorithm"
    );
    assert_eq!(f.verifier.signature_checks(), 0);
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    let f = Fixture::start().await;
    let header = json!({"alg": "HS256", "kid": id_key().kid, "typ": "JWT"});
    for secret in [
        id_key().public_der(),
        id_key().jwk().to_string().into_bytes(),
    ] {
        let token = hs256_token(&secret, &header, &id_claims());
        assert_eq!(f.id(&token).await, Err(TokenError::UnsupportedAlgorithm));
        assert_eq!(
            f.verifier.verify_bearer(&token).await,
            Err(TokenError::UnsupportedAlgorithm)
        );
    }
}

#[tokio::test]
async fn other_algorithms_are_refused_even_with_a_valid_rsa_signature() {
    let f = Fixture::start().await;
    for alg in ["RS384", "RS512", "PS256", "ES256", "EdDSA"] {
        let token = id_key().sign(&json!({"alg": alg, "kid": id_key().kid}), &id_claims());
        assert_eq!(
            f.id(&token).await,
            Err(TokenError::UnsupportedAlgorithm),
            "{alg}"
        );
    }
}

#[tokio::test]
async fn foreign_issuers_are_refused() {
    let f = Fixture::start().await;
    for iss in [
        json!(format!("{ISSUER}/")),
        json!(ISSUER.to_lowercase()),
        json!(ISSUER.to_uppercase()),
        json!("https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"),
        json!("https://acme-dev.auth.us-east-1.amazoncognito.com"),
    ] {
        let token = id_key().token(&with(id_claims(), |c| {
            c.insert("iss".into(), iss.clone());
        }));
        assert_eq!(f.id(&token).await, Err(TokenError::WrongIssuer), "{iss}");
    }
    let array = id_key().token(&with(id_claims(), |c| {
        c.insert("iss".into(), json!([ISSUER]));
    }));
    assert!(matches!(f.id(&array).await, Err(TokenError::Malformed(_))));
}

#[tokio::test]
async fn id_tokens_for_another_audience_are_refused() {
    let f = Fixture::start().await;
    let other = id_key().token(&with(id_claims(), |c| {
        c.insert("aud".into(), json!("another-client"));
    }));
    assert_eq!(f.id(&other).await, Err(TokenError::WrongAudience));
    let array = id_key().token(&with(id_claims(), |c| {
        c.insert("aud".into(), json!([CLIENT]));
    }));
    assert_eq!(f.id(&array).await, Err(TokenError::WrongAudience));
    let missing = id_key().token(&with(id_claims(), |c| {
        c.remove("aud");
    }));
    assert_eq!(f.id(&missing).await, Err(TokenError::MissingClaim("aud")));
}

#[tokio::test]
async fn access_tokens_from_other_clients_are_refused_unless_listed() {
    let f = Fixture::start().await;
    let token = access_key().token(&with(access_claims(), |c| {
        c.insert("client_id".into(), json!("partner-client"));
    }));
    assert_eq!(f.access(&token).await, Err(TokenError::WrongClient));
    assert_eq!(
        f.verifier.verify_bearer(&token).await,
        Err(TokenError::WrongClient)
    );

    let listed = Fixture::with_bearer(
        vec![TokenUse::Access],
        vec![CLIENT.into(), "partner-client".into()],
    )
    .await;
    let who = listed.verifier.verify_bearer(&token).await.unwrap();
    assert_eq!(who.client_id, "partner-client");
}

#[tokio::test]
async fn token_uses_cannot_be_swapped() {
    let f = Fixture::start().await;
    let id = id_key().token(&id_claims());
    let access = access_key().token(&access_claims());
    assert_eq!(f.access(&id).await.unwrap_err(), TokenError::WrongTokenUse);
    assert_eq!(f.id(&access).await.unwrap_err(), TokenError::WrongTokenUse);

    let access_only = Fixture::with_bearer(vec![TokenUse::Access], vec![CLIENT.into()]).await;
    assert_eq!(
        access_only.verifier.verify_bearer(&id).await,
        Err(TokenError::WrongTokenUse)
    );
    assert!(access_only.verifier.verify_bearer(&access).await.is_ok());

    let id_only = Fixture::with_bearer(vec![TokenUse::Id], vec![CLIENT.into()]).await;
    assert_eq!(
        id_only.verifier.verify_bearer(&access).await,
        Err(TokenError::WrongTokenUse)
    );
    let who = id_only.verifier.verify_bearer(&id).await.unwrap();
    assert_eq!(
        (who.token_use, who.client_id.as_str()),
        (TokenUse::Id, CLIENT)
    );

    // A refresh-style or absent token_use never picks a preset.
    let odd = access_key().token(&with(access_claims(), |c| {
        c.insert("token_use".into(), json!("refresh"));
    }));
    assert_eq!(
        f.verifier.verify_bearer(&odd).await,
        Err(TokenError::WrongTokenUse)
    );
}

#[tokio::test]
async fn expiry_is_enforced_with_a_small_leeway() {
    let f = Fixture::start().await;
    let expired = id_key().token(&with(id_claims(), |c| {
        c.insert("exp".into(), json!(now() - 120));
    }));
    assert_eq!(f.id(&expired).await, Err(TokenError::Expired));
    let within_leeway = id_key().token(&with(id_claims(), |c| {
        c.insert("exp".into(), json!(now() - 5));
    }));
    assert!(f.id(&within_leeway).await.is_ok());
    let no_exp = id_key().token(&with(id_claims(), |c| {
        c.remove("exp");
    }));
    assert_eq!(f.id(&no_exp).await, Err(TokenError::MissingClaim("exp")));
    let string_exp = id_key().token(&with(id_claims(), |c| {
        c.insert("exp".into(), json!("9999999999"));
    }));
    assert!(matches!(
        f.id(&string_exp).await,
        Err(TokenError::Malformed(_))
    ));
    let future = id_key().token(&with(id_claims(), |c| {
        c.insert("nbf".into(), json!(now() + 600));
    }));
    assert_eq!(f.id(&future).await, Err(TokenError::NotYetValid));
    let no_sub = access_key().token(&with(access_claims(), |c| {
        c.remove("sub");
    }));
    assert_eq!(
        f.access(&no_sub).await,
        Err(TokenError::MissingClaim("sub"))
    );
}

#[tokio::test]
async fn unknown_keys_and_tampering_are_refused() {
    let f = Fixture::start().await;
    let foreign = test_key(3).token(&id_claims());
    assert_eq!(f.id(&foreign).await, Err(TokenError::UnknownKey));

    // Key 3's signature under key 0's kid.
    let impostor = test_key(3).sign(&json!({"alg": "RS256", "kid": id_key().kid}), &id_claims());
    assert_eq!(f.id(&impostor).await, Err(TokenError::BadSignature));

    let genuine = id_key().token(&id_claims());
    let mut parts: Vec<&str> = genuine.split('.').collect();
    let forged = b64url(
        with(id_claims(), |c| {
            c.insert("cognito:groups".into(), json!(["admins", "root"]));
        })
        .to_string()
        .as_bytes(),
    );
    parts[1] = &forged;
    assert_eq!(f.id(&parts.join(".")).await, Err(TokenError::BadSignature));

    let mut flipped = genuine.clone().into_bytes();
    let last = flipped.len() - 2;
    flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    assert_eq!(f.id(&flipped).await, Err(TokenError::BadSignature));
}

#[tokio::test]
async fn tokens_without_exactly_three_parts_are_malformed() {
    let f = Fixture::start().await;
    let genuine = id_key().token(&id_claims());
    let parts: Vec<&str> = genuine.split('.').collect();
    for token in [
        format!("{genuine}.{}", parts[2]),
        format!("{}.{}", parts[0], parts[1]),
        format!("{genuine}."),
        format!(
            "{}.{}.{}.{}.{}",
            parts[0], parts[1], parts[2], parts[1], parts[2]
        ),
        format!("{genuine}="),
        format!("Bearer {genuine}"),
        String::new(),
    ] {
        assert!(
            matches!(f.id(&token).await, Err(TokenError::Malformed(_))),
            "{token:.20}"
        );
        assert!(matches!(
            f.verifier.verify_bearer(&token).await,
            Err(TokenError::Malformed(_))
        ));
    }
    assert_eq!(f.verifier.signature_checks(), 0);
}

#[tokio::test]
async fn signed_claims_must_be_a_json_object() {
    let f = Fixture::start().await;
    let array = id_key().token(&json!([ISSUER, "sub", now() + 60, null, "id", CLIENT]));
    assert!(matches!(f.id(&array).await, Err(TokenError::Malformed(_))));
    let string = id_key().token(&json!("claims"));
    assert!(matches!(f.id(&string).await, Err(TokenError::Malformed(_))));
}

#[tokio::test]
async fn the_callback_nonce_must_match() {
    let f = Fixture::start().await;
    let token = id_key().token(&id_claims());
    assert!(f
        .verifier
        .verify_id_token(&token, Some("Tq1Lm0pZx"))
        .await
        .is_ok());
    assert_eq!(
        f.verifier.verify_id_token(&token, Some("other")).await,
        Err(TokenError::NonceMismatch)
    );
    let without = id_key().token(&with(id_claims(), |c| {
        c.remove("nonce");
    }));
    assert_eq!(
        f.verifier
            .verify_id_token(&without, Some("Tq1Lm0pZx"))
            .await,
        Err(TokenError::NonceMismatch)
    );
}

#[tokio::test]
async fn error_messages_never_contain_the_token() {
    let f = Fixture::start().await;
    let cases = [
        id_key().token(&with(id_claims(), |c| {
            c.insert("exp".into(), json!(1));
        })),
        id_key().token(&with(id_claims(), |c| {
            c.insert("aud".into(), json!("x"));
        })),
        test_key(3).token(&id_claims()),
        hs256_token(b"k", &json!({"alg": "HS256", "kid": "k"}), &id_claims()),
    ];
    for token in cases {
        let error = f.id(&token).await.unwrap_err();
        let text = format!("{error} {error:?}");
        for part in token.split('.') {
            assert!(!text.contains(part), "{text}");
        }
    }
}
