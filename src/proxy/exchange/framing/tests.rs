use bytes::BytesMut;
use http::{HeaderMap, HeaderValue, StatusCode, Version};
use proptest::prelude::*;

use super::*;

fn headers(fields: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in fields {
        map.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

fn framing(
    status: u16,
    version: Version,
    fields: &[(&str, &str)],
) -> Result<Framing, FramingError> {
    response_framing(
        false,
        StatusCode::from_u16(status).unwrap(),
        version,
        &Fields::of(&headers(fields)),
    )
}

#[test]
fn bodiless_answers_have_no_content_whatever_their_headers_say() {
    for status in [204, 304, 100, 103] {
        let f = framing(status, Version::HTTP_11, &[("content-length", "10")]).unwrap();
        assert_eq!(f.length, Length::Empty, "status {status}");
        assert!(f.reusable);
    }
    let head = response_framing(
        true,
        StatusCode::OK,
        Version::HTTP_11,
        &Fields::of(&headers(&[("content-length", "1000")])),
    )
    .unwrap();
    assert_eq!(head.length, Length::Empty);
}

#[test]
fn transfer_encoding_wins_and_both_headers_are_not_reused() {
    let f = framing(
        200,
        Version::HTTP_11,
        &[("transfer-encoding", "gzip, Chunked")],
    )
    .unwrap();
    assert_eq!(
        f,
        Framing {
            length: Length::Chunked,
            reusable: true
        }
    );
    let both = framing(
        200,
        Version::HTTP_11,
        &[("transfer-encoding", "chunked"), ("content-length", "5")],
    )
    .unwrap();
    assert_eq!(
        both,
        Framing {
            length: Length::Chunked,
            reusable: false
        }
    );
    let not_last = framing(
        200,
        Version::HTTP_11,
        &[("transfer-encoding", "chunked, gzip")],
    )
    .unwrap();
    assert_eq!(
        not_last,
        Framing {
            length: Length::UntilClose,
            reusable: false
        }
    );
    assert_eq!(
        framing(200, Version::HTTP_10, &[("transfer-encoding", "chunked")]),
        Err(FramingError::TransferEncodingInHttp10)
    );
}

#[test]
fn content_length_must_be_one_number() {
    let exact = framing(200, Version::HTTP_11, &[("content-length", "42")]).unwrap();
    assert_eq!(
        exact,
        Framing {
            length: Length::Exact(42),
            reusable: true
        }
    );
    let same = framing(
        200,
        Version::HTTP_11,
        &[("content-length", "7, 7"), ("content-length", "7")],
    )
    .unwrap();
    assert_eq!(same.length, Length::Exact(7));
    assert_eq!(
        framing(200, Version::HTTP_11, &[("content-length", "0")])
            .unwrap()
            .length,
        Length::Empty
    );
    for bad in [
        vec![("content-length", "5, 6")],
        vec![("content-length", "5"), ("content-length", "6")],
        vec![("content-length", "-1")],
        vec![("content-length", "+5")],
        vec![("content-length", "0x10")],
        vec![("content-length", "")],
        vec![("content-length", "99999999999999999999999")],
    ] {
        assert_eq!(
            framing(200, Version::HTTP_11, &bad),
            Err(FramingError::BadContentLength),
            "{bad:?}"
        );
    }
}

#[test]
fn connection_close_and_http10_and_no_length_are_not_reused() {
    let close = framing(
        200,
        Version::HTTP_11,
        &[("content-length", "1"), ("connection", "x, Close")],
    )
    .unwrap();
    assert!(!close.reusable);
    let old = framing(
        200,
        Version::HTTP_10,
        &[("content-length", "1"), ("connection", "keep-alive")],
    )
    .unwrap();
    assert!(!old.reusable);
    let until_close = framing(200, Version::HTTP_11, &[]).unwrap();
    assert_eq!(
        until_close,
        Framing {
            length: Length::UntilClose,
            reusable: false
        }
    );
}

/// Decodes `input` fed in pieces of the given sizes, as reads would deliver it.
fn decode_in_pieces(
    input: &[u8],
    pieces: &[usize],
) -> Result<(Vec<u8>, Option<HeaderMap>, BytesMut), FramingError> {
    let mut decoder = Chunked::default();
    let mut buf = BytesMut::new();
    let mut data = Vec::new();
    let mut trailers = None;
    let mut fed = 0;
    let mut sizes = pieces.iter().copied().cycle();
    loop {
        match decoder.decode(&mut buf)? {
            Step::Data(bytes) => {
                assert!(!bytes.is_empty(), "no empty data frames");
                data.extend_from_slice(&bytes);
            }
            Step::Trailers(map) => trailers = Some(map),
            Step::End => return Ok((data, trailers, buf)),
            Step::NeedMore => {
                if fed == input.len() {
                    return Err(FramingError::BadChunkEnd);
                }
                let n = sizes.next().unwrap_or(1).max(1).min(input.len() - fed);
                buf.extend_from_slice(&input[fed..fed + n]);
                fed += n;
            }
        }
    }
}

#[test]
fn chunked_bodies_with_extensions_and_trailers() {
    let wire = b"5;name=value\r\nhello\r\n7 \r\n, world\r\n0\r\nx-checksum: abc\r\n\r\nNEXT";
    let (data, trailers, rest) = decode_in_pieces(wire, &[wire.len()]).unwrap();
    assert_eq!(data, b"hello, world");
    assert_eq!(trailers.unwrap()["x-checksum"], "abc");
    assert_eq!(&rest[..], b"NEXT", "bytes after the body are left alone");
    let (data, trailers, _) = decode_in_pieces(b"A\r\n0123456789\r\n0\r\n\r\n", &[1]).unwrap();
    assert_eq!(data, b"0123456789");
    assert!(trailers.is_none());
}

#[test]
fn malformed_chunked_framing_is_an_error() {
    let cases: &[(&[u8], FramingError)] = &[
        (b"\r\n", FramingError::BadChunkSize),
        (b"g\r\n", FramingError::BadChunkSize),
        (b"5\nhello\r\n0\r\n\r\n", FramingError::BadChunkSize),
        (b"5;ext\nhello\r\n0\r\n\r\n", FramingError::BadChunkSize),
        (b"-5\r\n", FramingError::BadChunkSize),
        (b"5 5\r\n", FramingError::BadChunkSize),
        (b"10000000000000000\r\n", FramingError::BadChunkSize),
        (b"5\r\nhelloXX0\r\n\r\n", FramingError::BadChunkEnd),
        (b"5\r\nhello\rX", FramingError::BadChunkEnd),
        (b"0\r\nbad header\r\n\r\n", FramingError::BadTrailers),
    ];
    for (wire, expected) in cases {
        assert_eq!(
            decode_in_pieces(wire, &[wire.len()]).map(|_| ()),
            Err(expected.clone()),
            "{:?}",
            String::from_utf8_lossy(wire)
        );
    }
}

#[test]
fn extensions_and_trailers_are_bounded() {
    let mut wire = b"1;".to_vec();
    wire.extend(std::iter::repeat_n(b'a', MAX_EXTENSION_BYTES + 1));
    wire.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
    assert_eq!(
        decode_in_pieces(&wire, &[4096]).map(|_| ()),
        Err(FramingError::ExtensionsTooLong)
    );
    let mut wire = b"0\r\nx-big: ".to_vec();
    wire.extend(std::iter::repeat_n(b'a', MAX_TRAILER_BYTES + 1));
    assert_eq!(
        decode_in_pieces(&wire, &[4096]).map(|_| ()),
        Err(FramingError::BadTrailers)
    );
}

fn encode_chunked(data: &[u8], chunk_sizes: &[usize], extension: bool) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut rest = data;
    let mut sizes = chunk_sizes.iter().copied().cycle();
    while !rest.is_empty() {
        let n = sizes.next().unwrap_or(1).max(1).min(rest.len());
        wire.extend_from_slice(format!("{n:x}").as_bytes());
        if extension {
            wire.extend_from_slice(b";a=\"b\"");
        }
        wire.extend_from_slice(b"\r\n");
        wire.extend_from_slice(&rest[..n]);
        wire.extend_from_slice(b"\r\n");
        rest = &rest[n..];
    }
    wire.extend_from_slice(b"0\r\n\r\n");
    wire
}

proptest! {
    /// However the chunks are sized and however the bytes arrive, the body comes out
    /// whole and nothing after it is consumed.
    #[test]
    fn chunked_round_trip(
        data in proptest::collection::vec(any::<u8>(), 0..2000),
        chunk_sizes in proptest::collection::vec(1usize..300, 1..8),
        pieces in proptest::collection::vec(1usize..64, 1..8),
        extension in any::<bool>(),
    ) {
        let mut wire = encode_chunked(&data, &chunk_sizes, extension);
        wire.extend_from_slice(b"HTTP/1.1 200");
        let (decoded, trailers, rest) = decode_in_pieces(&wire, &pieces).unwrap();
        prop_assert_eq!(decoded, data);
        prop_assert!(trailers.is_none());
        let fed_past_end: &[u8] = &rest;
        prop_assert!(b"HTTP/1.1 200".starts_with(fed_past_end));
    }

    /// Arbitrary bytes from the network never panic the decoder.
    #[test]
    fn arbitrary_input_never_panics(
        wire in proptest::collection::vec(any::<u8>(), 0..512),
        pieces in proptest::collection::vec(1usize..32, 1..4),
    ) {
        let _ = decode_in_pieces(&wire, &pieces);
    }
}
