//! Verification of Cognito JWTs (SPEC §7): the ID-token preset used at sign-in, the
//! access-token preset, and the Bearer entry point for API clients with its cache of
//! verified results.
//!
//! Order of work, cheapest and most suspicious first (RFC 8725 §3.1, cognito-protocol
//! §2.6): three base64url parts → `alg` exactly RS256 → `kid` in the pool's JWKS →
//! RS256 signature → claim checks ([`checks`]). The algorithm never comes from the token.

/// The claim checks; public so the fuzz targets and property tests can drive them
/// with arbitrary claims (`fuzz/`, [`crate::invariants`]).
pub mod checks;
mod claims;
/// The compact-serialization parsing before any key is chosen; public so the fuzz
/// targets and property tests can feed it arbitrary tokens.
pub mod compact;
mod error;
#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use moka::sync::Cache;
use serde::Deserialize;

pub use claims::{AccessClaims, IdClaims};
pub use compact::MAX_TOKEN_BYTES;
pub use error::TokenError;

use crate::cache_key::TailHash;
use crate::config::{BearerConfig, CognitoConfig, TokenUse};
use crate::front_cache::FrontCache;
use crate::headers::IdentityHeaders;
use crate::identity::Identity;
use crate::jwks::Jwks;
use checks::{Envelope, Expected, Policy};

/// Clock-skew allowance for `exp` and `nbf` ("a small leeway", SPEC §7).
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Bytes of verified bearer tokens remembered at once (about 30 000 Cognito tokens).
pub const BEARER_CACHE_BYTES: u64 = 48 * 1024 * 1024;
/// What one cache entry costs besides its token text and header values: the identity
/// and bookkeeping.
const CACHE_ENTRY_OVERHEAD: usize = 512;

/// What a verifier accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierSettings {
    /// Compared byte for byte with `iss`.
    pub issuer: String,
    /// The app client: an ID token's `aud` must equal it.
    pub client_id: String,
    /// App clients whose access tokens are accepted (`client_id` claim).
    pub bearer_client_ids: Vec<String>,
    /// Token uses accepted as `Authorization: Bearer`.
    pub bearer_token_uses: Vec<TokenUse>,
    pub leeway: Duration,
}

impl VerifierSettings {
    /// From the `cognito` and `bearer` config sections; `bearer.client_ids` defaults to
    /// `[cognito.client_id]`.
    pub fn from_config(cognito: &CognitoConfig, bearer: &BearerConfig) -> Self {
        let bearer_client_ids = if bearer.client_ids.is_empty() {
            vec![cognito.client_id.clone()]
        } else {
            bearer.client_ids.clone()
        };
        Self {
            issuer: cognito.issuer(),
            client_id: cognito.client_id.clone(),
            bearer_client_ids,
            bearer_token_uses: bearer.token_use.clone(),
            leeway: DEFAULT_LEEWAY,
        }
    }
}

/// Who a verified bearer token speaks for. Holds no token text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerIdentity {
    pub identity: Arc<Identity>,
    /// The identity's header values, built once per verified token (the token itself is
    /// added per request, when a header forwards it).
    pub headers: Arc<IdentityHeaders>,
    pub token_use: TokenUse,
    /// Granted scopes (access tokens); empty for ID tokens.
    pub scopes: Vec<String>,
    /// `client_id` of an access token, `aud` of an ID token.
    pub client_id: String,
}

/// A verified bearer token's result, with the signing key it was verified against.
struct CachedBearer {
    identity: Arc<BearerIdentity>,
    kid: Box<str>,
    /// The token, shared with the cache's key: a hit in the shared cache fills the
    /// thread's front slot without copying it.
    token: Arc<[u8]>,
    /// The JWKS generation in which `kid` was last seen published ([`NEVER_CHECKED`]
    /// until the first hit looks).
    published_in: AtomicU64,
}

/// No JWKS generation ever has this value.
const NEVER_CHECKED: u64 = u64::MAX;

pub struct Verifier {
    settings: VerifierSettings,
    jwks: Arc<Jwks>,
    /// Only the signature and the pinned algorithm; claims are checked by [`checks`].
    signature_only: Validation,
    /// Token text → result, each entry expiring at the token's `exp`; bounded by bytes
    /// (tokens differ in size), hashed by its signature's tail ([`TailHash`]) and the
    /// full text compared on lookup.
    bearer_cache: Cache<Arc<[u8]>, Arc<CachedBearer>, TailHash>,
    /// This thread's most recent hits, looked at first ([`FrontCache`]).
    bearer_front: FrontCache,
    signature_checks: AtomicU64,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("settings", &self.settings)
            .field("cached_bearers", &self.bearer_cache.entry_count())
            .finish()
    }
}

impl Verifier {
    pub fn new(settings: VerifierSettings, jwks: Arc<Jwks>) -> Self {
        let mut signature_only = Validation::new(Algorithm::RS256);
        signature_only.required_spec_claims.clear();
        signature_only.validate_exp = false;
        signature_only.validate_nbf = false;
        signature_only.validate_aud = false;
        signature_only.leeway = 0;
        let bearer_cache = Cache::builder()
            .max_capacity(BEARER_CACHE_BYTES)
            .weigher(|token: &Arc<[u8]>, entry: &Arc<CachedBearer>| {
                let headers = entry.identity.headers.weight();
                u32::try_from(token.len() + headers + CACHE_ENTRY_OVERHEAD).unwrap_or(u32::MAX)
            })
            .expire_after(UntilTokenExpiry)
            .build_with_hasher(TailHash::default());
        Self {
            settings,
            jwks,
            signature_only,
            bearer_cache,
            bearer_front: FrontCache::new(),
            signature_checks: AtomicU64::new(0),
        }
    }

    /// RS256 signature verifications performed so far (cache hits perform none).
    pub fn signature_checks(&self) -> u64 {
        self.signature_checks.load(Ordering::Relaxed)
    }

    /// Verifies an ID token: `token_use` `id`, `aud` equal to the app client id, and,
    /// when `expected_nonce` is given (always at the sign-in callback), a `nonce` claim
    /// equal to it.
    pub async fn verify_id_token(
        &self,
        token: &str,
        expected_nonce: Option<&str>,
    ) -> Result<IdClaims, TokenError> {
        let expected = Expected::Id {
            client_id: &self.settings.client_id,
            nonce: expected_nonce,
        };
        let payload = self.verified_payload(token, &expected).await?;
        IdClaims::deserialize(&payload).map_err(|_| TokenError::Malformed(CLAIM_TYPES))
    }

    /// Verifies an access token: `token_use` `access` and `client_id` among the
    /// accepted bearer clients.
    pub async fn verify_access_token(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let expected = Expected::Access {
            client_ids: &self.settings.bearer_client_ids,
        };
        let payload = self.verified_payload(token, &expected).await?;
        AccessClaims::deserialize(&payload).map_err(|_| TokenError::Malformed(CLAIM_TYPES))
    }

    /// The result of an earlier [`Verifier::verify_bearer`] of exactly `token` (raw
    /// bytes: a token that is not text never matches one that verified), while the token
    /// has not expired and its signing key is still published. No parsing, no crypto:
    /// this is the hot path of every API call (no hashing beyond the cache's own keyed
    /// SipHash, no base64, no JSON).
    /// `now` is Unix seconds, as the request path already read them.
    pub fn cached_bearer(&self, token: &[u8], now: u64) -> Option<Arc<BearerIdentity>> {
        if token.len() > MAX_TOKEN_BYTES {
            return None;
        }
        let hit = match self.bearer_front.get::<CachedBearer>(token) {
            // The shared cache drops an entry at the token's `exp`; the front slot
            // checks it itself.
            Some(hit) if now < hit.identity.identity.expires_at => hit,
            _ => {
                let hit = self.bearer_cache.get(token)?;
                self.bearer_front
                    .put(Arc::clone(&hit.token), Arc::clone(&hit));
                hit
            }
        };
        // A cached result stands only while its signing key is still published: a key
        // dropped from the JWKS (rotation, or revocation after a compromise) ends the
        // tokens it signed, as an uncached check would. The key set is looked at again
        // only after it changed.
        let generation = self.jwks.generation();
        if hit.published_in.load(Ordering::Relaxed) == generation {
            return Some(Arc::clone(&hit.identity));
        }
        if self.jwks.publishes(&hit.kid) {
            hit.published_in.store(generation, Ordering::Relaxed);
            return Some(Arc::clone(&hit.identity));
        }
        self.bearer_front.remove(token);
        self.bearer_cache.invalidate(token);
        None
    }

    /// Verifies an `Authorization: Bearer` token of any accepted use. The unverified
    /// `token_use` only picks the preset, which then checks everything. Results are
    /// cached by the token's exact text until its `exp` (and only while its signing key
    /// is still published); failures are not cached, so a flood of junk tokens cannot
    /// fill memory.
    pub async fn verify_bearer(&self, token: &str) -> Result<Arc<BearerIdentity>, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::Malformed("the token is too long"));
        }
        let now = jsonwebtoken::get_current_timestamp();
        if let Some(hit) = self.cached_bearer(token.as_bytes(), now) {
            return Ok(hit);
        }
        let parts = compact::split(token)?;
        let kid = compact::key_id(parts.header)?;
        let token_use = compact::unverified_token_use(parts.payload)?;
        if !self.settings.bearer_token_uses.contains(&token_use) {
            return Err(TokenError::WrongTokenUse);
        }
        let verified = match token_use {
            TokenUse::Access => {
                let claims = self.verify_access_token(token).await?;
                let identity = claims.identity();
                BearerIdentity {
                    headers: Arc::new(IdentityHeaders::new(&identity, None, None)),
                    identity: Arc::new(identity),
                    token_use,
                    scopes: claims.scopes(),
                    client_id: claims.client_id,
                }
            }
            TokenUse::Id => {
                let claims = self.verify_id_token(token, None).await?;
                let identity = claims.identity();
                BearerIdentity {
                    headers: Arc::new(IdentityHeaders::new(&identity, None, None)),
                    identity: Arc::new(identity),
                    token_use,
                    scopes: Vec::new(),
                    client_id: claims.aud,
                }
            }
        };
        let verified = Arc::new(verified);
        let key: Arc<[u8]> = token.as_bytes().into();
        let entry = Arc::new(CachedBearer {
            identity: Arc::clone(&verified),
            kid: kid.into(),
            token: Arc::clone(&key),
            published_in: AtomicU64::new(NEVER_CHECKED),
        });
        self.bearer_front.put(Arc::clone(&key), Arc::clone(&entry));
        self.bearer_cache.insert(key, entry);
        Ok(verified)
    }

    async fn verified_payload(
        &self,
        token: &str,
        expected: &Expected<'_>,
    ) -> Result<serde_json::Value, TokenError> {
        let parts = compact::split(token)?;
        let kid = compact::key_id(parts.header)?;
        let Some(key) = self.jwks.key(&kid).await else {
            return Err(if self.jwks.is_ready() {
                TokenError::UnknownKey
            } else {
                TokenError::KeysUnavailable
            });
        };
        self.signature_checks.fetch_add(1, Ordering::Relaxed);
        let payload = jsonwebtoken::decode::<serde_json::Value>(token, &key, &self.signature_only)
            .map_err(|e| signature_error(e.kind()))?
            .claims;
        if !payload.is_object() {
            return Err(TokenError::Malformed("the claims are not a JSON object"));
        }
        let envelope =
            Envelope::deserialize(&payload).map_err(|_| TokenError::Malformed(CLAIM_TYPES))?;
        let policy = Policy {
            issuer: &self.settings.issuer,
            leeway_secs: self.settings.leeway.as_secs(),
            now: jsonwebtoken::get_current_timestamp(),
        };
        checks::check(&envelope, &policy, expected)?;
        Ok(payload)
    }
}

const CLAIM_TYPES: &str = "a claim has the wrong type";

/// Maps the library's failure after our own header checks passed.
fn signature_error(kind: &ErrorKind) -> TokenError {
    match kind {
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
            TokenError::UnsupportedAlgorithm
        }
        ErrorKind::InvalidToken
        | ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_) => TokenError::Malformed("the token could not be decoded"),
        _ => TokenError::BadSignature,
    }
}

/// Bearer cache entries live exactly until the token's `exp`.
struct UntilTokenExpiry;

impl moka::Expiry<Arc<[u8]>, Arc<CachedBearer>> for UntilTokenExpiry {
    fn expire_after_create(
        &self,
        _key: &Arc<[u8]>,
        value: &Arc<CachedBearer>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(remaining_lifetime(
            value.identity.identity.expires_at,
            jsonwebtoken::get_current_timestamp(),
        ))
    }
}

/// Time from `now` until `expires_at` (Unix seconds); zero once past.
fn remaining_lifetime(expires_at: u64, now: u64) -> Duration {
    Duration::from_secs(expires_at.saturating_sub(now))
}
