//! Test harness shared by the integration tests: spawn the real `cognito-sidecar` binary
//! (as proxy, emulator or demo) on loopback ports, capture its logs, and kill it on drop.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_cognito-sidecar")
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A running child process; killed (SIGKILL) when dropped. Its stderr and stdout go to
/// files so tests can read the logs and what it printed.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
    pub out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Proc {
    /// Runs another program (nginx, redis-server) under the same guard.
    pub fn spawn_program(program: &str, args: &[&str]) -> Proc {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&log).expect("log file");
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
        Proc {
            child,
            log,
            out: dir.path().join("stdout.log"),
            _dir: dir,
        }
    }

    pub fn spawn(args: &[&str], env: &[(&str, &str)]) -> Proc {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&log).expect("log file");
        let out = dir.path().join("stdout.log");
        let stdout = std::fs::File::create(&out).expect("stdout file");
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .env_remove("COGNITO_SIDECAR_CONFIG")
            .env("RUST_LOG", "info");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("spawn cognito-sidecar");
        Proc {
            child,
            log,
            out,
            _dir: dir,
        }
    }

    /// Waits until `port` accepts connections; panics with the logs if the process exits.
    pub fn wait_listening(&mut self, port: u16) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "process exited with {status} before listening:\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("port {port} did not open within 30s:\n{}", self.logs());
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What the process printed on stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    /// Sends SIGTERM (via the `kill` command, so tests need no unsafe code).
    pub fn sigterm(&self) {
        signal(self.child.id(), "TERM");
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub fn sigint(&self) {
        signal(self.child.id(), "INT");
    }

    pub fn sighup(&self) {
        signal(self.child.id(), "HUP");
    }

    /// Waits up to `limit` for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- logs of {:?} ----\n{}", self.log, self.logs());
        }
    }
}

/// Writes `contents` to a new file in a fresh temp dir and returns both (keep the dir).
pub fn write_temp(name: &str, contents: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    std::fs::write(&path, contents).expect("write temp file");
    (dir, path)
}

/// Polls `url` until it answers (any status) or `limit` passes.
pub async fn wait_http(url: &str, limit: Duration) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    let start = Instant::now();
    while start.elapsed() < limit {
        if client.get(url).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{url} did not answer within {limit:?}");
}

/// Waits until a TCP port accepts connections.
pub fn wait_port(port: u16, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("port {port} did not open within {limit:?}");
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

pub mod gate;
pub mod raw;
pub mod upstream;

/// A sidecar config for proxy tests: every path public (so no sign-in is needed) and the
/// Cognito settings pointing at `idp` (an emulator or a dead port).
pub fn proxy_config(listen_port: u16, upstream: &str, idp: &str, extra: &str) -> String {
    format!(
        r#"listen: 127.0.0.1:{listen_port}
upstream: {upstream}
public_url: http://127.0.0.1:{listen_port}
cognito:
  region: us-east-1
  user_pool_id: us-east-1_LOCAL
  client_id: local-client
  client_secret: local-secret
  domain: {idp}
  issuer: {idp}/us-east-1_LOCAL
session:
  secret: 3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=
access:
  public_paths: ["/*"]
{extra}"#
    )
}

/// A running sidecar with its config file.
pub struct Sidecar {
    pub proc: Proc,
    pub port: u16,
    pub config: PathBuf,
    _dir: tempfile::TempDir,
}

impl Sidecar {
    pub fn start(yaml: &str, port: u16) -> Sidecar {
        Self::start_with_env(yaml, port, &[])
    }

    pub fn start_with_env(yaml: &str, port: u16, env: &[(&str, &str)]) -> Sidecar {
        let (dir, config) = write_temp("config.yaml", yaml);
        let mut proc = Proc::spawn(&["run", "-c", path_str(&config)], env);
        proc.wait_listening(port);
        Sidecar {
            proc,
            port,
            config,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }
}

/// A reqwest client that does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}
pub mod idp;
pub mod redis;

/// Waits until the sidecar on `port` reports ready (its signing keys are loaded).
pub async fn wait_ready(port: u16) {
    let url = format!("http://127.0.0.1:{port}/readyz");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(resp) = reqwest::get(&url).await {
            if resp.status() == 200 {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("sidecar on {port} never became ready");
}
/// The `value` of the first `<input … name="NAME" … value="…">` in an HTML page (the
/// attribute order used by simple server-rendered forms), with the entities an HTML
/// escaper emits for `& < > " ' / = \`` decoded. Enough to read hidden CSRF fields; not a general parser.
pub fn form_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let start = html.find(&marker)?;
    let tag_start = html[..start].rfind('<')?;
    let tag_end = start + html[start..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let value_at = tag.find("value=\"")? + "value=\"".len();
    let value_len = tag[value_at..].find('"')?;
    Some(
        tag[value_at..value_at + value_len]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&#x2F;", "/")
            .replace("&#x3D;", "=")
            .replace("&#x60;", "`")
            .replace("&amp;", "&"),
    )
}
