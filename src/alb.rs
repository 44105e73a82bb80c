//! AWS ALB-compatible identity headers (SPEC §6; cognito-protocol §3.3–3.4):
//! `x-amzn-oidc-identity` (sub), `x-amzn-oidc-accesstoken`, and `x-amzn-oidc-data`, an
//! ES256 JWT formatted the way the ALB formats it — `kid`, `signer`, `iss`, `client`,
//! `exp` in the header, the user's claims in the payload, base64url segments WITH `=`
//! padding — so apps written against an ALB with Cognito run unchanged. The public key
//! is served as PEM at a path keyed by `kid`, as the ALB's key endpoint does.

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use base64::Engine;
use http::HeaderValue;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::PrivateKeyDer;

use crate::config::AlbConfig;
use crate::identity::Identity;

/// How long a signed data header is valid; the ALB uses a short expiry too.
const DATA_TTL_SECS: u64 = 120;

#[derive(Debug, thiserror::Error)]
pub enum AlbError {
    #[error("headers.alb.key_file: cannot read a PKCS#8 PEM private key from `{0}`: {1}")]
    KeyFile(String, String),
    #[error("headers.alb.key_file: `{0}` is not a P-256 (prime256v1) key")]
    NotP256(String),
    #[error("cannot generate the ALB signing key")]
    Generate,
}

pub struct AlbSigner {
    key: EcdsaKeyPair,
    kid: String,
    public_pem: String,
    signer: String,
    issuer: String,
    client: String,
    rng: SystemRandom,
    /// Signed headers by identity, reused until shortly before they expire: signing is
    /// the expensive part and the hot path should not pay it on every request. Kept as
    /// header values, so a hit is not copied and validated again.
    cache: moka::future::Cache<String, Arc<(u64, HeaderValue)>>,
}

impl std::fmt::Debug for AlbSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlbSigner").field("kid", &self.kid).finish()
    }
}

impl AlbSigner {
    pub fn new(config: &AlbConfig, issuer: &str, client_id: &str) -> Result<Self, AlbError> {
        let key = match &config.key_file {
            Some(path) => {
                let shown = path.display().to_string();
                let der = PrivateKeyDer::from_pem_file(path)
                    .map_err(|e| AlbError::KeyFile(shown.clone(), e.to_string()))?;
                let PrivateKeyDer::Pkcs8(pkcs8) = der else {
                    return Err(AlbError::KeyFile(
                        shown,
                        "not PKCS#8 (BEGIN PRIVATE KEY)".into(),
                    ));
                };
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.secret_pkcs8_der())
                    .map_err(|_| AlbError::NotP256(shown))?
            }
            None => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| AlbError::Generate)?,
        };
        let spki = key.public_key().as_der().map_err(|_| AlbError::Generate)?;
        let kid = kid_for(spki.as_ref());
        Ok(Self {
            public_pem: pem("PUBLIC KEY", spki.as_ref()),
            kid,
            key,
            signer: config.signer.clone(),
            issuer: issuer.to_string(),
            client: client_id.to_string(),
            rng: SystemRandom::new(),
            cache: moka::future::Cache::builder()
                .max_capacity(50_000)
                .time_to_live(std::time::Duration::from_secs(DATA_TTL_SECS / 2))
                .build(),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The SubjectPublicKeyInfo PEM apps fetch by `kid`.
    pub fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// The `x-amzn-oidc-data` value for `identity`, valid for two minutes.
    pub async fn data_header(&self, identity: &Identity, now: u64) -> Option<HeaderValue> {
        let cache_key = format!(
            "{}\u{0}{}\u{0}{}",
            identity.sub,
            identity.user,
            identity.email.as_deref().unwrap_or("")
        );
        if let Some(hit) = self.cache.get(&cache_key).await {
            if hit.0 > now + DATA_TTL_SECS / 4 {
                return Some(hit.1.clone());
            }
        }
        let exp = now + DATA_TTL_SECS;
        let token = HeaderValue::from_str(&self.sign(identity, exp)?).ok()?;
        self.cache
            .insert(cache_key, Arc::new((exp, token.clone())))
            .await;
        Some(token)
    }

    fn sign(&self, identity: &Identity, exp: u64) -> Option<String> {
        let header = serde_json::json!({
            "typ": "JWT",
            "kid": self.kid,
            "alg": "ES256",
            "iss": self.issuer,
            "client": self.client,
            "signer": self.signer,
            "exp": exp,
        });
        // The payload is the userInfo answer the ALB would have fetched (§3.3).
        let mut payload = serde_json::json!({
            "sub": identity.sub,
            "username": identity.user,
            "exp": exp,
            "iss": self.issuer,
        });
        if let Some(email) = &identity.email {
            payload["email"] = serde_json::Value::String(email.clone());
        }
        // The ALB pads its base64url segments (AWS documents this quirk); the signature
        // covers the padded text, exactly as sent.
        let input = format!(
            "{}.{}",
            URL_SAFE.encode(header.to_string()),
            URL_SAFE.encode(payload.to_string())
        );
        let signature = self.key.sign(&self.rng, input.as_bytes()).ok()?;
        Some(format!("{input}.{}", URL_SAFE.encode(signature.as_ref())))
    }
}

/// A UUID-shaped `kid` derived from the public key, so a configured key keeps its `kid`
/// across restarts and replicas (apps verify that `kid` is a UUID before fetching).
fn kid_for(spki: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki);
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest.as_ref()[..16]);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(b).to_string()
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_FIXED};

    fn alice() -> Identity {
        Identity {
            sub: "5c3e0b7a".into(),
            user: "alice".into(),
            email: Some("alice@example.com".into()),
            groups: vec![],
            expires_at: 0,
        }
    }

    #[tokio::test]
    async fn data_header_is_a_padded_es256_jwt_in_the_alb_format() {
        let signer = AlbSigner::new(&AlbConfig::default(), "https://issuer", "client-1").unwrap();
        let token = signer.data_header(&alice(), 1_000).await.unwrap();
        let parts: Vec<&str> = token.to_str().unwrap().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], signer.kid());
        assert_eq!(header["client"], "client-1");
        assert_eq!(header["iss"], "https://issuer");
        assert_eq!(header["exp"], 1_120);
        assert!(uuid::Uuid::parse_str(signer.kid()).is_ok());
        let payload: serde_json::Value =
            serde_json::from_slice(&URL_SAFE.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(payload["sub"], "5c3e0b7a");
        assert_eq!(payload["email"], "alice@example.com");
        let public = signer.key.public_key().as_ref().to_vec();
        let sig = URL_SAFE.decode(parts[2]).unwrap();
        let signed = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &public)
            .verify(signed.as_bytes(), &sig)
            .expect("signature over the exact padded bytes");
        assert!(signer
            .public_key_pem()
            .starts_with("-----BEGIN PUBLIC KEY-----\n"));
    }

    #[tokio::test]
    async fn signed_headers_are_reused_until_near_expiry() {
        let signer = AlbSigner::new(&AlbConfig::default(), "i", "c").unwrap();
        let a = signer.data_header(&alice(), 1_000).await.unwrap();
        assert_eq!(signer.data_header(&alice(), 1_010).await.unwrap(), a);
        assert_ne!(signer.data_header(&alice(), 1_100).await.unwrap(), a);
    }
}
