//! Destinations as the SDK reads and writes them.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, patch, post};
use chrono::Utc;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Principal, ServerKey};
use crate::destination::{self, DestinationInput, Identity, render};
use crate::envelope::{success, success_page};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonObject;
use crate::openapi::{responses, schemas};
use crate::pagination;
use crate::store::{Destination, NewDestination, StoreError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/destinations", post(create).get(list_all))
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

/// Loads a destination of the principal's tenant, or returns a 404 error.
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

#[utoipa::path(
    post,
    path = "/destinations",
    operation_id = "create_destination",
    tag = "destinations",
    summary = "Create a destination",
    description = "An API key names the recipient in the destination's identity fields. A \
                   POST-scope token may create only the destination it was minted from, for \
                   its own recipient.",
    request_body = schemas::DestinationRequest,
    responses(
        (status = 200, description = "The created destination.", body = schemas::Success<schemas::DestinationData>),
        (status = 400, description = "Invalid body: `destination` missing or not an object, a missing or invalid `vendor` or `name`, a wrongly typed field, or (with an API key) no valid recipient identity.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "The token has GET scope, or the destination differs from the one the token was minted for. The message names the differing fields.", body = schemas::ErrorEnvelope),
        (status = 404, description = "With an API key: `recipient_id` names no recipient.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = []), ("scoped_token" = [])),
)]
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

#[utoipa::path(
    get,
    path = "/destinations-for-recipient",
    operation_id = "list_destinations_for_recipient",
    tag = "destinations",
    summary = "List a recipient's destinations",
    description = "A GET-scope token lists its own recipient's destinations. An API key names \
                   the recipient in the query.",
    params(schemas::RecipientQuery),
    responses(
        (status = 200, description = "The recipient's destinations.", body = schemas::Success<schemas::DestinationList>),
        (status = 400, description = "With an API key: no recipient named in the query, or an invalid `recipient_id`.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "The token has POST scope.", body = schemas::ErrorEnvelope),
        (status = 404, description = "With an API key: the named recipient does not exist.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = []), ("scoped_token" = [])),
)]
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

#[utoipa::path(
    get,
    path = "/destinations/{id}",
    operation_id = "get_destination",
    tag = "destinations",
    summary = "Read a destination",
    params(("id" = Uuid, Path, description = "Destination id.")),
    responses(
        (status = 200, description = "The destination.", body = schemas::Success<schemas::DestinationData>),
        (status = 400, description = "`id` is not a UUID.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "A POST-scope token bound to another destination.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such destination in this environment, or it belongs to another recipient than the token's.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = []), ("scoped_token" = [])),
)]
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

#[utoipa::path(
    patch,
    path = "/destinations/{id}",
    operation_id = "update_destination",
    tag = "destinations",
    summary = "Change a destination",
    description = "A POST-scope token must have been minted from exactly these changes and may \
                   not change `host` or `bucket_name`. An API key may change anything.",
    params(("id" = Uuid, Path, description = "Destination id.")),
    request_body = Option<schemas::DestinationChanges>,
    responses(
        (status = 200, description = "The destination after the change, or unchanged when the body changes nothing.", body = schemas::Success<schemas::DestinationData>),
        (status = 400, description = "`id` is not a UUID, or the body or the changed destination is invalid.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "The token has GET scope, is bound to another destination, was minted from other changes, or the changes touch `host` or `bucket_name`.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such destination in this environment, or it belongs to another recipient than the token's.", body = schemas::ErrorEnvelope),
        (status = 409, description = "The destination changed while this update was applied. Reload it and retry.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = []), ("scoped_token" = [])),
)]
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

#[utoipa::path(
    delete,
    path = "/destinations/{id}",
    operation_id = "delete_destination",
    tag = "destinations",
    summary = "Delete a destination",
    description = "Needs an API key, or a POST-scope token minted from the existing destination, \
                   `id` included.",
    params(("id" = Uuid, Path, description = "Destination id.")),
    responses(
        (status = 200, description = "The destination was deleted.", body = schemas::Success<schemas::Empty>),
        (status = 400, description = "`id` is not a UUID.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "The token has GET scope or is not bound to this destination.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such destination in this environment, or it belongs to another recipient than the token's.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = []), ("scoped_token" = [])),
)]
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
#[utoipa::path(
    post,
    path = "/test-destination",
    operation_id = "test_new_destination",
    tag = "destinations",
    summary = "Test the connection of an unsaved destination",
    description = "Connects to the destination without saving it. The verdict is in \
                   `data.status`, so a failed test still returns 200.",
    request_body = schemas::DestinationRequest,
    responses(
        (status = 200, description = "The verdict.", body = schemas::Success<schemas::ConnectionTestResult>),
        (status = 400, description = "Invalid body: `destination` missing or not an object, a missing or invalid `vendor` or `name`, or a wrongly typed field.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "The token has GET scope, or the destination differs from the one the token was minted for.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = []), ("scoped_token" = [])),
)]
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
#[utoipa::path(
    post,
    path = "/destinations/{id}/test-connection",
    operation_id = "test_destination_connection",
    tag = "destinations",
    summary = "Test the connection of a saved destination",
    description = "Tests the saved destination with the body's changes applied, if any. Nothing \
                   is saved. The verdict is in `data.status`, so a failed test still returns 200.",
    params(("id" = Uuid, Path, description = "Destination id.")),
    request_body = Option<schemas::DestinationChanges>,
    responses(
        (status = 200, description = "The verdict.", body = schemas::Success<schemas::ConnectionTestResult>),
        (status = 400, description = "`id` is not a UUID, or the body or the changed destination is invalid.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "The changes are not the ones the token was minted from, the token is bound to another destination, or the changes touch `host` or `bucket_name`.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such destination in this environment, or it belongs to another recipient than the token's.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = []), ("scoped_token" = [])),
)]
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

/// Lists the environment's destinations for an API key, oldest first
/// (`order=desc` for newest first), optionally of one recipient.
#[utoipa::path(
    get,
    path = "/destinations",
    operation_id = "list_destinations",
    tag = "destinations",
    summary = "List the environment's destinations",
    params(schemas::DestinationListQuery, schemas::PageQuery),
    responses(
        (status = 200, description = "One page of destinations.", body = schemas::SuccessPage<schemas::DestinationList>),
        (status = 400, description = "An invalid `order`, `recipient_id`, `page_size` or `cursor`.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 404, description = "The recipient named in the query does not exist.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all)]
async fn list_all(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let descending = match query.get("order").map(String::as_str) {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::BadRequest("order must be asc or desc".to_owned())),
    };
    let recipient_id =
        if query.contains_key("recipient_id") || query.contains_key("id_in_provider_system") {
            Some(super::catalog::queried_recipient(&state, key.tenant, &query).await?)
        } else {
            None
        };
    let (page_size, page) = pagination::page_request(&query, descending)?;
    let mut destinations = state
        .store
        .list_destinations(key.tenant, recipient_id, &page)
        .await?;
    let next_url = pagination::finish_page(
        &mut destinations,
        page_size,
        |row| (row.created_at, row.id),
        uri.path(),
        &query,
    );
    let rendered: Vec<Value> = destinations.iter().map(render).collect();
    Ok(success_page(
        json!({ "destinations": rendered }),
        "destinations listed",
        next_url,
    ))
}
