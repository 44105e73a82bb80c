//! Reading an emulator config: YAML → a generic tree → typed [`EmulatorConfig`] →
//! semantic validation. Each section and each list entry is deserialized on its own so
//! that problems in several places are all reported, each as `key.path: what is wrong`.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{
    validate, ClientConfig, ConfigProblems, EmulatorConfig, HooksConfig, IdentityPoolConfig,
    SignInConfig, SignUpConfig, UserConfig,
};

/// Top-level keys and whether they are required.
const TOP_LEVEL: &[(&str, bool)] = &[
    ("listen", false),
    ("base_url", false),
    ("region", false),
    ("user_pool_id", false),
    ("code_validity", false),
    ("hooks", false),
    ("sign_in", false),
    ("sign_up", false),
    ("clients", true),
    ("users", false),
    ("identity_pools", false),
];

/// Loads the emulator config at `path`, or the built-in demo pool when `None`.
pub fn load_config(path: Option<&Path>) -> Result<EmulatorConfig, ConfigProblems> {
    let Some(path) = path else {
        return Ok(EmulatorConfig::demo());
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigProblems(vec![format!(
            "{}: cannot read the emulator config ({e}); check the path given to -c",
            path.display()
        )])
    })?;
    load_config_str(&text)
}

/// Parses and validates emulator config YAML.
pub fn load_config_str(yaml: &str) -> Result<EmulatorConfig, ConfigProblems> {
    let tree = parse_yaml(yaml)?;
    let mut problems = Vec::new();
    check_sections(&tree, &mut problems);
    if !problems.is_empty() {
        return Err(ConfigProblems(problems));
    }
    let config = deserialize::<EmulatorConfig>("", Value::Object(tree))
        .map_err(|problem| ConfigProblems(vec![problem]))?;
    let problems = validate(&config);
    if problems.is_empty() {
        Ok(config)
    } else {
        Err(ConfigProblems(problems))
    }
}

fn parse_yaml(yaml: &str) -> Result<Map<String, Value>, ConfigProblems> {
    let value: Value = serde_saphyr::from_str(yaml)
        .map_err(|e| ConfigProblems(vec![format!("config: invalid YAML: {e}")]))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(ConfigProblems(vec![
            "config: the file must be a YAML mapping with at least `clients:`".into(),
        ])),
    }
}

fn check_sections(tree: &Map<String, Value>, problems: &mut Vec<String>) {
    let known: Vec<&str> = TOP_LEVEL.iter().map(|(k, _)| *k).collect();
    for key in tree.keys() {
        if !known.contains(&key.as_str()) {
            problems.push(format!(
                "{key}: unknown key; expected one of {}",
                known.join(", ")
            ));
        }
    }
    for &(key, required) in TOP_LEVEL {
        let Some(value) = tree.get(key) else {
            if required {
                problems.push(format!("{key}: missing required key"));
            }
            continue;
        };
        let value = value.clone();
        let result = match key {
            "listen" => deserialize::<std::net::SocketAddr>(key, value)
                .map(drop)
                .map_err(|_| "listen: must be an address and port like 127.0.0.1:4181".into()),
            "base_url" | "region" | "user_pool_id" => deserialize::<String>(key, value).map(drop),
            "code_validity" => deserialize::<crate::config::HumanDuration>(key, value).map(drop),
            "hooks" => deserialize::<HooksConfig>(key, value).map(drop),
            "sign_in" => deserialize::<SignInConfig>(key, value).map(drop),
            "sign_up" => deserialize::<SignUpConfig>(key, value).map(drop),
            "clients" => {
                each::<ClientConfig>(key, value, problems);
                Ok(())
            }
            "users" => {
                each::<UserConfig>(key, value, problems);
                Ok(())
            }
            "identity_pools" => {
                each::<IdentityPoolConfig>(key, value, problems);
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(problem) = result {
            problems.push(problem);
        }
    }
}

/// Deserializes every entry of a list on its own, so two bad entries give two problems.
fn each<T: DeserializeOwned>(key: &str, value: Value, problems: &mut Vec<String>) {
    match value {
        Value::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                if let Err(problem) = deserialize::<T>(&format!("{key}[{i}]"), item) {
                    problems.push(problem);
                }
            }
        }
        _ => problems.push(format!("{key}: must be a list")),
    }
}

/// Deserializes `value` found at `at`, phrasing a failure as `key.path: problem`.
fn deserialize<T: DeserializeOwned>(at: &str, value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|err| {
        let inner = err.path().to_string();
        let message = err.into_inner().to_string();
        describe(&join(at, &inner), &message)
    })
}

/// Joins a section prefix and a relative serde path (`.` means "here").
fn join(at: &str, inner: &str) -> String {
    match (at.is_empty(), inner == "." || inner.is_empty()) {
        (_, true) => at.to_string(),
        (true, false) => inner.to_string(),
        (false, false) if inner.starts_with('[') => format!("{at}{inner}"),
        (false, false) => format!("{at}.{inner}"),
    }
}

/// Turns serde's wording into `key.path: what is wrong`.
fn describe(path: &str, message: &str) -> String {
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return format!("{}: missing required key", join(path, field));
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let mut parts = rest.splitn(2, '`');
        let field = parts.next().unwrap_or(rest);
        let expected = parts
            .next()
            .map(|s| s.trim_start_matches(", ").replace('`', ""))
            .unwrap_or_default();
        let full = if path.ends_with(field) {
            path.to_string()
        } else {
            join(path, field)
        };
        return format!("{full}: unknown key; {expected}");
    }
    if path.is_empty() {
        format!("config: {message}")
    } else {
        format!("{path}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(yaml: &str) -> Vec<String> {
        load_config_str(yaml).err().map(|p| p.0).unwrap_or_default()
    }

    #[test]
    fn minimal_config_loads_with_defaults() {
        let config = load_config_str(
            "clients:\n  - client_id: app\n    callback_urls: [http://localhost:1/cb]\n",
        )
        .map_err(|p| p.0)
        .unwrap();
        assert_eq!(config.user_pool_id, "us-east-1_LOCAL");
        assert_eq!(config.issuer(), "http://127.0.0.1:4181/us-east-1_LOCAL");
        assert!(!config.hooks.enabled);
        assert_eq!(
            config.clients[0].flows(),
            vec![super::super::OAuthFlow::Code]
        );
    }

    #[test]
    fn unknown_and_missing_keys_name_their_path() {
        let found = problems(
            "nope: 1\nclients:\n  - client_id: a\n    colour: red\n  - callback_urls: []\nusers:\n  - username: x\n",
        );
        assert!(
            found.iter().any(|p| p.starts_with("nope: unknown key")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("clients[0].colour: unknown key")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p == "clients[1].client_id: missing required key"),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p == "users[0].password: missing required key"),
            "{found:?}"
        );
    }

    #[test]
    fn bad_values_name_their_path() {
        let found = problems(
            "listen: nowhere\nclients:\n  - client_id: a\n    id_token_validity: 7\n  - client_id: b\n    allowed_flows: [implicit]\n",
        );
        assert!(
            found
                .iter()
                .any(|p| p == "listen: must be an address and port like 127.0.0.1:4181"),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("clients[0].id_token_validity: ")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("clients[1].allowed_flows[0]: unknown variant `implicit`")),
            "{found:?}"
        );
    }

    #[test]
    fn clients_is_required_and_yaml_must_be_a_mapping() {
        assert_eq!(
            problems("region: us-east-1\n"),
            vec!["clients: missing required key"]
        );
        assert_eq!(problems("- a\n").len(), 1);
        assert!(problems(": : :\n  - [").len() == 1);
    }

    #[test]
    fn attributes_accept_yaml_scalars_as_strings() {
        let config = load_config_str(
            "clients: [{client_id: a, callback_urls: ['http://localhost/cb']}]\nusers:\n  - {username: u, password: p, attributes: {email: u@x.io, email_verified: true}}\n",
        )
        .map_err(|p| p.0)
        .unwrap();
        assert_eq!(config.users[0].attributes["email_verified"], "true");
    }

    #[test]
    fn new_sections_are_optional_and_typed() {
        let base = "clients: [{client_id: a, callback_urls: ['http://localhost/cb']}]\n";
        let config = load_config_str(base).map_err(|p| p.0).unwrap();
        assert!(config.sign_up.self_registration);
        assert_eq!(config.sign_in.password_policy.minimum_length, 8);
        let found = problems(&format!(
            "{base}sign_in:\n  mfa: optional\n  colour: red\nsign_up:\n  auto_verified_attributes: [name]\n"
        ));
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("sign_in.colour: unknown key")),
            "{found:?}"
        );
        assert!(
            found
                .iter()
                .any(|p| p
                    .starts_with("sign_up.auto_verified_attributes[0]: unknown variant `name`")),
            "{found:?}"
        );
        let found = problems(&format!("{base}sign_in:\n  mfa: optional\n"));
        assert!(
            found
                .iter()
                .any(|p| p.starts_with("sign_in.mfa: only `off` is emulated")),
            "{found:?}"
        );
    }

    #[test]
    fn documented_example_loads() {
        let text = include_str!("../../../deploy/emulator.yaml");
        let config = load_config_str(text).map_err(|p| p.0).unwrap();
        assert_eq!(config.clients.len(), 2);
        assert!(config.clients[1].client_secret.is_none());
    }
}
