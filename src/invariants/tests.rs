//! The invariants as bounded proptest properties, run by `cargo test` in CI; the
//! fuzz targets under `fuzz/` drive the same checks without bounds.

use std::net::IpAddr;

use proptest::prelude::*;
use serde_json::{json, Value};
use url::Url;

use super::*;

const BASE: &str = "_cognito_sidecar";
const SIDECAR_CONFIG: &str = include_str!("../../config.yaml");
const EMULATOR_CONFIG: &str = include_str!("../../deploy/emulator.yaml");

fn holds(result: Result<(), Violation>) -> Result<(), TestCaseError> {
    result.map_err(|v| TestCaseError::fail(v.to_string()))
}

/// Cookie-header-like text: our names, odd chunk indexes, separators and junk.
fn cookie_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(BASE.to_owned()),
        "_cognito_sidecar_[0-9]{1,3}",
        "_cognito_sidecar_-?[0-9a-z]{0,4}",
        "_cognito_sidecar_csrf_[A-Za-z0-9]{0,12}",
        Just("=".to_owned()),
        Just("; ".to_owned()),
        Just(";".to_owned()),
        "[ \t]{1,2}",
        "[A-Za-z0-9._-]{0,12}",
        "[^;]{0,6}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|p| p.concat())
}

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9 ]{0,8}".prop_map(Value::from),
        Just(json!("RS256")),
        Just(json!("id")),
        Just(json!("access")),
        Just(json!(ISSUER)),
        Just(json!(CLIENT)),
        Just(json!([CLIENT])),
        Just(json!({})),
    ]
}

const ISSUER: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E";
const CLIENT: &str = "client-a";
const NOW: u64 = 1_700_000_000;

/// A JSON object over the header and claim names the sidecar reads.
fn claim_object() -> impl Strategy<Value = Value> {
    let names = prop_oneof![
        Just("alg"),
        Just("kid"),
        Just("crit"),
        Just("iss"),
        Just("sub"),
        Just("exp"),
        Just("nbf"),
        Just("aud"),
        Just("token_use"),
        Just("client_id"),
        Just("nonce"),
        Just("cognito:groups"),
        Just("email_verified"),
        Just("scope"),
    ];
    let time = prop_oneof![(NOW - 100..NOW + 100).prop_map(Value::from), json_scalar()];
    proptest::collection::vec((names, prop_oneof![json_scalar(), time]), 0..12).prop_map(|fields| {
        Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    })
}

fn expectations() -> tokens::Expectations {
    tokens::Expectations {
        issuer: ISSUER.to_owned(),
        client_id: CLIENT.to_owned(),
        nonce: Some("n0nce".to_owned()),
        bearer_client_ids: vec![CLIENT.to_owned(), "client-b".to_owned()],
        leeway_secs: 30,
        now: NOW,
    }
}

fn redirect_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-z0-9]{1,4}",
        Just("/".to_owned()),
        Just("\\".to_owned()),
        Just("//".to_owned()),
        Just("https://".to_owned()),
        Just("http:".to_owned()),
        Just("@".to_owned()),
        Just(".".to_owned()),
        Just(":".to_owned()),
        Just("%2f".to_owned()),
        Just("%252F".to_owned()),
        Just("%5c".to_owned()),
        Just("?".to_owned()),
        Just("#".to_owned()),
        Just(";".to_owned()),
        Just("app.example.com".to_owned()),
        Just("example.com".to_owned()),
        Just("[::1]:9000".to_owned()),
        "[\\PC]",
    ];
    proptest::collection::vec(piece, 1..12).prop_map(|p| p.concat())
}

/// Well-formed chunked bodies (extensions, trailers, bytes after the end), the same
/// with one byte changed, response heads, and noise.
fn upstream_bytes() -> impl Strategy<Value = Vec<u8>> {
    let chunked = (
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..40), 0..5),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(|(chunks, extension, trailer, after)| {
            let mut wire = Vec::new();
            for chunk in chunks {
                wire.extend_from_slice(format!("{:x}", chunk.len()).as_bytes());
                if extension {
                    wire.extend_from_slice(b";a=b");
                }
                wire.extend_from_slice(b"\r\n");
                wire.extend_from_slice(&chunk);
                wire.extend_from_slice(b"\r\n");
            }
            wire.extend_from_slice(b"0\r\n");
            if trailer {
                wire.extend_from_slice(b"x-sum: 1\r\n");
            }
            wire.extend_from_slice(b"\r\n");
            wire.extend_from_slice(&after);
            wire
        });
    let mutated =
        (chunked.clone(), any::<usize>(), any::<u8>()).prop_map(|(mut wire, at, byte)| {
            let at = at % wire.len();
            wire[at] = byte;
            wire
        });
    let head = "HTTP/1\\.[01] [1-5][0-9]{2} [A-Za-z ]{0,8}\r\n([A-Za-z-]{1,12}: [ -~]{0,12}\r\n){0,4}\r\n[ -~]{0,8}"
        .prop_map(String::into_bytes);
    prop_oneof![
        chunked,
        mutated,
        head,
        proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

fn forwarded_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<IpAddr>().prop_map(|ip| ip.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|ip| format!("[{ip}]:443")),
        Just(", ".to_owned()),
        Just(",".to_owned()),
        Just(" ".to_owned()),
        "[0-9a-f:.\\[\\]%]{0,8}",
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("connection".to_owned()),
        Just("upgrade".to_owned()),
        Just("keep-alive".to_owned()),
        Just("te".to_owned()),
        Just("X_Forwarded_User".to_owned()),
        Just("x-amzn-oidc-data".to_owned()),
        Just("X-AUTH-REQUEST-EMAIL".to_owned()),
        "[a-zA-Z_-]{1,20}",
    ]
}

/// The example config with some lines dropped, replaced or appended.
fn yaml_variant(base: &'static str) -> impl Strategy<Value = String> {
    let edit = (any::<prop::sample::Index>(), 0u8..3, "[ -~]{0,24}");
    proptest::collection::vec(edit, 0..4).prop_map(move |edits| {
        let mut lines: Vec<String> = base.lines().map(str::to_owned).collect();
        for (at, kind, text) in edits {
            let i = at.index(lines.len().max(1));
            match kind {
                0 if i < lines.len() => {
                    lines.remove(i);
                }
                1 if i < lines.len() => {
                    let key = lines[i].split(':').next().unwrap_or_default().to_owned();
                    lines[i] = format!("{key}: {text}");
                }
                _ => lines.push(text),
            }
        }
        lines.join("\n")
    })
}

fn env_var() -> impl Strategy<Value = (String, String)> {
    let key = prop_oneof![
        Just("COGNITO_SIDECAR_SESSION__SECRET"),
        Just("COGNITO_SIDECAR_SESSION__SECRETS"),
        Just("COGNITO_SIDECAR_COGNITO__CLIENT_SECRET"),
        Just("COGNITO_SIDECAR_COGNITO__CLIENT_ID"),
        Just("COGNITO_SIDECAR_UPSTREAM"),
        Just("COGNITO_SIDECAR_LISTEN__X"),
        Just("COGNITO_SIDECAR___"),
    ];
    let value = prop_oneof![
        "[A-Za-z0-9+/=]{12,44}",
        "\\[[a-z, ]{0,12}\\]",
        "\\{[a-z: ]{0,12}\\}",
        "[ -~]{0,12}",
    ];
    (key.prop_map(str::to_owned), value)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn cookie_headers_parse_and_strip_cleanly(values in proptest::collection::vec(cookie_text(), 0..4)) {
        let bytes: Vec<&[u8]> = values.iter().map(String::as_bytes).collect();
        holds(cookies::check_cookie_headers(&bytes, BASE))?;
    }

    #[test]
    fn raw_cookie_bytes_parse_and_strip_cleanly(
        values in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..120), 0..4)
    ) {
        let bytes: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        holds(cookies::check_cookie_headers(&bytes, BASE))?;
    }

    #[test]
    fn split_then_join_round_trips(base in "[A-Za-z0-9_.-]{1,40}", len in 0usize..20_000, c in "[A-Za-z0-9_.-é]") {
        holds(cookies::check_split_join(&base, &c.repeat(len)))?;
    }

    #[test]
    fn sealed_values_round_trip_and_resist_tampering(
        name in "[A-Za-z0-9_.-]{0,24}",
        payload in proptest::collection::vec(any::<u8>(), 0..512),
        expires_at in any::<u64>(),
        now in any::<u64>(),
        at in any::<usize>(),
        byte in any::<u8>(),
    ) {
        let ring = seal::test_ring().map_err(|v| TestCaseError::fail(v.to_string()))?;
        holds(seal::check_round_trip(&ring, &name, &payload, expires_at, now, seal::Tamper { at, byte }))?;
        holds(seal::check_decode(&payload))?;
    }

    #[test]
    fn junk_never_opens(junk in prop_oneof![".{0,200}", "v1\\.[A-Za-z0-9_-]{40,160}"]) {
        let ring = seal::test_ring().map_err(|v| TestCaseError::fail(v.to_string()))?;
        holds(seal::check_open(&ring, BASE, &junk, 0))?;
    }

    #[test]
    fn session_json_decodes_consistently(value in claim_object(), s in "[a-z]{0,4}") {
        let mut object = value;
        if let Some(map) = object.as_object_mut() {
            map.insert(s, json!("x"));
            for key in ["s", "u", "c", "x", "n", "v", "r"] {
                map.entry(key).or_insert(json!(1));
            }
        }
        holds(seal::check_decode(object.to_string().as_bytes()))?;
    }

    #[test]
    fn token_parts_are_parsed_strictly(header in claim_object(), payload in claim_object(), raw in "[A-Za-z0-9_.=+/-]{0,40}") {
        let token = tokens::assemble(header.to_string().as_bytes(), payload.to_string().as_bytes());
        holds(tokens::check_compact(&token))?;
        holds(tokens::check_compact(&raw))?;
    }

    #[test]
    fn claims_pass_only_when_every_check_holds(claims in claim_object()) {
        holds(tokens::check_claims(claims.to_string().as_bytes(), &expectations()))?;
    }

    #[test]
    fn redirects_stay_on_allowed_origins(rd in redirect_text()) {
        let public = Url::parse("https://app.example.com").map_err(|e| TestCaseError::fail(e.to_string()))?;
        let allowed = vec!["Example.com".to_owned(), "[::1]:9000".to_owned()];
        holds(redirect::check_redirect(&rd, &public, &allowed))?;
    }

    #[test]
    fn canonical_paths_are_clean_fixed_points(raw in "/[a-zA-Z0-9./%;*?é -]{0,40}") {
        holds(path::check_canonical(&raw))?;
    }

    #[test]
    fn glob_agrees_with_the_reference(pattern in "[ab/*?é]{0,10}", text in "[ab/é]{0,12}") {
        holds(path::check_glob(&pattern, &text))?;
    }

    #[test]
    fn upstream_responses_are_read_the_same_however_they_arrive(
        bytes in upstream_bytes(),
        piece in 1usize..16,
    ) {
        holds(upstream::check_response(&bytes, piece))?;
    }

    #[test]
    fn forwarded_for_chains_are_kept_or_dropped_whole(raw in forwarded_text(), peer in any::<IpAddr>()) {
        holds(forwarded::check_forwarded_for(&raw, peer))?;
    }

    #[test]
    fn identity_and_hop_by_hop_headers_never_pass(
        pairs in proptest::collection::vec((header_name(), "[ -~]{0,30}"), 0..12),
        listed in proptest::collection::vec(header_name(), 0..4),
    ) {
        let mut raw: Vec<(&[u8], &[u8])> = pairs.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())).collect();
        let connection = listed.join(", ");
        raw.push((b"connection", connection.as_bytes()));
        holds(headers::check_headers(&headers::header_map(&raw)))?;
    }

    #[test]
    fn sidecar_config_loads_or_lists_problems_without_secrets(
        yaml in yaml_variant(SIDECAR_CONFIG),
        env in proptest::collection::vec(env_var(), 0..3),
    ) {
        holds(config::check_config(&yaml, &env))?;
    }

    #[test]
    fn arbitrary_text_is_not_a_config(yaml in "[ -~\n]{0,80}") {
        holds(config::check_config(&yaml, &[]))?;
        holds(config::check_emulator_config(&yaml))?;
    }

    #[test]
    fn emulator_config_loads_or_lists_problems(yaml in yaml_variant(EMULATOR_CONFIG)) {
        holds(config::check_emulator_config(&yaml))?;
    }
}

#[test]
fn a_secret_matching_the_loaders_own_words_is_not_a_leak() {
    // Found by the `config` fuzz target (smoke run): the fuzzer copied message text into
    // the secret, so it "appeared" in `public_url: missing required key`.
    let env = [(
        "COGNITO_SIDECAR_SESSION__SECRETS".to_owned(),
        "lic_url: missing required k".to_owned(),
    )];
    assert_eq!(config::check_config("", &env), Ok(()));
}

#[test]
fn disguises_change_every_letter_and_digit_only() {
    assert_eq!(config::disguised("aZ9+/=_x"), "qQ7+/=_q");
}

#[test]
fn a_disguise_planted_in_an_environment_name_is_not_a_leak() {
    // Found by the `config` fuzz target (full run, 168 s): the fuzzer wrote the disguise
    // of the secret into a variable name, which the loader echoes as an unknown key.
    let env = [
        (
            "COGNITO_SIDECAR_SESSIqqqqqq_qqq: qqqqqqq qON__SECRETS".to_owned(),
            "[x]".to_owned(),
        ),
        (
            "COGNITO_SIDECAR_SESSION__SECRETS".to_owned(),
            "public_url: missing r".to_owned(),
        ),
    ];
    assert_eq!(config::check_config("", &env), Ok(()));
}
