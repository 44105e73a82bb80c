//! Why a token was refused. Every variant except [`TokenError::KeysUnavailable`] is the
//! caller's fault (the request is unauthenticated); none of them carries token text.

/// A JWT that does not pass verification (SPEC §7: anything else → unauthenticated).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed: {0}; send the Cognito JWT exactly as issued")]
    Malformed(&'static str),
    #[error("the token's alg is not RS256; only RS256 tokens from the user pool are accepted")]
    UnsupportedAlgorithm,
    #[error(
        "the token's kid is not in the user pool's JWKS; use a token issued by the configured pool"
    )]
    UnknownKey,
    #[error("the user pool's signing keys have not been loaded yet; retry once Cognito's JWKS is reachable")]
    KeysUnavailable,
    #[error(
        "the token's signature does not verify; it was altered or not issued by this user pool"
    )]
    BadSignature,
    #[error("the token has expired; refresh it or sign in again")]
    Expired,
    #[error("the token is not valid yet (nbf); check the clocks of the issuer and this host")]
    NotYetValid,
    #[error(
        "the token's iss is not the configured issuer; use a token from the configured user pool"
    )]
    WrongIssuer,
    #[error("the ID token's aud is not this app client; sign in through this app")]
    WrongAudience,
    #[error(
        "the access token's client_id is not accepted; add the app client to bearer.client_ids"
    )]
    WrongClient,
    #[error("this token_use is not accepted here; check bearer.token_use")]
    WrongTokenUse,
    #[error("the ID token's nonce does not match this sign-in attempt; start the sign-in again")]
    NonceMismatch,
    #[error("the token has no `{0}` claim, which is required")]
    MissingClaim(&'static str),
}

impl TokenError {
    /// True when the IdP, not the caller, is why verification could not happen
    /// (the caller may answer 503 instead of 401).
    pub fn is_idp_unavailable(&self) -> bool {
        matches!(self, TokenError::KeysUnavailable)
    }
}
