//! Regression tests for problems found by the `config` fuzz target and the
//! `invariants::config` properties: secret values must never be quoted in a problem.

use super::*;

const EXAMPLE: &str = include_str!("../../../config.yaml");

fn problems(yaml: &str, env: &[(&str, &str)]) -> Vec<String> {
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    match load_from_str(yaml, env) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0,
    }
}

#[test]
fn the_example_config_loads() {
    assert_eq!(problems(EXAMPLE, &[]), Vec::<String>::new());
}

#[test]
fn a_malformed_secret_list_from_the_environment_is_not_echoed() {
    // Found by proptest: serde-saphyr's error quotes the input line.
    let secret = "{: a:  aa:a}";
    let found = problems(EXAMPLE, &[("COGNITO_SIDECAR_SESSION__SECRET", secret)]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("COGNITO_SIDECAR_SESSION__SECRET: not a valid YAML"));
    assert!(!found[0].contains("aa:a"), "{found:?}");
}

#[test]
fn a_secret_of_the_wrong_type_is_not_echoed() {
    // Found by proptest: `session.secrets` given one string quoted it back.
    let secret = "A0+aa0=+aa=a";
    for env in [
        ("COGNITO_SIDECAR_SESSION__SECRETS", secret),
        ("COGNITO_SIDECAR_SESSION__SECRETS", "[A0+aa0=+aa=a, [x]]"),
    ] {
        let found = problems(EXAMPLE, &[env]);
        assert!(!found.is_empty());
        assert!(found.iter().all(|p| !p.contains(secret)), "{found:?}");
        assert!(
            found
                .iter()
                .any(|p| p.contains("session.secrets") && p.contains("not shown: it is a secret")),
            "{found:?}"
        );
    }
}

#[test]
fn non_secret_values_are_still_quoted() {
    let found = problems(
        EXAMPLE,
        &[("COGNITO_SIDECAR_ACCESS__PUBLIC_PATHS", "{: a:  bb:b}")],
    );
    assert!(found.iter().any(|p| p.contains("bb:b")), "{found:?}");
    let found = problems(
        EXAMPLE,
        &[("COGNITO_SIDECAR_COGNITO__SCOPES", "openid-only")],
    );
    assert!(found.iter().any(|p| p.contains("openid-only")), "{found:?}");
}
