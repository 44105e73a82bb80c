//! Configuration from YAML and `COGNITO_SIDECAR_*` variables (SPEC §3), and the
//! emulator's YAML: any text loads or is refused with a list of problems, and secrets
//! given in it never appear in the loaded config's `Debug` or in a problem message.

use serde_json::Value;

use super::{ensure, Violation};
use crate::config::load_from_str;
use crate::emulator::config::{load_config_str, validate};

/// Secrets shorter than this are not looked for: short strings turn up in messages by
/// coincidence (`true`, a port number).
const MIN_SECRET_LEN: usize = 12;

/// `load_from_str` never panics; success means no problems, failure lists at least one;
/// neither the `Debug` of a loaded config nor any problem quotes a secret value
/// (`cognito.client_secret`, `session.secret`, `session.secrets`) given once in the input.
pub fn check_config(yaml: &str, env: &[(String, String)]) -> Result<(), Violation> {
    const AREA: &str = "config::load_from_str";
    let output = shown(yaml, env);
    ensure(!output.is_empty(), AREA, || {
        "refused with no problem listed".to_owned()
    })?;
    for secret in secrets_in(yaml, env) {
        if !output.iter().any(|s| s.contains(secret.as_str())) {
            continue;
        }
        // The secret may match text the loader writes anyway (a key name, a message).
        // It leaks only if the output follows the value: load again with the secret
        // disguised, and look for the disguise.
        let disguise = disguised(&secret);
        let yaml = yaml.replace(secret.as_str(), &disguise);
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.clone(), v.replace(secret.as_str(), &disguise)))
            .collect();
        // Ambiguous unless the disguise now sits in exactly one place, the secret's:
        // not already elsewhere in the input (an environment name, another value), and
        // not shared through a YAML alias, and not written with escapes elsewhere.
        if places_holding(&yaml, &env, &disguise) != 1
            || !secrets_in(&yaml, &env).contains(&disguise)
        {
            continue;
        }
        let again = shown(&yaml, &env);
        ensure(
            !again.iter().any(|s| s.contains(disguise.as_str())),
            AREA,
            || format!("a secret value appears in {again:?}"),
        )?;
    }
    Ok(())
}

/// How many keys, string values and environment entries contain `needle` (environment
/// names compared case-insensitively, as the loader lowercases them).
fn places_holding(yaml: &str, env: &[(String, String)], needle: &str) -> usize {
    fn count(value: &Value, needle: &str) -> usize {
        match value {
            Value::String(s) => usize::from(s.contains(needle)),
            Value::Array(items) => items.iter().map(|i| count(i, needle)).sum(),
            Value::Object(map) => map
                .iter()
                .map(|(k, v)| usize::from(k.contains(needle)) + count(v, needle))
                .sum(),
            _ => 0,
        }
    }
    let in_yaml = match serde_saphyr::from_str::<Value>(yaml) {
        Ok(tree) => count(&tree, needle),
        // Unparsable YAML can still be echoed in the parse error.
        Err(_) => yaml.matches(needle).count(),
    };
    let lowered = needle.to_ascii_lowercase();
    let in_env: usize = env
        .iter()
        .map(|(k, v)| {
            usize::from(k.to_ascii_lowercase().contains(&lowered)) + usize::from(v.contains(needle))
        })
        .sum();
    in_yaml + in_env
}

/// The loaded config's `Debug`, or the problems.
fn shown(yaml: &str, env: &[(String, String)]) -> Vec<String> {
    match load_from_str(yaml, env.iter().cloned()) {
        Ok(config) => vec![format!("{config:?}")],
        Err(errors) => errors.0,
    }
}

/// `secret` with letters and digits replaced by `q`, `Q` and `7`: the same YAML type,
/// but text no message would contain by chance.
pub(crate) fn disguised(secret: &str) -> String {
    secret
        .chars()
        .map(|c| match c {
            'a'..='z' => 'q',
            'A'..='Z' => 'Q',
            '0'..='9' => '7',
            c => c,
        })
        .collect()
}

/// The secret strings of the input that occur in it exactly once, so finding one in
/// the output means the secret itself was echoed.
fn secrets_in(yaml: &str, env: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    let mut collect = |value: &Value| match value {
        Value::String(s) => found.push(s.clone()),
        Value::Array(items) => {
            found.extend(items.iter().filter_map(|i| i.as_str().map(str::to_owned)))
        }
        _ => {}
    };
    if let Ok(tree) = serde_saphyr::from_str::<Value>(yaml) {
        for (section, key) in [
            ("cognito", "client_secret"),
            ("session", "secret"),
            ("session", "secrets"),
        ] {
            if let Some(value) = tree.get(section).and_then(|s| s.get(key)) {
                collect(value);
            }
        }
    }
    for (name, value) in env {
        let name = name.to_ascii_uppercase();
        if [
            "COGNITO_SIDECAR_COGNITO__CLIENT_SECRET",
            "COGNITO_SIDECAR_SESSION__SECRET",
            "COGNITO_SIDECAR_SESSION__SECRETS",
        ]
        .contains(&name.as_str())
        {
            collect(&Value::String(value.clone()));
        }
    }
    let input: String = std::iter::once(yaml)
        .chain(env.iter().flat_map(|(k, v)| [k.as_str(), v.as_str()]))
        .collect::<Vec<_>>()
        .join("\n");
    // The disguise below must change the secret, so it needs letters or digits.
    found.retain(|s| {
        s.bytes().filter(u8::is_ascii_alphanumeric).count() >= MIN_SECRET_LEN / 2
            && s.trim().len() >= MIN_SECRET_LEN
            && input.matches(s.as_str()).count() == 1
    });
    found
}

/// The emulator's loader never panics, and a config it accepts passes its own validation.
pub fn check_emulator_config(yaml: &str) -> Result<(), Violation> {
    const AREA: &str = "emulator::config::load_config_str";
    match load_config_str(yaml) {
        Ok(config) => {
            let problems = validate(&config);
            ensure(problems.is_empty(), AREA, || {
                format!("accepted a config with problems {problems:?}")
            })
        }
        Err(problems) => ensure(!problems.0.is_empty(), AREA, || {
            "refused with no problem listed".to_owned()
        }),
    }
}
