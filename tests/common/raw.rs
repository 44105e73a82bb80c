//! Raw sockets for tests that need bytes no HTTP library sends or serves: smuggling and
//! malformed request heads, an upstream that records exactly what reached it, an
//! upstream that breaks off mid-body, and a "black hole" that accepts connections and
//! never answers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;

/// What came back on one connection.
pub struct Exchange {
    pub bytes: Vec<u8>,
    /// The server closed the connection (EOF or reset) rather than going quiet.
    pub closed: bool,
}

impl Exchange {
    /// Every status code in the byte stream, one per response on the connection (a
    /// status line may directly follow the previous body, so it is searched anywhere;
    /// the bodies in these tests never contain one).
    pub fn statuses(&self) -> Vec<u16> {
        let text = String::from_utf8_lossy(&self.bytes);
        text.match_indices("HTTP/1.")
            .filter_map(|(at, _)| text.get(at + 9..at + 12)?.parse().ok())
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The header block of the first response, lower-cased.
    pub fn head(&self) -> String {
        let text = self.text();
        text.split("\r\n\r\n")
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    }
}

/// Sends `request` on a fresh connection and reads until the server closes it or stays
/// silent for `idle`.
pub fn exchange(port: u16, request: &[u8], idle: Duration) -> Exchange {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the sidecar");
    stream.set_read_timeout(Some(idle)).expect("read timeout");
    // The server may answer and close before reading everything: not an error here.
    let _ = stream.write_all(request);
    let mut bytes = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let started = Instant::now();
    let closed = loop {
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                break false
            }
            Err(_) => break true,
        }
        if started.elapsed() > Duration::from_secs(20) {
            break false;
        }
    };
    Exchange { bytes, closed }
}

/// One request as the upstream received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub uri: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// An upstream that records every request (head and whole body) and answers 200.
pub struct Recorder {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<Recorded>>>,
    _tasks: JoinSet<()>,
}

impl Recorder {
    pub async fn start() -> Recorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log: Arc<Mutex<Vec<Recorded>>> = Arc::default();
        let sink = log.clone();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let sink = sink.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                        let sink = sink.clone();
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|c| c.to_bytes().to_vec())
                                .unwrap_or_else(|_| b"<body error>".to_vec());
                            sink.lock().unwrap().push(Recorded {
                                method: parts.method.to_string(),
                                uri: parts.uri.to_string(),
                                headers: parts
                                    .headers
                                    .iter()
                                    .map(|(k, v)| {
                                        (
                                            k.to_string(),
                                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                        )
                                    })
                                    .collect(),
                                body,
                            });
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                Bytes::from_static(b"recorded"),
                            )))
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Recorder {
            addr,
            log,
            _tasks: tasks,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.log.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
    }
}

/// Accepts connections and never answers; counts what it accepted and how many of those
/// the peer has closed since. Dropping it closes the listener and every held socket.
pub struct BlackHole {
    pub port: u16,
    accepted: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
    _accept: JoinSet<()>,
    _held: Arc<Mutex<JoinSet<()>>>,
}

impl BlackHole {
    pub async fn start() -> BlackHole {
        Self::start_on(0).await
    }

    /// On a chosen port (to stand in for a server that was there).
    pub async fn start_on(port: u16) -> BlackHole {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the black hole");
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicUsize::new(0));
        let held: Arc<Mutex<JoinSet<()>>> = Arc::default();
        let (a, c, conns) = (accepted.clone(), closed.clone(), held.clone());
        let mut accept = JoinSet::new();
        accept.spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                a.fetch_add(1, Ordering::SeqCst);
                let c = c.clone();
                conns.lock().unwrap().spawn(async move {
                    let mut buf = [0u8; 4096];
                    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
                    c.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        BlackHole {
            port,
            accepted,
            closed,
            _accept: accept,
            _held: held,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Connections accepted and not yet closed by the peer.
    pub fn open(&self) -> usize {
        self.accepted() - self.closed.load(Ordering::SeqCst)
    }
}

/// An upstream that answers every request with a response head promising `promised`
/// bytes (or chunked when `None`), sends `sent` bytes of body, then drops the connection
/// (a crash or reset mid-body). Counts the connections it has seen closed.
pub struct BreakingUpstream {
    pub addr: SocketAddr,
    pub served: Arc<AtomicUsize>,
    _tasks: JoinSet<()>,
}

impl BreakingUpstream {
    pub async fn start(promised: Option<usize>, sent: usize) -> BreakingUpstream {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let served = Arc::new(AtomicUsize::new(0));
        let count = served.clone();
        let mut tasks = JoinSet::new();
        tasks.spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    continue;
                };
                let count = count.clone();
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf).await {
                            Ok(n) if n > 0 => head.extend_from_slice(&buf[..n]),
                            _ => return,
                        }
                    }
                    let framing = match promised {
                        Some(n) => format!("content-length: {n}\r\n"),
                        None => "transfer-encoding: chunked\r\n".to_string(),
                    };
                    let mut out =
                        format!("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n{framing}\r\n")
                            .into_bytes();
                    let body = vec![b'x'; sent];
                    match promised {
                        Some(_) => out.extend_from_slice(&body),
                        None => {
                            out.extend_from_slice(format!("{sent:x}\r\n").as_bytes());
                            out.extend_from_slice(&body);
                            out.extend_from_slice(b"\r\n");
                        }
                    }
                    let _ = stream.write_all(&out).await;
                    let _ = stream.flush().await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    count.fetch_add(1, Ordering::SeqCst);
                    // Dropped here without the rest of the body or the last chunk.
                });
            }
        });
        BreakingUpstream {
            addr,
            served,
            _tasks: tasks,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Open file descriptors of a process (Linux `/proc`), to show nothing leaks.
pub fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// For a scripted upstream: reads from `stream` until `buf` holds a whole request head
/// (the tests send bodiless requests), removes it from `buf` and returns it as text;
/// `None` when the connection ends first.
pub async fn next_request_head(
    stream: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
) -> Option<String> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..at + 4]).into_owned();
            buf.drain(..at + 4);
            return Some(head);
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
        }
    }
}
