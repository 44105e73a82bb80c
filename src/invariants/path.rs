//! Request path canonicalisation and rule globs (SPEC §7 "Path patterns"; peers.md §4
//! "Path-matching differentials").

use super::{ensure, Violation};
use crate::path::{canonicalize, glob_match};

/// Inputs longer than this (in characters) skip the reference comparison, whose cost is
/// pattern × text.
const REFERENCE_MAX_CHARS: usize = 256;

/// A canonical path starts with one `/`, has no empty or dot segments, no backslash,
/// control character, space or non-ASCII byte, is a fixed point, and matches itself and
/// `*` as a glob.
pub fn check_canonical(raw: &str) -> Result<(), Violation> {
    const AREA: &str = "path::canonicalize";
    let Ok(canonical) = canonicalize(raw) else {
        return Ok(());
    };
    let c = canonical.as_str();
    ensure(
        c.starts_with('/')
            && !c.contains("//")
            && !c.contains("/./")
            && !c.contains("/../")
            && !c.ends_with("/.")
            && !c.ends_with("/..")
            && c.bytes().all(|b| b.is_ascii_graphic() && b != b'\\'),
        AREA,
        || format!("{raw:?} canonicalised to {c:?}"),
    )?;
    let again = canonicalize(c);
    ensure(again.as_deref() == Ok(c), AREA, || {
        format!("not a fixed point: {raw:?} -> {c:?} -> {again:?}")
    })?;
    ensure(
        glob_match(c, c) && glob_match("*", c),
        "path::glob_match",
        || format!("{c:?} does not match itself or `*`"),
    )
}

/// `glob_match` agrees with a straightforward dynamic-programming matcher.
pub fn check_glob(pattern: &str, text: &str) -> Result<(), Violation> {
    let matched = glob_match(pattern, text);
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    if pattern.len() > REFERENCE_MAX_CHARS || text.len() > REFERENCE_MAX_CHARS {
        return Ok(());
    }
    let expected = reference_glob(&pattern, &text);
    ensure(matched == expected, "path::glob_match", || {
        format!("glob_match gave {matched}, the reference {expected}")
    })
}

/// `table[i][j]`: the first `i` pattern characters match the first `j` text characters.
fn reference_glob(pattern: &[char], text: &[char]) -> bool {
    let mut row = vec![false; text.len() + 1];
    row[0] = true;
    for &p in pattern {
        let mut next = vec![false; text.len() + 1];
        if p == '*' {
            let mut any = false;
            for (j, slot) in next.iter_mut().enumerate() {
                any |= row[j];
                *slot = any;
            }
        } else {
            for (j, &t) in text.iter().enumerate() {
                next[j + 1] = row[j] && (p == '?' || p == t);
            }
        }
        row = next;
    }
    row[text.len()]
}
