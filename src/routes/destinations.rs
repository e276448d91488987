//! Destinations as the SDK reads and writes them.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::Principal;
use crate::destination::{DestinationInput, Identity, render};
use crate::envelope::success;
use crate::error::{ApiError, ApiResult};
use crate::json::JsonObject;
use crate::store::NewDestination;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/destinations", post(create))
        .route("/destinations-for-recipient", get(list_for_recipient))
        .route(
            "/export/destinations-for-recipient",
            get(list_for_recipient),
        )
}

#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonObject(mut body): JsonObject,
) -> ApiResult<Response> {
    let destination = match body.remove("destination") {
        Some(Value::Object(object)) => object,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "destination must be an object".to_owned(),
            ));
        }
        None => return Err(ApiError::BadRequest("destination is required".to_owned())),
    };

    principal.authorize_destination_write(&state.master_key, &destination)?;
    let input = DestinationInput::parse(&destination)?;
    let tenant = principal.tenant();
    let recipient_id = match &principal {
        Principal::Scoped(scoped) => scoped.recipient_id,
        Principal::ApiKey(_) => {
            let identity = Identity::parse(&destination, "destination")?;
            super::resolve_recipient(&state, tenant, &identity, "destination")
                .await?
                .id
        }
    };

    let id = Uuid::new_v4();
    let stored = state
        .store
        .insert_destination(&NewDestination {
            id,
            tenant,
            recipient_id,
            secrets: input.seal_secrets(&state.master_key, id)?,
            vendor: input.vendor,
            name: input.name,
            details: Value::Object(input.details),
            created_at: Utc::now(),
        })
        .await?;

    tracing::info!(destination_id = %stored.id, recipient_id = %recipient_id, "created destination");
    Ok(success(
        json!({ "destination": render(&stored) }),
        "destination created",
    ))
}

#[tracing::instrument(skip_all)]
async fn list_for_recipient(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let tenant = principal.tenant();
    let recipient_id = match principal.authorize_recipient_read()? {
        Some(recipient_id) => recipient_id,
        None => {
            let identity = Identity {
                id_in_provider_system: query.get("id_in_provider_system").cloned(),
                recipient_id: query
                    .get("recipient_id")
                    .map(|text| Uuid::parse_str(text))
                    .transpose()
                    .map_err(|_| ApiError::BadRequest("recipient_id must be a UUID".to_owned()))?,
                id: None,
            };
            if identity.id_in_provider_system.is_none() && identity.recipient_id.is_none() {
                return Err(ApiError::BadRequest(
                    "with an API key, name the recipient with the recipient_id or \
                     id_in_provider_system query parameter"
                        .to_owned(),
                ));
            }
            lookup_recipient(&state, tenant, &identity).await?
        }
    };

    let destinations = state
        .store
        .list_destinations_for_recipient(tenant, recipient_id)
        .await?;
    let rendered: Vec<Value> = destinations.iter().map(render).collect();
    Ok(success(
        json!({ "destinations": rendered }),
        "destinations listed",
    ))
}

/// Finds an existing recipient without creating one: a read must not write.
async fn lookup_recipient(
    state: &AppState,
    tenant: crate::store::Tenant,
    identity: &Identity,
) -> ApiResult<Uuid> {
    if let Some(recipient_id) = identity.recipient_id {
        return Ok(super::find_recipient(state, tenant, recipient_id).await?.id);
    }
    let external_id = identity
        .id_in_provider_system
        .as_deref()
        .unwrap_or_default();
    state
        .store
        .find_recipient(tenant, external_id)
        .await?
        .map(|recipient| recipient.id)
        .ok_or_else(|| ApiError::NotFound(format!("recipient {external_id:?} not found")))
}
