use bytes::BytesMut;
use http::{HeaderValue, Request, StatusCode, Version};

use super::*;

#[test]
fn the_request_head_is_written_in_origin_form_without_a_transfer_coding() {
    let mut req = Request::builder()
        .method("GET")
        .uri("/a/b?c=d%20e")
        .header("host", "app.example")
        .header("transfer-encoding", "chunked")
        .header("x-request-id", "from-the-client")
        .header("x-forwarded-user", "alice")
        .body(())
        .unwrap();
    req.headers_mut()
        .append("accept", HeaderValue::from_static("text/html"));
    req.headers_mut()
        .append("accept", HeaderValue::from_static("*/*"));
    let (parts, ()) = req.into_parts();
    let mut out = b"left over from the last request".to_vec();
    let host = HeaderValue::from_static("app.example");
    let id = HeaderValue::from_static("ours");
    let added = crate::headers::Added::forwarding(
        &parts.headers,
        &crate::headers::Forwarding {
            peer: std::net::Ipv4Addr::LOCALHOST.into(),
            proto: "http",
            host: Some(&host),
            trusted_peer: false,
        },
    )
    .request_id(&id);
    encode_head(&parts, &added, &mut out);
    // The client's `X-Request-Id` gives way to ours, written after the client's fields.
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "GET /a/b?c=d%20e HTTP/1.1\r\nhost: app.example\r\nx-forwarded-user: alice\r\n\
         accept: text/html\r\naccept: */*\r\nx-forwarded-for: 127.0.0.1\r\n\
         x-forwarded-proto: http\r\nx-forwarded-host: app.example\r\nx-request-id: ours\r\n\r\n"
    );
}

#[test]
fn a_response_head_is_split_off_and_its_values_share_the_buffer() {
    let mut buf = BytesMut::from(
        &b"HTTP/1.1 200 Fine\r\nContent-Length: 2\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\nokHTTP"[..],
    );
    let head = parse_head(&mut buf).unwrap().unwrap();
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.version, Version::HTTP_11);
    assert_eq!(head.reason.as_ref().unwrap().as_bytes(), b"Fine");
    let cookies: Vec<_> = head.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert_eq!(
        &buf[..],
        b"okHTTP",
        "the body and what follows stay in the buffer"
    );

    let mut standard = BytesMut::from(&b"HTTP/1.0 404 Not Found\r\n\r\n"[..]);
    let head = parse_head(&mut standard).unwrap().unwrap();
    assert_eq!(head.version, Version::HTTP_10);
    assert!(head.reason.is_none(), "a standard reason is not kept");
}

#[test]
fn hop_by_hop_fields_and_those_connection_names_are_left_out_but_still_frame_the_body() {
    let mut buf = BytesMut::from(
        &b"HTTP/1.1 200 OK\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n\
           Connection: keep-alive, X-Secret\r\nTransfer-Encoding: chunked\r\n\
           Content-Length: 4\r\nconnection: Close\r\nTrailer: x-t\r\nX-Kept: yes\r\n\r\n"[..],
    );
    let head = parse_head(&mut buf).unwrap().unwrap();
    let mut names: Vec<&str> = head.headers.keys().map(|n| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["content-length", "x-kept"]);
    assert!(head.fields.close, "a second Connection field still counts");
    assert_eq!(
        head.fields
            .last_transfer_coding
            .as_ref()
            .map(|v| v.as_bytes()),
        Some(&b"chunked"[..])
    );
    assert_eq!(head.fields.content_length, Some(Ok(4)));
    let framing =
        framing::response_framing(false, head.status, head.version, &head.fields).unwrap();
    assert_eq!(framing.length, framing::Length::Chunked);
    assert!(!framing.reusable);
}

#[test]
fn a_partial_head_waits_and_a_malformed_one_is_an_error() {
    let mut partial = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Le"[..]);
    assert!(parse_head(&mut partial).unwrap().is_none());
    assert_eq!(partial.len(), 27, "nothing is consumed");
    for bad in [
        &b"HTTP/2 200 OK\r\n\r\n"[..],
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nx: a\rb\r\n\r\n",
        b"<html>",
    ] {
        let mut buf = BytesMut::from(bad);
        assert!(
            matches!(parse_head(&mut buf), Err(ExchangeError::Head(_))),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..=MAX_FIELDS {
        many.extend_from_slice(format!("x-{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    let mut buf = BytesMut::from(&many[..]);
    assert!(matches!(
        parse_head(&mut buf),
        Err(ExchangeError::Head("too many fields"))
    ));
}

#[test]
fn only_a_connection_lost_before_any_answer_is_a_keep_alive_race() {
    assert!(ExchangeError::Closed.lost_to_a_close());
    assert!(ExchangeError::Io(io::ErrorKind::ConnectionReset.into()).lost_to_a_close());
    assert!(ExchangeError::Io(io::ErrorKind::BrokenPipe.into()).lost_to_a_close());
    assert!(!ExchangeError::Io(io::ErrorKind::TimedOut.into()).lost_to_a_close());
    assert!(!ExchangeError::Head("not HTTP/1.x").lost_to_a_close());
    assert!(!ExchangeError::IncompleteBody.lost_to_a_close());
    assert!(!ExchangeError::UnexpectedSwitch.lost_to_a_close());
}

proptest::proptest! {
    /// Whatever an upstream sends, reading a head never panics, and a head that parses
    /// is split off exactly.
    #[test]
    fn arbitrary_response_bytes_never_panic(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
        prefix in proptest::bool::ANY,
    ) {
        let mut input = if prefix { b"HTTP/1.1 200 OK\r\n".to_vec() } else { Vec::new() };
        input.extend_from_slice(&bytes);
        let mut buf = BytesMut::from(&input[..]);
        if let Ok(Some(head)) = parse_head(&mut buf) {
            proptest::prop_assert!(buf.len() < input.len());
            let _ = framing::response_framing(false, head.status, head.version, &head.fields);
        }
    }
}
