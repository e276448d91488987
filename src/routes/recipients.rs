//! Recipients for the first party's server: look one up and set the
//! products it receives.

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::ServerKey;
use crate::envelope::success;
use crate::error::{ApiError, ApiResult};
use crate::json::JsonObject;
use crate::store::{Recipient, StoreError};

pub fn router() -> Router<AppState> {
    Router::new().route("/recipients/{id}", get(show).patch(update))
}

async fn render(state: &AppState, recipient: &Recipient) -> ApiResult<Value> {
    let products = state
        .store
        .list_recipient_products(recipient.tenant, recipient.id)
        .await?;
    Ok(json!({
        "id": recipient.id,
        "id_in_provider_system": recipient.id_in_provider_system,
        "products": products,
        "created_at": recipient.created_at,
    }))
}

fn parse_id(text: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(text)
        .map_err(|_| ApiError::BadRequest(format!("recipient id {text:?} is not a UUID")))
}

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

/// Sets the recipient's products, which decide the models it receives.
#[tracing::instrument(skip_all, fields(recipient_id = %id))]
async fn update(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let recipient = super::find_recipient(&state, key.tenant, parse_id(&id)?).await?;
    if let Some(value) = body.get("products") {
        let names: Vec<String> = value
            .as_array()
            .and_then(|items| {
                items
                    .iter()
                    .map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .ok_or_else(|| {
                ApiError::BadRequest("products must be an array of product names".to_owned())
            })?;
        match state
            .store
            .set_recipient_products(key.tenant, recipient.id, &names)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                return Err(ApiError::NotFound(format!(
                    "recipient {} not found",
                    recipient.id
                )));
            }
            Err(StoreError::NotFound(missing)) => {
                return Err(ApiError::BadRequest(format!(
                    "products: unknown product {missing}"
                )));
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(success(
        json!({ "recipient": render(&state, &recipient).await? }),
        "recipient updated",
    ))
}
