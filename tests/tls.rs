//! TLS on the listener (HTTP/1.1 and HTTP/2 via ALPN, certificate hot reload) and
//! `https://` upstreams verified against a configured private CA.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::upstream;
use common::{free_port, path_str, proxy_config, write_temp, Sidecar};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

fn self_signed() -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    (ck.cert.pem(), ck.signing_key.serialize_pem())
}

fn https_client(port: u16, trusted_pem: &str, http1_only: bool) -> reqwest::Client {
    let cert = reqwest::Certificate::from_pem(trusted_pem.as_bytes()).unwrap();
    let mut builder = reqwest::Client::builder()
        .tls_certs_only([cert])
        .resolve("localhost", SocketAddr::from(([127, 0, 0, 1], port)))
        .timeout(Duration::from_secs(10));
    if http1_only {
        builder = builder.http1_only();
    }
    builder.build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_listener_speaks_h1_and_h2_and_reloads_certificates() {
    let up = upstream::start().await;
    let (cert1, key1) = self_signed();
    let (dir, cert_path) = write_temp("tls.crt", &cert1);
    let key_path = dir.path().join("tls.key");
    std::fs::write(&key_path, &key1).unwrap();
    let port = free_port();
    let extra = format!(
        "tls:\n  cert_file: {}\n  key_file: {}\n  reload_interval: 1s\n",
        path_str(&cert_path),
        path_str(&key_path)
    );
    let _sc = Sidecar::start(
        &proxy_config(port, &up.url(), "http://127.0.0.1:9", &extra),
        port,
    );
    let url = format!("https://localhost:{port}/echo");

    let h2 = https_client(port, &cert1, false)
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(h2.status(), 200);
    assert_eq!(h2.version(), reqwest::Version::HTTP_2);
    let body: serde_json::Value = h2.json().await.unwrap();
    let headers = upstream::echoed_headers(&body);
    assert_eq!(
        upstream::header(&headers, "x-forwarded-proto"),
        Some("https")
    );

    let h1 = https_client(port, &cert1, true)
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(h1.status(), 200);
    assert_eq!(h1.version(), reqwest::Version::HTTP_11);

    // Replace the certificate on disk: new connections get it without a restart.
    let (cert2, key2) = self_signed();
    std::fs::write(&key_path, &key2).unwrap();
    std::fs::write(&cert_path, &cert2).unwrap();
    let started = Instant::now();
    loop {
        let attempt = https_client(port, &cert2, true).get(&url).send().await;
        if attempt.is_ok_and(|r| r.status() == 200) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "new certificate never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(https_client(port, &cert1, true)
        .get(&url)
        .send()
        .await
        .is_err());

    // A broken replacement is rejected and the last good certificate stays in use.
    std::fs::write(&cert_path, "not a certificate").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let still = https_client(port, &cert2, true)
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200);
}

struct PrivateCa {
    ca_pem: String,
    acceptor: tokio_rustls::TlsAcceptor,
}

fn private_ca() -> PrivateCa {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let key = rustls_pki_types::PrivateKeyDer::try_from(leaf_key.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
    PrivateCa {
        ca_pem: ca.pem(),
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_upstream_needs_the_configured_private_ca() {
    let ca = private_ca();
    let up = upstream::start_tls(ca.acceptor.clone()).await;
    let upstream_url = format!("https://localhost:{}", up.addr.port());
    let (_dir, ca_file) = write_temp("ca.pem", &ca.ca_pem);

    let trusted_port = free_port();
    let extra = format!("proxy:\n  ca_file: {}\n", path_str(&ca_file));
    let trusted = Sidecar::start(
        &proxy_config(trusted_port, &upstream_url, "http://127.0.0.1:9", &extra),
        trusted_port,
    );
    let ok = common::client()
        .get(trusted.url("/echo"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let plain_port = free_port();
    let untrusted = Sidecar::start(
        &proxy_config(plain_port, &upstream_url, "http://127.0.0.1:9", ""),
        plain_port,
    );
    let refused = common::client()
        .get(untrusted.url("/echo"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 502);
}
