//! Destinations as the SDK reads and writes them.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, patch, post};
use chrono::Utc;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::Principal;
use crate::destination::{self, DestinationInput, Identity, render};
use crate::envelope::success;
use crate::error::{ApiError, ApiResult};
use crate::json::JsonObject;
use crate::store::{Destination, NewDestination, StoreError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/destinations", post(create))
        .route("/export/destinations", post(create))
        .route("/destinations-for-recipient", get(list_for_recipient))
        .route(
            "/export/destinations-for-recipient",
            get(list_for_recipient),
        )
        .route("/destinations/{id}", patch(update).delete(remove).get(show))
        .route(
            "/export/destinations/{id}",
            patch(update).delete(remove).get(show),
        )
        .route("/test-destination", post(test_new))
        .route("/export/test-destination", post(test_new))
        .route("/destinations/{id}/test-connection", post(test_existing))
        .route(
            "/export/destinations/{id}/test-connection",
            post(test_existing),
        )
}

/// Takes the `destination` member of a body; a missing one reads as `{}`
/// where `optional` is set.
fn take_destination(
    body: &mut Map<String, Value>,
    optional: bool,
) -> ApiResult<Map<String, Value>> {
    match body.remove("destination") {
        Some(Value::Object(object)) => Ok(object),
        None | Some(Value::Null) if optional => Ok(Map::new()),
        None => Err(ApiError::BadRequest("destination is required".to_owned())),
        Some(_) => Err(ApiError::BadRequest(
            "destination must be an object".to_owned(),
        )),
    }
}

fn parse_id(text: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(text)
        .map_err(|_| ApiError::BadRequest(format!("destination id {text:?} is not a UUID")))
}

/// Loads a destination of the principal's tenant, or answers 404.
pub(crate) async fn load(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> ApiResult<Destination> {
    let id = parse_id(id)?;
    state
        .store
        .get_destination(principal.tenant(), id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("destination {id} not found")))
}

#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonObject(mut body): JsonObject,
) -> ApiResult<Response> {
    let destination = take_destination(&mut body, false)?;

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
        None => super::catalog::queried_recipient(&state, tenant, &query).await?,
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

#[tracing::instrument(skip_all, fields(destination_id = %id))]
async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let stored = load(&state, &principal, &id).await?;
    principal.authorize_destination_read(&stored)?;
    Ok(success(
        json!({ "destination": render(&stored) }),
        "destination found",
    ))
}

#[tracing::instrument(skip_all, fields(destination_id = %id))]
async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonObject(mut body): JsonObject,
) -> ApiResult<Response> {
    let changes = take_destination(&mut body, true)?;
    let stored = load(&state, &principal, &id).await?;
    let secrets = destination::open_secrets(&state.master_key, &stored)?;
    let mut document = destination::document(&stored, &secrets);
    principal.authorize_destination_change(&state.master_key, &stored, &document, &changes)?;

    if crate::auth::fingerprint::details(&changes).is_empty() {
        return Ok(success(
            json!({ "destination": render(&stored) }),
            "nothing to change",
        ));
    }
    destination::apply_changes(&mut document, &changes);
    let input = DestinationInput::parse(&document)?;
    let changed = Destination {
        vendor: input.vendor.clone(),
        name: input.name.clone(),
        secrets: input.seal_secrets(&state.master_key, stored.id)?,
        details: Value::Object(input.details),
        updated_at: Utc::now(),
        ..stored.clone()
    };
    let updated = match state
        .store
        .update_destination(principal.tenant(), &changed, stored.updated_at)
        .await
    {
        Ok(Some(updated)) => updated,
        Ok(None) => {
            return Err(ApiError::NotFound(format!(
                "destination {} not found",
                stored.id
            )));
        }
        Err(StoreError::Stale(_)) => {
            return Err(ApiError::Conflict(
                "the destination changed while this update was applied; reload it and retry"
                    .to_owned(),
            ));
        }
        Err(error) => return Err(error.into()),
    };

    tracing::info!(destination_id = %updated.id, "updated destination");
    Ok(success(
        json!({ "destination": render(&updated) }),
        "destination updated",
    ))
}

#[tracing::instrument(skip_all, fields(destination_id = %id))]
async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let stored = load(&state, &principal, &id).await?;
    principal.authorize_destination_delete(&stored)?;

    if !state
        .store
        .delete_destination(principal.tenant(), stored.id)
        .await?
    {
        return Err(ApiError::NotFound(format!(
            "destination {} not found",
            stored.id
        )));
    }
    tracing::info!(destination_id = %stored.id, "deleted destination");
    Ok(success(json!({}), "destination deleted"))
}

/// Tests the connection of a destination that is not saved: the body is
/// the full destination, as for a create.
#[tracing::instrument(skip_all)]
async fn test_new(
    State(state): State<AppState>,
    principal: Principal,
    JsonObject(mut body): JsonObject,
) -> ApiResult<Response> {
    let candidate = take_destination(&mut body, false)?;
    principal.authorize_destination_write(&state.master_key, &candidate)?;
    let input = DestinationInput::parse(&candidate)?;

    let verdict = state.run_connection_test(&input.vendor, &candidate).await;
    Ok(super::connection::verdict_response(verdict))
}

/// Tests a saved destination, with the body's changes applied when there
/// are any; nothing is saved.
#[tracing::instrument(skip_all, fields(destination_id = %id))]
async fn test_existing(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    JsonObject(mut body): JsonObject,
) -> ApiResult<Response> {
    let changes = take_destination(&mut body, true)?;
    let stored = load(&state, &principal, &id).await?;
    let secrets = destination::open_secrets(&state.master_key, &stored)?;
    let mut document = destination::document(&stored, &secrets);
    principal.authorize_destination_change(&state.master_key, &stored, &document, &changes)?;

    destination::apply_changes(&mut document, &changes);
    let input = DestinationInput::parse(&document)?;
    let verdict = state.run_connection_test(&input.vendor, &document).await;
    Ok(super::connection::verdict_response(verdict))
}
