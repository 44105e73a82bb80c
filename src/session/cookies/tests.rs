use super::*;
use proptest::prelude::*;

const NAME: &str = "_cognito_sidecar";

fn headers(values: &[&[u8]]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for v in values {
        map.append(
            COOKIE,
            HeaderValue::from_bytes(v).expect("test header is valid"),
        );
    }
    map
}

fn pairs_of(list: &[(String, String)]) -> Vec<(&str, &str)> {
    list.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

fn cookie_values(map: &HeaderMap) -> Vec<&[u8]> {
    map.get_all(COOKIE).iter().map(|v| v.as_bytes()).collect()
}

#[test]
fn classify_recognises_our_names_only() {
    let c = |n: &str| classify(NAME.as_bytes(), n.as_bytes());
    assert_eq!(c(NAME), Some(OwnName::Session));
    assert_eq!(c("_cognito_sidecar_0"), Some(OwnName::Chunk(0)));
    assert_eq!(c("_cognito_sidecar_3"), Some(OwnName::Chunk(3)));
    assert_eq!(c("_cognito_sidecar_4"), Some(OwnName::OddChunk));
    assert_eq!(c("_cognito_sidecar_01"), Some(OwnName::OddChunk));
    assert_eq!(c("_cognito_sidecar_00"), Some(OwnName::OddChunk));
    assert_eq!(
        c("_cognito_sidecar_99999999999999999999"),
        Some(OwnName::OddChunk)
    );
    assert_eq!(c("_cognito_sidecar_csrf"), Some(OwnName::Csrf));
    assert_eq!(c("_cognito_sidecar_csrf_abc"), Some(OwnName::Csrf));
    assert_eq!(c("_cognito_sidecar_guest"), Some(OwnName::Guest));
    for foreign in [
        "_cognito_sidecar_-1",
        "_cognito_sidecar_",
        "_cognito_sidecar_x",
        "_cognito_sidecarx",
        "_cognito_sidecar_1a",
        "_cognito_sidecar_guests",
        "_cognito_sidecar_Guest",
        "_Cognito_sidecar",
        "cognito_sidecar",
        "",
    ] {
        assert_eq!(c(foreign), None, "{foreign}");
    }
}

#[test]
fn parses_pairs_across_headers_in_order() {
    let map = headers(&[b"a=1; b=2", b"c=3", b"d=x=y"]);
    assert_eq!(
        pairs_of(&request_cookies(&map)),
        [("a", "1"), ("b", "2"), ("c", "3"), ("d", "x=y")]
    );
}

#[test]
fn tolerates_garbage() {
    let map = headers(&[
        b";;  ; a=1 ;noequals; =novalue;  b = 2 ;\t c=\t3",
        b"bad=\xff\xfe; good=ok",
        b"",
        b"q=\"quoted\"",
    ]);
    assert_eq!(
        pairs_of(&request_cookies(&map)),
        [
            ("a", "1"),
            ("b", "2"),
            ("c", "3"),
            ("good", "ok"),
            ("q", "\"quoted\"")
        ]
    );
}

#[test]
fn caps_the_pairs_examined() {
    let long = (0..1000)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join("; ");
    let map = headers(&[long.as_bytes()]);
    assert_eq!(request_cookies(&map).len(), MAX_REQUEST_COOKIES);
}

#[test]
fn no_cookie_header_means_no_pairs() {
    assert!(request_cookies(&HeaderMap::new()).is_empty());
    assert_eq!(cookie_pairs(&HeaderMap::new()).count(), 0);
}

#[test]
fn raw_pairs_are_the_parsed_pairs_plus_those_that_are_not_utf8() {
    let map = headers(&[b";; a=1 ;noequals; =novalue; bad=\xff", b"c = 3"]);
    let raw: Vec<(&[u8], &[u8])> = cookie_pairs(&map).collect();
    assert_eq!(
        raw,
        [(&b"a"[..], &b"1"[..]), (b"bad", b"\xff"), (b"c", b"3")]
    );
    let long = (0..1000)
        .map(|i| format!("k{i}=v"))
        .collect::<Vec<_>>()
        .join("; ");
    assert_eq!(
        cookie_pairs(&headers(&[long.as_bytes()])).count(),
        MAX_REQUEST_COOKIES
    );
}

#[test]
fn a_session_in_one_cookie_is_joined_without_a_copy() {
    let map = headers(&[b"theme=dark; _cognito_sidecar=v1.abc"]);
    let joined = join(cookie_pairs(&map), NAME).expect("one session cookie");
    assert!(matches!(joined, std::borrow::Cow::Borrowed(b"v1.abc")));
}

#[test]
fn strip_keeps_foreign_items_byte_for_byte() {
    let mut map = headers(&[
        b"theme=dark;  _cognito_sidecar=v1.abc ; lang=en-US",
        b"_cognito_sidecar_0=x; _cognito_sidecar_1=y",
        b"_cognito_sidecar_csrf_AbCdEf=z; weird;  spaced = v ",
        b"_cognito_sidecar_-1=keep; _cognito_sidecar_99=drop",
        b"_cognito_sidecar_guest=g; _cognito_sidecar_guests=keep",
    ]);
    strip_own_cookies(&mut map, NAME);
    assert_eq!(
        cookie_values(&map),
        [
            &b"theme=dark; lang=en-US"[..],
            b"weird; spaced = v",
            b"_cognito_sidecar_-1=keep",
            b"_cognito_sidecar_guests=keep"
        ]
    );
}

#[test]
fn strip_leaves_a_header_without_our_cookies_as_it_was() {
    let mut map = headers(&[b"theme=dark; lang=en-US", b"a=1;b=2"]);
    strip_own_cookies(&mut map, NAME);
    // Already in the joined form: the same value; otherwise re-joined with `; `.
    assert_eq!(
        cookie_values(&map),
        [&b"theme=dark; lang=en-US"[..], b"a=1; b=2"]
    );
}

#[test]
fn strip_removes_the_header_when_nothing_is_left() {
    let mut map = headers(&[b"_cognito_sidecar=a"]);
    map.insert(http::header::ACCEPT, HeaderValue::from_static("*/*"));
    strip_own_cookies(&mut map, NAME);
    assert!(!map.contains_key(COOKIE));
    assert!(map.contains_key(http::header::ACCEPT));
}

#[test]
fn strip_keeps_non_utf8_foreign_items() {
    let mut map = headers(&[b"x=\xff; _cognito_sidecar=a"]);
    strip_own_cookies(&mut map, NAME);
    assert_eq!(cookie_values(&map), [&b"x=\xff"[..]]);
}

#[test]
fn strip_examines_every_item_past_the_read_cap() {
    let mut long = (0..1000).map(|i| format!("k{i}=v")).collect::<Vec<_>>();
    long.push(format!("{NAME}=secret"));
    let mut map = headers(&[long.join("; ").as_bytes()]);
    strip_own_cookies(&mut map, NAME);
    let left = cookie_values(&map).concat();
    assert!(!String::from_utf8_lossy(&left).contains(NAME));
}

fn cookie_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(NAME.to_string()),
        "_cognito_sidecar_[0-9]{1,22}",
        "_cognito_sidecar_csrf[A-Za-z0-9_-]{0,14}",
        "_cognito_sidecar[A-Za-z_-]{0,4}",
        "[A-Za-z0-9_.-]{1,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn request_cookies_never_panics(
        values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 0..4)
    ) {
        let mut map = HeaderMap::new();
        for v in &values {
            if let Ok(value) = HeaderValue::from_bytes(v) {
                map.append(COOKIE, value);
            }
        }
        let parsed = request_cookies(&map);
        prop_assert!(parsed.len() <= MAX_REQUEST_COOKIES);
        prop_assert!(parsed.iter().all(|(n, _)| !n.is_empty()));
        strip_own_cookies(&mut map, NAME);
    }

    #[test]
    fn strip_never_leaves_ours_and_never_drops_theirs(
        headers_list in proptest::collection::vec(
            proptest::collection::vec((cookie_name(), "[A-Za-z0-9._-]{0,8}"), 0..8),
            1..4,
        ),
        pad in " {0,2}",
    ) {
        let mut map = HeaderMap::new();
        let mut foreign = Vec::new();
        for list in &headers_list {
            let line = list
                .iter()
                .map(|(n, v)| format!("{pad}{n}={v}"))
                .collect::<Vec<_>>()
                .join(";");
            if let Ok(value) = HeaderValue::from_str(&line) {
                map.append(COOKIE, value);
            }
            foreign.extend(
                list.iter()
                    .filter(|(n, _)| classify(NAME.as_bytes(), n.as_bytes()).is_none())
                    .cloned(),
            );
        }
        strip_own_cookies(&mut map, NAME);
        let left = request_cookies(&map);
        prop_assert!(left.iter().all(|(n, _)| classify(NAME.as_bytes(), n.as_bytes()).is_none()));
        prop_assert_eq!(left, foreign);
        prop_assert!(map.get_all(COOKIE).iter().all(|v| !v.is_empty()));
    }

    /// Where the O(1) check says the field is the session cookie alone, the full strip
    /// removes the field whole: the check never lets a foreign cookie be dropped.
    #[test]
    fn a_sole_session_cookie_is_exactly_what_strip_removes_whole(
        headers_list in proptest::collection::vec(
            proptest::collection::vec(
                (prop_oneof![Just(NAME.to_string()), cookie_name()], "[A-Za-z0-9._-]{0,8}"),
                0..4,
            ),
            1..3,
        ),
        pad in "[ ;]{0,2}",
        junk in proptest::option::of("[a-z;]{1,3}"),
    ) {
        let mut map = HeaderMap::new();
        for list in &headers_list {
            let mut line = list
                .iter()
                .map(|(n, v)| format!("{pad}{n}={v}"))
                .collect::<Vec<_>>()
                .join(";");
            if let Some(junk) = &junk {
                line.push_str(junk);
            }
            if let Ok(value) = HeaderValue::from_str(&line) {
                map.append(COOKIE, value);
            }
        }
        let Some(value) = join(cookie_pairs(&map), NAME) else {
            return Ok(());
        };
        if only_session_cookie(&map, NAME, value.len()) {
            let mut stripped = map.clone();
            strip_own_cookies(&mut stripped, NAME);
            prop_assert!(stripped.get(COOKIE).is_none(), "{:?}", map);
        }
    }
}

#[test]
fn only_a_field_that_is_the_session_cookie_alone_is_sole() {
    let sole = |values: &[&[u8]], len| only_session_cookie(&headers(values), NAME, len);
    assert!(sole(&[b"_cognito_sidecar=v1.abc"], 6));
    assert!(!sole(&[b"_cognito_sidecar=v1.abc; a=1"], 6));
    assert!(!sole(&[b"_cognito_sidecar= v1.abc"], 6));
    assert!(!sole(&[b"_cognito_sidecar=v1.abc", b"a=1"], 6));
    assert!(!sole(
        &[b"_cognito_sidecar_0=v1.; _cognito_sidecar_1=abc"],
        6
    ));
    assert!(!sole(&[], 0));
}
