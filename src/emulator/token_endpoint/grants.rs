//! The three grants Cognito's token endpoint supports (cognito-protocol.md §1.3).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::issue::{client_token, lifetimes, user_tokens};
use super::{TokenError, TokenResponse};
use crate::emulator::authorize::is_pkce_value;
use crate::emulator::config::{ClientConfig, OAuthFlow};
use crate::emulator::pool::allows;
use crate::emulator::request::Params;
use crate::emulator::scopes;
use crate::emulator::store::RefreshRecord;
use crate::emulator::tokens::{new_refresh_token, SignIn};
use crate::emulator::Emulator;

fn param<'a>(form: &'a Params, name: &str) -> Result<Option<&'a str>, TokenError> {
    form.non_empty(name).map_err(|_| TokenError::InvalidRequest)
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(ASCII(code_verifier))) == code_challenge`.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    is_pkce_value(verifier) && URL_SAFE_NO_PAD.encode(digest.as_ref()) == challenge
}

/// Whether the PKCE state of a code redemption is acceptable. A verifier for a code that
/// had no challenge is refused too (RFC 9700 §2.1.1: it signals a downgrade attempt).
fn pkce_ok(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    match (challenge, verifier) {
        (None, None) => true,
        (Some(c), Some(v)) => pkce_matches(v, c),
        _ => false,
    }
}

/// `grant_type=authorization_code`: single-use code bound to client, redirect URI, PKCE
/// challenge, nonce and scopes; returns ID, access and refresh tokens.
pub fn authorization_code(
    emulator: &Emulator,
    client: &ClientConfig,
    form: &Params,
) -> Result<TokenResponse, TokenError> {
    let code = param(form, "code")?.ok_or(TokenError::InvalidRequest)?;
    let redirect_uri = param(form, "redirect_uri")?.ok_or(TokenError::InvalidRequest)?;
    let verifier = param(form, "code_verifier")?;
    if !allows(client, OAuthFlow::Code) {
        return Err(TokenError::UnauthorizedClient);
    }
    let now = emulator.now();
    let grant = emulator
        .store
        .take_code(code)
        .ok_or(TokenError::InvalidGrant)?;
    let valid = grant.expires_at > now
        && grant.client_id == client.client_id
        && grant.redirect_uri == redirect_uri
        && pkce_ok(grant.code_challenge.as_deref(), verifier);
    if !valid {
        return Err(TokenError::InvalidGrant);
    }
    // A user disabled (or otherwise made inactive) since signing in gets no tokens.
    let user = emulator
        .users
        .get(&grant.username)
        .filter(|u| u.active())
        .ok_or(TokenError::InvalidGrant)?;
    let origin_jti = uuid::Uuid::new_v4().to_string();
    let event_id = uuid::Uuid::new_v4().to_string();
    let sign_in = SignIn {
        client_id: &client.client_id,
        scopes: &grant.scopes,
        auth_time: grant.auth_time,
        origin_jti: &origin_jti,
        event_id: &event_id,
    };
    let tokens = user_tokens(
        emulator,
        client,
        &user,
        &sign_in,
        grant.nonce.as_deref(),
        now,
    )?;
    let refresh_token = new_refresh_token();
    let expires_at = now + lifetimes(emulator, client).refresh;
    emulator
        .store
        .start_family(&origin_jti, &user.username, expires_at);
    emulator.store.put_refresh(
        &refresh_token,
        RefreshRecord::new(
            &client.client_id,
            &user.username,
            &grant.scopes,
            grant.auth_time,
            &origin_jti,
            &event_id,
            expires_at,
        ),
        now,
    );
    Ok(TokenResponse {
        id_token: tokens.id_token,
        access_token: tokens.access_token,
        refresh_token: Some(refresh_token),
        expires_in: tokens.expires_in,
        token_type: "Bearer",
    })
}

/// `grant_type=refresh_token`: new ID and access tokens with the original `auth_time`
/// and `origin_jti`. A new refresh token only with rotation enabled; it inherits the
/// remaining lifetime and the old one stops after the grace period (§1.3).
pub fn refresh_token(
    emulator: &Emulator,
    client: &ClientConfig,
    form: &Params,
) -> Result<TokenResponse, TokenError> {
    let token = param(form, "refresh_token")?.ok_or(TokenError::InvalidRequest)?;
    let now = emulator.now();
    let record = emulator
        .store
        .refresh(token, client.refresh_token_grace_period.get(), now)
        .map_err(|_| TokenError::InvalidGrant)?;
    if record.client_id != client.client_id {
        return Err(TokenError::InvalidGrant);
    }
    // Refreshing carries the user's current groups and attributes; a disabled user's
    // refresh fails (Cognito answers `invalid_grant`, "User is disabled.").
    let user = emulator
        .users
        .get(&record.username)
        .filter(|u| u.active())
        .ok_or(TokenError::InvalidGrant)?;
    let sign_in = SignIn {
        client_id: &client.client_id,
        scopes: &record.scopes,
        auth_time: record.auth_time,
        origin_jti: &record.origin_jti,
        event_id: &record.event_id,
    };
    let tokens = user_tokens(emulator, client, &user, &sign_in, None, now)?;
    let rotated = if client.refresh_token_rotation {
        let next = new_refresh_token();
        emulator.store.put_refresh(&next, record.successor(), now);
        emulator.store.retire_refresh(token, now);
        Some(next)
    } else {
        None
    };
    Ok(TokenResponse {
        id_token: tokens.id_token,
        access_token: tokens.access_token,
        refresh_token: rotated,
        expires_in: tokens.expires_in,
        token_type: "Bearer",
    })
}

/// `grant_type=client_credentials`: confidential clients with the flow enabled, custom
/// scopes only; an access token whose `sub` is the client id.
pub fn client_credentials(
    emulator: &Emulator,
    client: &ClientConfig,
    form: &Params,
) -> Result<TokenResponse, TokenError> {
    if client.client_secret.is_none() || !allows(client, OAuthFlow::ClientCredentials) {
        return Err(TokenError::UnauthorizedClient);
    }
    let requested = form.one("scope").map_err(|_| TokenError::InvalidRequest)?;
    let granted = scopes::grant_for_client_credentials(requested, &client.allowed_scopes)
        .map_err(|_| TokenError::InvalidScope)?;
    let (access_token, expires_in) = client_token(emulator, client, &granted, emulator.now())?;
    Ok(TokenResponse {
        id_token: None,
        access_token,
        refresh_token: None,
        expires_in,
        token_type: "Bearer",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_follows_rfc7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
            challenge
        ));
        assert!(pkce_ok(Some(challenge), Some(verifier)));
        assert!(!pkce_ok(Some(challenge), None));
        assert!(!pkce_ok(None, Some(verifier)));
        assert!(pkce_ok(None, None));
    }
}
