//! The fields the sidecar adds to a request it forwards: `X-Forwarded-For`, `-Proto`,
//! `-Host` (SPEC §5.6), `X-Request-Id` (SPEC §8) and the identity headers (SPEC §6).
//!
//! They are decided once, here, and kept beside the request's own `HeaderMap` instead
//! of being inserted into it: the upstream client that writes the request head itself
//! ([`crate::proxy`]'s inline exchange) writes them after the client's fields, leaving
//! out the client's copies they replace. Eight map inserts were ~2 000 instructions of a
//! ~36 000-instruction cookie-session request; writing the same bytes is a tenth of
//! that. The other client (hyper's, for requests with a body) gets them through
//! [`Added::apply`], the same inserts as before. Both say the same thing by
//! construction: each walks [`Added::for_each`].

use http::header::{HeaderName, HeaderValue, AUTHORIZATION, COOKIE};
use http::HeaderMap;

use super::identity::IdentityHeaders;
use super::{Forwarding, X_FORWARDED_FOR, X_FORWARDED_HOST, X_FORWARDED_PROTO, X_REQUEST_ID};
use crate::config::HeadersConfig;

/// What becomes of one `X-Forwarded-*` field.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Field {
    /// The client's own value stays (a trusted proxy's `-Proto`/`-Host`).
    Keep,
    /// The client's value, if any, is replaced by this one.
    Set(HeaderValue),
    /// The client's value, if any, is dropped and none is sent.
    Remove,
}

/// The fields added to one forwarded request.
#[derive(Debug, Clone)]
pub struct Added<'a> {
    forwarded_for: Field,
    forwarded_proto: Field,
    forwarded_host: Field,
    request_id: Option<&'a HeaderValue>,
    identity: Option<(&'a HeadersConfig, &'a IdentityHeaders)>,
    /// The client fields not sent upstream.
    left_out: LeftOut,
}

/// Client fields left out of a forwarded request: left out while the head is written,
/// which costs nothing, where removing them from the map was a hash and a probe on every
/// request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeftOut {
    /// The client's `Cookie` field: for a request whose only cookie is the sidecar's
    /// session (SPEC §5.5: the sidecar's cookies never reach the upstream).
    pub cookie: bool,
    /// The client's `Authorization` field: the bearer token the sidecar consumed as the
    /// caller's credential, or any copy when `headers.authorization` makes the field one
    /// the sidecar sets (SPEC §5.1, §6). An identity header that forwards a token still
    /// adds its own.
    pub authorization: bool,
}

impl<'a> Added<'a> {
    /// `X-Forwarded-For` (the client's chain, when there is one, plus the peer),
    /// `X-Forwarded-Proto` and `X-Forwarded-Host` for a request with `headers` from the
    /// connection `fwd` describes. A trusted proxy's own `-Proto`/`-Host` are kept (TLS
    /// ended at the ingress); from anyone else they are replaced by what this connection
    /// shows.
    pub fn forwarding(headers: &HeaderMap, fwd: &Forwarding<'_>) -> Self {
        let forwarded_for = match super::forwarded_for(headers, fwd.peer) {
            Some(value) => Field::Set(value),
            // Not representable as a field value: the client's chain is left as it was.
            None => Field::Keep,
        };
        let keep = |name: &HeaderName| {
            fwd.trusted_peer && headers.get(name).is_some_and(|v| !v.is_empty())
        };
        let forwarded_proto = if keep(&X_FORWARDED_PROTO) {
            Field::Keep
        } else {
            Field::Set(HeaderValue::from_static(fwd.proto))
        };
        let forwarded_host = match (keep(&X_FORWARDED_HOST), fwd.host) {
            (true, _) => Field::Keep,
            (false, Some(host)) => Field::Set(host.clone()),
            (false, None) => Field::Remove,
        };
        Self {
            forwarded_for,
            forwarded_proto,
            forwarded_host,
            request_id: None,
            identity: None,
            left_out: LeftOut::default(),
        }
    }

    /// Also `X-Request-Id: id`, in place of the client's.
    pub fn request_id(mut self, id: &'a HeaderValue) -> Self {
        self.request_id = Some(id);
        self
    }

    /// Also the identity headers `config` enables, with `values`.
    pub fn identity(mut self, config: &'a HeadersConfig, values: &'a IdentityHeaders) -> Self {
        self.identity = Some((config, values));
        self
    }

    /// Also leaves out the client fields `left_out` names.
    pub fn leaving_out(mut self, left_out: LeftOut) -> Self {
        self.left_out = left_out;
        self
    }

    /// Calls `f` with every field to add, in a fixed order.
    pub fn for_each(&self, mut f: impl FnMut(&HeaderName, &HeaderValue)) {
        self.for_each_forwarding(&mut f);
        if let Some((config, values)) = self.identity {
            values.for_each_enabled(config, f);
        }
    }

    /// The fields other than the identity headers, in [`Self::for_each`]'s order.
    fn for_each_forwarding(&self, mut f: impl FnMut(&HeaderName, &HeaderValue)) {
        let forwarded = [
            (&X_FORWARDED_FOR, &self.forwarded_for),
            (&X_FORWARDED_PROTO, &self.forwarded_proto),
            (&X_FORWARDED_HOST, &self.forwarded_host),
        ];
        for (name, field) in forwarded {
            if let Field::Set(value) = field {
                f(name, value);
            }
        }
        if let Some(id) = self.request_id {
            f(&X_REQUEST_ID, id);
        }
    }

    /// Writes what [`Self::for_each`] yields as HTTP/1 field lines, the same bytes in
    /// the same order.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.for_each_forwarding(|name, value| super::encode_field(name, value, out));
        if let Some((config, values)) = self.identity {
            values.encode_enabled(config, out);
        }
    }

    /// Whether the client's own `name` field is left out: one of ours replaces it, or
    /// it is removed outright.
    pub fn replaces(&self, name: &HeaderName) -> bool {
        // Nearly every field a client sends is ruled out by its length alone; the test
        // `every_added_name_passes_the_length_filter` keeps this list honest.
        let len = name.as_str().len();
        if len == COOKIE.as_str().len() {
            return self.left_out.cookie && name == COOKIE;
        }
        // A bearer client's own `Authorization` is on every API call; it is replaced
        // only when an identity header forwards a token in its place.
        if len == AUTHORIZATION.as_str().len() {
            return name == AUTHORIZATION
                && (self.left_out.authorization
                    || self
                        .identity
                        .is_some_and(|(config, values)| values.authorization(config).is_some()));
        }
        if !matches!(len, 12 | 13 | 15..=18 | 24) {
            return false;
        }
        if name == X_FORWARDED_HOST && self.forwarded_host == Field::Remove {
            return true;
        }
        let mut found = false;
        self.for_each(|added, _| found |= added == name);
        found
    }

    /// Puts the fields into `headers`, replacing the client's copies: for a request
    /// whose head someone else writes.
    pub fn apply(&self, headers: &mut HeaderMap) {
        if self.left_out.cookie {
            headers.remove(COOKIE);
        }
        if self.left_out.authorization {
            headers.remove(AUTHORIZATION);
        }
        if self.forwarded_host == Field::Remove {
            headers.remove(X_FORWARDED_HOST);
        }
        self.for_each(|name, value| {
            headers.insert(name.clone(), value.clone());
        });
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::super::identity::tests::{alice as identity, all_on};
    use super::*;
    use crate::config::AuthorizationHeader;
    use crate::identity::Identity;

    fn fwd(host: Option<&HeaderValue>, trusted_peer: bool) -> Forwarding<'_> {
        Forwarding {
            peer: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)),
            proto: "https",
            host,
            trusted_peer,
        }
    }

    #[test]
    fn every_added_name_passes_the_length_filter() {
        let values = IdentityHeaders::new(&identity(), Some("at"), Some("it"));
        let host = HeaderValue::from_static("app.example.com");
        let id = HeaderValue::from_static("req-1");
        let config = all_on();
        let added = Added::forwarding(&HeaderMap::new(), &fwd(Some(&host), false))
            .request_id(&id)
            .identity(&config, &values);
        let mut names = Vec::new();
        added.for_each(|name, _| names.push(name.clone()));
        let id_config = HeadersConfig {
            authorization: AuthorizationHeader::Id,
            ..all_on()
        };
        Added::forwarding(&HeaderMap::new(), &fwd(None, false))
            .identity(&id_config, &values)
            .for_each(|name, _| names.push(name.clone()));
        assert!(names.len() >= 10, "{names:?}");
        for name in &names {
            assert!(added.replaces(name), "{name}");
        }
    }

    /// The upstream client writes `encode`'s bytes; hyper's gets `for_each`'s fields.
    /// Every combination of enabled headers and of present values writes the same.
    #[test]
    fn encode_writes_exactly_what_for_each_yields() {
        let host = HeaderValue::from_static("app.example.com");
        let id = HeaderValue::from_static("req-1");
        let bare = Identity {
            email: None,
            groups: vec![],
            ..identity()
        };
        let all = [
            IdentityHeaders::new(&identity(), Some("at"), Some("it")),
            IdentityHeaders::new(&bare, None, None),
        ];
        for values in &all {
            for mask in 0..64u8 {
                for authorization in [
                    AuthorizationHeader::None,
                    AuthorizationHeader::Access,
                    AuthorizationHeader::Id,
                ] {
                    let on = |bit: u8| mask & (1 << bit) != 0;
                    let config = HeadersConfig {
                        user: on(0),
                        email: on(1),
                        groups: on(2),
                        sub: on(3),
                        access_token: on(4),
                        authorization,
                        ..all_on()
                    };
                    let added = Added::forwarding(&HeaderMap::new(), &fwd(Some(&host), on(5)))
                        .request_id(&id)
                        .identity(&config, values);
                    let mut expected = Vec::new();
                    added.for_each(|name, value| {
                        super::super::encode_field(name, value, &mut expected)
                    });
                    let mut written = Vec::new();
                    added.encode(&mut written);
                    assert_eq!(
                        String::from_utf8_lossy(&written),
                        String::from_utf8_lossy(&expected),
                        "mask {mask:#b}, {authorization:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_client_authorization_is_replaced_only_by_a_forwarded_token() {
        let bearer = HeaderValue::from_static("Bearer client");
        let mut client = HeaderMap::new();
        client.insert(AUTHORIZATION, bearer.clone());
        let with_token = IdentityHeaders::new(&identity(), Some("at"), None);
        let without_token = IdentityHeaders::new(&identity(), None, None);
        let access = all_on();
        let none = HeadersConfig {
            authorization: AuthorizationHeader::None,
            ..all_on()
        };
        let id = HeadersConfig {
            authorization: AuthorizationHeader::Id,
            ..all_on()
        };
        for (config, values, replaced) in [
            (&access, &with_token, true),
            (&access, &without_token, false),
            (&none, &with_token, false),
            (&id, &with_token, false),
        ] {
            let added = Added::forwarding(&client, &fwd(None, false)).identity(config, values);
            assert_eq!(added.replaces(&AUTHORIZATION), replaced, "{config:?}");
            let mut applied = client.clone();
            added.apply(&mut applied);
            assert_eq!(applied.get(AUTHORIZATION) == Some(&bearer), !replaced);
        }
        let plain = Added::forwarding(&client, &fwd(None, false));
        assert!(!plain.replaces(&AUTHORIZATION));
        // Left out: the client's copy never passes; a forwarded token still does.
        for (config, values, ours) in [
            (&none, &with_token, None),
            (&access, &without_token, None),
            (&access, &with_token, Some("Bearer at")),
        ] {
            let added = Added::forwarding(&client, &fwd(None, false))
                .identity(config, values)
                .leaving_out(LeftOut {
                    authorization: true,
                    ..LeftOut::default()
                });
            assert!(added.replaces(&AUTHORIZATION));
            let mut applied = client.clone();
            added.apply(&mut applied);
            let sent: Vec<_> = applied.get_all(AUTHORIZATION).iter().collect();
            assert_eq!(sent, ours.iter().collect::<Vec<_>>(), "{config:?}");
            let mut written = Vec::new();
            added.encode(&mut written);
            let written = String::from_utf8(written).unwrap();
            assert!(!written.contains("Bearer client"));
            assert_eq!(written.contains("authorization: Bearer at"), ours.is_some());
        }
    }

    #[test]
    fn apply_and_for_each_agree_and_the_replaced_client_fields_are_gone() {
        let values = IdentityHeaders::new(&identity(), Some("at"), None);
        let config = all_on();
        let id = HeaderValue::from_static("req-1");
        for (host, trusted) in [
            (Some(HeaderValue::from_static("app.example.com")), false),
            (None, false),
            (None, true),
            (Some(HeaderValue::from_static("app.example.com")), true),
        ] {
            let mut client = HeaderMap::new();
            client.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
            client.insert("x-forwarded-proto", HeaderValue::from_static("gopher"));
            client.insert("x-forwarded-host", HeaderValue::from_static("evil.example"));
            client.insert("x-request-id", HeaderValue::from_static("client-id"));
            client.insert("authorization", HeaderValue::from_static("Bearer client"));
            client.insert("accept", HeaderValue::from_static("*/*"));
            let added = Added::forwarding(&client, &fwd(host.as_ref(), trusted))
                .request_id(&id)
                .identity(&config, &values);

            // What the inline exchange writes: the client's fields not replaced, then ours.
            let mut written: Vec<(String, String)> = client
                .iter()
                .filter(|(name, _)| !added.replaces(name))
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
                .collect();
            added.for_each(|n, v| written.push((n.to_string(), v.to_str().unwrap().to_string())));
            // What hyper's client writes.
            let mut applied = client.clone();
            added.apply(&mut applied);
            let mut via_map: Vec<(String, String)> = applied
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_string()))
                .collect();
            written.sort();
            via_map.sort();
            assert_eq!(written, via_map, "host {host:?}, trusted {trusted}");

            let get = |name: &str| {
                via_map
                    .iter()
                    .filter(|(n, _)| n == name)
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
            };
            assert_eq!(get("x-forwarded-for"), ["1.2.3.4, 10.0.0.9"]);
            assert_eq!(get("x-request-id"), ["req-1"]);
            assert_eq!(get("authorization"), ["Bearer at"]);
            assert_eq!(get("x-forwarded-user"), ["alice"]);
            assert_eq!(get("accept"), ["*/*"]);
            let proto = get("x-forwarded-proto");
            let fhost = get("x-forwarded-host");
            if trusted {
                assert_eq!((proto, fhost), (vec!["gopher"], vec!["evil.example"]));
            } else {
                assert_eq!(proto, ["https"]);
                let want: Vec<&str> = host.iter().map(|h| h.to_str().unwrap()).collect();
                assert_eq!(fhost, want);
            }
        }
    }

    #[test]
    fn without_cookie_leaves_the_cookie_out_on_both_routes() {
        let mut client = HeaderMap::new();
        client.insert(
            "cookie",
            HeaderValue::from_static("_cognito_session=sealed"),
        );
        client.insert("accept", HeaderValue::from_static("*/*"));
        for without in [false, true] {
            let added = Added::forwarding(&client, &fwd(None, false)).leaving_out(LeftOut {
                cookie: without,
                ..LeftOut::default()
            });
            let written: Vec<&str> = client
                .keys()
                .filter(|name| !added.replaces(name))
                .map(|name| name.as_str())
                .collect();
            let mut applied = client.clone();
            added.apply(&mut applied);
            assert_eq!(written.contains(&"cookie"), !without, "{written:?}");
            assert_eq!(applied.contains_key("cookie"), !without);
            assert!(written.contains(&"accept") && applied.contains_key("accept"));
        }
    }
}
