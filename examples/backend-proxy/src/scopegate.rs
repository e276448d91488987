//! The call to scopegate's `POST /actions/generate-scoped-auth-token`.

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::config::ApiKey;
use crate::error::ProxyError;

/// Limit of one mint request, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Mints scoped tokens with the proxy's API key.
#[derive(Debug, Clone)]
pub struct ScopegateClient {
    http: reqwest::Client,
    mint_url: String,
    api_key: ApiKey,
    application_origin: String,
}

impl ScopegateClient {
    /// `base_url` has no trailing slash; `application_origin` is the web
    /// app's origin that every token is bound to.
    pub fn new(
        base_url: &str,
        api_key: ApiKey,
        application_origin: String,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()?;
        Ok(Self {
            http,
            mint_url: format!("{base_url}/actions/generate-scoped-auth-token"),
            api_key,
            application_origin,
        })
    }

    /// Mints a token from `destination`, which must already carry the
    /// session's tenant, and returns `data.scoped_token`.
    pub async fn mint(&self, destination: Map<String, Value>) -> Result<String, ProxyError> {
        let body = json!({
            "application_origin": self.application_origin,
            "destination": destination,
        });
        let response = self
            .http
            .post(&self.mint_url)
            .header("X-API-KEY", self.api_key.expose())
            .json(&body)
            .send()
            .await
            .map_err(|error| {
                tracing::error!(error = %error, url = %self.mint_url, "scopegate mint request failed");
                ProxyError::Upstream
            })?;

        let status = response.status();
        let envelope: Value = response.json().await.map_err(|error| {
            tracing::error!(%status, error = %error, "scopegate mint response is not JSON");
            ProxyError::Upstream
        })?;

        if status.is_success() {
            return match envelope
                .pointer("/data/scoped_token")
                .and_then(Value::as_str)
            {
                Some(token) if !token.is_empty() => Ok(token.to_owned()),
                _ => {
                    tracing::error!(%status, "scopegate mint response has no data.scoped_token");
                    Err(ProxyError::Upstream)
                }
            };
        }

        let message = envelope
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no message")
            .to_owned();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            tracing::error!(%status, message = %message, "scopegate rejected the API key: check SCOPEGATE_API_KEY");
            return Err(ProxyError::Upstream);
        }
        if status.is_client_error() {
            tracing::warn!(%status, message = %message, "scopegate rejected the mint request");
            return Err(ProxyError::MintRejected { status, message });
        }
        tracing::error!(%status, message = %message, "scopegate failed to mint a token");
        Err(ProxyError::Upstream)
    }
}
