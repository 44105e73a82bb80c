use super::*;
use proptest::prelude::*;
use std::time::{Duration, Instant};

fn ok(raw: &str) -> String {
    canonicalize(raw).unwrap_or_else(|e| panic!("{raw:?} refused: {e}"))
}

#[test]
fn plain_paths_are_unchanged() {
    for p in [
        "/",
        "/a",
        "/a/b/",
        "/Admin/Users",
        "/assets/app.min.css",
        "/a;b=c/d",
        "/x:y@z!$&'()*+,=",
        "/~user/-_.",
        "/%20space",
        "/caf%C3%A9",
        "/...",
        "/.well-known/jwks.json",
        "/a..b/.c/..d",
    ] {
        assert_eq!(ok(p), p);
    }
}

#[test]
fn unreserved_escapes_are_decoded_and_hex_upper_cased() {
    assert_eq!(ok("/%41%62%63"), "/Abc");
    assert_eq!(ok("/%7e%2D%5f%2e%30"), "/~-_.0");
    assert_eq!(ok("/a%3fb"), "/a%3Fb");
    assert_eq!(ok("/%c3%a9"), "/%C3%A9");
    assert_eq!(ok("/%25"), "/%25");
    assert_eq!(ok("/%2541"), "/%2541", "decoding happens once");
}

#[test]
fn characters_outside_pchar_are_encoded() {
    assert_eq!(ok("/a b"), "/a%20b");
    assert_eq!(ok("/\"<>`{|}^[]"), "/%22%3C%3E%60%7B%7C%7D%5E%5B%5D");
    assert_eq!(ok("/café"), "/caf%C3%A9");
    assert_eq!(ok("/a?b#c"), "/a%3Fb%23c");
}

#[test]
fn slashes_collapse_and_dot_segments_go() {
    for (raw, canonical) in [
        ("//", "/"),
        ("///a//b///", "/a/b/"),
        ("/a/./b", "/a/b"),
        ("/a/b/..", "/a/"),
        ("/a/b/.", "/a/b/"),
        ("/a/b/../c", "/a/c"),
        ("/a/b/../../c", "/c"),
        ("/a/..", "/"),
        ("/.", "/"),
        ("/./", "/"),
        ("/public/../admin", "/admin"),
        ("/public/%2e%2e/admin", "/admin"),
        ("/public/%2E%2e/admin", "/admin"),
        ("/public/.%2e/admin", "/admin"),
        ("/public/%2e/admin", "/public/admin"),
        ("/a//../b", "/b"),
        ("/assets/..//admin", "/admin"),
    ] {
        assert_eq!(ok(raw), canonical, "{raw}");
    }
}

#[test]
fn refusals() {
    use PathError::*;
    for (raw, err) in [
        ("", NotAbsolute),
        ("*", NotAbsolute),
        ("a/b", NotAbsolute),
        ("http://x/a", NotAbsolute),
        ("/%zz", InvalidEscape),
        ("/%4", InvalidEscape),
        ("/%", InvalidEscape),
        ("/%%41", InvalidEscape),
        ("/a%2Fb", EncodedSlash),
        ("/a%2fb", EncodedSlash),
        ("/a%5Cb", Backslash),
        ("/a%5cb", Backslash),
        ("/a\\b", Backslash),
        ("\\a", NotAbsolute),
        ("/a%00", ControlCharacter),
        ("/a\0", ControlCharacter),
        ("/a%0d%0a", ControlCharacter),
        ("/a\t", ControlCharacter),
        ("/a%7F", ControlCharacter),
        ("/a\u{7f}", ControlCharacter),
        ("/..", AboveRoot),
        ("/../a", AboveRoot),
        ("/a/../..", AboveRoot),
        ("/%2e%2e/a", AboveRoot),
        ("/..;/admin", DotSegmentParameter),
        ("/public/..;/admin", DotSegmentParameter),
        ("/public/..;jsessionid=x/admin", DotSegmentParameter),
        ("/.;/admin", DotSegmentParameter),
        ("/%2e%2e;/admin", DotSegmentParameter),
        ("/..%3b/admin", DotSegmentParameter),
        ("/..%3B/admin", DotSegmentParameter),
    ] {
        assert_eq!(canonicalize(raw), Err(err), "{raw:?}");
    }
    let long = format!("/{}", "a".repeat(MAX_PATH_LEN));
    assert_eq!(canonicalize(&long), Err(PathError::TooLong));
}

#[test]
fn escaping_past_the_limit_is_refused_so_the_output_stays_a_fixed_point() {
    // Found by reasoning on the `path` fuzz target's fixed-point property: `"` is escaped
    // to `%22`, so a path under the limit could canonicalise to one over it, which a
    // second canonicalisation would refuse.
    let fits = format!("/{}", "\"".repeat((MAX_PATH_LEN - 1) / 3));
    let canonical = ok(&fits);
    assert_eq!(canonicalize(&canonical), Ok(canonical));
    let grows = format!("/{}", "\"".repeat(MAX_PATH_LEN / 2));
    assert!(grows.len() <= MAX_PATH_LEN);
    assert_eq!(canonicalize(&grows), Err(PathError::TooLong));
}

#[test]
fn parameters_on_ordinary_segments_are_kept() {
    assert_eq!(ok("/a;b/c;d=e"), "/a;b/c;d=e");
    assert_eq!(ok("/x;..;/y"), "/x;..;/y");
    assert_eq!(ok("/x;../y;."), "/x;../y;.");
}

#[test]
fn glob_basics() {
    assert!(glob_match("/assets/*", "/assets/a/b.css"));
    assert!(glob_match("/assets/*", "/assets/"));
    assert!(!glob_match("/assets/*", "/assets"));
    assert!(!glob_match("/assets/*", "/Assets/x"));
    assert!(glob_match("/health", "/health"));
    assert!(!glob_match("/health", "/healthz"));
    assert!(!glob_match("/health", "/health/"));
    assert!(glob_match("/api/v?/x", "/api/v1/x"));
    assert!(!glob_match("/api/v?/x", "/api/v10/x"));
    assert!(!glob_match("/api/v?/x", "/api/v/x"));
    assert!(glob_match("*", ""));
    assert!(glob_match("*", "/anything/at/all"));
    assert!(glob_match("", ""));
    assert!(!glob_match("", "/"));
    assert!(glob_match("/*.css", "/a/b.css"));
    assert!(!glob_match("/*.css", "/a/b.css.map"));
    assert!(glob_match("/a/**/b", "/a//b"));
    assert!(glob_match("/?", "/é"));
    assert!(glob_match("/ü*", "/ü/x"));
}

#[test]
fn glob_pathological_pattern_is_fast() {
    let text = format!("/{}", "a".repeat(100_000));
    let start = Instant::now();
    assert!(!glob_match("*a*a*a*a*a*a*a*a*b", &text));
    assert!(glob_match("*a*a*a*a*a*a*a*a*", &text));
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// The definition, by dynamic programming over (pattern, text) suffixes.
fn reference(pattern: &[char], text: &[char]) -> bool {
    let mut memo = vec![vec![None; text.len() + 1]; pattern.len() + 1];
    fn go(p: &[char], t: &[char], i: usize, j: usize, m: &mut Vec<Vec<Option<bool>>>) -> bool {
        if let Some(v) = m[i][j] {
            return v;
        }
        let v = match p.get(i) {
            None => j == t.len(),
            Some('*') => go(p, t, i + 1, j, m) || (j < t.len() && go(p, t, i, j + 1, m)),
            Some(&c) => j < t.len() && (c == '?' || c == t[j]) && go(p, t, i + 1, j + 1, m),
        };
        m[i][j] = Some(v);
        v
    }
    go(pattern, text, 0, 0, &mut memo)
}

fn forbidden_in_canonical(path: &str) -> Option<&'static str> {
    [
        "//", "/./", "/../", "\\", "%2F", "%2f", "%5C", "%5c", "%00", "%0A", "%0D", "%09",
    ]
    .into_iter()
    .find(|needle| path.contains(needle))
    .or_else(|| path.chars().any(|c| c.is_control()).then_some("control"))
    .or_else(|| (path.ends_with("/.") || path.ends_with("/..")).then_some("trailing dot"))
    .or_else(|| (!path.is_ascii()).then_some("non-ASCII"))
}

fn path_like() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("/".to_string()),
            Just(".".to_string()),
            Just("..".to_string()),
            Just(";".to_string()),
            Just("%2e".to_string()),
            Just("%2E".to_string()),
            Just("%3b".to_string()),
            Just("%41".to_string()),
            Just("%c3".to_string()),
            Just("%".to_string()),
            "[a-zA-Z0-9 ~!*?#é\"]{1,3}",
            "%[0-9a-fA-F]{2}",
        ],
        0..16,
    )
    .prop_map(|parts| format!("/{}", parts.concat()))
}

#[test]
fn only_paths_with_nothing_to_rewrite_take_the_shortcut() {
    for canonical in ["/", "/a", "/a/b/", "/public/x.js", "/~u/@x:1"] {
        assert!(is_canonical(canonical), "{canonical}");
    }
    for other in [
        "", "a", "//a", "/a//b", "/./a", "/a/..", "/a/.", "/a;b", "/%41", "/a b", "/a\\b",
    ] {
        assert!(!is_canonical(other), "{other}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn canonicalize_is_idempotent_and_clean(raw in path_like()) {
        if let Ok(canonical) = canonicalize(&raw) {
            prop_assert_eq!(canonicalize(&canonical), Ok(canonical.clone()));
            prop_assert!(canonical.starts_with('/'));
            prop_assert_eq!(forbidden_in_canonical(&canonical), None, "{}", canonical);
        }
    }

    /// The shortcut for paths that are already canonical agrees with the full rewrite.
    #[test]
    fn canonical_shortcut_agrees_with_the_rewrite(raw in "/[a-z0-9./;%~:@!-]{0,24}") {
        if is_canonical(&raw) {
            prop_assert_eq!(rewrite(&raw), Ok(raw.clone()));
        }
    }

    #[test]
    fn canonicalize_never_panics(raw in ".{0,64}") {
        if let Ok(canonical) = canonicalize(&raw) {
            prop_assert_eq!(canonicalize(&canonical), Ok(canonical.clone()));
        }
    }

    #[test]
    fn glob_agrees_with_the_reference(pattern in "[ab/*?]{0,8}", text in "[ab/]{0,10}") {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        prop_assert_eq!(glob_match(&pattern, &text), reference(&p, &t));
    }

    #[test]
    fn glob_agrees_on_unicode(pattern in "[aé*?]{0,6}", text in "[aé]{0,8}") {
        let p: Vec<char> = pattern.chars().collect();
        let t: Vec<char> = text.chars().collect();
        prop_assert_eq!(glob_match(&pattern, &text), reference(&p, &t));
    }
}
