//! Reading the configuration: YAML → a generic tree → `COGNITO_SIDECAR_*` environment
//! overrides → `*_file` secrets → typed [`Config`] → semantic validation.
//!
//! Every stage collects problems instead of stopping at the first, so `check-config`
//! can list them all as `key.path: what is wrong`.

use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::types::Config;
use super::validate;

const ENV_PREFIX: &str = "COGNITO_SIDECAR_";
/// Environment variables with the prefix that are not config keys.
const ENV_NOT_KEYS: &[&str] = &["COGNITO_SIDECAR_CONFIG"];

/// Secrets that may also be given as `<key>_file` (SPEC §3): the sections leading to
/// the key, the key, and whether it is a list (one value per non-empty line).
const SECRET_KEYS: &[(&[&str], &str, bool)] = &[
    (&["cognito"], "client_secret", false),
    (&["session"], "secret", false),
    (&["session"], "secrets", true),
    (&["session", "redis"], "password", false),
];

/// Every problem found, each as `key.path: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            f.write_str(problem)?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// Loads the file at `path` and applies `env` (normally `std::env::vars()`).
pub fn load(
    path: &Path,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigErrors> {
    let text = read_capped(path, MAX_CONFIG_BYTES).map_err(|e| {
        ConfigErrors(vec![format!(
            "{}: cannot read the config file ({e}); pass -c PATH or set COGNITO_SIDECAR_CONFIG",
            path.display()
        )])
    })?;
    load_from_str(&text, env)
}

/// The most of a config file that is read: far above any real one.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// The most of a `*_file` secret that is read: a secret, a key ring of them, a PEM
/// bundle — not a disk image someone pointed at by mistake (or `/dev/zero`).
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// The file at `path` as UTF-8 text, refusing one longer than `cap` bytes without
/// reading past it.
fn read_capped(path: impl AsRef<Path>, cap: u64) -> std::io::Result<String> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(cap + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > cap {
        return Err(std::io::Error::other(format!(
            "longer than {} KiB",
            cap / 1024
        )));
    }
    Ok(text)
}

/// Parses YAML text, applies `env` overrides and `*_file` secrets, and validates.
pub fn load_from_str(
    yaml: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Config, ConfigErrors> {
    let mut tree = parse_yaml(yaml)?;
    let mut problems = Vec::new();
    apply_env(&mut tree, env, &mut problems);
    resolve_secret_files(&mut tree, &mut problems);
    let config = typed(&tree, &mut problems);
    if let Some(config) = &config {
        problems.extend(validate::top_level(config));
    }
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(ConfigErrors(problems)),
    }
}

fn parse_yaml(yaml: &str) -> Result<Map<String, Value>, ConfigErrors> {
    let value: Value = serde_saphyr::from_str(yaml)
        .map_err(|e| ConfigErrors(vec![format!("config: invalid YAML: {e}")]))?;
    match value {
        Value::Object(map) => Ok(map),
        Value::Null => Ok(Map::new()),
        _ => Err(ConfigErrors(vec![
            "config: the file must be a YAML mapping of keys (listen, upstream, cognito, …)".into(),
        ])),
    }
}

/// `COGNITO_SIDECAR_COGNITO__CLIENT_SECRET=x` sets `cognito.client_secret: x`.
/// Values starting with `[` or `{` are read as YAML flow collections; everything else is
/// a string (typed fields accept `true`/`false` and numbers written as strings).
fn apply_env(
    tree: &mut Map<String, Value>,
    env: impl IntoIterator<Item = (String, String)>,
    problems: &mut Vec<String>,
) {
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(k, _)| k.starts_with(ENV_PREFIX) && !ENV_NOT_KEYS.contains(&k.as_str()))
        .collect();
    vars.sort();
    for (name, raw) in vars {
        let path: Vec<String> = name[ENV_PREFIX.len()..]
            .split("__")
            .map(|s| s.to_ascii_lowercase())
            .collect();
        if path.iter().any(String::is_empty) {
            problems.push(format!(
                "{name}: not a config key; use `__` between levels, e.g. COGNITO_SIDECAR_COGNITO__CLIENT_ID"
            ));
            continue;
        }
        let value = if raw.trim_start().starts_with(['[', '{']) {
            match serde_saphyr::from_str::<Value>(&raw) {
                Ok(v) => v,
                Err(e) => {
                    // The parser's message quotes the input, which must not reach logs
                    // when it is a secret.
                    let detail = if is_secret_path(&path) {
                        "check its brackets and quoting (the value is a secret, so it is not shown)"
                            .to_owned()
                    } else {
                        e.to_string()
                    };
                    problems.push(format!(
                        "{name}: not a valid YAML list or mapping: {detail}"
                    ));
                    continue;
                }
            }
        } else {
            Value::String(raw)
        };
        if let Err(msg) = set_path(tree, &path, value) {
            problems.push(format!("{name}: {msg}"));
        }
    }
}

/// True for the paths of [`SECRET_KEYS`] (`section[.sub].key`).
fn is_secret_path(path: &[String]) -> bool {
    let Some((key, sections)) = path.split_last() else {
        return false;
    };
    SECRET_KEYS.iter().any(|(s, k, _)| {
        k == key && s.len() == sections.len() && s.iter().zip(sections).all(|(a, b)| a == b)
    })
}

fn set_path(tree: &mut Map<String, Value>, path: &[String], value: Value) -> Result<(), String> {
    let Some((last, parents)) = path.split_last() else {
        return Err("empty key".into());
    };
    let mut node = tree;
    for (depth, key) in parents.iter().enumerate() {
        let entry = node
            .entry(key.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        node = match entry {
            Value::Object(map) => map,
            _ => {
                return Err(format!(
                    "{} is not a section, so it has no key `{}`",
                    path[..=depth].join("."),
                    path[depth + 1]
                ))
            }
        };
    }
    node.insert(last.clone(), value);
    Ok(())
}

fn resolve_secret_files(tree: &mut Map<String, Value>, problems: &mut Vec<String>) {
    for &(sections, key, list) in SECRET_KEYS {
        let Some(map) = section_mut(tree, sections) else {
            continue;
        };
        let section = sections.join(".");
        let file_key = format!("{key}_file");
        let Some(file_value) = map.remove(&file_key) else {
            continue;
        };
        let where_ = format!("{section}.{file_key}");
        if map.contains_key(key) {
            problems.push(format!(
                "{where_}: set either {section}.{key} or {section}.{file_key}, not both"
            ));
            continue;
        }
        let Value::String(path) = file_value else {
            problems.push(format!("{where_}: must be a file path"));
            continue;
        };
        match read_capped(&path, MAX_SECRET_FILE_BYTES) {
            Ok(text) => {
                let value = if list {
                    Value::Array(
                        text.lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(|l| Value::String(l.to_string()))
                            .collect(),
                    )
                } else {
                    Value::String(trim_one_newline(&text).to_string())
                };
                map.insert(key.to_string(), value);
            }
            Err(e) => problems.push(format!("{where_}: cannot read `{path}`: {e}")),
        }
    }
}

/// The mapping at `path` (e.g. `session.redis`), if the tree has one there.
fn section_mut<'a>(
    tree: &'a mut Map<String, Value>,
    path: &[&str],
) -> Option<&'a mut Map<String, Value>> {
    path.iter()
        .try_fold(tree, |node, key| match node.get_mut(*key) {
            Some(Value::Object(map)) => Some(map),
            _ => None,
        })
}

/// Kubernetes secret files often end in one newline; the secret is what comes before it.
fn trim_one_newline(text: &str) -> &str {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text)
}

/// Top-level keys and whether they are required. Each is deserialized on its own so
/// that problems in several sections are all reported.
const TOP_LEVEL: &[(&str, bool)] = &[
    ("listen", false),
    ("upstream", true),
    ("public_url", true),
    ("cognito", true),
    ("session", true),
    ("access", false),
    ("bearer", false),
    ("headers", false),
    ("tls", false),
    ("metrics_listen", false),
    ("proxy_prefix", false),
    ("trusted_proxies", false),
    ("server", false),
    ("proxy", false),
    ("log", false),
    ("identity_pool", false),
];

fn typed(tree: &Map<String, Value>, problems: &mut Vec<String>) -> Option<Config> {
    let before = problems.len();
    for key in tree.keys() {
        if !TOP_LEVEL.iter().any(|(k, _)| k == key) {
            let known: Vec<&str> = TOP_LEVEL.iter().map(|(k, _)| *k).collect();
            problems.push(format!(
                "{key}: unknown key; expected one of {}",
                known.join(", ")
            ));
        }
    }
    for &(key, required) in TOP_LEVEL {
        match tree.get(key) {
            None if required => problems.push(format!("{key}: missing required key")),
            None => {}
            Some(value) => check_section(key, value, problems),
        }
    }
    if problems.len() > before {
        return None;
    }
    match deserialize::<Config>(Value::Object(tree.clone())) {
        Ok(config) => Some(config),
        Err(problem) => {
            problems.push(problem);
            None
        }
    }
}

fn check_section(key: &str, value: &Value, problems: &mut Vec<String>) {
    use super::server::{ProxyConfig, ServerConfig};
    use super::types::*;
    // Each section is parsed on its own and, when that works, checked semantically at
    // once, so one broken section does not hide the problems of the others.
    let value = value.clone();
    let result = match key {
        "listen" | "metrics_listen" => deserialize::<std::net::SocketAddr>(value).map(|_| vec![]),
        "upstream" => deserialize::<url::Url>(value).map(|u| validate::upstream(&u)),
        "public_url" => deserialize::<url::Url>(value).map(|u| validate::public_url(&u)),
        "cognito" => deserialize::<CognitoConfig>(value).map(|c| validate::cognito(&c)),
        "session" => deserialize::<SessionConfig>(value).map(|s| validate::session(&s)),
        "access" => deserialize::<AccessConfig>(value).map(|a| validate::access(&a)),
        "bearer" => deserialize::<BearerConfig>(value).map(|_| vec![]),
        "headers" => deserialize::<HeadersConfig>(value).map(|_| vec![]),
        "tls" => deserialize::<TlsConfig>(value).map(|t| validate::tls(&t)),
        "proxy_prefix" => deserialize::<String>(value).map(|p| validate::proxy_prefix(&p)),
        "trusted_proxies" => {
            deserialize::<Vec<String>>(value).map(|t| validate::trusted_proxies(&t))
        }
        "server" => deserialize::<ServerConfig>(value).map(|s| validate::server(&s)),
        "proxy" => deserialize::<ProxyConfig>(value).map(|_| vec![]),
        "log" => deserialize::<LogConfig>(value).map(|_| vec![]),
        "identity_pool" => deserialize::<super::IdentityPoolConfig>(value)
            .map(|p| super::identity_pool::validate(&p)),
        _ => Ok(vec![]),
    };
    match result {
        Ok(section_problems) => problems.extend(section_problems),
        Err(problem) => problems.push(prefix(key, &problem)),
    }
}

fn prefix(key: &str, problem: &str) -> String {
    if problem.starts_with(": ") {
        format!("{key}{problem}")
    } else {
        format!("{key}.{problem}")
    }
}

/// Deserializes with the failing key path, phrased as `path: problem`.
fn deserialize<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        describe(&path, &without_secret_value(&path, &inner))
    })
}

/// Serde quotes the offending value (`invalid type: string "…", expected a sequence`);
/// under a secret key that value is the secret, so only what was expected is kept.
fn without_secret_value(path: &str, message: &str) -> String {
    let field = path.rsplit('.').next().unwrap_or(path);
    let field = field.split('[').next().unwrap_or(field);
    if !SECRET_KEYS.iter().any(|(_, key, _)| *key == field) {
        return message.to_owned();
    }
    match message.rsplit_once(", expected ") {
        Some((_, expected)) => {
            format!("wrong type or value (not shown: it is a secret), expected {expected}")
        }
        None => "wrong type or value (not shown: it is a secret)".to_owned(),
    }
}

/// Turns serde's wording into `key.path: what is wrong and how to fix it`.
fn describe(path: &str, message: &str) -> String {
    let join = |tail: &str| {
        if path.is_empty() || path == "." {
            tail.to_string()
        } else {
            format!("{path}.{tail}")
        }
    };
    if let Some(rest) = message.strip_prefix("missing field `") {
        let field = rest.split('`').next().unwrap_or(rest);
        return format!("{}: missing required key", join(field));
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let expected = expected.trim_start_matches(", ").replace('`', "");
        // serde_path_to_error's path already ends at the unknown key.
        let full = if path.ends_with(field) {
            path.to_string()
        } else {
            join(field)
        };
        return format!("{full}: unknown key; {expected}");
    }
    if path.is_empty() || path == "." {
        format!(": {message}")
    } else {
        format!("{path}: {message}")
    }
}

#[cfg(test)]
mod tests;
