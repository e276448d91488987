//! The `scopegate` binary as operators run it: graceful shutdown on
//! SIGTERM, the `healthcheck` subcommand, the separate metrics listener
//! and JSON logs.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::flow::get_mint_body;
use common::process::{self, Server, create_api_key, run};
use common::prometheus;
use scopegate::crypto::MasterKey;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

const MINT_ROUTE: &str = "/actions/generate-scoped-auth-token";

/// A mint request whose body is only half sent, so the request stays in
/// flight until [`SlowMint::finish`] sends the rest.
struct SlowMint {
    stream: TcpStream,
    rest: Vec<u8>,
}

impl SlowMint {
    async fn start(address: SocketAddr, key: &str) -> Self {
        let body = get_mint_body("tenant-slow").to_string().into_bytes();
        let head = format!(
            "POST {MINT_ROUTE} HTTP/1.1\r\nHost: {address}\r\nX-API-KEY: {key}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        let mut stream = TcpStream::connect(address).await.expect("connect");
        let (first, rest) = body.split_at(body.len() / 2);
        stream.write_all(head.as_bytes()).await.expect("send head");
        stream.write_all(first).await.expect("send half the body");
        Self {
            stream,
            rest: rest.to_vec(),
        }
    }

    /// Sends the rest of the body and returns the status code and body of
    /// the response.
    async fn finish(mut self) -> Result<(u16, String), String> {
        self.stream
            .write_all(&self.rest)
            .await
            .map_err(|error| format!("sending the rest failed: {error}"))?;
        let mut answer = Vec::new();
        tokio::time::timeout(
            Duration::from_secs(15),
            self.stream.read_to_end(&mut answer),
        )
        .await
        .map_err(|_| "no complete answer within 15 s".to_owned())?
        .map_err(|error| format!("reading the answer failed: {error}"))?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| format!("no status line in {text:?}"))?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, body)| body.to_owned())
            .unwrap_or_default();
        Ok((status, body))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_in_flight_requests_finish() {
    const REQUESTS: usize = 50;
    let data_dir = tempfile::tempdir().expect("data directory");
    let key = create_api_key(process::command(data_dir.path()), "acme");
    let mut command = process::command(data_dir.path());
    command.env("SCOPEGATE_SHUTDOWN_TIMEOUT", "20");
    let mut server = Server::start(command);

    let mut in_flight = Vec::with_capacity(REQUESTS);
    for _ in 0..REQUESTS {
        in_flight.push(SlowMint::start(server.address, &key).await);
    }
    // Give the server time to read every request head.
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.terminate();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        TcpStream::connect(server.address).await.is_err(),
        "the server still accepts connections after SIGTERM"
    );

    let mut answers = JoinSet::new();
    for request in in_flight {
        answers.spawn(request.finish());
    }
    let mut answered = 0;
    while let Some(answer) = answers.join_next().await {
        let (status, body) = answer
            .expect("task")
            .unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("scoped_token"), "{body}");
        answered += 1;
    }
    assert_eq!(answered, REQUESTS);

    let status = server
        .wait(Duration::from_secs(15))
        .expect("scopegate exits after the last answer");
    assert!(status.success(), "exit status {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_timeout_bounds_the_wait() {
    let data_dir = tempfile::tempdir().expect("data directory");
    let key = create_api_key(process::command(data_dir.path()), "acme");
    let mut command = process::command(data_dir.path());
    command.env("SCOPEGATE_SHUTDOWN_TIMEOUT", "1");
    let mut server = Server::start(command);

    let stuck = SlowMint::start(server.address, &key).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    server.terminate();
    let status = server
        .wait(Duration::from_secs(10))
        .expect("scopegate exits although a request never completes");
    let elapsed = signalled.elapsed();
    assert!(status.success(), "exit status {status}");
    assert!(
        elapsed >= Duration::from_secs(1),
        "exited after {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(6), "exited after {elapsed:?}");
    let log = server.log().join("\n");
    assert!(
        log.contains("no longer waiting"),
        "the log does not report the cut-off:\n{log}"
    );
    drop(stuck);
}

fn healthcheck(data_dir: &std::path::Path, listen: &str, args: &[&str]) -> (bool, String) {
    let mut command = process::command(data_dir);
    command.env("SCOPEGATE_LISTEN", listen);
    let mut all = vec!["healthcheck"];
    all.extend_from_slice(args);
    let output = run(command, &all);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn healthcheck_subcommand_reports_status() {
    let data_dir = tempfile::tempdir().expect("data directory");
    let mut server = Server::start(process::command(data_dir.path()));
    let port = server.address.port();

    let (ok, output) = healthcheck(data_dir.path(), &server.address.to_string(), &[]);
    assert!(ok, "{output}");
    assert!(output.contains("/healthz returned 200"), "{output}");

    let wildcard = format!("0.0.0.0:{port}");
    let (ok, output) = healthcheck(data_dir.path(), &wildcard, &["--ready"]);
    assert!(ok, "{output}");
    assert!(output.contains("127.0.0.1"), "{output}");
    assert!(output.contains("/readyz returned 200"), "{output}");

    server.terminate();
    server.wait(Duration::from_secs(10)).expect("exit");
    let (ok, output) = healthcheck(data_dir.path(), &server.address.to_string(), &[]);
    assert!(!ok, "a stopped server passed the health check: {output}");
    assert!(output.contains("connecting"), "{output}");

    let (ok, output) = healthcheck(data_dir.path(), "127.0.0.1:0", &[]);
    assert!(!ok);
    assert!(output.contains("port 0"), "{output}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listener_and_json_logs() {
    let data_dir = tempfile::tempdir().expect("data directory");
    let (_, master_key) = MasterKey::generate().expect("master key");
    let key = {
        let mut command = process::command(data_dir.path());
        command.env("SCOPEGATE_MASTER_KEY", &master_key);
        create_api_key(command, "acme")
    };
    let mut command = process::command(data_dir.path());
    command
        .env("SCOPEGATE_MASTER_KEY", &master_key)
        .env("SCOPEGATE_METRICS_LISTEN", "127.0.0.1:0")
        .env("SCOPEGATE_LOG_FORMAT", "json");
    let mut server = Server::start(command);
    let metrics_address = server
        .metrics_address
        .expect("the listening line names the metrics listener");
    let client = reqwest::Client::new();

    let response = client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("GET");
    assert_eq!(
        response.status().as_u16(),
        404,
        "/metrics must move to the metrics listener"
    );

    let request_id = "ops-binary-7e1d";
    let response = client
        .post(server.url(MINT_ROUTE))
        .header("X-API-KEY", &key)
        .header("x-request-id", request_id)
        .body(get_mint_body("tenant-a").to_string())
        .send()
        .await
        .expect("mint");
    assert_eq!(response.status().as_u16(), 200);
    let token = response.json::<Value>().await.expect("JSON")["data"]["scoped_token"]
        .as_str()
        .expect("token")
        .to_owned();

    let text = client
        .get(format!("http://{metrics_address}/metrics"))
        .send()
        .await
        .expect("GET metrics")
        .text()
        .await
        .expect("body");
    let metrics = prometheus::parse(&text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    let minted = [("scope", "GET"), ("environment", "staging")];
    assert_eq!(
        metrics.value("scopegate_tokens_minted_total", &minted),
        Some(1.0)
    );
    let waits = metrics
        .value("scopegate_db_acquire_wait_seconds_count", &[])
        .expect("acquire wait histogram");
    assert!(waits >= 1.0, "no connection acquisition was recorded");

    server.terminate();
    let status = server.wait(Duration::from_secs(15)).expect("exit");
    assert!(status.success(), "exit status {status}");

    let lines = server.log();
    for line in &lines {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not a JSON log line: {line}");
    }
    let log = lines.join("\n");
    assert!(
        lines
            .iter()
            .any(|line| line.contains("\"response\"") && line.contains(request_id)),
        "no response line carries the request id:\n{log}"
    );
    let startup = lines
        .iter()
        .find(|line| line.contains("starting scopegate"))
        .expect("startup line");
    assert!(startup.contains("<set>"), "{startup}");
    for secret in [master_key.as_str(), key.as_str(), token.as_str()] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}
