//! A fault-injecting gate in front of the emulator: "Cognito" for fault tests. The
//! emulator's `base_url` (and so the token issuer) is the gate's address and the sidecar
//! talks only to the gate, so a test can take the IdP down, make it hang, or make one
//! endpoint fail, and bring it back, without restarting anything.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::AsyncReadExt;
use tokio::task::JoinSet;

/// How the whole IdP behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward to the emulator.
    Pass,
    /// Not listening: connections are refused.
    Down,
    /// Accepts connections, reads, never answers.
    Hang,
}

/// A fault for requests whose path contains a given string (while in [`Mode::Pass`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathFault {
    Status(u16),
    Hang,
}

#[derive(Default)]
struct Shared {
    path_faults: Mutex<Vec<(String, PathFault)>>,
    hits: Mutex<Vec<String>>,
    hung_accepted: AtomicUsize,
    hung_closed: AtomicUsize,
}

pub struct Gate {
    pub port: u16,
    target: String,
    mode: Mode,
    shared: Arc<Shared>,
    accept: Option<JoinSet<()>>,
    conns: Arc<Mutex<JoinSet<()>>>,
}

impl Gate {
    /// A gate on `port` forwarding to `target` (the emulator's own address).
    pub async fn start(port: u16, target: &str) -> Gate {
        let mut gate = Gate {
            port,
            target: target.trim_end_matches('/').to_string(),
            mode: Mode::Down,
            shared: Arc::default(),
            accept: None,
            conns: Arc::default(),
        };
        gate.set_mode(Mode::Pass).await;
        gate
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Switches the IdP's behaviour. Every open connection is cut, so pooled keep-alive
    /// connections cannot carry on in the old mode.
    pub async fn set_mode(&mut self, mode: Mode) {
        self.conns.lock().unwrap().abort_all();
        self.mode = mode;
        match mode {
            Mode::Down => {
                if let Some(mut accept) = self.accept.take() {
                    accept.abort_all();
                    while accept.join_next().await.is_some() {}
                }
            }
            Mode::Pass | Mode::Hang => {
                if let Some(mut accept) = self.accept.take() {
                    accept.abort_all();
                    while accept.join_next().await.is_some() {}
                }
                self.accept = Some(self.listen(mode).await);
            }
        }
    }

    async fn listen(&self, mode: Mode) -> JoinSet<()> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("re-bind the gate's port");
        let (shared, conns, target) =
            (self.shared.clone(), self.conns.clone(), self.target.clone());
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        let mut accept = JoinSet::new();
        accept.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (shared, target, http) = (shared.clone(), target.clone(), http.clone());
                conns.lock().unwrap().spawn(async move {
                    match mode {
                        Mode::Hang => {
                            shared.hung_accepted.fetch_add(1, Ordering::SeqCst);
                            let mut stream = stream;
                            let mut buf = [0u8; 4096];
                            while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                            shared.hung_closed.fetch_add(1, Ordering::SeqCst);
                        }
                        _ => serve(stream, shared, target, http).await,
                    }
                });
            }
        });
        accept
    }

    /// Fails requests whose path contains `path` (until [`clear_faults`](Self::clear_faults)).
    pub fn fail_path(&self, path: &str, fault: PathFault) {
        self.shared
            .path_faults
            .lock()
            .unwrap()
            .push((path.to_string(), fault));
    }

    pub fn clear_faults(&self) {
        self.shared.path_faults.lock().unwrap().clear();
    }

    /// Requests that reached the forwarder (in [`Mode::Pass`]) with `path` in their path.
    pub fn hits(&self, path: &str) -> usize {
        self.shared
            .hits
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.contains(path))
            .count()
    }

    /// Connections accepted in [`Mode::Hang`], and how many are still open.
    pub fn hung(&self) -> (usize, usize) {
        let accepted = self.shared.hung_accepted.load(Ordering::SeqCst);
        (
            accepted,
            accepted - self.shared.hung_closed.load(Ordering::SeqCst),
        )
    }
}

async fn serve(
    stream: tokio::net::TcpStream,
    shared: Arc<Shared>,
    target: String,
    http: reqwest::Client,
) {
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let (shared, target, http) = (shared.clone(), target.clone(), http.clone());
        async move { Ok::<_, std::convert::Infallible>(forward(req, &shared, &target, &http).await) }
    });
    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(stream), svc)
        .await;
}

async fn forward(
    req: hyper::Request<Incoming>,
    shared: &Shared,
    target: &str,
    http: &reqwest::Client,
) -> hyper::Response<Full<Bytes>> {
    let path = req.uri().path().to_string();
    shared.hits.lock().unwrap().push(path.clone());
    let fault = shared
        .path_faults
        .lock()
        .unwrap()
        .iter()
        .find(|(p, _)| path.contains(p.as_str()))
        .map(|(_, f)| *f);
    match fault {
        Some(PathFault::Hang) => std::future::pending::<()>().await,
        Some(PathFault::Status(code)) => {
            // A 4xx carries an OAuth error (the IdP decided); a 5xx body is ignored.
            let mut resp = hyper::Response::new(Full::new(Bytes::from_static(
                b"{\"error\":\"invalid_grant\"}",
            )));
            *resp.status_mut() = hyper::StatusCode::from_u16(code).unwrap();
            return resp;
        }
        None => {}
    }
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let url = format!(
        "{target}{}",
        parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
    );
    let mut out = http.request(parts.method.clone(), &url).body(body);
    for (name, value) in &parts.headers {
        if !matches!(name.as_str(), "host" | "content-length" | "connection") {
            out = out.header(name, value);
        }
    }
    let Ok(resp) = out.send().await else {
        let mut resp = hyper::Response::new(Full::new(Bytes::new()));
        *resp.status_mut() = hyper::StatusCode::BAD_GATEWAY;
        return resp;
    };
    let mut builder = hyper::Response::builder().status(resp.status());
    for (name, value) in resp.headers() {
        if !matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            builder = builder.header(name, value);
        }
    }
    let body = resp.bytes().await.unwrap_or_default();
    builder.body(Full::new(body)).unwrap()
}

/// The address a gate will listen on, reserved before the emulator is configured.
pub fn reserve() -> u16 {
    super::free_port()
}
