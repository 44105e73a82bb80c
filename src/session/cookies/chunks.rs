//! Splitting a sealed session over several cookies and reading it back (SPEC §7).
//!
//! RFC 6265 §6.1 only promises 4096 bytes per cookie (name, value and attributes), so a
//! value whose `Set-Cookie` line would pass [`MAX_COOKIE_LINE`] is written as `NAME_0`,
//! `NAME_1`, … like oauth2-proxy does. Reading is bounded: at most [`MAX_CHUNKS`] chunks
//! of at most [`MAX_CHUNK_LEN`] bytes, whatever names and counts the request carries.

use std::borrow::Cow;

use super::{classify, OwnName};

/// The most chunks a session may use, written or read.
pub const MAX_CHUNKS: usize = 4;
/// The longest value of one chunk.
pub const MAX_CHUNK_LEN: usize = 3800;
/// The longest `Set-Cookie` line we write, with margin under RFC 6265 §6.1's 4096.
pub const MAX_COOKIE_LINE: usize = 4000;
/// Room for `Set-Cookie: `, `=` and the attributes [`super::set`] adds (`; HttpOnly;
/// SameSite=Lax; Path=/; Secure; Max-Age=<19 digits>` is 81 bytes).
pub(crate) const ATTRIBUTE_BUDGET: usize = 128;

/// The longest value that still fits one `Set-Cookie` line named `name`.
fn single_cookie_max(name: &str) -> usize {
    MAX_COOKIE_LINE.saturating_sub(ATTRIBUTE_BUDGET.saturating_add(name.len()))
}

/// The chunk size for `name`: [`MAX_CHUNK_LEN`], less for very long names so every
/// `NAME_i` line still fits.
fn chunk_len(name: &str) -> usize {
    // The chunk suffix `_i` is two bytes while MAX_CHUNKS <= 10.
    let by_line = single_cookie_max(name).saturating_sub(2);
    MAX_CHUNK_LEN.min(by_line).max(1)
}

/// Splits a sealed value into the cookies to write: `[(NAME, sealed)]` when one cookie
/// fits, else `NAME_0..NAME_n`. Splits only on character boundaries. The result may
/// exceed [`MAX_CHUNKS`] for oversized values; [`super::set_session`] refuses those.
pub fn split(name: &str, sealed: &str) -> Vec<(String, String)> {
    if sealed.len() <= single_cookie_max(name) {
        return vec![(name.to_owned(), sealed.to_owned())];
    }
    let limit = chunk_len(name);
    let mut chunks = Vec::new();
    let mut rest = sealed;
    while !rest.is_empty() {
        let mut cut = limit.min(rest.len());
        while !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            // A single character wider than the chunk size: take it whole.
            cut = rest.chars().next().map_or(rest.len(), char::len_utf8);
        }
        let (piece, tail) = rest.split_at(cut);
        chunks.push((format!("{name}_{}", chunks.len()), piece.to_owned()));
        rest = tail;
    }
    chunks
}

/// Reads the sealed value back: `NAME` alone, or `NAME_0`, `NAME_1`, … in order up to the
/// first missing index. Returns `None` — no session — when it is ambiguous or
/// oversized: `NAME` twice, both `NAME` and `NAME_0`, a chunk read twice, an empty or
/// too-long piece, or chunks without `NAME_0`. Names that are not chunks we write
/// (`NAME_-1`, `NAME_01`, `NAME_4`, `NAME_99999999999999999999`) are ignored. Never holds
/// more than `MAX_CHUNKS × MAX_CHUNK_LEN` bytes. A session in one cookie is returned
/// borrowed: it is read on every request and is several KB.
pub fn join<'a>(
    cookies: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    name: &str,
) -> Option<Cow<'a, [u8]>> {
    let mut single: Option<&[u8]> = None;
    let mut single_seen = 0usize;
    let mut pieces: [Option<&[u8]>; MAX_CHUNKS] = [None; MAX_CHUNKS];
    let mut duplicated = [false; MAX_CHUNKS];
    for (cookie, value) in cookies {
        match classify(name.as_bytes(), cookie) {
            Some(OwnName::Session) => {
                single_seen += 1;
                single = Some(value);
            }
            Some(OwnName::Chunk(i)) => {
                if let (Some(slot), Some(dup)) = (pieces.get_mut(i), duplicated.get_mut(i)) {
                    *dup |= slot.is_some();
                    *slot = Some(value);
                }
            }
            _ => {}
        }
    }
    if single_seen > 0 {
        let value =
            single.filter(|_| single_seen == 1 && pieces.first().is_none_or(Option::is_none))?;
        let fits = !value.is_empty() && value.len() <= MAX_CHUNKS * MAX_CHUNK_LEN;
        return fits.then_some(Cow::Borrowed(value));
    }
    let present = pieces.iter().take_while(|p| p.is_some()).count();
    if present == 0 || duplicated.iter().take(present).any(|d| *d) {
        return None;
    }
    let read: Vec<&[u8]> = pieces.iter().take(present).flatten().copied().collect();
    if read.iter().any(|p| p.is_empty() || p.len() > MAX_CHUNK_LEN) {
        return None;
    }
    Some(Cow::Owned(read.concat()))
}

/// Owned cookie pairs as the byte pairs [`join`] reads.
pub fn byte_pairs(cookies: &[(String, String)]) -> impl Iterator<Item = (&[u8], &[u8])> {
    cookies
        .iter()
        .map(|(name, value)| (name.as_bytes(), value.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NAME: &str = "_cognito_sidecar";

    /// [`join`] of owned pairs, as text.
    fn joined(cookies: &[(String, String)], name: &str) -> Option<String> {
        join(byte_pairs(cookies), name).map(|v| String::from_utf8(v.into_owned()).unwrap())
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn small_values_use_one_cookie() {
        let chunks = split(NAME, "v1.abc");
        assert_eq!(chunks, owned(&[(NAME, "v1.abc")]));
        assert_eq!(joined(&chunks, NAME).as_deref(), Some("v1.abc"));
    }

    #[test]
    fn large_values_are_chunked_within_the_line_budget() {
        let sealed = "x".repeat(9000);
        let chunks = split(NAME, &sealed);
        let names: Vec<&str> = chunks.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "_cognito_sidecar_0",
                "_cognito_sidecar_1",
                "_cognito_sidecar_2"
            ]
        );
        for (n, v) in &chunks {
            assert!(v.len() <= MAX_CHUNK_LEN);
            assert!(n.len() + v.len() + ATTRIBUTE_BUDGET <= MAX_COOKIE_LINE);
        }
        assert_eq!(joined(&chunks, NAME), Some(sealed));
    }

    #[test]
    fn the_one_cookie_threshold_counts_the_name_and_attributes() {
        let fits = "y".repeat(MAX_COOKIE_LINE - ATTRIBUTE_BUDGET - NAME.len());
        assert_eq!(split(NAME, &fits).len(), 1);
        let over = format!("{fits}y");
        assert_eq!(split(NAME, &over).len(), 2);
    }

    #[test]
    fn long_names_get_smaller_chunks() {
        let name = "n".repeat(300);
        for (n, v) in split(&name, &"z".repeat(8000)) {
            assert!(n.len() + v.len() + ATTRIBUTE_BUDGET <= MAX_COOKIE_LINE);
        }
    }

    #[test]
    fn join_reads_until_the_first_gap() {
        let cookies = owned(&[
            ("other", "1"),
            ("_cognito_sidecar_1", "b"),
            ("_cognito_sidecar_0", "a"),
            ("_cognito_sidecar_3", "stale"),
        ]);
        assert_eq!(joined(&cookies, NAME).as_deref(), Some("ab"));
    }

    #[test]
    fn odd_names_are_ignored() {
        let cookies = owned(&[
            ("_cognito_sidecar_0", "a"),
            ("_cognito_sidecar_-1", "evil"),
            ("_cognito_sidecar_01", "evil"),
            ("_cognito_sidecar_+1", "evil"),
            ("_cognito_sidecar_4", "evil"),
            ("_cognito_sidecar_99999999999999999999", "evil"),
            ("_cognito_sidecar_1x", "evil"),
            ("_cognito_sidecar_", "evil"),
            ("_cognito_sidecar_csrf_abc", "evil"),
            ("_COGNITO_SIDECAR", "evil"),
            ("_cognito_sidecarX", "evil"),
        ]);
        assert_eq!(joined(&cookies, NAME).as_deref(), Some("a"));
    }

    #[test]
    fn ambiguity_means_no_session() {
        for cookies in [
            owned(&[(NAME, "a"), (NAME, "b")]),
            owned(&[(NAME, "a"), ("_cognito_sidecar_0", "b")]),
            owned(&[("_cognito_sidecar_0", "a"), ("_cognito_sidecar_0", "b")]),
            owned(&[
                ("_cognito_sidecar_0", "a"),
                ("_cognito_sidecar_1", "b"),
                ("_cognito_sidecar_1", "c"),
            ]),
            owned(&[("_cognito_sidecar_1", "a")]),
            owned(&[(NAME, "")]),
            owned(&[("_cognito_sidecar_0", ""), ("_cognito_sidecar_1", "b")]),
            owned(&[]),
        ] {
            assert_eq!(joined(&cookies, NAME), None, "{cookies:?}");
        }
    }

    #[test]
    fn stale_duplicates_after_the_gap_do_not_matter() {
        let cookies = owned(&[
            ("_cognito_sidecar_0", "a"),
            ("_cognito_sidecar_2", "x"),
            ("_cognito_sidecar_2", "y"),
        ]);
        assert_eq!(joined(&cookies, NAME).as_deref(), Some("a"));
    }

    #[test]
    fn oversized_pieces_are_refused() {
        let big = "q".repeat(MAX_CHUNK_LEN + 1);
        assert_eq!(joined(&owned(&[("_cognito_sidecar_0", &big)]), NAME), None);
        let huge = "q".repeat(MAX_CHUNKS * MAX_CHUNK_LEN + 1);
        assert_eq!(joined(&owned(&[(NAME, &huge)]), NAME), None);
    }

    #[test]
    fn multibyte_values_split_on_char_boundaries() {
        let sealed = "é".repeat(5000);
        let chunks = split(NAME, &sealed);
        assert!(chunks.len() > 1);
        assert_eq!(joined(&chunks, NAME), Some(sealed));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn split_join_round_trips(len in 1usize..=MAX_CHUNKS * MAX_CHUNK_LEN, c in "[A-Za-z0-9_.-]") {
            let sealed = c.repeat(len);
            let chunks = split(NAME, &sealed);
            prop_assert!(chunks.len() <= MAX_CHUNKS);
            prop_assert_eq!(joined(&chunks, NAME), Some(sealed));
        }

        #[test]
        fn join_never_panics(
            cookies in proptest::collection::vec(
                (
                    prop_oneof![
                        Just(NAME.to_string()),
                        "_cognito_sidecar_[0-9]{1,25}",
                        "_cognito_sidecar_-?[0-9a-z]{0,4}",
                        ".{0,10}",
                    ],
                    ".{0,40}",
                ),
                0..24,
            )
        ) {
            if let Some(joined) = joined(&cookies, NAME) {
                prop_assert!(joined.len() <= MAX_CHUNKS * MAX_CHUNK_LEN);
            }
        }
    }
}
