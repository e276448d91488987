//! Models and products: the first party defines them with its API key; the
//! SDK reads them with a GET-scope token.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, patch};
use chrono::Utc;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::{Principal, ServerKey};
use crate::destination::Identity;
use crate::envelope::success;
use crate::error::{ApiError, ApiResult};
use crate::json::JsonObject;
use crate::store::{Model, Product, StoreError, Tenant};

/// Longest model or product name, in characters.
const MAX_NAME_LEN: usize = 256;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/models", get(list_models).post(create_model))
        .route("/export/models", get(list_models))
        .route("/models/{id}", patch(update_model).delete(delete_model))
        .route("/products", get(list_products).post(create_product))
        .route("/export/products", get(list_products))
        .route(
            "/products/{id}",
            patch(update_product).delete(delete_product),
        )
        .route("/models-for-recipient", get(models_for_recipient))
        .route("/export/models-for-recipient", get(models_for_recipient))
}

/// Renders a model as the SDK's `ModelConfig`, plus its id.
fn render_model(model: &Model) -> Value {
    let mut out = json!({
        "id": model.id,
        "model_name": model.model_name,
        "description": model.description,
        "columns": model.columns,
        "source_table": model.source_table,
        "source_schema": model.source_schema,
        "organization_column": model.organization_column,
    });
    if let Some(source_name) = &model.source_name {
        out["source_name"] = json!(source_name);
    }
    out
}

/// Renders a product as the SDK's `ProductConfig`, plus its id.
fn render_product(product: &Product) -> Value {
    json!({
        "id": product.id,
        "product_name": product.product_name,
        "models": product.models,
    })
}

fn parse_id(text: &str, what: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(text)
        .map_err(|_| ApiError::BadRequest(format!("{what} id {text:?} is not a UUID")))
}

fn name_field(body: &Map<String, Value>, field: &str, required: bool) -> ApiResult<Option<String>> {
    match body.get(field) {
        None | Some(Value::Null) if !required => Ok(None),
        Some(Value::String(name))
            if !name.trim().is_empty() && name.chars().count() <= MAX_NAME_LEN =>
        {
            Ok(Some(name.clone()))
        }
        _ => Err(ApiError::BadRequest(format!(
            "{field} must be a non-empty string of at most {MAX_NAME_LEN} characters"
        ))),
    }
}

fn text_field(body: &Map<String, Value>, field: &str) -> ApiResult<Option<String>> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(String::new())),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::BadRequest(format!("{field} must be a string"))),
    }
}

fn names_field(body: &Map<String, Value>, field: &str) -> ApiResult<Option<Vec<String>>> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| ApiError::BadRequest(format!("{field} must be an array of names"))),
        Some(_) => Err(ApiError::BadRequest(format!(
            "{field} must be an array of names"
        ))),
    }
}

/// Applies the model fields of `body` to `model`.
fn apply_model_fields(model: &mut Model, body: &Map<String, Value>) -> ApiResult<()> {
    if let Some(name) = name_field(body, "model_name", false)? {
        model.model_name = name;
    }
    if let Some(text) = text_field(body, "description")? {
        model.description = text;
    }
    if let Some(text) = text_field(body, "source_table")? {
        model.source_table = text;
    }
    if let Some(text) = text_field(body, "source_schema")? {
        model.source_schema = text;
    }
    if let Some(text) = text_field(body, "organization_column")? {
        model.organization_column = text;
    }
    if let Some(text) = text_field(body, "source_name")? {
        model.source_name = (!text.is_empty()).then_some(text);
    }
    if let Some(columns) = body.get("columns") {
        let valid = columns.as_array().is_some_and(|columns| {
            columns.iter().all(|column| {
                column.get("name_in_source").is_some_and(Value::is_string)
                    && column.get("data_type").is_some_and(Value::is_string)
            })
        });
        if !valid {
            return Err(ApiError::BadRequest(
                "columns must be an array of objects with string name_in_source and data_type"
                    .to_owned(),
            ));
        }
        model.columns = columns.clone();
    }
    Ok(())
}

fn conflict_or(error: StoreError, conflict: String) -> ApiError {
    match error {
        StoreError::Conflict(_) => ApiError::Conflict(conflict),
        StoreError::NotFound(missing) => ApiError::BadRequest(format!("unknown name: {missing}")),
        other => other.into(),
    }
}

#[tracing::instrument(skip_all)]
async fn list_models(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.authorize_recipient_read()?;
    let models = state.store.list_models(principal.tenant()).await?;
    let rendered: Vec<Value> = models.iter().map(render_model).collect();
    Ok(success(json!({ "models": rendered }), "models listed"))
}

#[tracing::instrument(skip_all)]
async fn create_model(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let now = Utc::now();
    let mut model = Model {
        id: Uuid::new_v4(),
        tenant: key.tenant,
        model_name: name_field(&body, "model_name", true)?.unwrap_or_default(),
        description: String::new(),
        columns: json!([]),
        source_table: String::new(),
        source_schema: String::new(),
        organization_column: String::new(),
        source_name: None,
        created_at: now,
        updated_at: now,
    };
    apply_model_fields(&mut model, &body)?;
    let conflict = format!("a model named {:?} already exists", model.model_name);
    let stored = state
        .store
        .insert_model(&model)
        .await
        .map_err(|error| conflict_or(error, conflict))?;
    Ok(success(
        json!({ "model": render_model(&stored) }),
        "model created",
    ))
}

#[tracing::instrument(skip_all, fields(model_id = %id))]
async fn update_model(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let id = parse_id(&id, "model")?;
    let models = state.store.list_models(key.tenant).await?;
    let mut model = models
        .into_iter()
        .find(|model| model.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("model {id} not found")))?;
    apply_model_fields(&mut model, &body)?;
    model.updated_at = Utc::now();

    let conflict = format!("a model named {:?} already exists", model.model_name);
    let updated = state
        .store
        .update_model(&model)
        .await
        .map_err(|error| conflict_or(error, conflict))?
        .ok_or_else(|| ApiError::NotFound(format!("model {id} not found")))?;
    Ok(success(
        json!({ "model": render_model(&updated) }),
        "model updated",
    ))
}

#[tracing::instrument(skip_all, fields(model_id = %id))]
async fn delete_model(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "model")?;
    if !state.store.delete_model(key.tenant, id).await? {
        return Err(ApiError::NotFound(format!("model {id} not found")));
    }
    Ok(success(json!({}), "model deleted"))
}

#[tracing::instrument(skip_all)]
async fn list_products(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.authorize_recipient_read()?;
    let products = state.store.list_products(principal.tenant()).await?;
    let rendered: Vec<Value> = products.iter().map(render_product).collect();
    Ok(success(json!({ "products": rendered }), "products listed"))
}

#[tracing::instrument(skip_all)]
async fn create_product(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let now = Utc::now();
    let product = Product {
        id: Uuid::new_v4(),
        tenant: key.tenant,
        product_name: name_field(&body, "product_name", true)?.unwrap_or_default(),
        models: names_field(&body, "models")?.unwrap_or_default(),
        created_at: now,
        updated_at: now,
    };
    let conflict = format!("a product named {:?} already exists", product.product_name);
    let stored = state
        .store
        .insert_product(&product)
        .await
        .map_err(|error| conflict_or(error, conflict))?;
    Ok(success(
        json!({ "product": render_product(&stored) }),
        "product created",
    ))
}

#[tracing::instrument(skip_all, fields(product_id = %id))]
async fn update_product(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let id = parse_id(&id, "product")?;
    let products = state.store.list_products(key.tenant).await?;
    let mut product = products
        .into_iter()
        .find(|product| product.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("product {id} not found")))?;
    if let Some(name) = name_field(&body, "product_name", false)? {
        product.product_name = name;
    }
    if let Some(models) = names_field(&body, "models")? {
        product.models = models;
    }
    product.updated_at = Utc::now();

    let conflict = format!("a product named {:?} already exists", product.product_name);
    let updated = state
        .store
        .update_product(&product)
        .await
        .map_err(|error| conflict_or(error, conflict))?
        .ok_or_else(|| ApiError::NotFound(format!("product {id} not found")))?;
    Ok(success(
        json!({ "product": render_product(&updated) }),
        "product updated",
    ))
}

#[tracing::instrument(skip_all, fields(product_id = %id))]
async fn delete_product(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "product")?;
    if !state.store.delete_product(key.tenant, id).await? {
        return Err(ApiError::NotFound(format!("product {id} not found")));
    }
    Ok(success(json!({}), "product deleted"))
}

/// Finds the recipient an API key names in the query, without creating it.
pub(crate) async fn queried_recipient(
    state: &AppState,
    tenant: Tenant,
    query: &HashMap<String, String>,
) -> ApiResult<Uuid> {
    let identity = Identity {
        id_in_provider_system: query.get("id_in_provider_system").cloned(),
        recipient_id: query
            .get("recipient_id")
            .map(|text| Uuid::parse_str(text))
            .transpose()
            .map_err(|_| ApiError::BadRequest("recipient_id must be a UUID".to_owned()))?,
        id: None,
    };
    if let Some(recipient_id) = identity.recipient_id {
        return Ok(super::find_recipient(state, tenant, recipient_id).await?.id);
    }
    let Some(external_id) = identity.id_in_provider_system else {
        return Err(ApiError::BadRequest(
            "with an API key, name the recipient with the recipient_id or id_in_provider_system \
             query parameter"
                .to_owned(),
        ));
    };
    state
        .store
        .find_recipient(tenant, &external_id)
        .await?
        .map(|recipient| recipient.id)
        .ok_or_else(|| ApiError::NotFound(format!("recipient {external_id:?} not found")))
}

/// Lists the models of the recipient's products, or every model when the
/// recipient has no products.
#[tracing::instrument(skip_all)]
async fn models_for_recipient(
    State(state): State<AppState>,
    principal: Principal,
    Query(query): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let tenant = principal.tenant();
    let recipient_id = match principal.authorize_recipient_read()? {
        Some(recipient_id) => recipient_id,
        None => queried_recipient(&state, tenant, &query).await?,
    };
    let models = state
        .store
        .list_models_for_recipient(tenant, recipient_id)
        .await?;
    let rendered: Vec<Value> = models.iter().map(render_model).collect();
    Ok(success(json!({ "models": rendered }), "models listed"))
}
