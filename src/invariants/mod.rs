//! The security invariants of every parser that sees network or file input, written
//! once as checks and driven from two places: the libFuzzer targets under `fuzz/`
//! (unbounded, coverage-guided) and the proptest properties in [`tests`] (bounded, run
//! by `cargo test` in CI). Each check takes already-typed input, runs the production
//! function, and reports a [`Violation`] when an output breaks a promise the module
//! documents — not only when it panics (peers.md §4 lists the attack classes).
//!
//! Nothing here runs on the request path.

pub mod config;
pub mod cookies;
pub mod forwarded;
pub mod headers;
pub mod path;
pub mod redirect;
pub mod seal;
pub mod tokens;
pub mod upstream;

#[cfg(test)]
mod tests;

/// A broken invariant: an internal error (a bug in the sidecar), never the input's
/// fault. The message names the property; fix the function it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invariant broken in {area}: {broken}")]
pub struct Violation {
    /// The function or module whose promise was broken.
    pub area: &'static str,
    /// What was observed.
    pub broken: String,
}

/// `Ok` when `holds`, else a [`Violation`] with the lazily built description.
pub(crate) fn ensure(
    holds: bool,
    area: &'static str,
    broken: impl FnOnce() -> String,
) -> Result<(), Violation> {
    if holds {
        Ok(())
    } else {
        Err(Violation {
            area,
            broken: broken(),
        })
    }
}
