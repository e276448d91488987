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
use crate::openapi::{responses, schemas};
use crate::store::{Model, Product, StoreError, Tenant};

/// Maximum length of a model or product name, in characters.
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

#[utoipa::path(
    get,
    path = "/models",
    operation_id = "list_models",
    tag = "models",
    summary = "List the environment's models",
    responses(
        (status = 200, description = "Every model.", body = schemas::Success<schemas::ModelList>),
        (status = 400, description = "Unsupported X-Prequel-Api-Version header.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "The token has POST scope.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = []), ("scoped_token" = [])),
)]
#[tracing::instrument(skip_all)]
async fn list_models(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.authorize_recipient_read()?;
    let models = state.store.list_models(principal.tenant()).await?;
    let rendered: Vec<Value> = models.iter().map(render_model).collect();
    Ok(success(json!({ "models": rendered }), "models listed"))
}

#[utoipa::path(
    post,
    path = "/models",
    operation_id = "create_model",
    tag = "models",
    summary = "Create a model",
    request_body = schemas::ModelCreate,
    responses(
        (status = 200, description = "The created model.", body = schemas::Success<schemas::ModelData>),
        (status = 400, description = "A missing or invalid `model_name`, or another invalid field.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 409, description = "A model with this name exists.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
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

#[utoipa::path(
    patch,
    path = "/models/{id}",
    operation_id = "update_model",
    tag = "models",
    summary = "Change a model",
    params(("id" = Uuid, Path, description = "Model id.")),
    request_body = Option<schemas::ModelUpdate>,
    responses(
        (status = 200, description = "The model after the change.", body = schemas::Success<schemas::ModelData>),
        (status = 400, description = "`id` is not a UUID, or an invalid field in the body.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such model in this environment.", body = schemas::ErrorEnvelope),
        (status = 409, description = "Another model has the new name.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
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

#[utoipa::path(
    delete,
    path = "/models/{id}",
    operation_id = "delete_model",
    tag = "models",
    summary = "Delete a model",
    params(("id" = Uuid, Path, description = "Model id.")),
    responses(
        (status = 200, description = "The model was deleted.", body = schemas::Success<schemas::Empty>),
        (status = 400, description = "`id` is not a UUID.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such model in this environment.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
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

#[utoipa::path(
    get,
    path = "/products",
    operation_id = "list_products",
    tag = "models",
    summary = "List the environment's products",
    responses(
        (status = 200, description = "Every product.", body = schemas::Success<schemas::ProductList>),
        (status = 400, description = "Unsupported X-Prequel-Api-Version header.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "The token has POST scope.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = []), ("scoped_token" = [])),
)]
#[tracing::instrument(skip_all)]
async fn list_products(State(state): State<AppState>, principal: Principal) -> ApiResult<Response> {
    principal.authorize_recipient_read()?;
    let products = state.store.list_products(principal.tenant()).await?;
    let rendered: Vec<Value> = products.iter().map(render_product).collect();
    Ok(success(json!({ "products": rendered }), "products listed"))
}

#[utoipa::path(
    post,
    path = "/products",
    operation_id = "create_product",
    tag = "models",
    summary = "Create a product",
    request_body = schemas::ProductCreate,
    responses(
        (status = 200, description = "The created product.", body = schemas::Success<schemas::ProductData>),
        (status = 400, description = "A missing or invalid `product_name`, an invalid `models`, or a model name that does not exist.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 409, description = "A product with this name exists.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
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

#[utoipa::path(
    patch,
    path = "/products/{id}",
    operation_id = "update_product",
    tag = "models",
    summary = "Change a product",
    params(("id" = Uuid, Path, description = "Product id.")),
    request_body = Option<schemas::ProductUpdate>,
    responses(
        (status = 200, description = "The product after the change.", body = schemas::Success<schemas::ProductData>),
        (status = 400, description = "`id` is not a UUID, an invalid field in the body, or a model name that does not exist.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such product in this environment.", body = schemas::ErrorEnvelope),
        (status = 409, description = "Another product has the new name.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
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

#[utoipa::path(
    delete,
    path = "/products/{id}",
    operation_id = "delete_product",
    tag = "models",
    summary = "Delete a product",
    params(("id" = Uuid, Path, description = "Product id.")),
    responses(
        (status = 200, description = "The product was deleted.", body = schemas::Success<schemas::Empty>),
        (status = 400, description = "`id` is not a UUID.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 404, description = "No such product in this environment.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
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
#[utoipa::path(
    get,
    path = "/models-for-recipient",
    operation_id = "list_models_for_recipient",
    tag = "models",
    summary = "List the models a recipient receives",
    description = "The models of the recipient's products, or every model when it has no \
                   products. A GET-scope token reads its own recipient, and an API key names \
                   the recipient in the query.",
    params(schemas::RecipientQuery),
    responses(
        (status = 200, description = "The recipient's models.", body = schemas::Success<schemas::ModelList>),
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
