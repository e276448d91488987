//! The public destination catalogue that the `useDestinationVendors` and
//! `useDestinationForm` hooks read. Both routes return the same data to
//! every caller, so they need no credentials.

use axum::Router;
use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use crate::app::AppState;
use crate::catalog::{self, Catalog};
use crate::envelope::success;
use crate::error::{ApiError, ApiResult};
use crate::openapi::{responses, schemas};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/public/destination-vendors", get(list_vendors))
        .route("/public/forms/destination-vendors", get(destination_form))
}

/// Query of the form route. The SDK also sends `org_id`, which is ignored
/// because every organization gets the same form.
#[derive(Debug, Deserialize)]
struct FormQuery {
    vendor: Option<String>,
}

fn loaded_catalog() -> ApiResult<&'static Catalog> {
    catalog::catalog().map_err(ApiError::internal)
}

/// Returns the vendor list, the `EnumObject[]` of `useDestinationVendors`.
#[utoipa::path(
    get,
    path = "/public/destination-vendors",
    operation_id = "list_destination_vendors",
    tag = "vendors",
    summary = "List the destination vendors",
    description = "Needs no credentials. The `useDestinationVendors` hook reads it.",
    responses(
        (status = 200, description = "The vendors, in display order.", body = schemas::Success<Vec<schemas::EnumObject>>),
        (status = 400, description = "Unsupported X-Prequel-Api-Version header.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
    ),
)]
async fn list_vendors() -> ApiResult<Response> {
    let catalog = loaded_catalog()?;
    Ok(success(catalog.vendors(), "destination vendors listed"))
}

/// Returns the form tree of `useDestinationForm`: every vendor's, or only the
/// subtree of `vendor` when it is given. An empty `vendor` counts as absent,
/// as the SDK never sends one.
#[utoipa::path(
    get,
    path = "/public/forms/destination-vendors",
    operation_id = "get_destination_form",
    tag = "vendors",
    summary = "The destination form tree",
    description = "Needs no credentials. The `useDestinationForm` hook reads it.",
    params(schemas::FormQuery),
    responses(
        (status = 200, description = "The form of every vendor, or of `vendor` only.", body = schemas::Success<schemas::DestinationForm>),
        (status = 400, description = "An invalid query string.", body = schemas::ErrorEnvelope),
        (status = 404, description = "`vendor` is not a vendor key.", body = schemas::ErrorEnvelope),
        (status = 500, response = responses::InternalError),
    ),
)]
async fn destination_form(query: Result<Query<FormQuery>, QueryRejection>) -> ApiResult<Response> {
    let Query(query) = query.map_err(|rejection| {
        ApiError::BadRequest(format!("invalid query string: {}", rejection.body_text()))
    })?;
    let catalog = loaded_catalog()?;

    let Some(vendor) = query.vendor.filter(|vendor| !vendor.is_empty()) else {
        return Ok(success(catalog.form(), "destination form for every vendor"));
    };
    let form = catalog.vendor_form(&vendor).ok_or_else(|| {
        ApiError::NotFound(format!(
            "destination vendor {vendor:?} not found. GET /public/destination-vendors lists the \
             vendor keys."
        ))
    })?;
    Ok(success(form, format!("destination form for {vendor}")))
}
