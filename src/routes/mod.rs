//! HTTP routes, one module per resource.

// The handler modules are visible to the crate so that `crate::openapi` can
// list their `#[utoipa::path]` operations.
pub(crate) mod catalog;
mod connection;
pub(crate) mod destinations;
pub(crate) mod jwks;
pub(crate) mod keys;
pub(crate) mod recipients;
pub(crate) mod ssh;
pub(crate) mod tokens;
pub(crate) mod transfers;
pub(crate) mod vendors;

use axum::Router;
use uuid::Uuid;

use crate::app::AppState;
use crate::destination::Identity;
use crate::error::{ApiError, ApiResult};
use crate::store::{Recipient, Tenant};

pub use ssh::seal_context as ssh_seal_context;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(tokens::router())
        .merge(destinations::router())
        .merge(jwks::router())
        .merge(keys::router())
        .merge(transfers::router())
        .merge(catalog::router())
        .merge(recipients::router())
        .merge(ssh::router())
        .merge(vendors::router())
        .merge(crate::openapi::router())
}

/// Finds the recipient an identity names within `tenant`. An
/// `id_in_provider_system` creates the recipient on first use; a
/// `recipient_id` must exist. When both are named they must agree.
pub(crate) async fn resolve_recipient(
    state: &AppState,
    tenant: Tenant,
    identity: &Identity,
    path: &str,
) -> ApiResult<Recipient> {
    match (&identity.id_in_provider_system, identity.recipient_id) {
        (Some(external_id), recipient_id) => {
            let recipient = state.store.upsert_recipient(tenant, external_id).await?;
            if recipient_id.is_some_and(|id| id != recipient.id) {
                return Err(ApiError::BadRequest(format!(
                    "{path}.recipient_id and {path}.id_in_provider_system name different recipients"
                )));
            }
            Ok(recipient)
        }
        (None, Some(recipient_id)) => find_recipient(state, tenant, recipient_id).await,
        (None, None) => Err(ApiError::BadRequest(format!(
            "{path} must name the recipient with id_in_provider_system or recipient_id"
        ))),
    }
}

pub(crate) async fn find_recipient(
    state: &AppState,
    tenant: Tenant,
    recipient_id: Uuid,
) -> ApiResult<Recipient> {
    state
        .store
        .get_recipient(tenant, recipient_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("recipient {recipient_id} not found")))
}
