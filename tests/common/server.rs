//! A real scopegate router on an ephemeral loopback port, over a fresh
//! test database.

use std::net::SocketAddr;

use scopegate::app::AppState;
use scopegate::auth::api_key;
use scopegate::config::Config;
use scopegate::crypto::MasterKey;
use scopegate::store::{ApiKeyRole, Environment, Tenant};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::db::{Backend, TestDb};

pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    /// The master key in its `SCOPEGATE_MASTER_KEY` form.
    pub master_key_base64: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    // Dropped last, after the server has stopped using the database.
    pub db: TestDb,
    _data_dir: tempfile::TempDir,
}

/// Settings for tests: defaults, with overrides from `pairs`.
pub fn test_config(pairs: &[(&str, &str)], data_dir: &std::path::Path) -> Config {
    let mut config = Config::from_lookup(|name| {
        pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    })
    .expect("test settings are valid");
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.data_dir = data_dir.to_path_buf();
    config
}

impl TestApp {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    pub async fn start_with(backend: Backend, settings: &[(&str, &str)]) -> Self {
        let db = TestDb::new(backend).await;
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        let config = test_config(settings, data_dir.path());
        let (master_key, master_key_base64) = MasterKey::generate().expect("master key");
        let state = AppState::new(config, db.store.clone(), master_key)
            .await
            .expect("application state");

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (sender, receiver) = oneshot::channel::<()>();
        let serve_state = state.clone();
        let task = tokio::spawn(async move {
            let shutdown = async {
                let _ = receiver.await;
            };
            scopegate::startup::serve(listener, serve_state, shutdown)
                .await
                .expect("server runs");
        });

        Self {
            base: format!("http://{addr}"),
            addr,
            state,
            client: reqwest::Client::new(),
            master_key_base64,
            shutdown: Some(sender),
            task: Some(task),
            db,
            _data_dir: data_dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Creates a standard API key for `org` in `environment`, as the CLI does.
    pub async fn api_key(&self, org: &str, environment: Environment) -> String {
        self.api_key_with_role(org, environment, ApiKeyRole::Standard)
            .await
    }

    /// Creates an admin API key for `org` in `environment`.
    pub async fn admin_key(&self, org: &str, environment: Environment) -> String {
        self.api_key_with_role(org, environment, ApiKeyRole::Admin)
            .await
    }

    pub async fn api_key_with_role(
        &self,
        org: &str,
        environment: Environment,
        role: ApiKeyRole,
    ) -> String {
        let organization = self
            .state
            .store
            .ensure_organization(org)
            .await
            .expect("organization");
        let tenant = Tenant {
            organization_id: organization.id,
            environment,
        };
        let (secret, _) = api_key::issue(&self.state.store, tenant, None, role)
            .await
            .expect("api key");
        secret.expose().to_owned()
    }

    /// Calls the mint route and returns status and body.
    pub async fn mint(&self, key: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(self.url("/actions/generate-scoped-auth-token"))
            .header("X-API-KEY", key)
            .json(body)
            .send()
            .await
            .expect("mint request");
        read(response).await
    }

    /// Mints and returns the token, failing the test on any error.
    pub async fn mint_token(&self, key: &str, body: &Value) -> String {
        let (status, body) = self.mint(key, body).await;
        assert_eq!(status, 200, "mint failed: {body}");
        body["data"]["scoped_token"]
            .as_str()
            .expect("scoped_token is a string")
            .to_owned()
    }

    /// Sends a request the way `@prequel/react` does: bearer token, X-APP-ID,
    /// API version, and a JSON body without a Content-Type header.
    pub async fn sdk_request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        app_id: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("Authorization", format!("Bearer {token}"))
            .header("X-APP-ID", app_id)
            .header("X-Prequel-Api-Version", "2023-12-01");
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        read(request.send().await.expect("request")).await
    }

    pub async fn stop(mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Status and JSON body of a response; a body that is not JSON fails.
pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("response body");
    let body: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("status {status}: body is not JSON: {text}"));
    (status, body)
}
