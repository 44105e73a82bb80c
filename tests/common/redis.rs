//! A real `redis-server` (Debian package `redis-server`) on a loopback port for the
//! tests that need a shared session store; stopped and restarted on the same port to
//! prove recovery. Never skipped: a missing server fails with how to install it.

use std::process::Command;
use std::time::Duration;

use super::{free_port, Proc};

pub struct RedisServer {
    pub port: u16,
    proc: Option<Proc>,
}

/// Fails the test (never skips it) when the Redis binaries are missing.
fn require(program: &str) {
    let found = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{program}` is not installed; ./test.sh installs it (Debian packages redis-server and redis-tools)"
    );
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let mut server = RedisServer {
            port: free_port(),
            proc: None,
        };
        server.restart();
        server
    }

    /// Starts (again) on the same port with an empty, memory-only database.
    pub fn restart(&mut self) {
        require("redis-server");
        let port = self.port.to_string();
        let mut proc = Proc::spawn_program(
            "redis-server",
            &[
                "--port",
                &port,
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        );
        proc.wait_listening(self.port);
        self.proc = Some(proc);
    }

    /// Kills the server; the port refuses connections until [`RedisServer::restart`].
    pub fn stop(&mut self) {
        self.proc = None;
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing is answered,
    /// like a Redis stuck in a long fork or a network partition.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, sig: &str) {
        let proc = self.proc.as_ref().expect("redis is running");
        let status = Command::new("kill")
            .args([&format!("-{sig}"), &proc.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Runs `redis-cli` against this server and returns what it printed (raw bytes
    /// rendered lossily, as a dump of the database would show them).
    pub fn cli(&self, args: &[&str]) -> String {
        require("redis-cli");
        let out = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("run redis-cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Every key with its raw value (strings and sets), for "no plaintext" checks.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        for key in self.cli(&["--raw", "KEYS", "*"]).lines() {
            let kind = self.cli(&["--raw", "TYPE", key]);
            let value = match kind.trim() {
                "string" => self.cli(&["--raw", "GET", key]),
                "set" => self.cli(&["--raw", "SMEMBERS", key]),
                other => format!("<{other}>"),
            };
            out.push_str(&format!("{key} => {value}\n"));
        }
        out
    }
}

/// A three-master Redis Cluster on loopback ports (no replicas), created with
/// `redis-cli --cluster create`.
pub struct RedisCluster {
    pub ports: Vec<u16>,
    _nodes: Vec<Proc>,
    _dir: tempfile::TempDir,
}

impl RedisCluster {
    pub fn start() -> RedisCluster {
        require("redis-server");
        require("redis-cli");
        let dir = tempfile::tempdir().expect("tempdir");
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let nodes = ports
            .iter()
            .map(|port| {
                let conf = dir.path().join(format!("nodes-{port}.conf"));
                let port_s = port.to_string();
                let mut node = Proc::spawn_program(
                    "redis-server",
                    &[
                        "--port",
                        &port_s,
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        conf.to_str().expect("utf-8 path"),
                        "--dir",
                        dir.path().to_str().expect("utf-8 path"),
                    ],
                );
                node.wait_listening(*port);
                node
            })
            .collect();
        let addresses: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("run redis-cli --cluster create");
        assert!(created.status.success(), "{created:?}");
        let start = std::time::Instant::now();
        loop {
            let info = Command::new("redis-cli")
                .args(["-p", &ports[0].to_string(), "CLUSTER", "INFO"])
                .output()
                .expect("redis-cli");
            if String::from_utf8_lossy(&info.stdout).contains("cluster_state:ok") {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "cluster not ok");
            std::thread::sleep(Duration::from_millis(100));
        }
        RedisCluster {
            ports,
            _nodes: nodes,
            _dir: dir,
        }
    }

    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }
}

/// One Sentinel watching a [`RedisServer`] as master `mymaster`.
pub struct RedisSentinel {
    pub port: u16,
    _proc: Proc,
    _dir: tempfile::TempDir,
}

impl RedisSentinel {
    pub fn start(master: &RedisServer) -> RedisSentinel {
        require("redis-server");
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        // Sentinel rewrites its config file, so it must be a writable file of its own.
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {}\nsentinel monitor mymaster 127.0.0.1 {} 1\n",
                dir.path().display(),
                master.port
            ),
        )
        .expect("write sentinel.conf");
        let mut proc = Proc::spawn_program(
            "redis-server",
            &[conf.to_str().expect("utf-8 path"), "--sentinel"],
        );
        proc.wait_listening(port);
        RedisSentinel {
            port,
            _proc: proc,
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}
