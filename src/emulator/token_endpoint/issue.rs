//! Minting signed tokens for a grant: lifetimes (config, or the `token-lifetimes` hook's
//! override), the user's current groups and attributes (from the user directory, which
//! the admin hooks change), and the ID/access token pair of one authentication event.

use std::time::Duration;

use crate::emulator::config::ClientConfig;
use crate::emulator::keys::KeyError;
use crate::emulator::tokens::{self, SignIn, Stamp, Subject};
use crate::emulator::users::User;
use crate::emulator::Emulator;

/// The lifetimes that apply to a client's next tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub id: Duration,
    pub access: Duration,
    pub refresh: Duration,
}

pub fn lifetimes(emulator: &Emulator, client: &ClientConfig) -> Lifetimes {
    let o = emulator.store.lifetimes(&client.client_id);
    Lifetimes {
        id: o.id.unwrap_or(client.id_token_validity.get()),
        access: o.access.unwrap_or(client.access_token_validity.get()),
        refresh: o.refresh.unwrap_or(client.refresh_token_validity.get()),
    }
}

/// A signed access token, plus an ID token when `openid` was granted (§1.3: "id_token
/// is present only if openid was granted").
pub struct UserTokens {
    pub id_token: Option<String>,
    pub access_token: String,
    pub expires_in: u64,
}

pub fn user_tokens(
    emulator: &Emulator,
    client: &ClientConfig,
    user: &User,
    sign_in: &SignIn,
    nonce: Option<&str>,
    now: Duration,
) -> Result<UserTokens, KeyError> {
    let subject = Subject {
        username: &user.username,
        sub: &user.sub,
        groups: &user.groups,
        attributes: &user.attributes,
    };
    let life = lifetimes(emulator, client);
    let iat = now.as_secs();
    let keys = emulator.keys.load();
    let issuer = &emulator.pool.issuer;

    let access_jti = uuid::Uuid::new_v4().to_string();
    let access = tokens::access_token(
        issuer,
        &subject,
        sign_in,
        &Stamp {
            iat,
            exp: iat + life.access.as_secs(),
            jti: &access_jti,
        },
    );
    let access_token = keys.current.access.sign(&access.to_json())?;

    let id_token = if sign_in.scopes.iter().any(|s| s == "openid") {
        let id_jti = uuid::Uuid::new_v4().to_string();
        let claims = tokens::id_token(
            issuer,
            &subject,
            sign_in,
            &Stamp {
                iat,
                exp: iat + life.id.as_secs(),
                jti: &id_jti,
            },
            nonce,
            &tokens::at_hash(&access_token),
        );
        Some(keys.current.id.sign(&claims.to_json())?)
    } else {
        None
    };
    Ok(UserTokens {
        id_token,
        access_token,
        expires_in: life.access.as_secs(),
    })
}

/// A client-credentials access token (no user, no ID or refresh token).
pub fn client_token(
    emulator: &Emulator,
    client: &ClientConfig,
    scopes: &[String],
    now: Duration,
) -> Result<(String, u64), KeyError> {
    let life = lifetimes(emulator, client);
    let iat = now.as_secs();
    let jti = uuid::Uuid::new_v4().to_string();
    let claims = tokens::client_credentials_token(
        &emulator.pool.issuer,
        &client.client_id,
        scopes,
        &Stamp {
            iat,
            exp: iat + life.access.as_secs(),
            jti: &jti,
        },
    );
    let token = emulator
        .keys
        .load()
        .current
        .access
        .sign(&claims.to_json())?;
    Ok((token, life.access.as_secs()))
}
