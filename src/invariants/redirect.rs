//! The post-sign-in target (SPEC §7; peers.md §4 "Open redirects"): whatever `rd` is,
//! the browser ends up on the public origin or an allowed host.

use http::HeaderValue;
use url::Url;

use super::{ensure, Violation};
use crate::redirect::{is_safe, safe_redirect, MAX_REDIRECT_LEN};

const AREA: &str = "redirect::safe_redirect";

/// The output of `safe_redirect` is `/`, a single-slash local path, or an absolute
/// http(s) URL without userinfo; it is a valid `Location` value; resolved against
/// `public_url` as a browser would (WHATWG URL), it lands on `public_url`'s origin or an
/// allowed host; and it is itself accepted unchanged.
pub fn check_redirect(rd: &str, public_url: &Url, allowed: &[String]) -> Result<(), Violation> {
    let target = safe_redirect(rd, public_url, allowed);
    if target == "/" {
        return Ok(());
    }
    ensure(
        target.len() <= MAX_REDIRECT_LEN
            && HeaderValue::from_str(&target).is_ok()
            && !target
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\' || !c.is_ascii()),
        AREA,
        || format!("{rd:?} gave an unclean target {target:?}"),
    )?;
    let resolved = public_url.join(&target).map_err(|e| Violation {
        area: AREA,
        broken: format!("{rd:?} gave {target:?}, which does not resolve: {e}"),
    })?;
    if target.starts_with('/') {
        ensure(
            !target.starts_with("//") && resolved.origin() == public_url.origin(),
            AREA,
            || format!("{rd:?} gave {target:?}, which leaves the site"),
        )?;
    } else {
        let host = resolved.host_str().unwrap_or_default().to_ascii_lowercase();
        let port = resolved.port_or_known_default();
        let with_port = port.map(|p| format!("{host}:{p}"));
        let allowed_host = allowed.iter().any(|entry| {
            let entry = entry.trim().to_ascii_lowercase();
            entry == host || Some(&entry) == with_port.as_ref()
        });
        ensure(
            matches!(resolved.scheme(), "http" | "https")
                && resolved.username().is_empty()
                && resolved.password().is_none()
                && (resolved.origin() == public_url.origin() || allowed_host),
            AREA,
            || format!("{rd:?} gave {target:?}, which is not an allowed origin"),
        )?;
    }
    ensure(
        is_safe(&target, public_url, allowed)
            && safe_redirect(&target, public_url, allowed) == target,
        AREA,
        || format!("{rd:?} gave {target:?}, which is not accepted unchanged"),
    )
}
