//! The sidecar's own endpoints under `proxy_prefix` (SPEC §4), one file per group.

pub mod forward_auth;
pub mod info;
pub mod signin;
pub mod signout;

/// The query parameters of a request. `None` when a parameter appears twice: duplicated
/// security parameters (`code`, `state`) are an attack, not a preference (peers.md §4).
pub fn query_params(query: Option<&str>) -> Option<Vec<(String, String)>> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if out.iter().any(|(seen, _)| *seen == k) {
            return None;
        }
        if out.len() >= 32 {
            return None;
        }
        out.push((k.into_owned(), v.into_owned()));
    }
    Some(out)
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicated_parameters_are_refused() {
        assert!(query_params(Some("code=a&state=b&code=c")).is_none());
        let ok = query_params(Some("code=a&state=b%20c")).unwrap();
        assert_eq!(param(&ok, "state"), Some("b c"));
        assert_eq!(query_params(None).unwrap().len(), 0);
    }
}
