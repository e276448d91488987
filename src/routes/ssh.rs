//! `POST /actions/generate-ssh-key`: a key pair for a customer's SSH tunnel
//! or key-pair login. The private key stays in the store, sealed, so a
//! destination that names the public key can use it later.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;
use axum::routing::post;
use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::app::AppState;
use crate::envelope::success;
use crate::error::{ApiError, ApiResult};
use crate::openapi::{responses, schemas};
use crate::sshkey;
use crate::store::SshKeyRecord;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/actions/generate-ssh-key", post(generate))
        .route("/export/actions/generate-ssh-key", post(generate))
}

/// Context a generated key's private half is sealed under.
pub fn seal_context(id: Uuid) -> Vec<u8> {
    crate::crypto::seal_context(crate::store::SealedKind::SshKey, &id.to_string())
}

#[utoipa::path(
    post,
    path = "/actions/generate-ssh-key",
    operation_id = "generate_ssh_key",
    tag = "ssh-keys",
    summary = "Generate an SSH key pair",
    description = "Needs no credentials. Each client address may generate \
                   `SCOPEGATE_SSH_KEY_RATE_LIMIT` key pairs per minute.",
    responses(
        (status = 200, description = "The public key in two encodings.", body = schemas::Success<schemas::SshKey>),
        (status = 400, description = "Unsupported X-Prequel-Api-Version header.", body = schemas::ErrorEnvelope),
        (status = 429, response = responses::TooManyRequests),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
)]
#[tracing::instrument(skip_all, fields(client = %client.ip()))]
async fn generate(
    State(state): State<AppState>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
) -> ApiResult<Response> {
    // NOTE: the limit is per peer address; behind a reverse proxy every
    // client shares the proxy's address and so one budget.
    if let Err(wait) = state.ssh_key_limiter.check(client.ip()) {
        tracing::info!("SSH key generation rate limited");
        return Err(ApiError::TooManyRequests(wait.as_secs().max(1)));
    }

    let generated = tokio::task::spawn_blocking(sshkey::generate)
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let id = Uuid::new_v4();
    let private_key_encrypted = state
        .master_key
        .seal(&seal_context(id), generated.private_key_pkcs8_der())
        .map_err(ApiError::internal)?;
    let record = SshKeyRecord {
        id,
        public_key_openssh: generated.public_key_openssh.clone(),
        public_key_pkcs8: generated.public_key_pkcs8.clone(),
        private_key_encrypted,
        created_at: Utc::now(),
    };
    state.store.insert_ssh_key(&record).await?;

    tracing::info!(ssh_key_id = %id, "generated SSH key");
    Ok(success(
        json!({
            "public_key": record.public_key_openssh,
            "public_key_pkcs8": record.public_key_pkcs8,
        }),
        "SSH key generated",
    ))
}
