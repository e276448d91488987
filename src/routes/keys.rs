//! API keys, signing keys and audit events, for admin API keys.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{Duration, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::keys;
use crate::auth::{AdminKey, ApiKeyPrincipal, api_key};
use crate::envelope::{success, success_page};
use crate::error::{ApiError, ApiResult};
use crate::json::JsonObject;
use crate::openapi::{responses, schemas};
use crate::pagination;
use crate::store::{ApiKeyRecord, ApiKeyRole, AuditEvent, AuditFilter, Environment, Tenant};

/// Maximum grace period of a rotated key: 30 days.
const MAX_GRACE_SECONDS: i64 = 30 * 24 * 3600;
/// Grace period when a rotation names none: 24 hours.
const DEFAULT_GRACE_SECONDS: i64 = 24 * 3600;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api-keys", get(list_keys).post(create_key))
        .route("/api-keys/{id}", get(show_key).delete(revoke_key))
        .route("/api-keys/{id}/revoke", post(revoke_key))
        .route("/api-keys/{id}/rotate", post(rotate_key))
        .route("/signing-keys", get(list_signing_keys))
        .route("/signing-keys/rotate", post(rotate_signing_key))
        .route("/audit-events", get(list_audit_events))
}

fn render_key(key: &ApiKeyRecord) -> Value {
    json!({
        "id": key.id,
        "name": key.name,
        "role": key.role.as_str(),
        "environment": key.tenant.environment.as_str(),
        "display_prefix": key.display_prefix,
        "created_at": key.created_at,
        "last_used_at": key.last_used_at,
        "expires_at": key.expires_at,
        "revoked_at": key.revoked_at,
        "revoked": key.revoked_at.is_some(),
    })
}

fn parse_role(body: &Map<String, Value>) -> ApiResult<ApiKeyRole> {
    match body.get("role") {
        None | Some(Value::Null) => Ok(ApiKeyRole::Standard),
        Some(Value::String(text)) => ApiKeyRole::parse(text)
            .ok_or_else(|| ApiError::BadRequest("role must be admin or standard".to_owned())),
        Some(_) => Err(ApiError::BadRequest(
            "role must be admin or standard".to_owned(),
        )),
    }
}

fn parse_name(body: &Map<String, Value>) -> ApiResult<Option<String>> {
    match body.get("name") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(name)) if name.chars().count() <= 256 => Ok(Some(name.clone())),
        Some(_) => Err(ApiError::BadRequest(
            "name must be a string of at most 256 characters".to_owned(),
        )),
    }
}

/// Loads a key of the caller's organization; another organization's key
/// reads as not found.
async fn load_key(state: &AppState, admin: &ApiKeyPrincipal, id: &str) -> ApiResult<ApiKeyRecord> {
    let id = Uuid::parse_str(id)
        .map_err(|_| ApiError::BadRequest(format!("API key id {id:?} is not a UUID")))?;
    state
        .store
        .get_api_key(id)
        .await?
        .filter(|key| key.tenant.organization_id == admin.tenant.organization_id)
        .ok_or_else(|| ApiError::NotFound(format!("API key {id} not found")))
}

/// Creates a key in the caller's organization, in the caller's environment
/// unless `environment` names the other one. The full key is in this response
/// once and nowhere else.
#[utoipa::path(
    post,
    path = "/api-keys",
    operation_id = "create_api_key",
    tag = "api-keys",
    summary = "Create an API key",
    description = "Creates a key in the caller's organization. The response carries the secret \
                   key. scopegate stores only its hash, so it cannot show the key again.",
    request_body = Option<schemas::ApiKeyCreate>,
    responses(
        (status = 200, description = "The created key and its secret.", body = schemas::Success<schemas::CreatedApiKey>),
        (status = 400, description = "An invalid `environment`, `name` or `role`.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token or a standard API key.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all, fields(api_key_id = %admin.key_id))]
async fn create_key(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let environment = match body.get("environment") {
        None | Some(Value::Null) => admin.tenant.environment,
        Some(Value::String(text)) => Environment::parse(text).ok_or_else(|| {
            ApiError::BadRequest("environment must be staging or production".to_owned())
        })?,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "environment must be staging or production".to_owned(),
            ));
        }
    };
    let tenant = Tenant {
        organization_id: admin.tenant.organization_id,
        environment,
    };
    let (secret, record) =
        api_key::issue(&state.store, tenant, parse_name(&body)?, parse_role(&body)?)
            .await
            .map_err(ApiError::internal)?;

    state.audit.record(
        tenant,
        "api_key.created",
        Some(admin.key_id),
        None,
        json!({"created_api_key_id": record.id, "role": record.role.as_str()}),
    );
    Ok(success(
        json!({"api_key": render_key(&record), "key": secret.expose()}),
        "API key created; store the key now, it is not shown again",
    ))
}

#[utoipa::path(
    get,
    path = "/api-keys",
    operation_id = "list_api_keys",
    tag = "api-keys",
    summary = "List the organization's API keys",
    responses(
        (status = 200, description = "Every key of the organization, in both environments.", body = schemas::Success<schemas::ApiKeyList>),
        (status = 400, description = "Unsupported X-Prequel-Api-Version header.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token or a standard API key.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all)]
async fn list_keys(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
) -> ApiResult<Response> {
    let keys = state
        .store
        .list_api_keys(admin.tenant.organization_id)
        .await?;
    let rendered: Vec<Value> = keys.iter().map(render_key).collect();
    Ok(success(json!({ "api_keys": rendered }), "API keys listed"))
}

#[utoipa::path(
    get,
    path = "/api-keys/{id}",
    operation_id = "get_api_key",
    tag = "api-keys",
    summary = "Read an API key",
    params(("id" = Uuid, Path, description = "API key id.")),
    responses(
        (status = 200, description = "The key, without its secret.", body = schemas::Success<schemas::ApiKeyData>),
        (status = 400, description = "`id` is not a UUID.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token or a standard API key.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such API key in the caller's organization.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all, fields(target = %id))]
async fn show_key(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let key = load_key(&state, &admin, &id).await?;
    Ok(success(
        json!({ "api_key": render_key(&key) }),
        "API key found",
    ))
}

/// Revokes a key. It stops working at once in this process, and in other
/// processes within their API-key cache lifetime.
#[utoipa::path(
    delete,
    path = "/api-keys/{id}",
    operation_id = "revoke_api_key",
    tag = "api-keys",
    summary = "Revoke an API key",
    description = "The key stops working at once in this process, and in other processes \
                   within `SCOPEGATE_API_KEY_CACHE_TTL`.",
    params(("id" = Uuid, Path, description = "API key id.")),
    responses(
        (status = 200, description = "The revoked key.", body = schemas::Success<schemas::ApiKeyData>),
        (status = 400, description = "`id` is not a UUID.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token or a standard API key.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such API key in the caller's organization.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all, fields(target = %id))]
async fn revoke_key(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let key = load_key(&state, &admin, &id).await?;
    let revoked = state
        .store
        .revoke_api_key(key.id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("API key {} not found", key.id)))?;
    state.api_keys.forget(revoked.id);

    state.audit.record(
        revoked.tenant,
        "api_key.revoked",
        Some(admin.key_id),
        None,
        json!({"revoked_api_key_id": revoked.id}),
    );
    Ok(success(
        json!({ "api_key": render_key(&revoked) }),
        "API key revoked",
    ))
}

/// Issues a new key with the old key's name, role and environment, and lets
/// the old key work until `grace_period_seconds` (default 24 h, at most
/// 30 days) have passed.
#[utoipa::path(
    post,
    path = "/api-keys/{id}/rotate",
    operation_id = "rotate_api_key",
    tag = "api-keys",
    summary = "Rotate an API key",
    description = "Issues a new key with the old key's name, role and environment. The old key \
                   keeps working for `grace_period_seconds`.",
    params(("id" = Uuid, Path, description = "API key id.")),
    request_body = Option<schemas::ApiKeyRotate>,
    responses(
        (status = 200, description = "The new key with its secret, and the old key with its expiry.", body = schemas::Success<schemas::RotatedApiKey>),
        (status = 400, description = "`id` is not a UUID, or an invalid `grace_period_seconds`.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token or a standard API key.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such API key in the caller's organization.", body = schemas::ErrorEnvelope),
        (status = 409, description = "The key is revoked.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all, fields(target = %id))]
async fn rotate_key(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let old = load_key(&state, &admin, &id).await?;
    if old.revoked_at.is_some() {
        return Err(ApiError::Conflict(format!("API key {} is revoked", old.id)));
    }
    let grace = match body.get("grace_period_seconds") {
        None | Some(Value::Null) => DEFAULT_GRACE_SECONDS,
        Some(value) => value
            .as_i64()
            .filter(|seconds| (0..=MAX_GRACE_SECONDS).contains(seconds))
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "grace_period_seconds must be an integer from 0 to {MAX_GRACE_SECONDS}"
                ))
            })?,
    };

    let (secret, new) = api_key::issue(&state.store, old.tenant, old.name.clone(), old.role)
        .await
        .map_err(ApiError::internal)?;
    let expires_at = Utc::now() + Duration::seconds(grace);
    // An earlier expiry stays; a rotation never extends a key's life.
    let expires_at = old
        .expires_at
        .map_or(expires_at, |current| current.min(expires_at));
    let old = state
        .store
        .set_api_key_expiry(old.id, Some(expires_at))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("API key {} not found", old.id)))?;
    state.api_keys.forget(old.id);

    state.audit.record(
        old.tenant,
        "api_key.rotated",
        Some(admin.key_id),
        None,
        json!({"rotated_api_key_id": old.id, "new_api_key_id": new.id, "old_key_expires_at": expires_at}),
    );
    Ok(success(
        json!({
            "api_key": render_key(&new),
            "key": secret.expose(),
            "previous_api_key": render_key(&old),
        }),
        "API key rotated; store the new key now, it is not shown again",
    ))
}

#[utoipa::path(
    get,
    path = "/signing-keys",
    operation_id = "list_signing_keys",
    tag = "signing-keys",
    summary = "List the token signing keys",
    responses(
        (status = 200, description = "Every signing key, with its state.", body = schemas::Success<schemas::SigningKeyList>),
        (status = 400, description = "Unsupported X-Prequel-Api-Version header.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token or a standard API key.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all)]
async fn list_signing_keys(
    State(state): State<AppState>,
    AdminKey(_): AdminKey,
) -> ApiResult<Response> {
    let records = state.store.list_all_signing_keys().await?;
    let newest_active = records
        .iter()
        .rev()
        .find(|record| record.retired_at.is_none())
        .map(|record| record.kid.clone());
    let rendered: Vec<Value> = records
        .iter()
        .map(|record| {
            let status = if record.retired_at.is_some() {
                "retired"
            } else if Some(&record.kid) == newest_active.as_ref() {
                "active"
            } else {
                "verifying"
            };
            json!({
                "kid": record.kid,
                "created_at": record.created_at,
                "retired_at": record.retired_at,
                "state": status,
            })
        })
        .collect();
    Ok(success(
        json!({ "signing_keys": rendered }),
        "signing keys listed",
    ))
}

/// Creates a signing key that signs from now on. Earlier keys keep
/// verifying until every token they can have signed has expired.
#[utoipa::path(
    post,
    path = "/signing-keys/rotate",
    operation_id = "rotate_signing_key",
    tag = "signing-keys",
    summary = "Rotate the token signing key",
    description = "Creates a signing key that signs from now on. Earlier keys keep verifying \
                   until every token they can have signed has expired.",
    responses(
        (status = 200, description = "The new signing key.", body = schemas::Success<schemas::SigningKeyRotation>),
        (status = 400, description = "Unsupported X-Prequel-Api-Version header.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token or a standard API key.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all)]
async fn rotate_signing_key(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
) -> ApiResult<Response> {
    let record = keys::rotate(&state.store, &state.master_key)
        .await
        .map_err(ApiError::internal)?;
    state
        .reload_signing_keys()
        .await
        .map_err(ApiError::internal)?;

    state.audit.record(
        admin.tenant,
        "signing_key.rotated",
        Some(admin.key_id),
        None,
        json!({"kid": record.kid}),
    );
    Ok(success(
        json!({"signing_key": {"kid": record.kid, "created_at": record.created_at, "state": "active"}}),
        "signing key rotated",
    ))
}

fn render_event(event: &AuditEvent) -> Value {
    json!({
        "id": event.id,
        "action": event.action,
        "environment": event.tenant.environment.as_str(),
        "api_key_id": event.api_key_id,
        "recipient_id": event.recipient_id,
        "details": event.details,
        "created_at": event.created_at,
    })
}

/// Lists audit events of the caller's environment, newest first, filtered
/// by `recipient_id`, `action` and a `from`/`until` window.
#[utoipa::path(
    get,
    path = "/audit-events",
    operation_id = "list_audit_events",
    tag = "audit-events",
    summary = "List audit events",
    description = "Events of the caller's environment, newest first.",
    params(schemas::AuditEventQuery, schemas::PageQuery),
    responses(
        (status = 200, description = "One page of events.", body = schemas::SuccessPage<schemas::AuditEventList>),
        (status = 400, description = "An invalid `recipient_id`, `from`, `until`, `page_size` or `cursor`.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token or a standard API key.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all)]
async fn list_audit_events(
    State(state): State<AppState>,
    AdminKey(admin): AdminKey,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let filter = AuditFilter {
        recipient_id: query
            .get("recipient_id")
            .map(|text| Uuid::parse_str(text))
            .transpose()
            .map_err(|_| ApiError::BadRequest("recipient_id must be a UUID".to_owned()))?,
        action: query.get("action").cloned(),
        from: pagination::parse_time("from", query.get("from"))?,
        until: pagination::parse_time("until", query.get("until"))?,
    };
    let (page_size, page) = pagination::page_request(&query, true)?;
    let mut events = state
        .store
        .list_audit_events(admin.tenant, &filter, &page)
        .await?;
    let next_url = pagination::finish_page(
        &mut events,
        page_size,
        |row| (row.created_at, row.id),
        uri.path(),
        &query,
    );
    let rendered: Vec<Value> = events.iter().map(render_event).collect();
    Ok(success_page(
        json!({ "audit_events": rendered }),
        "audit events listed",
        next_url,
    ))
}
