//! Transfers: the SDK reads a destination's transfers; the first party's
//! server records them and moves them through their statuses.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, patch};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Principal, ServerKey};
use crate::envelope::{success, success_page};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonObject;
use crate::openapi::{responses, schemas};
use crate::pagination::{self, MAX_PAGE_SIZE};
use crate::store::{Page, StoreError, Transfer, TransferFilter, TransferStatus};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/destinations/{id}/transfers",
            get(list_for_destination).post(record),
        )
        .route(
            "/export/destinations/{id}/transfers",
            get(list_for_destination).post(record),
        )
        .route("/transfers", get(list_all))
        .route("/transfers/{id}", patch(update).get(show))
}

/// Renders a transfer as the SDK's `Transfer` type.
fn render(transfer: &Transfer) -> Value {
    json!({
        "id": transfer.id,
        // scopegate has one data source per organization.
        "source_id": transfer.tenant.organization_id,
        "destination_id": transfer.destination_id,
        "recipient_id": transfer.recipient_id,
        "status": transfer.status.as_str(),
        "models": transfer.models,
        "model_metrics": transfer.model_metrics,
        "log": transfer.log,
        "submitted_at": transfer.submitted_at,
        "started_at": transfer.started_at,
        "ended_at": transfer.ended_at,
        "rows_transferred": transfer.rows_transferred,
        "volume_transferred_in_mb": transfer.volume_transferred_in_mb,
    })
}

fn parse_statuses(value: Option<&String>) -> ApiResult<Vec<TransferStatus>> {
    let Some(text) = value else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|status| !status.is_empty())
        .map(|status| {
            TransferStatus::parse(&status.to_ascii_uppercase()).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "status {status:?} is not a transfer status; use one of {}",
                    status_names()
                ))
            })
        })
        .collect()
}

fn status_names() -> String {
    TransferStatus::ALL
        .iter()
        .map(|status| status.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Lists one page of transfers, newest first, and returns it with
/// `has_next` and `next_url`.
async fn answer_page(
    state: &AppState,
    principal: &Principal,
    filter: TransferFilter,
    query: &HashMap<String, String>,
    path: &str,
) -> ApiResult<Response> {
    let (page_size, page) = pagination::page_request(query, true)?;
    let mut transfers = state
        .store
        .list_transfers(principal.tenant(), &filter, &page)
        .await?;
    let next_url = pagination::finish_page(
        &mut transfers,
        page_size,
        |row| (row.submitted_at, row.id),
        path,
        query,
    );
    let rendered: Vec<Value> = transfers.iter().map(render).collect();
    Ok(success_page(
        json!({ "transfers": rendered }),
        "transfers listed",
        next_url,
    ))
}

/// Lists a destination's transfers: the `count` most recent (the SDK's
/// `useGetTransfers`), or pages of `page_size` with `cursor`
/// (`useListTransfers`). `status` filters both.
#[utoipa::path(
    get,
    path = "/destinations/{id}/transfers",
    operation_id = "list_destination_transfers",
    tag = "transfers",
    summary = "List a destination's transfers",
    description = "Newest first. With `count`, the most recent transfers in one response, as \
                   the `useGetTransfers` hook reads them. Otherwise pages of `page_size` with \
                   `cursor`, as `useListTransfers` reads them.",
    params(
        ("id" = Uuid, Path, description = "Destination id."),
        schemas::DestinationTransfersQuery,
        schemas::PageQuery,
    ),
    responses(
        (status = 200, description = "The transfers.", body = schemas::DestinationTransfers),
        (status = 400, description = "`id` is not a UUID, or an invalid `status`, `count`, `page_size` or `cursor`.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "A POST-scope token bound to another destination.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such destination in this environment, or it belongs to another recipient than the token's.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = []), ("scoped_token" = [])),
)]
#[tracing::instrument(skip_all, fields(destination_id = %id))]
async fn list_for_destination(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let destination = super::destinations::load(&state, &principal, &id).await?;
    principal.authorize_destination_read(&destination)?;
    let filter = TransferFilter {
        destination_id: Some(destination.id),
        statuses: parse_statuses(query.get("status"))?,
        ..TransferFilter::default()
    };

    if let Some(count) = query.get("count") {
        let count = count
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|count| (1..=MAX_PAGE_SIZE).contains(count))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "count must be an integer from 1 to {MAX_PAGE_SIZE}"
                ))
            })?;
        let page = Page {
            limit: count,
            after: None,
            descending: true,
        };
        let transfers = state
            .store
            .list_transfers(principal.tenant(), &filter, &page)
            .await?;
        let rendered: Vec<Value> = transfers.iter().map(render).collect();
        return Ok(success(
            json!({ "transfers": rendered }),
            "transfers listed",
        ));
    }

    answer_page(&state, &principal, filter, &query, uri.path()).await
}

/// Lists transfers of the whole environment for an API key, filtered by
/// destination, recipient, status and a `submitted_at` window.
#[utoipa::path(
    get,
    path = "/transfers",
    operation_id = "list_transfers",
    tag = "transfers",
    summary = "List the environment's transfers",
    description = "Newest first, filtered by destination, recipient, status and a \
                   `submitted_at` window.",
    params(schemas::TransferListQuery, schemas::PageQuery),
    responses(
        (status = 200, description = "One page of transfers.", body = schemas::SuccessPage<schemas::TransferList>),
        (status = 400, description = "An invalid filter, `page_size` or `cursor`.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
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
    let uuid = |field: &str| -> ApiResult<Option<Uuid>> {
        query
            .get(field)
            .map(|text| {
                Uuid::parse_str(text)
                    .map_err(|_| ApiError::BadRequest(format!("{field} must be a UUID")))
            })
            .transpose()
    };
    let filter = TransferFilter {
        destination_id: uuid("destination_id")?,
        recipient_id: uuid("recipient_id")?,
        statuses: parse_statuses(query.get("status"))?,
        submitted_from: pagination::parse_time("submitted_from", query.get("submitted_from"))?,
        submitted_until: pagination::parse_time("submitted_until", query.get("submitted_until"))?,
    };
    answer_page(&state, &Principal::ApiKey(key), filter, &query, uri.path()).await
}

#[utoipa::path(
    get,
    path = "/transfers/{id}",
    operation_id = "get_transfer",
    tag = "transfers",
    summary = "Read a transfer",
    params(("id" = Uuid, Path, description = "Transfer id.")),
    responses(
        (status = 200, description = "The transfer.", body = schemas::Success<schemas::TransferData>),
        (status = 400, description = "`id` is not a UUID.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such transfer in this environment.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all, fields(transfer_id = %id))]
async fn show(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let transfer = load_transfer(&state, key.tenant, &id).await?;
    Ok(success(
        json!({ "transfer": render(&transfer) }),
        "transfer found",
    ))
}

async fn load_transfer(
    state: &AppState,
    tenant: crate::store::Tenant,
    id: &str,
) -> ApiResult<Transfer> {
    let id = Uuid::parse_str(id)
        .map_err(|_| ApiError::BadRequest(format!("transfer id {id:?} is not a UUID")))?;
    state
        .store
        .get_transfer(tenant, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("transfer {id} not found")))
}

/// Applies the fields a record or update body may set.
fn apply_fields(transfer: &mut Transfer, body: &Map<String, Value>) -> ApiResult<()> {
    let time = |field: &str| -> ApiResult<Option<Option<DateTime<Utc>>>> {
        match body.get(field) {
            None => Ok(None),
            Some(Value::Null) => Ok(Some(None)),
            Some(Value::String(text)) => pagination::parse_time(field, Some(text)).map(Some),
            Some(_) => Err(ApiError::BadRequest(format!(
                "{field} must be an RFC 3339 time"
            ))),
        }
    };
    if let Some(Some(submitted_at)) = time("submitted_at")? {
        transfer.submitted_at = submitted_at;
    }
    if let Some(started_at) = time("started_at")? {
        transfer.started_at = started_at;
    }
    if let Some(ended_at) = time("ended_at")? {
        transfer.ended_at = ended_at;
    }
    if let Some(value) = body.get("rows_transferred") {
        transfer.rows_transferred = value.as_i64().filter(|rows| *rows >= 0).ok_or_else(|| {
            ApiError::BadRequest("rows_transferred must be a non-negative integer".to_owned())
        })?;
    }
    if let Some(value) = body.get("volume_transferred_in_mb") {
        transfer.volume_transferred_in_mb = value
            .as_f64()
            .filter(|volume| *volume >= 0.0)
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "volume_transferred_in_mb must be a non-negative number".to_owned(),
                )
            })?;
    }
    if let Some(value) = body.get("models") {
        transfer.models = string_array(value).ok_or_else(|| {
            ApiError::BadRequest("models must be an array of model names".to_owned())
        })?;
    }
    if let Some(value) = body.get("log") {
        transfer.log = value
            .as_str()
            .ok_or_else(|| ApiError::BadRequest("log must be a string".to_owned()))?
            .to_owned();
    }
    if let Some(value) = body.get("model_metrics") {
        check_model_metrics(value)?;
        transfer.model_metrics = value.clone();
    }
    if let (Some(started), Some(ended)) = (transfer.started_at, transfer.ended_at)
        && ended < started
    {
        return Err(ApiError::BadRequest(
            "ended_at must not be before started_at".to_owned(),
        ));
    }
    Ok(())
}

fn string_array(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|item| item.as_str().map(str::to_owned))
        .collect()
}

fn check_model_metrics(value: &Value) -> ApiResult<()> {
    let Some(items) = value.as_array() else {
        return Err(ApiError::BadRequest(
            "model_metrics must be an array".to_owned(),
        ));
    };
    for (index, item) in items.iter().enumerate() {
        let bad = |what: &str| ApiError::BadRequest(format!("model_metrics[{index}].{what}"));
        let Some(metrics) = item.as_object() else {
            return Err(ApiError::BadRequest(format!(
                "model_metrics[{index}] must be an object"
            )));
        };
        if !metrics.get("model_name").is_some_and(Value::is_string) {
            return Err(bad("model_name must be a string"));
        }
        if metrics
            .get("rows_transferred")
            .is_some_and(|rows| rows.as_i64().is_none_or(|rows| rows < 0))
        {
            return Err(bad("rows_transferred must be a non-negative integer"));
        }
        if metrics
            .get("volume_transferred_in_mb")
            .is_some_and(|volume| volume.as_f64().is_none_or(|volume| volume < 0.0))
        {
            return Err(bad(
                "volume_transferred_in_mb must be a non-negative number",
            ));
        }
        if let Some(error) = metrics.get("error")
            && !error.is_null()
        {
            let fields_ok = error.as_object().is_some_and(|error| {
                ["error_code", "title", "blame", "message"]
                    .iter()
                    .all(|field| error.get(*field).is_some_and(Value::is_string))
            });
            if !fields_ok {
                return Err(bad(
                    "error must be an object with string error_code, title, blame and message",
                ));
            }
        }
    }
    Ok(())
}

fn parse_status_field(body: &Map<String, Value>) -> ApiResult<Option<TransferStatus>> {
    match body.get("status") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => TransferStatus::parse(text).map(Some).ok_or_else(|| {
            ApiError::BadRequest(format!("status must be one of {}", status_names()))
        }),
        Some(_) => Err(ApiError::BadRequest(format!(
            "status must be one of {}",
            status_names()
        ))),
    }
}

/// Records a transfer for a destination, `PENDING` unless the body sets
/// another status.
#[utoipa::path(
    post,
    path = "/destinations/{id}/transfers",
    operation_id = "record_transfer",
    tag = "transfers",
    summary = "Record a transfer to a destination",
    params(("id" = Uuid, Path, description = "Destination id.")),
    request_body = Option<schemas::TransferInput>,
    responses(
        (status = 200, description = "The recorded transfer.", body = schemas::Success<schemas::TransferData>),
        (status = 400, description = "`id` is not a UUID, or an invalid field in the body.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such destination in this environment.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all, fields(destination_id = %id))]
async fn record(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let principal = Principal::ApiKey(key);
    let destination = super::destinations::load(&state, &principal, &id).await?;
    let now = Utc::now();
    let mut transfer = Transfer {
        id: Uuid::new_v4(),
        tenant: destination.tenant,
        destination_id: destination.id,
        recipient_id: destination.recipient_id,
        status: parse_status_field(&body)?.unwrap_or(TransferStatus::Pending),
        models: Vec::new(),
        model_metrics: json!([]),
        log: String::new(),
        submitted_at: now,
        started_at: None,
        ended_at: None,
        rows_transferred: 0,
        volume_transferred_in_mb: 0.0,
        updated_at: now,
    };
    apply_fields(&mut transfer, &body)?;

    let stored = state
        .store
        .insert_transfer(&transfer)
        .await
        .map_err(|error| match error {
            StoreError::NotFound(_) => {
                ApiError::NotFound(format!("destination {} not found", destination.id))
            }
            other => other.into(),
        })?;
    tracing::info!(transfer_id = %stored.id, status = stored.status.as_str(), "recorded transfer");
    Ok(success(
        json!({ "transfer": render(&stored) }),
        "transfer recorded",
    ))
}

/// Updates a transfer. A status change must be a legal transition: pending
/// to running or finished, running to finished; finished is final.
#[utoipa::path(
    patch,
    path = "/transfers/{id}",
    operation_id = "update_transfer",
    tag = "transfers",
    summary = "Change a transfer",
    params(("id" = Uuid, Path, description = "Transfer id.")),
    request_body = Option<schemas::TransferInput>,
    responses(
        (status = 200, description = "The transfer after the change.", body = schemas::Success<schemas::TransferData>),
        (status = 400, description = "`id` is not a UUID, or an invalid field in the body.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such transfer in this environment.", body = schemas::ErrorEnvelope),
        (status = 409, description = "The status change is not a legal transition, or the status changed while this update was applied.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all, fields(transfer_id = %id))]
async fn update(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let current = load_transfer(&state, key.tenant, &id).await?;
    let mut changed = current.clone();
    if let Some(next) = parse_status_field(&body)?
        && next != current.status
    {
        if !current.status.can_become(next) {
            return Err(ApiError::Conflict(format!(
                "a {} transfer cannot become {}",
                current.status.as_str(),
                next.as_str()
            )));
        }
        changed.status = next;
    }
    apply_fields(&mut changed, &body)?;
    changed.updated_at = Utc::now();

    let updated = match state.store.update_transfer(&changed, current.status).await {
        Ok(Some(updated)) => updated,
        Ok(None) => {
            return Err(ApiError::NotFound(format!(
                "transfer {} not found",
                current.id
            )));
        }
        Err(StoreError::Stale(_)) => {
            return Err(ApiError::Conflict(
                "the transfer's status changed while this update was applied; reload it and retry"
                    .to_owned(),
            ));
        }
        Err(error) => return Err(error.into()),
    };
    tracing::info!(transfer_id = %updated.id, status = updated.status.as_str(), "updated transfer");
    Ok(success(
        json!({ "transfer": render(&updated) }),
        "transfer updated",
    ))
}
