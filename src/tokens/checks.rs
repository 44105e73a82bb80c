//! The claim checks of SPEC §7, applied to a payload whose signature has already been
//! verified: `iss` exact, `token_use`, `exp` required and `nbf` honoured with a small
//! leeway, `sub` required, then per token type either `aud` (a single string equal to
//! the app client id) and the sign-in `nonce`, or `client_id` in the allowed list
//! (cognito-protocol §2.6, RFC 8725 §3.8–§3.9).
//!
//! Done here rather than by `jsonwebtoken::Validation` so each failure gets its own
//! error and so arrays are refused where the library would accept any matching member
//! (`iss: [..]`, `aud: [..]`).

use serde::Deserialize;

use super::TokenError;

/// The claims the checks look at, typed loosely so a missing claim is reported as
/// missing rather than as a parse error.
#[derive(Debug, Default, Deserialize)]
pub struct Envelope {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub exp: Option<u64>,
    pub nbf: Option<u64>,
    pub token_use: Option<String>,
    #[serde(default)]
    pub aud: serde_json::Value,
    pub client_id: Option<String>,
    pub nonce: Option<String>,
}

/// What the token must be.
#[derive(Debug, Clone, Copy)]
pub enum Expected<'a> {
    /// An ID token for `client_id`; when `nonce` is given the token must carry it.
    Id {
        client_id: &'a str,
        nonce: Option<&'a str>,
    },
    /// An access token issued to one of `client_ids`.
    Access { client_ids: &'a [String] },
}

/// The verifier's fixed expectations plus the current time.
#[derive(Debug, Clone, Copy)]
pub struct Policy<'a> {
    pub issuer: &'a str,
    pub leeway_secs: u64,
    pub now: u64,
}

/// Applies every claim check of SPEC §7 in order; the first failure is returned.
pub fn check(
    claims: &Envelope,
    policy: &Policy<'_>,
    expected: &Expected<'_>,
) -> Result<(), TokenError> {
    match claims.iss.as_deref() {
        None => return Err(TokenError::MissingClaim("iss")),
        Some(iss) if iss != policy.issuer => return Err(TokenError::WrongIssuer),
        Some(_) => {}
    }
    let wanted_use = match expected {
        Expected::Id { .. } => "id",
        Expected::Access { .. } => "access",
    };
    match claims.token_use.as_deref() {
        None => return Err(TokenError::MissingClaim("token_use")),
        Some(token_use) if token_use != wanted_use => return Err(TokenError::WrongTokenUse),
        Some(_) => {}
    }
    let exp = claims.exp.ok_or(TokenError::MissingClaim("exp"))?;
    if policy.now > exp.saturating_add(policy.leeway_secs) {
        return Err(TokenError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > policy.now.saturating_add(policy.leeway_secs))
    {
        return Err(TokenError::NotYetValid);
    }
    if claims.sub.as_deref().is_none_or(str::is_empty) {
        return Err(TokenError::MissingClaim("sub"));
    }
    match *expected {
        Expected::Id { client_id, nonce } => {
            match &claims.aud {
                serde_json::Value::Null => return Err(TokenError::MissingClaim("aud")),
                // Cognito's `aud` is a string; an array is refused even if it contains
                // our client id (cognito-protocol §6 item 3).
                serde_json::Value::String(aud) if aud == client_id => {}
                _ => return Err(TokenError::WrongAudience),
            }
            if let Some(expected_nonce) = nonce {
                let matches = claims.nonce.as_deref().is_some_and(|actual| {
                    aws_lc_rs::constant_time::verify_slices_are_equal(
                        actual.as_bytes(),
                        expected_nonce.as_bytes(),
                    )
                    .is_ok()
                });
                if !matches {
                    return Err(TokenError::NonceMismatch);
                }
            }
        }
        Expected::Access { client_ids } => {
            let client_id = claims
                .client_id
                .as_deref()
                .ok_or(TokenError::MissingClaim("client_id"))?;
            if !client_ids.iter().any(|allowed| allowed == client_id) {
                return Err(TokenError::WrongClient);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E";
    const NOW: u64 = 1_718_000_000;
    const POLICY: Policy<'static> = Policy {
        issuer: ISSUER,
        leeway_secs: 30,
        now: NOW,
    };
    const ID: Expected<'static> = Expected::Id {
        client_id: "app",
        nonce: None,
    };

    fn id_claims() -> Envelope {
        Envelope {
            iss: Some(ISSUER.into()),
            sub: Some("sub-1".into()),
            exp: Some(NOW + 3600),
            token_use: Some("id".into()),
            aud: json!("app"),
            nonce: Some("n0nce".into()),
            ..Envelope::default()
        }
    }

    fn access_claims() -> Envelope {
        Envelope {
            token_use: Some("access".into()),
            aud: serde_json::Value::Null,
            client_id: Some("app".into()),
            nonce: None,
            ..id_claims()
        }
    }

    fn id_with(change: impl FnOnce(&mut Envelope)) -> Result<(), TokenError> {
        let mut claims = id_claims();
        change(&mut claims);
        check(&claims, &POLICY, &ID)
    }

    #[test]
    fn valid_claims_pass() {
        assert_eq!(check(&id_claims(), &POLICY, &ID), Ok(()));
        let allowed = vec!["other".to_string(), "app".to_string()];
        let access = Expected::Access {
            client_ids: &allowed,
        };
        assert_eq!(check(&access_claims(), &POLICY, &access), Ok(()));
    }

    #[test]
    fn issuer_must_match_exactly() {
        for iss in [
            format!("{ISSUER}/"),
            ISSUER.to_uppercase(),
            ISSUER.replace("https", "http"),
            ISSUER.replace("Ab12Cd34E", "Ab12Cd34F"),
            format!(" {ISSUER}"),
            String::new(),
        ] {
            assert_eq!(
                id_with(|c| c.iss = Some(iss.clone())),
                Err(TokenError::WrongIssuer),
                "{iss}"
            );
        }
        assert_eq!(
            id_with(|c| c.iss = None),
            Err(TokenError::MissingClaim("iss"))
        );
    }

    #[test]
    fn time_claims_honour_the_leeway() {
        assert_eq!(id_with(|c| c.exp = Some(NOW - 30)), Ok(()));
        assert_eq!(
            id_with(|c| c.exp = Some(NOW - 31)),
            Err(TokenError::Expired)
        );
        assert_eq!(
            id_with(|c| c.exp = None),
            Err(TokenError::MissingClaim("exp"))
        );
        assert_eq!(id_with(|c| c.nbf = Some(NOW + 30)), Ok(()));
        assert_eq!(
            id_with(|c| c.nbf = Some(NOW + 31)),
            Err(TokenError::NotYetValid)
        );
        assert_eq!(id_with(|c| c.exp = Some(u64::MAX)), Ok(()));
    }

    #[test]
    fn sub_is_required() {
        assert_eq!(
            id_with(|c| c.sub = None),
            Err(TokenError::MissingClaim("sub"))
        );
        assert_eq!(
            id_with(|c| c.sub = Some(String::new())),
            Err(TokenError::MissingClaim("sub"))
        );
    }

    #[test]
    fn id_tokens_need_a_string_aud_equal_to_the_client() {
        assert_eq!(
            id_with(|c| c.aud = json!("other")),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            id_with(|c| c.aud = json!(["app"])),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            id_with(|c| c.aud = json!(["app", "other"])),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            id_with(|c| c.aud = json!(7)),
            Err(TokenError::WrongAudience)
        );
        assert_eq!(
            id_with(|c| c.aud = serde_json::Value::Null),
            Err(TokenError::MissingClaim("aud"))
        );
    }

    #[test]
    fn token_use_must_match_the_preset() {
        assert_eq!(
            check(&access_claims(), &POLICY, &ID),
            Err(TokenError::WrongTokenUse)
        );
        let allowed = vec!["app".to_string()];
        let access = Expected::Access {
            client_ids: &allowed,
        };
        assert_eq!(
            check(&id_claims(), &POLICY, &access),
            Err(TokenError::WrongTokenUse)
        );
        assert_eq!(
            id_with(|c| c.token_use = None),
            Err(TokenError::MissingClaim("token_use"))
        );
        assert_eq!(
            id_with(|c| c.token_use = Some("ID".into())),
            Err(TokenError::WrongTokenUse)
        );
    }

    #[test]
    fn access_tokens_need_an_allowed_client_id() {
        let allowed = vec!["app".to_string()];
        let access = Expected::Access {
            client_ids: &allowed,
        };
        let mut claims = access_claims();
        claims.client_id = Some("other".into());
        assert_eq!(
            check(&claims, &POLICY, &access),
            Err(TokenError::WrongClient)
        );
        claims.client_id = None;
        assert_eq!(
            check(&claims, &POLICY, &access),
            Err(TokenError::MissingClaim("client_id"))
        );
        let none: Vec<String> = Vec::new();
        let nobody = Expected::Access { client_ids: &none };
        assert_eq!(
            check(&access_claims(), &POLICY, &nobody),
            Err(TokenError::WrongClient)
        );
    }

    #[test]
    fn nonce_is_compared_only_when_expected() {
        let with_nonce = |nonce| Expected::Id {
            client_id: "app",
            nonce: Some(nonce),
        };
        assert_eq!(check(&id_claims(), &POLICY, &with_nonce("n0nce")), Ok(()));
        assert_eq!(
            check(&id_claims(), &POLICY, &with_nonce("n0nc")),
            Err(TokenError::NonceMismatch)
        );
        assert_eq!(
            check(&id_claims(), &POLICY, &with_nonce("")),
            Err(TokenError::NonceMismatch)
        );
        let mut claims = id_claims();
        claims.nonce = None;
        assert_eq!(
            check(&claims, &POLICY, &with_nonce("n0nce")),
            Err(TokenError::NonceMismatch)
        );
        assert_eq!(check(&claims, &POLICY, &ID), Ok(()));
    }

    proptest! {
        #[test]
        fn any_other_issuer_is_refused(iss in ".{0,80}") {
            prop_assume!(iss != ISSUER);
            prop_assert_eq!(id_with(|c| c.iss = Some(iss)), Err(TokenError::WrongIssuer));
        }

        #[test]
        fn expiry_is_exactly_exp_plus_leeway(exp in 0u64..u64::MAX, now in 0u64..u64::MAX) {
            let policy = Policy { now, ..POLICY };
            let claims = Envelope { exp: Some(exp), ..id_claims() };
            let expired = check(&claims, &policy, &ID) == Err(TokenError::Expired);
            prop_assert_eq!(expired, now > exp.saturating_add(30));
        }
    }
}
