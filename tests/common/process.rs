//! The `scopegate` binary as a child process, started the way an operator
//! starts it, with its log lines collected.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_scopegate");

/// Returns a command for the binary that inherits no scopegate setting from the
/// test run, keeps its data in `data_dir` and listens on a free port.
pub fn command(data_dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars() {
        if name.starts_with("SCOPEGATE_") || name == "DATABASE_URL" || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    command
        .env("SCOPEGATE_DATA_DIR", data_dir)
        .env("SCOPEGATE_LISTEN", "127.0.0.1:0");
    command
}

/// Runs a subcommand to completion.
pub fn run(mut command: Command, args: &[&str]) -> Output {
    command
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|error| panic!("running scopegate {args:?} failed: {error}"))
}

/// Creates an API key with the CLI and returns it.
pub fn create_api_key(command: Command, org: &str) -> String {
    let output = run(
        command,
        &["api-keys", "create", "--org", org, "--env", "staging"],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "api-keys create failed: {stderr}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Addresses named by the `listening` log line, in text or JSON format.
fn listening_addresses(line: &str) -> Option<(SocketAddr, Option<SocketAddr>)> {
    if line.trim_start().starts_with('{') {
        let event: serde_json::Value = serde_json::from_str(line).ok()?;
        if event["message"] != "listening" {
            return None;
        }
        let address = event["address"].as_str()?.parse().ok()?;
        let metrics = event["metrics_listen"]
            .as_str()
            .and_then(|text| text.parse().ok());
        return Some((address, metrics));
    }
    if !line.contains("listening") {
        return None;
    }
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|token| token.strip_prefix(name))
            .and_then(|value| value.parse::<SocketAddr>().ok())
    };
    Some((field("address=")?, field("metrics_listen=")))
}

/// A running `scopegate serve`. Dropping it kills the process if it still
/// runs.
pub struct Server {
    child: Child,
    pub address: SocketAddr,
    pub metrics_address: Option<SocketAddr>,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `serve` and waits up to 60 s for the line that names the
    /// listening address.
    pub fn start(mut command: Command) -> Self {
        let mut child = command
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn scopegate serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (sender, receiver) = mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addresses) = listening_addresses(&line) {
                    let _ = sender.send(addresses);
                }
                lines.lock().expect("log lock").push(line);
            }
        });
        let Ok((address, metrics_address)) = receiver.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let _ = child.wait();
            let log = log.lock().expect("log lock").join("\n");
            panic!("scopegate did not report its address within 60 s; log:\n{log}");
        };
        Self {
            child,
            address,
            metrics_address,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Returns the log lines written so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
