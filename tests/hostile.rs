//! Hostile input against the real binary (issue 7 item 2): request smuggling and
//! malformed heads, header floods, an HTTP/2 CONTINUATION flood, slowloris at scale,
//! invalid bytes in every part of a request, and two open-redirect corpora through a
//! real sign-in. None may give a 5xx, a panic, or a session.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::idp::{location, sidecar_config, urlencode, Browser, Emulator};
use common::raw::{self, Exchange, Recorder};
use common::{free_port, proxy_config, upstream, Sidecar};
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const DEAD_IDP: &str = "http://127.0.0.1:9";

async fn send(port: u16, request: Vec<u8>) -> Exchange {
    tokio::task::spawn_blocking(move || raw::exchange(port, &request, Duration::from_millis(1500)))
        .await
        .unwrap()
}

fn alive(sc: &mut Sidecar) {
    assert!(
        sc.proc.child.try_wait().unwrap().is_none(),
        "the sidecar exited:\n{}",
        sc.proc.logs()
    );
    assert!(!sc.proc.logs().contains("panicked"), "{}", sc.proc.logs());
}

/// How a malformed or ambiguous request must end.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// 400 and the connection closed.
    Rejected,
    /// One 2xx for the first request, then the connection closed: what followed the
    /// ambiguous body is never read as another request (RFC 9112 §6.3 ¶3).
    ServedThenClosed,
    /// An RFC-permitted leniency (bare LF line ends, tab as whitespace, obs-text,
    /// identical duplicate Content-Length): served normally.
    Tolerated,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smuggling_and_malformed_heads_get_400_or_a_closed_connection() {
    let up = Recorder::start().await;
    let port = free_port();
    let yaml = proxy_config(port, &up.url(), DEAD_IDP, "")
        .replace("public_paths: [\"/*\"]", "public_paths: [/public/*]");
    let mut sc = Sidecar::start(&yaml, port);
    use Outcome::*;
    let smuggled = "GET /secret HTTP/1.1\r\nHost: a\r\nAccept: application/json\r\n\r\n";
    let cases: Vec<(&str, String, Outcome)> = vec![
        ("CL.TE with a request hidden in the body", format!("POST /public/a HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{smuggled}", 5 + smuggled.len()), ServedThenClosed),
        ("TE.CL", "POST /public/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n".into(), ServedThenClosed),
        ("two different Content-Lengths", "POST /public/a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc".into(), Rejected),
        ("Content-Length list", "POST /public/a HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 4\r\n\r\nabc".into(), Rejected),
        ("Content-Length +3", "POST /public/a HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc".into(), Rejected),
        ("Content-Length -1", "POST /public/a HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\nabc".into(), Rejected),
        ("Content-Length 0x3", "POST /public/a HTTP/1.1\r\nHost: a\r\nContent-Length: 0x3\r\n\r\nabc".into(), Rejected),
        ("Content-Length overflow", "POST /public/a HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\nabc".into(), Rejected),
        ("Transfer-Encoding: xchunked", "POST /public/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n".into(), Rejected),
        ("chunked not last", "POST /public/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n".into(), Rejected),
        ("two Transfer-Encoding lines", "POST /public/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n".into(), Rejected),
        ("space before the colon", "POST /public/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n".into(), Rejected),
        ("Transfer-Encoding in HTTP/1.0", "POST /public/a HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".into(), Rejected),
        ("obsolete line folding", "GET /public/a HTTP/1.1\r\nHost: a\r\nX-Foo: a\r\n b\r\n\r\n".into(), Rejected),
        ("folded Transfer-Encoding", "POST /public/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n".into(), Rejected),
        ("bare CR line end", "GET /public/a HTTP/1.1\rHost: a\r\n\r\n".into(), Rejected),
        ("bare CR inside a value", "GET /public/a HTTP/1.1\r\nHost: a\r\nX-A: b\rc\r\n\r\n".into(), Rejected),
        ("NUL inside a value", "GET /public/a HTTP/1.1\r\nHost: a\r\nX-A: b\0c\r\n\r\n".into(), Rejected),
        ("chunk size overflow", "POST /public/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff1\r\nabc\r\n0\r\n\r\n".into(), Rejected),
        ("chunk lines ended by bare LF", "POST /public/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\n0\n\n".into(), Rejected),
        ("no Host in HTTP/1.1", "GET /public/a HTTP/1.1\r\nConnection: close\r\n\r\n".into(), Rejected),
        ("two Hosts", "GET /public/a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".into(), Rejected),
        ("Host with userinfo", "GET /public/a HTTP/1.1\r\nHost: user@evil.example\r\n\r\n".into(), Rejected),
        ("absolute-form naming another host", "GET http://evil.example/public/a HTTP/1.1\r\nHost: a\r\n\r\n".into(), Rejected),
        ("space in the request target", "GET /public/a b HTTP/1.1\r\nHost: a\r\n\r\n".into(), Rejected),
        ("HTTP/1.2", "GET /public/a HTTP/1.2\r\nHost: a\r\n\r\n".into(), Rejected),
        ("HTTP/0.9 style", "GET /public/a\r\n\r\n".into(), Rejected),
        ("space in a header name", "GET /public/a HTTP/1.1\r\nHost: a\r\nX Y: z\r\n\r\n".into(), Rejected),
        ("empty header name", "GET /public/a HTTP/1.1\r\nHost: a\r\n: z\r\n\r\n".into(), Rejected),
        ("CONNECT tunnel", "CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n".into(), Rejected),
        ("OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n".into(), Rejected),
        ("bare LF line ends", "GET /public/a HTTP/1.1\nHost: a\nConnection: close\n\n".into(), Tolerated),
        ("tab before a value", "POST /public/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\nConnection: close\r\n\r\n0\r\n\r\n".into(), Tolerated),
        ("identical Content-Lengths", "POST /public/a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc".into(), Tolerated),
    ];
    let mut table = Vec::new();
    for (name, request, expected) in &cases {
        let got = send(port, request.clone().into_bytes()).await;
        let statuses = got.statuses();
        table.push(format!("{name}: {statuses:?} closed={}", got.closed));
        assert!(
            statuses.iter().all(|s| *s < 500),
            "{name}: a 5xx: {}",
            got.text()
        );
        match expected {
            Rejected => assert!(
                statuses == [400] && got.closed,
                "{name}: want one 400 and a closed connection, got {statuses:?} closed={}",
                got.closed
            ),
            ServedThenClosed => assert!(
                statuses.len() == 1 && statuses[0] == 200 && got.closed,
                "{name}: want one 200 then close, got {statuses:?} closed={}",
                got.closed
            ),
            Tolerated => assert_eq!(statuses, [200], "{name}"),
        }
    }
    // A plainly pipelined second request is read as a request by the sidecar itself and
    // authorized on its own: the protected one gets 401, never the upstream.
    let pipelined = send(
        port,
        format!(
            "GET /public/a HTTP/1.1\r\nHost: a\r\n\r\n{}",
            smuggled.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")
        )
        .into_bytes(),
    )
    .await;
    assert_eq!(pipelined.statuses(), [200, 401]);

    // h2c smuggling: an upgrade to HTTP/2 is never passed on (the upstream would hand the
    // client an HTTP/2 connection the sidecar cannot see into).
    let h2c = send(
        port,
        b"GET /public/h2c HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n".to_vec(),
    )
    .await;
    assert_eq!(h2c.statuses(), [200], "{}", h2c.text());

    let seen = up.requests();
    for req in &seen {
        assert!(
            req.uri.starts_with("/public/"),
            "the upstream got {}",
            req.uri
        );
        let te = req.header("transfer-encoding");
        assert!(
            te.is_empty() || (te == ["chunked"] && req.header("content-length").is_empty()),
            "ambiguous framing reached the upstream: {req:?}"
        );
        if req.uri == "/public/h2c" {
            assert!(req.header("upgrade").is_empty(), "{req:?}");
            assert!(req.header("http2-settings").is_empty(), "{req:?}");
            assert!(!req
                .header("connection")
                .iter()
                .any(|v| v.to_ascii_lowercase().contains("upgrade")));
        }
    }
    assert!(seen.iter().any(|r| r.uri == "/public/h2c"));
    eprintln!("smuggling outcomes:\n  {}", table.join("\n  "));
    alive(&mut sc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_floods_and_oversized_heads_are_refused() {
    let up = upstream::start().await;
    let port = free_port();
    let yaml = proxy_config(port, &up.url(), DEAD_IDP, "")
        .replace("public_paths: [\"/*\"]", "public_paths: [/public/*]");
    let mut sc = Sidecar::start(&yaml, port);
    let head = |target: &str, extra: String| {
        format!("GET {target} HTTP/1.1\r\nHost: a\r\nAccept: text/html\r\n{extra}Connection: close\r\n\r\n").into_bytes()
    };
    let many = |n: usize, line: &dyn Fn(usize) -> String| (0..n).map(line).collect::<String>();
    let cookies = |n: usize, name: &dyn Fn(usize) -> String| {
        format!(
            "Cookie: {}\r\n",
            (0..n)
                .map(|i| format!("{}=v", name(i)))
                .collect::<Vec<_>>()
                .join("; ")
        )
    };
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        (
            "150 small headers",
            head("/public/a", many(150, &|i| format!("X-H{i}: v\r\n"))),
            431,
        ),
        (
            "10,000 headers",
            head("/public/a", many(10_000, &|i| format!("X-H{i}: v\r\n"))),
            431,
        ),
        (
            "one 100 KB header",
            head("/public/a", format!("X-Big: {}\r\n", "a".repeat(100_000))),
            431,
        ),
        (
            "a 70 KB request target",
            head(&format!("/public/{}", "a".repeat(70_000)), String::new()),
            431,
        ),
        (
            "a 100 KB cookie",
            head(
                "/app",
                format!("Cookie: _cognito_sidecar={}\r\n", "A".repeat(100_000)),
            ),
            431,
        ),
        (
            "9,000 tiny cookies",
            head("/app", cookies(9_000, &|i| format!("c{i}"))),
            431,
        ),
        (
            "a 60 KB header under the 64 KB limit",
            head("/public/a", format!("X-Big: {}\r\n", "a".repeat(60_000))),
            200,
        ),
        (
            "2,000 session chunk names",
            head("/app", cookies(2_000, &|i| format!("_cognito_sidecar_{i}"))),
            302,
        ),
        (
            "2,000 sign-in cookies at the callback",
            head(
                "/oauth2/callback?code=a&state=b",
                cookies(2_000, &|i| format!("_cognito_sidecar_csrf_{i}")),
            ),
            400,
        ),
        (
            "2,000 sign-in cookies at start",
            head(
                "/oauth2/start",
                cookies(2_000, &|i| format!("_cognito_sidecar_csrf_{i}")),
            ),
            302,
        ),
        (
            "a 40 KB path of segments",
            head(&format!("/public/{}", "a/".repeat(20_000)), String::new()),
            400,
        ),
    ];
    for (name, request, want) in cases {
        let got = send(port, request).await;
        let statuses = got.statuses();
        assert_eq!(
            statuses.first().copied(),
            Some(want),
            "{name}: {}",
            got.text().chars().take(300).collect::<String>()
        );
        assert!(
            !got.head().contains("set-cookie: _cognito_sidecar=v"),
            "{name}: a session cookie was set"
        );
    }
    // HTTP/2: an oversized header list is refused (431 or a stream reset), and the
    // server keeps serving HTTP/2.
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let big = h2
        .get(sc.url("/public/a"))
        .header("x-big", "a".repeat(100_000))
        .send()
        .await;
    if let Ok(resp) = &big {
        assert_eq!(resp.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    }
    let fine = h2.get(sc.url("/public/a")).send().await.unwrap();
    assert_eq!(fine.status(), StatusCode::OK);
    alive(&mut sc);
}

/// HTTP/2 frame header (RFC 9113 §4.1).
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http2_continuation_flood_is_cut_off() {
    let up = upstream::start().await;
    let port = free_port();
    let mut sc = Sidecar::start(&proxy_config(port, &up.url(), DEAD_IDP, ""), port);
    let sent = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        hello.extend(frame(0x4, 0, 0, &[]));
        // HEADERS without END_HEADERS: :method GET, :scheme http, :path / (HPACK static
        // indexes 2, 6, 4), then CONTINUATION frames that never end the block.
        hello.extend(frame(0x1, 0x1, 1, &[0x82, 0x86, 0x84]));
        stream.write_all(&hello).unwrap();
        let mut field = vec![0x00, 0x05];
        field.extend_from_slice(b"x-pad");
        field.push(100);
        field.extend_from_slice(&[b'a'; 100]);
        let block: Vec<u8> = field
            .iter()
            .copied()
            .cycle()
            .take(field.len() * 150)
            .collect();
        let continuation = frame(0x9, 0, 1, &block);
        let started = Instant::now();
        let mut sent = 0usize;
        while sent < 64 * 1024 * 1024 && started.elapsed() < Duration::from_secs(20) {
            if stream.write_all(&continuation).is_err() {
                break;
            }
            sent += continuation.len();
        }
        // Whatever the server said last (GOAWAY or nothing), the connection must end.
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut buf = [0u8; 65536];
        let mut ended = false;
        for _ in 0..1000 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => {
                    ended = true;
                    break;
                }
                Ok(_) => {}
            }
        }
        (sent, ended)
    })
    .await
    .unwrap();
    eprintln!(
        "CONTINUATION flood: {} KiB sent before the server stopped reading",
        sent.0 / 1024
    );
    assert!(sent.1, "the connection was not closed");
    assert!(
        sent.0 < 8 * 1024 * 1024,
        "the server read {} bytes of one header block",
        sent.0
    );
    let resp = common::client().get(sc.url("/echo")).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    alive(&mut sc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_at_scale_while_a_normal_client_is_served() {
    let up = upstream::start().await;
    let port = free_port();
    let mut sc = Sidecar::start(
        &proxy_config(
            port,
            &up.url(),
            DEAD_IDP,
            "server:\n  header_read_timeout: 2s\nproxy:\n  response_timeout: 3s\n",
        ),
        port,
    );
    const TRICKLE: usize = 200;
    const SILENT: usize = 100;
    const SLOW_BODY: usize = 50;
    let started = Instant::now();
    let mut attackers = tokio::task::JoinSet::new();
    for i in 0..TRICKLE + SILENT + SLOW_BODY {
        attackers.spawn(async move {
            let opened = Instant::now();
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .unwrap();
            let (first, trickle): (Vec<u8>, bool) = if i < TRICKLE {
                (b"GET /echo HTTP/1.1\r\nHost: a\r\nX-Slow: ".to_vec(), true)
            } else if i < TRICKLE + SILENT {
                (Vec::new(), false)
            } else {
                (
                    b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n".to_vec(),
                    true,
                )
            };
            let _ = stream.write_all(&first).await;
            let mut answer = Vec::new();
            let mut buf = [0u8; 1024];
            loop {
                tokio::select! {
                    read = stream.read(&mut buf) => match read {
                        Ok(n) if n > 0 => answer.extend_from_slice(&buf[..n]),
                        _ => break,
                    },
                    () = tokio::time::sleep(Duration::from_millis(400)) => {
                        if trickle && stream.write_all(b"a").await.is_err() {
                            break;
                        }
                    }
                }
                if opened.elapsed() > Duration::from_secs(15) {
                    break;
                }
            }
            (
                i,
                opened.elapsed(),
                String::from_utf8_lossy(&answer).into_owned(),
            )
        });
    }
    // A normal client meanwhile: every request answered promptly.
    let http = common::client();
    let mut worst = Duration::ZERO;
    while started.elapsed() < Duration::from_secs(5) {
        let t = Instant::now();
        let resp = http.get(sc.url("/echo")).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        worst = worst.max(t.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        worst < Duration::from_millis(1500),
        "normal client waited {worst:?}"
    );
    let mut cut = Vec::new();
    while let Some(done) = attackers.join_next().await {
        let (i, held, answer) = done.unwrap();
        let status = answer.get(9..12).unwrap_or("");
        assert!(!status.starts_with('5'), "connection {i} got {answer}");
        if i >= TRICKLE + SILENT {
            assert_eq!(status, "408", "slow body {i}: {answer}");
        }
        cut.push(held);
    }
    let longest = cut.iter().max().copied().unwrap_or_default();
    eprintln!(
        "{} slow connections, all cut within {longest:?}; normal client's worst latency {worst:?}",
        cut.len()
    );
    assert!(
        longest < Duration::from_secs(7),
        "a slow client was held for {longest:?}"
    );
    alive(&mut sc);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_bytes_and_control_characters_never_5xx_nor_sign_in() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let mut sc = Sidecar::start(
        &sidecar_config(
            port,
            &up.url(),
            &idp,
            "access:\n  public_paths: [/public/*]\n",
        ),
        port,
    );
    common::wait_ready(port).await;
    let big = "c".repeat(60_000);
    let targets: Vec<Vec<u8>> = [
        "/app/%00",
        "/app/%0d%0aSet-Cookie:%20pwned=1",
        "/app/%ff%fe",
        "/app/%c0%af",
        "/app/%e0%80%af",
        "/app/%2e%2e/%2e%2e/etc/passwd",
        "/app/..%2f..%2f",
        "/app/%252e%252e/",
        "/public/%2e%2e/app",
        "/public/..%5capp",
        "/public/%2e%2e%2fapp",
        "/app/%7f",
        "/app/%09",
        "/%00",
        "//",
        "/app//..//",
        "/app/%",
        "/app/%zz",
        "/app;x=1",
        "/app/\\..\\",
        "/app?%00=%ff",
        "/app?x=%0d%0aLocation:%20http://evil",
        "/oauth2/start?rd=%0d%0aSet-Cookie:%20pwned=1",
        "/oauth2/start?rd=%ff%fe%00",
        "/oauth2/start?rd=/%0d%0aX-Injected:%201",
        "/oauth2/start?rd=%E2%80%AE//evil.example",
        "/oauth2/callback?code=%00&state=%ff",
        "/oauth2/callback?error=%3Cscript%3E&error_description=%ff%fe%00%0d%0a",
        "/oauth2/callback?code=a&state=%E2%80%AE",
        "/oauth2/callback?code=%zz&state=%",
        "/oauth2/callback?code&state",
        "/oauth2/callback?&&&=&=",
        "/oauth2/userinfo?%ff",
        "/oauth2/auth?%00",
        "/oauth2/sign_out?rd=//evil.example",
        "/oauth2/%2e%2e/app",
        "/OAUTH2/callback",
        "/oauth2/callback/",
        "/oauth2//callback",
    ]
    .iter()
    .map(|t| t.as_bytes().to_vec())
    .chain([
        format!("/oauth2/callback?code={big}&state=s").into_bytes(),
        format!("/oauth2/callback?state={big}&code=c").into_bytes(),
        format!("/app?{big}").into_bytes(),
        b"/app?x=\xff\xfe".to_vec(),
        b"/oauth2/start?rd=\xff\xfe".to_vec(),
        b"/app/\x80\xff".to_vec(),
        b"/app/\x7f".to_vec(),
    ])
    .collect();
    let header_cases: Vec<(&str, Vec<u8>)> = vec![
        ("/app/x", b"Cookie: _cognito_sidecar=\xff\xfe\x80".to_vec()),
        ("/app/x", b"Cookie: _cognito_sidecar=%00%0d%0a".to_vec()),
        (
            "/app/x",
            format!("Cookie: _cognito_sidecar=v1.{}", "A".repeat(50_000)).into_bytes(),
        ),
        (
            "/app/x",
            b"Cookie: _cognito_sidecar_0=\x7f; _cognito_sidecar_1=\xc0\xaf".to_vec(),
        ),
        ("/app/x", b"Cookie: =; ;;; ==; _cognito_sidecar".to_vec()),
        (
            "/app/x",
            b"Cookie: _cognito_sidecar=\"quoted\"; _cognito_sidecar=\"".to_vec(),
        ),
        (
            "/oauth2/callback?code=a&state=b",
            b"Cookie: _cognito_sidecar_csrf_b=\xff\xfe".to_vec(),
        ),
        (
            "/oauth2/userinfo",
            b"Cookie: _cognito_sidecar=\xff".to_vec(),
        ),
        ("/app/x", b"Authorization: Bearer \xff\xfe".to_vec()),
        (
            "/app/x",
            format!("Authorization: Bearer {}", "a".repeat(60_000)).into_bytes(),
        ),
        ("/app/x", b"Authorization: Bearer a.b.c".to_vec()),
        ("/app/x", b"Authorization: Bearer ..".to_vec()),
        (
            "/app/x",
            b"Authorization: Bearer eyJhbGciOiJub25lIn0.e30.".to_vec(),
        ),
        (
            "/app/x",
            b"Authorization: Bearer \xc3\xa9.\xc3\xa9.\xc3\xa9".to_vec(),
        ),
        ("/app/x", b"Authorization: Basic \xff".to_vec()),
        ("/app/x", b"Authorization: \xff".to_vec()),
        ("/public/x", b"X-Request-Id: \xff\xfe".to_vec()),
        (
            "/public/x",
            format!("X-Request-Id: {}", "a".repeat(10_000)).into_bytes(),
        ),
        ("/oauth2/auth", b"X-Forwarded-Uri: \xff\xfe".to_vec()),
        (
            "/oauth2/auth",
            b"X-Forwarded-Uri: /%00/../..//evil".to_vec(),
        ),
        (
            "/oauth2/auth",
            format!("X-Forwarded-Uri: /{}", "a".repeat(60_000)).into_bytes(),
        ),
        ("/oauth2/auth", b"X-Forwarded-Method: \xff".to_vec()),
        ("/app/x", b"Origin: \xff".to_vec()),
        ("/app/x", b"Accept: \xff\xfe".to_vec()),
        ("/app/x", b"Sec-Fetch-Mode: \xff".to_vec()),
        (
            "/app/x",
            b"X-Forwarded-For: \xff, 1.2.3.4, ::::, 999.1.1.1".to_vec(),
        ),
        (
            "/ws",
            b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: \xff".to_vec(),
        ),
    ];
    let mut requests: Vec<Vec<u8>> = Vec::new();
    for target in &targets {
        for accept in ["text/html", "application/json"] {
            let mut r = b"GET ".to_vec();
            r.extend_from_slice(target);
            r.extend_from_slice(format!(" HTTP/1.1\r\nHost: localhost:{port}\r\nAccept: {accept}\r\nConnection: close\r\n\r\n").as_bytes());
            requests.push(r);
        }
    }
    for (target, header) in &header_cases {
        let mut r = format!("GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\nAccept: text/html\r\nConnection: close\r\n").into_bytes();
        r.extend_from_slice(header);
        r.extend_from_slice(b"\r\n\r\n");
        requests.push(r);
    }
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for request in requests {
        let shown = String::from_utf8_lossy(&request)
            .chars()
            .take(120)
            .collect::<String>();
        let got = send(port, request).await;
        let status = got.statuses().first().copied().unwrap_or(0);
        *statuses.entry(status).or_default() += 1;
        assert!(
            (200..500).contains(&status),
            "{shown}: {}",
            got.text().chars().take(400).collect::<String>()
        );
        let head = got.head();
        for line in head.lines() {
            let sets_session = line
                .strip_prefix("set-cookie: _cognito_sidecar=")
                .is_some_and(|value| !value.starts_with(';'));
            assert!(!sets_session, "{shown}: a session cookie was set: {line}");
            assert!(
                !line.starts_with("x-injected") && !line.contains("pwned"),
                "{shown}: header injection: {line}"
            );
        }
        if let Some(loc) = head.lines().find_map(|l| l.strip_prefix("location: ")) {
            assert!(
                loc.starts_with(&idp.url()) || loc.starts_with('/') && !loc.starts_with("//"),
                "{shown}: redirect to {loc}"
            );
        }
    }
    eprintln!("invalid-byte requests by status: {statuses:?}");
    alive(&mut sc);
}

/// Payloads of a corpus file (see its header for the format), with the placeholders for
/// the app's origin filled in.
fn corpus(text: &str, port: u16) -> Vec<String> {
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with(";;"))
        .map(|l| match l.strip_prefix("esc:") {
            Some(escaped) => unescape(escaped),
            None => l.to_string(),
        })
        .map(|l| {
            l.replace("{app}", &format!("http://localhost:{port}"))
                .replace("{host}", &format!("localhost:{port}"))
                .replace("{port}", &port.to_string())
        })
        .collect()
}

fn unescape(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            Some('u') => {
                let hex: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                let code = u32::from_str_radix(&hex, 16).expect("corpus escape is hex");
                out.push(char::from_u32(code).expect("corpus escape is a char"));
            }
            other => panic!("unknown escape \\{other:?} in {line:?}"),
        }
    }
    out
}

/// Signs in (silently, through the hosted UI's session) with `rd` and returns the raw
/// `Location` the callback sends the browser to, and the callback URL it is relative to.
async fn land(browser: &Browser, rd: &str) -> (String, String) {
    let start = browser.app(&format!("/oauth2/start?rd={}", urlencode(rd)));
    let to_idp = browser.navigate(&start).await;
    assert_eq!(to_idp.status(), StatusCode::FOUND, "start with rd={rd:?}");
    let authorize = location(&to_idp, &start);
    let back = browser.navigate(&authorize).await;
    assert_eq!(
        back.status(),
        StatusCode::FOUND,
        "silent authorize for rd={rd:?}"
    );
    let callback = location(&back, &authorize);
    let done = browser.navigate(&callback).await;
    assert_eq!(done.status(), StatusCode::FOUND, "callback for rd={rd:?}");
    let raw = done.headers()["location"]
        .to_str()
        .expect("visible ASCII Location")
        .to_string();
    (raw, callback)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirect_corpora_land_on_the_app() {
    let up = upstream::start().await;
    let port = free_port();
    let idp = Emulator::start(port, "");
    let _sc = Sidecar::start(
        &sidecar_config(
            port,
            &up.url(),
            &idp,
            "access:\n  allowed_redirect_hosts: [partner.example.org]\n",
        ),
        port,
    );
    common::wait_ready(port).await;
    let browser = Browser::new(port);
    assert_eq!(browser.sign_in("/", "alice").await.status(), StatusCode::OK);
    let app = url::Url::parse(&browser.app("/")).unwrap();

    // Safe targets are kept exactly, so the check below is not passing by sending
    // everything to `/`.
    for (rd, want) in [
        ("/deep/page?x=1&y=two", browser.app("/deep/page?x=1&y=two")),
        (
            &format!("http://localhost:{port}/abs?q=1"),
            browser.app("/abs?q=1"),
        ),
        (
            "https://partner.example.org/x?y=1",
            "https://partner.example.org/x?y=1".to_string(),
        ),
    ] {
        let (raw, callback) = land(&browser, rd).await;
        let resolved = url::Url::parse(&callback).unwrap().join(&raw).unwrap();
        assert_eq!(resolved.as_str(), want, "rd={rd}");
    }

    let own = corpus(include_str!("fixtures/hostile_redirects.txt"), port);
    let shared = corpus(include_str!("fixtures/open_redirects.txt"), port);
    assert!(
        own.len() >= 200,
        "{} payloads in hostile_redirects.txt",
        own.len()
    );
    let started = Instant::now();
    let (mut to_root, mut kept) = (0, 0);
    for rd in own.iter().chain(&shared) {
        let (raw, callback) = land(&browser, rd).await;
        assert!(
            raw.bytes().all(|b| b.is_ascii_graphic()),
            "rd={rd:?}: Location {raw:?} has whitespace or control characters"
        );
        let resolved = url::Url::parse(&callback).unwrap().join(&raw).unwrap();
        let on_app = resolved.origin() == app.origin();
        let on_partner = resolved.host_str() == Some("partner.example.org")
            && matches!(resolved.scheme(), "http" | "https")
            && resolved.username().is_empty()
            && resolved.password().is_none();
        assert!(on_app || on_partner, "rd={rd:?} landed on {resolved}");
        if raw == "/" {
            to_root += 1;
        } else {
            kept += 1;
        }
    }
    eprintln!(
        "{} + {} redirect payloads through real sign-ins in {:?}: {to_root} sent to /, {kept} kept on the app or partner host",
        own.len(),
        shared.len(),
        started.elapsed()
    );
}
