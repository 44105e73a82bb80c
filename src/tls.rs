//! TLS on the listener (rustls, ALPN `h2` + `http/1.1`) with certificates that reload
//! when their files change or on SIGHUP, keeping the last good pair when a reload fails
//! (deps.md §3; rpxy's reloader does the same).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::TlsConfig;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("tls.cert_file: cannot read certificates from `{0}`: {1}")]
    Cert(String, String),
    #[error("tls.key_file: cannot read a private key from `{0}`: {1}")]
    Key(String, String),
    #[error("tls: the key in `{key}` does not match the certificate in `{cert}`: {reason}")]
    Mismatch {
        cert: String,
        key: String,
        reason: String,
    },
}

/// Serves the current certificate; swapped atomically on reload.
#[derive(Debug)]
pub struct CertStore {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: ArcSwap<CertifiedKey>,
    /// Modification times and sizes last loaded, to notice changed files.
    stamp: Mutex<Option<FileStamp>>,
}

type FileStamp = [(Option<SystemTime>, u64); 2];

impl CertStore {
    pub fn load(config: &TlsConfig) -> Result<Arc<Self>, TlsError> {
        let key = load_pair(&config.cert_file, &config.key_file)?;
        Ok(Arc::new(Self {
            stamp: Mutex::new(stamp(&config.cert_file, &config.key_file)),
            cert_file: config.cert_file.clone(),
            key_file: config.key_file.clone(),
            current: ArcSwap::from_pointee(key),
        }))
    }

    /// Re-reads the files if they changed (or always, when `force`). On failure the
    /// current certificate stays in use and the error is returned for logging.
    pub fn reload(&self, force: bool) -> Result<bool, TlsError> {
        let now = stamp(&self.cert_file, &self.key_file);
        {
            let last = self.stamp.lock().unwrap_or_else(|p| p.into_inner());
            if !force && *last == now {
                return Ok(false);
            }
        }
        let key = load_pair(&self.cert_file, &self.key_file);
        // Remember the stamp even on failure so a broken file is reported once, not
        // on every poll; a later fix changes the stamp again.
        *self.stamp.lock().unwrap_or_else(|p| p.into_inner()) = now;
        self.current.store(Arc::new(key?));
        Ok(true)
    }

    pub fn server_config(self: &Arc<Self>) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        // The default protocol versions are always valid for the aws-lc-rs provider.
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("aws-lc-rs supports the default TLS versions")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

fn stamp(cert: &Path, key: &Path) -> Option<FileStamp> {
    let one = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| (m.modified().ok(), m.len()))
            .unwrap_or((None, 0))
    };
    Some([one(cert), one(key)])
}

fn load_pair(cert_file: &Path, key_file: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_name = cert_file.display().to_string();
    let key_name = key_file.display().to_string();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| TlsError::Cert(cert_name.clone(), e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Cert(cert_name.clone(), e.to_string()))?;
    if chain.is_empty() {
        return Err(TlsError::Cert(cert_name, "no PEM certificate found".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| TlsError::Key(key_name.clone(), e.to_string()))?;
    let provider = rustls::crypto::aws_lc_rs::default_provider();
    CertifiedKey::from_der(chain, key, &provider).map_err(|e| TlsError::Mismatch {
        cert: cert_name,
        key: key_name,
        reason: e.to_string(),
    })
}
