//! The `scopegate` binary as an operator runs it: CLI key management and
//! `serve` on the embedded SQLite default, across a restart.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::flow::{APP_ID, get_mint_body, mint_body, prepared_destination};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_scopegate");

/// Builds a command with a clean scopegate environment over `data_dir`.
fn scopegate(data_dir: &Path) -> Command {
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

fn run(data_dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = scopegate(data_dir)
        .args(args)
        .output()
        .expect("run scopegate");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A running `scopegate serve`, stopped with SIGTERM on drop.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data_dir: &Path) -> Self {
        let mut child = scopegate(data_dir)
            .arg("serve")
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn scopegate serve");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("address=").nth(1) {
                    let address = rest.split_whitespace().next().unwrap_or("").to_owned();
                    let _ = sender.send(address);
                }
            }
        });
        let address = receiver
            .recv_timeout(Duration::from_secs(30))
            .expect("server logs its address within 30 s");
        Self {
            child,
            base: format!("http://{address}"),
        }
    }

    fn stop(mut self) {
        terminate(&mut self.child);
    }
}

fn terminate(child: &mut Child) {
    // SIGTERM requests a graceful shutdown, and kill is the fallback.
    let _ = Command::new("kill").arg(child.id().to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            terminate(&mut self.child);
        }
    }
}

async fn post(
    client: &reqwest::Client,
    url: String,
    headers: &[(&str, &str)],
    body: &Value,
) -> (u16, Value) {
    let mut request = client.post(url).body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    common::server::read(request.send().await.expect("request")).await
}

async fn get(client: &reqwest::Client, url: String, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    common::server::read(request.send().await.expect("request")).await
}

async fn mint(client: &reqwest::Client, server: &Server, key: &str, body: &Value) -> String {
    let url = format!("{}/actions/generate-scoped-auth-token", server.base);
    let (status, answer) = post(client, url, &[("X-API-KEY", key)], body).await;
    assert_eq!(status, 200, "{answer}");
    answer["data"]["scoped_token"]
        .as_str()
        .expect("token")
        .to_owned()
}

async fn list_names(client: &reqwest::Client, server: &Server, key: &str) -> Vec<String> {
    let token = mint(client, server, key, &get_mint_body("tenant-a")).await;
    let url = format!("{}/destinations-for-recipient", server.base);
    let auth = format!("Bearer {token}");
    let (status, answer) = get(
        client,
        url,
        &[("Authorization", &auth), ("X-APP-ID", APP_ID)],
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    answer["data"]["destinations"]
        .as_array()
        .expect("destinations")
        .iter()
        .map(|d| d["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_default_survives_restart() {
    let data_dir = tempfile::tempdir().expect("data directory");
    let client = reqwest::Client::new();

    let (ok, stdout, stderr) = run(
        data_dir.path(),
        &["api-keys", "create", "--org", "acme", "--env", "staging"],
    );
    assert!(ok, "api-keys create failed: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "stdout must hold the key alone: {stdout:?}");
    let key = lines[0].to_owned();
    assert!(key.starts_with("sk_staging_"), "{key}");
    assert!(!stderr.contains(&key), "the key leaked to the log");
    assert!(data_dir.path().join("scopegate.db").exists());

    let server = Server::start(data_dir.path());
    let destination = prepared_destination("warehouse");
    let token = mint(&client, &server, &key, &mint_body("tenant-a", &destination)).await;
    let auth = format!("Bearer {token}");
    let (status, answer) = post(
        &client,
        format!("{}/destinations", server.base),
        &[("Authorization", &auth), ("X-APP-ID", APP_ID)],
        &json!({ "destination": destination }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(list_names(&client, &server, &key).await, ["warehouse"]);
    let (_, jwks_before) = get(
        &client,
        format!("{}/.well-known/jwks.json", server.base),
        &[],
    )
    .await;
    server.stop();

    let server = Server::start(data_dir.path());
    assert_eq!(list_names(&client, &server, &key).await, ["warehouse"]);
    let (_, jwks_after) = get(
        &client,
        format!("{}/.well-known/jwks.json", server.base),
        &[],
    )
    .await;
    assert_eq!(
        jwks_before, jwks_after,
        "the signing key changed across a restart"
    );

    // A token minted before the restart still verifies after it.
    let (status, answer) = get(
        &client,
        format!("{}/destinations-for-recipient", server.base),
        &[("Authorization", &auth), ("X-APP-ID", APP_ID)],
    )
    .await;
    assert_eq!(
        status, 403,
        "a POST token is still recognized, then refused on a read: {answer}"
    );
    server.stop();
}

#[test]
fn api_keys_list_and_revoke() {
    let data_dir = tempfile::tempdir().expect("data directory");
    let (ok, key, stderr) = run(
        data_dir.path(),
        &[
            "api-keys",
            "create",
            "--org",
            "acme",
            "--env",
            "production",
            "--name",
            "billing",
        ],
    );
    assert!(ok, "{stderr}");
    let key = key.trim();
    assert!(key.starts_with("sk_prod_"));

    let (ok, listing, stderr) = run(data_dir.path(), &["api-keys", "list", "--org", "acme"]);
    assert!(ok, "{stderr}");
    assert!(
        listing.contains("billing") && listing.contains("production"),
        "{listing}"
    );
    assert!(!listing.contains(key), "the listing shows the full key");
    let id = listing
        .lines()
        .nth(1)
        .and_then(|line| line.split('\t').next())
        .expect("a key row")
        .to_owned();

    let (ok, _, stderr) = run(data_dir.path(), &["api-keys", "revoke", &id]);
    assert!(ok, "{stderr}");
    let (_, listing, _) = run(data_dir.path(), &["api-keys", "list", "--org", "acme"]);
    let row = listing.lines().nth(1).expect("row");
    assert!(
        !row.ends_with("\t-"),
        "the key is not marked revoked: {row}"
    );

    let (ok, _, stderr) = run(
        data_dir.path(),
        &["api-keys", "revoke", &uuid::Uuid::new_v4().to_string()],
    );
    assert!(!ok);
    assert!(stderr.contains("not found"), "{stderr}");

    let (ok, _, stderr) = run(data_dir.path(), &["api-keys", "list", "--org", "nobody"]);
    assert!(!ok);
    assert!(stderr.contains("not found"), "{stderr}");
}

#[test]
fn invalid_setting_stops_start() {
    let data_dir = tempfile::tempdir().expect("data directory");
    let output = scopegate(data_dir.path())
        .env("SCOPEGATE_TOKEN_TTL", "forever")
        .arg("serve")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SCOPEGATE_TOKEN_TTL"), "{stderr}");
    assert!(stderr.contains("whole seconds"), "{stderr}");
}
