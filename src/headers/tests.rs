use super::*;
use crate::config::{AuthorizationHeader, HeadersConfig};
use proptest::prelude::*;

#[test]
fn identity_headers_match_any_case_and_underscores() {
    for name in [
        "x-forwarded-user",
        "X_FORWARDED_USER",
        "x_forwarded-email",
        "X-Amzn-Oidc-Data",
    ] {
        assert!(is_identity_header(name), "{name}");
    }
    for name in [
        "x-forwarded-users",
        "x-forwarded-for",
        "x-forwarded-proto",
        "user",
    ] {
        assert!(!is_identity_header(name), "{name}");
    }
}

#[test]
fn strip_identity_removes_every_spelling() {
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-user", HeaderValue::from_static("admin"));
    h.append("x_forwarded_groups", HeaderValue::from_static("admins"));
    h.insert("x-forwarded-for", HeaderValue::from_static("1.2.3.4"));
    strip_identity(&mut h);
    assert_eq!(h.len(), 1);
    assert!(h.contains_key("x-forwarded-for"));
}

#[test]
fn hop_by_hop_and_connection_listed_headers_go() {
    let mut h = HeaderMap::new();
    h.insert(
        "connection",
        HeaderValue::from_static("keep-alive, X-Secret, , upgrade"),
    );
    h.insert("x-secret", HeaderValue::from_static("1"));
    h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
    h.insert("te", HeaderValue::from_static("trailers"));
    h.insert("upgrade", HeaderValue::from_static("websocket"));
    h.insert("x-kept", HeaderValue::from_static("1"));
    let upgrade = remove_hop_by_hop(&mut h);
    assert_eq!(
        upgrade.as_ref().map(|v| v.as_bytes()),
        Some(&b"websocket"[..])
    );
    assert_eq!(h.len(), 1);
    assert!(h.contains_key("x-kept"));
}

#[test]
fn forwarding_headers_from_untrusted_peers_are_replaced() {
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    h.insert("x-forwarded-host", HeaderValue::from_static("evil.example"));
    h.insert("x-forwarded-for", HeaderValue::from_static("9.9.9.9"));
    let fwd = Forwarding {
        peer: "127.0.0.1".parse().unwrap(),
        proto: "http",
        host: Some(&HeaderValue::from_static("app.example.com")),
        trusted_peer: false,
    };
    set_forwarding(&mut h, &fwd);
    assert_eq!(h["x-forwarded-proto"], "http");
    assert_eq!(h["x-forwarded-host"], "app.example.com");
    assert_eq!(h["x-forwarded-for"], "9.9.9.9, 127.0.0.1");
}

#[test]
fn the_remembered_peer_value_always_matches_the_peer() {
    let forwarded = |peer: &str| {
        let mut h = HeaderMap::new();
        let fwd = Forwarding {
            peer: peer.parse().unwrap(),
            proto: "http",
            host: None,
            trusted_peer: false,
        };
        set_forwarding(&mut h, &fwd);
        h["x-forwarded-for"].clone()
    };
    for _ in 0..2 {
        assert_eq!(forwarded("10.1.2.3"), "10.1.2.3");
        assert_eq!(forwarded("10.1.2.3"), "10.1.2.3");
        assert_eq!(forwarded("::ffff:10.1.2.3"), "10.1.2.3");
        assert_eq!(forwarded("2001:db8::1"), "2001:db8::1");
        assert_eq!(forwarded("192.168.0.1"), "192.168.0.1");
    }
}

#[test]
fn trusted_peers_keep_proto_and_host() {
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
    h.insert(
        "x-forwarded-host",
        HeaderValue::from_static("app.example.com"),
    );
    let fwd = Forwarding {
        peer: "10.0.0.1".parse().unwrap(),
        proto: "http",
        host: Some(&HeaderValue::from_static("internal:4180")),
        trusted_peer: true,
    };
    set_forwarding(&mut h, &fwd);
    assert_eq!(h["x-forwarded-proto"], "https");
    assert_eq!(h["x-forwarded-host"], "app.example.com");
}

fn alice() -> crate::identity::Identity {
    crate::identity::Identity {
        sub: "5c3e".into(),
        user: "alice".into(),
        email: Some("alice@example.com".into()),
        groups: vec!["admins".into(), "staff".into()],
        expires_at: 0,
    }
}

#[test]
fn identity_headers_follow_the_config() {
    let mut h = HeaderMap::new();
    let values = IdentityHeaders::new(&alice(), Some("at"), Some("it"));
    inject_identity(&mut h, &HeadersConfig::default(), &values);
    assert_eq!(h["x-forwarded-user"], "alice");
    assert_eq!(h["x-forwarded-email"], "alice@example.com");
    assert_eq!(h["x-forwarded-groups"], "admins,staff");
    assert_eq!(h["x-forwarded-sub"], "5c3e");
    assert!(!h.contains_key("x-forwarded-access-token"));
    assert!(!h.contains_key("authorization"));

    let config = HeadersConfig {
        user: false,
        email: false,
        groups: false,
        sub: false,
        access_token: true,
        authorization: AuthorizationHeader::Id,
        alb: Default::default(),
    };
    let mut h = HeaderMap::new();
    inject_identity(&mut h, &config, &values);
    assert_eq!(h.len(), 2);
    assert_eq!(h["x-forwarded-access-token"], "at");
    assert_eq!(h["authorization"], "Bearer it");
}

proptest! {
    #[test]
    fn no_identity_header_survives(names in proptest::collection::vec("[a-zA-Z_-]{1,30}", 0..20), pick in proptest::collection::vec(0usize..19, 0..10)) {
        let mut h = HeaderMap::new();
        for n in &names {
            if let Ok(name) = HeaderName::from_bytes(n.as_bytes()) {
                h.append(name, HeaderValue::from_static("v"));
            }
        }
        for i in pick {
            let spoof = IDENTITY_HEADERS[i % IDENTITY_HEADERS.len()].replace('-', "_").to_uppercase();
            if let Ok(name) = HeaderName::from_bytes(spoof.as_bytes()) {
                h.append(name, HeaderValue::from_static("spoof"));
            }
        }
        strip_identity(&mut h);
        for name in h.keys() {
            prop_assert!(!is_identity_header(name.as_str()));
        }
    }

    #[test]
    fn no_hop_by_hop_header_survives(extra in proptest::collection::vec("[a-z-]{1,12}", 0..6)) {
        let mut h = HeaderMap::new();
        let listed = extra.join(", ");
        if let Ok(v) = HeaderValue::from_str(&listed) {
            h.insert(CONNECTION, v);
        }
        for n in extra.iter().map(String::as_str).chain(HOP_BY_HOP.iter().copied()) {
            if let Ok(name) = HeaderName::from_bytes(n.as_bytes()) {
                h.append(name, HeaderValue::from_static("1"));
            }
        }
        remove_hop_by_hop(&mut h);
        for n in extra.iter().map(String::as_str).chain(HOP_BY_HOP.iter().copied()) {
            prop_assert!(!h.contains_key(n));
        }
    }

    #[test]
    fn hop_by_hop_removal_keeps_everything_else(
        others in proptest::collection::btree_set("x-[a-z]{1,8}", 0..6),
        hops in proptest::collection::vec(any::<bool>(), HOP_BY_HOP.len()),
        named in proptest::collection::vec(any::<bool>(), 6),
        upper in any::<bool>(),
    ) {
        let mut h = HeaderMap::new();
        for name in &others {
            h.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_static("v"));
        }
        for (hop, _) in HOP_BY_HOP.iter().zip(&hops).filter(|(_, on)| **on) {
            h.append(HeaderName::from_static(hop), HeaderValue::from_static("v"));
        }
        let listed: Vec<&String> = others.iter().zip(&named).filter(|(_, on)| **on).map(|(n, _)| n).collect();
        let mut tokens: Vec<String> = listed.iter().map(|n| n.to_string()).collect();
        tokens.push(if upper { "Keep-Alive".into() } else { "keep-alive".into() });
        if hops[0] {
            h.insert(CONNECTION, HeaderValue::from_str(&tokens.join(", ")).unwrap());
        }
        remove_hop_by_hop(&mut h);
        for hop in HOP_BY_HOP {
            prop_assert!(!h.contains_key(*hop), "{}", hop);
        }
        for name in &others {
            let was_listed = hops[0] && listed.contains(&name);
            prop_assert_eq!(h.contains_key(name.as_str()), !was_listed, "{}", name);
        }
    }
}

proptest! {
    /// The length shortcut never misses a listed name, nor admits another.
    #[test]
    fn is_hop_by_hop_is_membership_of_the_list(
        name in "[a-z-]{1,20}",
        listed in 0..HOP_BY_HOP.len(),
        pick in any::<bool>(),
    ) {
        let text = if pick { HOP_BY_HOP[listed].to_string() } else { name };
        if let Ok(parsed) = HeaderName::from_bytes(text.as_bytes()) {
            prop_assert_eq!(is_hop_by_hop(&parsed), HOP_BY_HOP.contains(&text.as_str()), "{}", text);
        }
    }
}

#[test]
fn hop_by_hop_names_match_the_list() {
    let names: Vec<&str> = HOP_BY_HOP_NAMES.iter().map(HeaderName::as_str).collect();
    assert_eq!(names, HOP_BY_HOP);
}
