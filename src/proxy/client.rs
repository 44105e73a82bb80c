//! How upstream connections are made: TCP (no Nagle, connect timeout) with TLS for
//! `https://` upstreams, verified against the public roots plus `proxy.ca_file`. The
//! keep-alive pool that reuses them is [`super::pool`].

use std::path::Path;
use std::sync::Arc;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

use crate::config::ProxyConfig;

pub type Connector = HttpsConnector<HttpConnector>;

#[derive(Debug, thiserror::Error)]
pub enum ClientBuildError {
    #[error("proxy.ca_file: cannot read `{path}`: {reason}")]
    CaFile { path: String, reason: String },
    #[error("proxy.ca_file: `{path}` contains no PEM certificate")]
    CaEmpty { path: String },
    #[error("cannot build the upstream TLS configuration: {0}")]
    Tls(String),
}

pub fn connector(config: &ProxyConfig) -> Result<Connector, ClientBuildError> {
    let tls = tls_config(config.ca_file.as_deref())?;
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(config.connect_timeout.get()));
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

/// Trust: the webpki roots, the system store, and the optional extra CA file.
fn tls_config(ca_file: Option<&Path>) -> Result<rustls::ClientConfig, ClientBuildError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    for cert in rustls_native_certs::load_native_certs().certs {
        // A malformed system certificate is skipped, as every TLS client does.
        let _ = roots.add(cert);
    }
    if let Some(path) = ca_file {
        let shown = path.display().to_string();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| ClientBuildError::CaFile {
                path: shown.clone(),
                reason: e.to_string(),
            })?
            .collect::<Result<_, _>>()
            .map_err(|e| ClientBuildError::CaFile {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        if certs.is_empty() {
            return Err(ClientBuildError::CaEmpty { path: shown });
        }
        for cert in certs {
            roots.add(cert).map_err(|e| ClientBuildError::CaFile {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientBuildError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
