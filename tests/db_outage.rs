//! A database outage and its end, on a PostgreSQL cluster that this test
//! creates with `initdb` in a temporary directory and stops with
//! `pg_ctl stop -m immediate`. The shared server on port 5432 is never
//! touched. scopegate runs as the real binary and is not restarted.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::flow::{APP_ID, get_mint_body};
use common::process::{self, Server, create_api_key};
use tempfile::TempDir;

/// `SCOPEGATE_DB_ACQUIRE_TIMEOUT` default: the longest a request should
/// wait for the database before its 503.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Slack for scheduling and the HTTP exchange on top of the acquire timeout.
const MARGIN: Duration = Duration::from_secs(2);
const RECOVERY_LIMIT: Duration = Duration::from_secs(10);

/// A PostgreSQL cluster owned by this test, removed on drop.
struct Cluster {
    bin: PathBuf,
    dir: TempDir,
    port: u16,
    /// The user that runs the server tools: PostgreSQL refuses to run as
    /// root, so a root test runs them as `postgres`.
    run_as: Option<&'static str>,
}

/// Returns the program directory of the newest installed PostgreSQL.
fn postgres_bin_dir() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed under /usr/lib/postgresql")
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .expect("no initdb under /usr/lib/postgresql/*/bin")
        .1
}

fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// Returns a port that was free a moment ago. Starting the cluster retries with
/// another one when it was taken meanwhile.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

fn describe(output: &Output) -> String {
    format!(
        "status {}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

impl Cluster {
    fn create() -> Self {
        let bin = postgres_bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("scopegate-outage-")
            .tempdir()
            .expect("temporary directory");
        let run_as = is_root().then_some("postgres");
        if let Some(user) = run_as {
            let status = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(
                status.success(),
                "chown {user} {} failed",
                dir.path().display()
            );
        }
        let mut cluster = Self {
            bin,
            dir,
            port: 0,
            run_as,
        };
        let data = cluster.data_dir();
        let output = cluster.tool(
            "initdb",
            &[
                "-D",
                data.to_str().expect("path"),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
                "--no-instructions",
            ],
        );
        assert!(
            output.status.success(),
            "initdb failed: {}",
            describe(&output)
        );

        for _ in 0..5 {
            let port = free_port();
            if cluster.start_on(port) {
                cluster.port = port;
                return cluster;
            }
        }
        panic!("the test cluster did not start: {}", cluster.server_log());
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn server_log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Runs one of PostgreSQL's programs, as `run_as` when set.
    fn tool(&self, program: &str, args: &[&str]) -> Output {
        let path = self.bin.join(program);
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&path);
                command
            }
            None => Command::new(&path),
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|error| panic!("running {} failed: {error}", path.display()))
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let data = self.data_dir();
        let mut all = vec!["-D", data.to_str().expect("path")];
        all.extend_from_slice(args);
        self.tool("pg_ctl", &all)
    }

    /// Starts the server on `port`, listening on 127.0.0.1 only and with
    /// its socket in the cluster directory. Returns whether it started.
    fn start_on(&self, port: u16) -> bool {
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {} -c fsync=off",
            self.dir.path().display()
        );
        let log = self.log_path();
        let output = self.pg_ctl(&[
            "-l",
            log.to_str().expect("path"),
            "-w",
            "-t",
            "30",
            "-o",
            &options,
            "start",
        ]);
        output.status.success()
    }

    /// Starts the server again on its port after [`Cluster::stop`].
    fn restart(&self) {
        for _ in 0..5 {
            if self.start_on(self.port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("the test cluster did not restart: {}", self.server_log());
    }

    /// Stops the server at once, as a crash or a lost host would.
    fn stop(&self) {
        let output = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        assert!(
            output.status.success(),
            "pg_ctl stop failed: {}",
            describe(&output)
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Stopping a stopped cluster fails harmlessly.
        let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
    }
}

fn command(data_dir: &Path, cluster: &Cluster) -> Command {
    let mut command = process::command(data_dir);
    command.env("DATABASE_URL", cluster.url());
    command
}

/// One request's outcome: status, whether it carried `Retry-After`, and
/// how long it took.
#[derive(Debug)]
struct Outcome {
    name: &'static str,
    status: u16,
    retry_after: bool,
    elapsed: Duration,
}

async fn timed(name: &'static str, request: reqwest::RequestBuilder) -> Outcome {
    let started = Instant::now();
    let response = request
        .send()
        .await
        .unwrap_or_else(|error| panic!("{name}: request failed: {error}"));
    Outcome {
        name,
        status: response.status().as_u16(),
        retry_after: response.headers().contains_key("retry-after"),
        elapsed: started.elapsed(),
    }
}

/// Sends, at once, one of each request that needs the database.
async fn round(
    client: &reqwest::Client,
    server: &Server,
    cached_key: &str,
    uncached_key: &str,
    token: &str,
) -> [Outcome; 4] {
    let mint = |key: &str| {
        client
            .post(server.url("/actions/generate-scoped-auth-token"))
            .header("X-API-KEY", key)
            .body(get_mint_body("tenant-a").to_string())
    };
    let list = client
        .get(server.url("/destinations-for-recipient"))
        .header("Authorization", format!("Bearer {token}"))
        .header("X-APP-ID", APP_ID);
    let (ready, cached, uncached, listed) = tokio::join!(
        timed("GET /readyz", client.get(server.url("/readyz"))),
        timed("mint with a cached key", mint(cached_key)),
        timed("mint with an uncached key", mint(uncached_key)),
        timed("list with a token", list),
    );
    [ready, cached, uncached, listed]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_gives_503_then_recovers() {
    let cluster = Cluster::create();
    let data_dir = tempfile::tempdir().expect("data directory");
    let cached_key = create_api_key(command(data_dir.path(), &cluster), "acme");
    let uncached_key = create_api_key(command(data_dir.path(), &cluster), "acme");
    let server = Server::start(command(data_dir.path(), &cluster));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");

    // Before the outage: the first key is used, so it is cached.
    let response = client
        .post(server.url("/actions/generate-scoped-auth-token"))
        .header("X-API-KEY", &cached_key)
        .body(get_mint_body("tenant-a").to_string())
        .send()
        .await
        .expect("mint");
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.expect("JSON");
    let token = body["data"]["scoped_token"]
        .as_str()
        .expect("token")
        .to_owned();
    for outcome in round(&client, &server, &cached_key, &cached_key, &token).await {
        assert_eq!(outcome.status, 200, "before the outage: {outcome:?}");
    }

    cluster.stop();
    let outage_started = Instant::now();
    for _ in 0..3 {
        if outage_started.elapsed() > Duration::from_secs(40) {
            break;
        }
        for outcome in round(&client, &server, &cached_key, &uncached_key, &token).await {
            assert_eq!(outcome.status, 503, "during the outage: {outcome:?}");
            assert!(outcome.retry_after, "503 without Retry-After: {outcome:?}");
            assert!(
                outcome.elapsed <= ACQUIRE_TIMEOUT + MARGIN,
                "{} took {:?}",
                outcome.name,
                outcome.elapsed
            );
        }
        let live = client
            .get(server.url("/healthz"))
            .send()
            .await
            .expect("GET");
        assert_eq!(live.status().as_u16(), 200, "liveness during the outage");
    }

    cluster.restart();
    let restarted = Instant::now();
    loop {
        let ready = client.get(server.url("/readyz")).send().await.expect("GET");
        if ready.status().as_u16() == 200 {
            break;
        }
        assert!(
            restarted.elapsed() < RECOVERY_LIMIT,
            "/readyz still {} {:?} after the restart",
            ready.status(),
            restarted.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for _ in 0..3 {
        for outcome in round(&client, &server, &cached_key, &uncached_key, &token).await {
            assert!(
                (200..300).contains(&outcome.status),
                "after recovery: {outcome:?}"
            );
        }
    }
}
