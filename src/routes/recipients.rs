//! Recipients for the first party's server: create, read, list, rename,
//! set products and delete.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::ServerKey;
use crate::destination::Identity;
use crate::envelope::{success, success_page};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonObject;
use crate::openapi::{responses, schemas};
use crate::pagination;
use crate::store::{Recipient, StoreError, Tenant};

/// Maximum length of a recipient name, in characters.
const MAX_NAME_LEN: usize = 256;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/recipients", get(list).post(create))
        .route("/recipients/{id}", get(show).patch(update).delete(remove))
}

async fn render(state: &AppState, recipient: &Recipient) -> ApiResult<Value> {
    let products = state
        .store
        .list_recipient_products(recipient.tenant, recipient.id)
        .await?;
    Ok(json!({
        "id": recipient.id,
        "id_in_provider_system": recipient.id_in_provider_system,
        "name": recipient.name,
        "products": products,
        "created_at": recipient.created_at,
    }))
}

fn parse_id(text: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(text)
        .map_err(|_| ApiError::BadRequest(format!("recipient id {text:?} is not a UUID")))
}

/// Reads `name`: `Some(None)` clears it, `None` leaves it unchanged.
fn parse_name(body: &Map<String, Value>) -> ApiResult<Option<Option<String>>> {
    match body.get("name") {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(name)) if name.chars().count() <= MAX_NAME_LEN => {
            Ok(Some(Some(name.clone())))
        }
        Some(_) => Err(ApiError::BadRequest(format!(
            "name must be a string of at most {MAX_NAME_LEN} characters"
        ))),
    }
}

fn parse_products(body: &Map<String, Value>) -> ApiResult<Option<Vec<String>>> {
    match body.get("products") {
        None => Ok(None),
        Some(value) => value
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .map(Some)
            .ok_or_else(|| {
                ApiError::BadRequest("products must be an array of product names".to_owned())
            }),
    }
}

async fn set_products(
    state: &AppState,
    tenant: Tenant,
    recipient_id: Uuid,
    names: &[String],
) -> ApiResult<()> {
    match state
        .store
        .set_recipient_products(tenant, recipient_id, names)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(ApiError::NotFound(format!(
            "recipient {recipient_id} not found"
        ))),
        Err(StoreError::NotFound(missing)) => Err(ApiError::BadRequest(format!(
            "products: unknown product {missing}"
        ))),
        Err(error) => Err(error.into()),
    }
}

#[utoipa::path(
    post,
    path = "/recipients",
    operation_id = "create_recipient",
    tag = "recipients",
    summary = "Create a recipient",
    request_body = schemas::RecipientCreate,
    responses(
        (status = 200, description = "The created recipient.", body = schemas::Success<schemas::RecipientData>),
        (status = 400, description = "A missing or invalid `id_in_provider_system`, an invalid `name` or `products`, or a product that does not exist.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 409, description = "A recipient with this `id_in_provider_system` exists.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all)]
async fn create(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let identity = Identity::parse(&body, "body")?;
    let Some(external_id) = identity.id_in_provider_system else {
        return Err(ApiError::BadRequest(
            "id_in_provider_system is required".to_owned(),
        ));
    };
    let name = parse_name(&body)?.flatten();
    let products = parse_products(&body)?;

    let recipient = Recipient {
        id: Uuid::new_v4(),
        tenant: key.tenant,
        id_in_provider_system: external_id.clone(),
        name,
        created_at: Utc::now(),
    };
    let stored = match state.store.insert_recipient(&recipient).await {
        Ok(stored) => stored,
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::Conflict(format!(
                "a recipient with id_in_provider_system {external_id:?} already exists"
            )));
        }
        Err(error) => return Err(error.into()),
    };
    if let Some(products) = products {
        set_products(&state, key.tenant, stored.id, &products).await?;
    }
    Ok(success(
        json!({ "recipient": render(&state, &stored).await? }),
        "recipient created",
    ))
}

#[utoipa::path(
    get,
    path = "/recipients/{id}",
    operation_id = "get_recipient",
    tag = "recipients",
    summary = "Read a recipient",
    params(("id" = Uuid, Path, description = "Recipient id.")),
    responses(
        (status = 200, description = "The recipient.", body = schemas::Success<schemas::RecipientData>),
        (status = 400, description = "`id` is not a UUID.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such recipient in this environment.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all, fields(recipient_id = %id))]
async fn show(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let recipient = super::find_recipient(&state, key.tenant, parse_id(&id)?).await?;
    Ok(success(
        json!({ "recipient": render(&state, &recipient).await? }),
        "recipient found",
    ))
}

/// Lists recipients, oldest first, optionally only the one with
/// `id_in_provider_system`.
#[utoipa::path(
    get,
    path = "/recipients",
    operation_id = "list_recipients",
    tag = "recipients",
    summary = "List the environment's recipients",
    description = "Oldest first.",
    params(schemas::RecipientListQuery, schemas::PageQuery),
    responses(
        (status = 200, description = "One page of recipients.", body = schemas::SuccessPage<schemas::RecipientList>),
        (status = 400, description = "An invalid `page_size` or `cursor`.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all)]
async fn list(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let (page_size, page) = pagination::page_request(&query, false)?;
    let external_id = query.get("id_in_provider_system").map(String::as_str);
    let mut recipients = state
        .store
        .list_recipients(key.tenant, external_id, &page)
        .await?;
    let next_url = pagination::finish_page(
        &mut recipients,
        page_size,
        |row| (row.created_at, row.id),
        uri.path(),
        &query,
    );
    let mut rendered = Vec::with_capacity(recipients.len());
    for recipient in &recipients {
        rendered.push(render(&state, recipient).await?);
    }
    Ok(success_page(
        json!({ "recipients": rendered }),
        "recipients listed",
        next_url,
    ))
}

/// Renames the recipient and sets its products, which decide the models
/// it receives.
#[utoipa::path(
    patch,
    path = "/recipients/{id}",
    operation_id = "update_recipient",
    tag = "recipients",
    summary = "Rename a recipient or set its products",
    params(("id" = Uuid, Path, description = "Recipient id.")),
    request_body = Option<schemas::RecipientUpdate>,
    responses(
        (status = 200, description = "The recipient after the change.", body = schemas::Success<schemas::RecipientData>),
        (status = 400, description = "`id` is not a UUID, an invalid `name` or `products`, or a product that does not exist.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such recipient in this environment.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all, fields(recipient_id = %id))]
async fn update(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let mut recipient = super::find_recipient(&state, key.tenant, parse_id(&id)?).await?;
    let name = parse_name(&body)?;
    let products = parse_products(&body)?;

    if let Some(products) = products {
        set_products(&state, key.tenant, recipient.id, &products).await?;
    }
    if let Some(name) = name {
        recipient = state
            .store
            .update_recipient_name(key.tenant, recipient.id, name.as_deref())
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("recipient {} not found", recipient.id)))?;
    }
    Ok(success(
        json!({ "recipient": render(&state, &recipient).await? }),
        "recipient updated",
    ))
}

/// Deletes a recipient. One with destinations is kept (409) unless the
/// query sets `cascade=true`, which deletes them and their transfers too.
#[utoipa::path(
    delete,
    path = "/recipients/{id}",
    operation_id = "delete_recipient",
    tag = "recipients",
    summary = "Delete a recipient",
    params(
        ("id" = Uuid, Path, description = "Recipient id."),
        schemas::RecipientDeleteQuery,
    ),
    responses(
        (status = 200, description = "The recipient was deleted.", body = schemas::Success<schemas::Empty>),
        (status = 400, description = "`id` is not a UUID, or `cascade` is neither `true` nor `false`.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such recipient in this environment.", body = schemas::ErrorEnvelope),
        (status = 409, description = "The recipient has destinations and `cascade=true` was not passed.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all, fields(recipient_id = %id))]
async fn remove(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let cascade = match query.get("cascade").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "cascade must be true or false".to_owned(),
            ));
        }
    };
    match state.store.delete_recipient(key.tenant, id, cascade).await {
        Ok(true) => Ok(success(json!({}), "recipient deleted")),
        Ok(false) => Err(ApiError::NotFound(format!("recipient {id} not found"))),
        Err(StoreError::Conflict(_)) => Err(ApiError::Conflict(format!(
            "recipient {id} has destinations; delete them first or pass cascade=true"
        ))),
        Err(error) => Err(error.into()),
    }
}
