//! Smuggling and malformed request heads (RFC 9112 §2.2, §3.2, §6.3), header floods,
//! and an HTTP/2 CONTINUATION flood.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::common::raw::Recorder;
use crate::common::{self, free_port, proxy_config, upstream, Sidecar};
use crate::{alive, send, DEAD_IDP};
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
