//! `check-config`, `secret`, `--version` through the real binary: every problem listed as
//! `key.path: what is wrong`, exit code 2, environment overrides and `*_file` secrets.

mod common;

use std::process::{Command, Output};

use common::{bin, path_str, write_temp};

const VALID: &str = r#"
listen: 127.0.0.1:4180
upstream: http://127.0.0.1:8080
public_url: https://app.example.com
cognito:
  region: us-east-1
  user_pool_id: us-east-1_Ab12Cd34E
  client_id: 4q0example1client2id3abc45
  client_secret: super-secret-value
  domain: https://acme.auth.us-east-1.amazoncognito.com
session:
  secret: 3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
"#;

fn check(yaml: &str, env: &[(&str, &str)]) -> Output {
    let (_dir, path) = write_temp("config.yaml", yaml);
    let mut cmd = Command::new(bin());
    cmd.args(["check-config", "-c", path_str(&path)])
        .env_remove("COGNITO_SIDECAR_CONFIG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn problems(out: &Output) -> Vec<String> {
    stderr(out)
        .lines()
        .skip(1)
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn valid_config_prints_effective_config_with_secrets_redacted() {
    let out = check(VALID, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("client_id: 4q0example1client2id3abc45"));
    assert!(printed.contains("client_secret: <redacted>"));
    assert!(printed.contains("secret: <redacted>"));
    assert!(!printed.contains("super-secret-value"));
    assert!(!printed.contains("3q2+7w"));
    // Defaults are shown too.
    assert!(printed.contains("cookie_name: _cognito_sidecar"));
    assert!(printed.contains("lifetime: 7days"));
}

#[test]
fn the_root_example_config_is_valid() {
    let out = Command::new(bin())
        .args([
            "check-config",
            "-c",
            concat!(env!("CARGO_MANIFEST_DIR"), "/config.yaml"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn malformed_yaml_reports_line_and_column() {
    let out = check("listen: [1,\n  upstream: x\n", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("invalid YAML"), "{err}");
    assert!(err.contains("line 1 column 9"), "{err}");
}

#[test]
fn every_problem_is_listed_with_its_key_path() {
    let yaml = r#"
upstream: ftp://files.example.com
public_url: https://app.example.com/some/path
frobnicate: true
cognito:
  region: us-east-1
  user_pool_id: eu-west-1_Abc
  domain: https://acme.auth.us-east-1.amazoncognito.com
  scopes: [email]
  colour: blue
session:
  secret: not-base64-of-32-bytes
  cookie_name: "bad name"
access:
  public_paths: [assets/*]
server:
  max_connections: lots
"#;
    let out = check(yaml, &[]);
    assert_eq!(out.status.code(), Some(2));
    let got = problems(&out);
    let expected = [
        "frobnicate: unknown key; expected one of listen, upstream, public_url, cognito, session, access, bearer, headers, tls, metrics_listen, proxy_prefix, trusted_proxies, server, proxy, log, identity_pool",
        "cognito.colour: unknown key; expected one of region, user_pool_id, client_id, client_secret, domain, scopes, issuer, logout_url, timeout, jwks_refresh",
        "session.secret: must be base64 of 32 random bytes; generate one with `cognito-sidecar secret`",
        "session.cookie_name: `bad name` may contain only letters, digits, `_`, `-` and `.`",
        "access.public_paths[0]: `assets/*` must start with `/`, like /assets/*",
        "server.max_connections: `lots` is not a whole number",
    ];
    for line in expected {
        assert!(
            got.iter().any(|g| g == line),
            "missing {line:?} in {got:#?}"
        );
    }
}

#[test]
fn semantic_problems_of_a_parsed_config_are_all_listed() {
    let yaml = VALID
        .replace("http://127.0.0.1:8080", "ftp://files.example.com")
        .replace(
            "https://app.example.com",
            "https://app.example.com/some/path",
        )
        .replace("us-east-1_Ab12Cd34E", "eu-west-1_Abc");
    let out = check(&yaml, &[]);
    assert_eq!(out.status.code(), Some(2));
    let got = problems(&out);
    for line in [
        "upstream: `ftp://files.example.com/` must be an http:// or https:// URL with a host",
        "public_url: must be an origin only (scheme, host, optional port), like https://app.example.com",
        "cognito.user_pool_id: `eu-west-1_Abc` belongs to region `eu-west-1` but cognito.region is `us-east-1`",
    ] {
        assert!(got.iter().any(|g| g == line), "missing {line:?} in {got:#?}");
    }
}

#[test]
fn missing_required_keys_are_named() {
    let out = check("cognito:\n  region: us-east-1\n", &[]);
    assert_eq!(out.status.code(), Some(2));
    let got = problems(&out);
    for line in [
        "upstream: missing required key",
        "public_url: missing required key",
        "session: missing required key",
        "cognito.user_pool_id: missing required key",
    ] {
        assert!(
            got.iter().any(|g| g == line),
            "missing {line:?} in {got:#?}"
        );
    }
}

#[test]
fn wrong_types_are_reported() {
    let yaml = VALID.replace("listen: 127.0.0.1:4180", "listen: [1, 2]");
    let out = check(&format!("{yaml}bearer:\n  token_use: [refresh]\n"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let got = problems(&out);
    assert!(
        got.iter()
            .any(|g| g.starts_with("listen: invalid type: sequence")),
        "{got:#?}"
    );
    assert!(
        got.iter()
            .any(|g| g.starts_with("bearer.token_use[0]: unknown variant `refresh`")),
        "{got:#?}"
    );
}

#[test]
fn bad_durations_say_how_to_write_one() {
    for (value, shown) in [("7", "7"), ("7x", "7x"), ("soon", "soon")] {
        let yaml = VALID.replace("session:\n", &format!("session:\n  lifetime: {value}\n"));
        let out = check(&yaml, &[]);
        assert_eq!(out.status.code(), Some(2), "{value}");
        let expected = format!(
            "session.lifetime: `{shown}` is not a duration; write it with a unit, like 30s, 15m, 12h or 7d"
        );
        assert!(problems(&out).contains(&expected), "{:#?}", problems(&out));
    }
}

#[test]
fn environment_overrides_any_key() {
    let out = check(
        VALID,
        &[
            ("COGNITO_SIDECAR_COGNITO__CLIENT_ID", "from-env-client"),
            ("COGNITO_SIDECAR_SESSION__REFRESH", "false"),
            (
                "COGNITO_SIDECAR_ACCESS__PUBLIC_PATHS",
                "[/health, /assets/*]",
            ),
            ("COGNITO_SIDECAR_SERVER__MAX_CONNECTIONS", "77"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("client_id: from-env-client"), "{printed}");
    assert!(printed.contains("refresh: false"), "{printed}");
    assert!(printed.contains("- /assets/*"), "{printed}");
    assert!(printed.contains("max_connections: 77"), "{printed}");

    let bad = check(
        VALID,
        &[("COGNITO_SIDECAR_SERVER__MAX_CONNECTIONS", "many")],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(problems(&bad)
        .contains(&"server.max_connections: `many` is not a whole number".to_string()));
}

#[test]
fn server_workers_is_a_count_of_at_least_one() {
    let zero = check(&format!("{VALID}server:\n  workers: 0\n"), &[]);
    assert_eq!(zero.status.code(), Some(2));
    assert_eq!(problems(&zero), ["server.workers: must be at least 1"]);

    let from_env = check(VALID, &[("COGNITO_SIDECAR_SERVER__WORKERS", "0")]);
    assert_eq!(from_env.status.code(), Some(2));
    assert_eq!(problems(&from_env), ["server.workers: must be at least 1"]);

    let huge = check(&format!("{VALID}server:\n  workers: 5000\n"), &[]);
    assert_eq!(huge.status.code(), Some(2));
    assert_eq!(
        problems(&huge),
        ["server.workers: 5000 is more than 1024; leave it out for one per CPU"]
    );

    let words = check(VALID, &[("COGNITO_SIDECAR_SERVER__WORKERS", "two")]);
    assert_eq!(words.status.code(), Some(2));
    assert_eq!(
        problems(&words),
        ["server.workers: `two` is not a whole number"]
    );

    let two = check(VALID, &[("COGNITO_SIDECAR_SERVER__WORKERS", "2")]);
    assert_eq!(two.status.code(), Some(0), "{}", stderr(&two));
    assert!(stdout(&two).contains("workers: 2"), "{}", stdout(&two));
    // Absent, it is one per CPU at startup, so the rendering leaves it out.
    assert!(!stdout(&check(VALID, &[])).contains("workers:"));
}

#[test]
fn secrets_can_come_from_files() {
    let (_dir, secret_file) = write_temp("client-secret", "from-a-file\n");
    let yaml = VALID.replace(
        "client_secret: super-secret-value",
        &format!("client_secret_file: {}", path_str(&secret_file)),
    );
    let out = check(&yaml, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("client_secret: <redacted>"));
    assert!(!stdout(&out).contains("from-a-file"));

    let missing = VALID.replace(
        "client_secret: super-secret-value",
        "client_secret_file: /nonexistent/secret",
    );
    let out = check(&missing, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        problems(&out),
        vec!["cognito.client_secret_file: cannot read `/nonexistent/secret`: No such file or directory (os error 2)".to_string()]
    );

    let both = VALID.replace(
        "client_secret: super-secret-value",
        &format!(
            "client_secret: x\n  client_secret_file: {}",
            path_str(&secret_file)
        ),
    );
    let out = check(&both, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        problems(&out),
        vec!["cognito.client_secret_file: set either cognito.client_secret or cognito.client_secret_file, not both".to_string()]
    );

    // A file far larger than any secret (here an endless one) is refused without being
    // read to its end.
    let endless = VALID.replace(
        "client_secret: super-secret-value",
        "client_secret_file: /dev/zero",
    );
    let out = check(&endless, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        problems(&out),
        vec!["cognito.client_secret_file: cannot read `/dev/zero`: longer than 64 KiB".to_string()]
    );

    // Session key rings too, one secret per line, through an environment override.
    let (_d2, ring) = write_temp(
        "ring",
        "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
    );
    let out = check(
        VALID,
        &[("COGNITO_SIDECAR_SESSION__SECRETS_FILE", path_str(&ring))],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn missing_config_file_is_a_config_error() {
    let out = Command::new(bin())
        .args(["check-config", "-c", "/nonexistent/config.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read the config file"));

    let out = Command::new(bin())
        .args(["check-config", "-c", "/dev/zero"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/dev/zero: cannot read the config file (longer than 1024 KiB)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn run_with_a_bad_config_exits_2_before_listening() {
    let (_dir, path) = write_temp("config.yaml", "listen: nowhere\n");
    let out = Command::new(bin())
        .args(["run", "-c", path_str(&path)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("listen: "));
}

#[test]
fn secret_prints_base64_of_32_random_bytes() {
    use base64::Engine;
    let a = Command::new(bin()).arg("secret").output().unwrap();
    let b = Command::new(bin()).arg("secret").output().unwrap();
    let a = String::from_utf8(a.stdout).unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(a.trim())
        .unwrap();
    assert_eq!(decoded.len(), 32);
    assert_ne!(a, String::from_utf8(b.stdout).unwrap());
}

#[test]
fn version_and_help() {
    let out = Command::new(bin()).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    let out = Command::new(bin()).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for cmd in ["run", "check-config", "demo", "emulator", "secret"] {
        assert!(help.contains(cmd), "{help}");
    }
}
