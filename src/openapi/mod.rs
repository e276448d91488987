//! The OpenAPI 3.1 description of the HTTP API, built from the
//! `#[utoipa::path]` attributes of the handlers, and `GET /openapi.json`,
//! which serves it. `openapi.json` at the repository root is a copy that
//! `tests/openapi.rs` keeps equal to [`document`].

pub mod responses;
pub mod schemas;

use std::sync::LazyLock;

use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::path::{HttpMethod, Operation, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::{self, RefOr, Required};
use utoipa::{Modify, OpenApi};

use crate::app::{API_VERSION, AppState};
use crate::ops::{health, metrics};
use crate::routes::{
    catalog, destinations, jwks, keys, recipients, ssh, tokens, transfers, vendors,
};

/// Name of the security scheme of `X-API-KEY`.
pub const API_KEY_SCHEME: &str = "api_key";
/// Name of the security scheme of scoped tokens.
pub const SCOPED_TOKEN_SCHEME: &str = "scoped_token";

/// An operation that the router serves under a second path or method, with
/// the same handler as the operation at `source_path` and `source_method`.
pub struct Alias {
    pub path: &'static str,
    pub method: HttpMethod,
    pub source_path: &'static str,
    pub source_method: HttpMethod,
    pub operation_id: &'static str,
}

/// Second registrations of documented handlers. A `#[utoipa::path]`
/// attribute takes one path, so [`document`] copies the operation of each
/// source to its alias. Most aliases are the `/export/…` paths that
/// `@prequel/react` calls.
pub const ALIASES: [Alias; 14] = [
    Alias {
        path: "/export/destinations",
        method: HttpMethod::Post,
        source_path: "/destinations",
        source_method: HttpMethod::Post,
        operation_id: "create_destination_export",
    },
    Alias {
        path: "/export/destinations-for-recipient",
        method: HttpMethod::Get,
        source_path: "/destinations-for-recipient",
        source_method: HttpMethod::Get,
        operation_id: "list_destinations_for_recipient_export",
    },
    Alias {
        path: "/export/destinations/{id}",
        method: HttpMethod::Get,
        source_path: "/destinations/{id}",
        source_method: HttpMethod::Get,
        operation_id: "get_destination_export",
    },
    Alias {
        path: "/export/destinations/{id}",
        method: HttpMethod::Patch,
        source_path: "/destinations/{id}",
        source_method: HttpMethod::Patch,
        operation_id: "update_destination_export",
    },
    Alias {
        path: "/export/destinations/{id}",
        method: HttpMethod::Delete,
        source_path: "/destinations/{id}",
        source_method: HttpMethod::Delete,
        operation_id: "delete_destination_export",
    },
    Alias {
        path: "/export/test-destination",
        method: HttpMethod::Post,
        source_path: "/test-destination",
        source_method: HttpMethod::Post,
        operation_id: "test_new_destination_export",
    },
    Alias {
        path: "/export/destinations/{id}/test-connection",
        method: HttpMethod::Post,
        source_path: "/destinations/{id}/test-connection",
        source_method: HttpMethod::Post,
        operation_id: "test_destination_connection_export",
    },
    Alias {
        path: "/export/destinations/{id}/transfers",
        method: HttpMethod::Get,
        source_path: "/destinations/{id}/transfers",
        source_method: HttpMethod::Get,
        operation_id: "list_destination_transfers_export",
    },
    Alias {
        path: "/export/destinations/{id}/transfers",
        method: HttpMethod::Post,
        source_path: "/destinations/{id}/transfers",
        source_method: HttpMethod::Post,
        operation_id: "record_transfer_export",
    },
    Alias {
        path: "/export/models",
        method: HttpMethod::Get,
        source_path: "/models",
        source_method: HttpMethod::Get,
        operation_id: "list_models_export",
    },
    Alias {
        path: "/export/products",
        method: HttpMethod::Get,
        source_path: "/products",
        source_method: HttpMethod::Get,
        operation_id: "list_products_export",
    },
    Alias {
        path: "/export/models-for-recipient",
        method: HttpMethod::Get,
        source_path: "/models-for-recipient",
        source_method: HttpMethod::Get,
        operation_id: "list_models_for_recipient_export",
    },
    Alias {
        path: "/export/actions/generate-ssh-key",
        method: HttpMethod::Post,
        source_path: "/actions/generate-ssh-key",
        source_method: HttpMethod::Post,
        operation_id: "generate_ssh_key_export",
    },
    Alias {
        path: "/api-keys/{id}/revoke",
        method: HttpMethod::Post,
        source_path: "/api-keys/{id}",
        source_method: HttpMethod::Delete,
        operation_id: "revoke_api_key_by_post",
    },
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "scopegate",
        description = "Scoped browser tokens for embedded data-export settings. Servers \
                       authenticate with an API key, and browsers with short-lived scoped \
                       tokens that the servers mint for one recipient. Every JSON response \
                       except the JWK Set and this document is an envelope `{status, data, \
                       message}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        tokens::generate,
        destinations::create,
        destinations::list_all,
        destinations::list_for_recipient,
        destinations::show,
        destinations::update,
        destinations::remove,
        destinations::test_new,
        destinations::test_existing,
        transfers::list_for_destination,
        transfers::record,
        transfers::list_all,
        transfers::show,
        transfers::update,
        catalog::list_models,
        catalog::create_model,
        catalog::update_model,
        catalog::delete_model,
        catalog::list_products,
        catalog::create_product,
        catalog::update_product,
        catalog::delete_product,
        catalog::models_for_recipient,
        recipients::list,
        recipients::create,
        recipients::show,
        recipients::update,
        recipients::remove,
        ssh::generate,
        vendors::list_vendors,
        vendors::destination_form,
        jwks::jwks,
        keys::list_keys,
        keys::create_key,
        keys::show_key,
        keys::revoke_key,
        keys::rotate_key,
        keys::list_signing_keys,
        keys::rotate_signing_key,
        keys::list_audit_events,
        health::healthz,
        health::readyz,
        metrics::serve_metrics,
        serve_document,
    ),
    components(
        // utoipa 6 does not collect the schemas that only query
        // parameters name.
        schemas(schemas::ErrorEnvelope, schemas::SortOrder, schemas::TransferStatus),
        responses(
            responses::Unauthorized,
            responses::PayloadTooLarge,
            responses::TooManyRequests,
            responses::Unavailable,
            responses::InternalError,
        ),
    ),
    modifiers(&SecuritySchemes, &Aliases, &CommonHeaders, &OptionalBodies),
    tags(
        (name = "tokens", description = "Minting scoped tokens."),
        (name = "destinations", description = "Destinations and their connection tests."),
        (name = "transfers", description = "Transfers to a destination."),
        (name = "models", description = "Models and products, which decide what a recipient receives."),
        (name = "recipients", description = "Recipients: your customers."),
        (name = "vendors", description = "The public destination catalogue."),
        (name = "ssh-keys", description = "SSH key pairs for tunnels and key-pair logins."),
        (name = "api-keys", description = "API keys, for admin API keys."),
        (name = "signing-keys", description = "Token signing keys."),
        (name = "audit-events", description = "The audit log, for admin API keys."),
        (name = "operations", description = "Health, readiness, metrics and this document."),
    ),
)]
struct ApiDoc;

/// Builds the OpenAPI 3.1 document of every route.
pub fn document() -> openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document.info.version = env!("CARGO_PKG_VERSION").to_owned();
    document
}

static DOCUMENT: LazyLock<openapi::OpenApi> = LazyLock::new(document);

/// Builds the router of `GET /openapi.json`.
pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(serve_document))
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    operation_id = "get_openapi_document",
    tag = "operations",
    summary = "This OpenAPI 3.1 document",
    responses(
        (status = 200, description = "The document, not wrapped in the envelope.", body = Object),
        (status = 400, description = "Unsupported X-Prequel-Api-Version header.", body = schemas::ErrorEnvelope),
    ),
)]
async fn serve_document() -> Json<&'static openapi::OpenApi> {
    Json(&DOCUMENT)
}

/// Adds the two security schemes.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, document: &mut openapi::OpenApi) {
        let components = document.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-KEY",
                "API key of your server, such as `sk_prod_…`. Send either it or a scoped \
                 token, never both (400).",
            ))),
        );
        components.add_security_scheme(
            SCOPED_TOKEN_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "Scoped token from `POST /actions/generate-scoped-auth-token`. Requests \
                         with it must send `X-APP-ID` with the token's application origin. A \
                         browser's `Origin`, when sent, must match it too.",
                    ))
                    .build(),
            ),
        );
    }
}

/// Copies the operation of each [`ALIASES`] source to its alias path.
struct Aliases;

impl Modify for Aliases {
    fn modify(&self, document: &mut openapi::OpenApi) {
        for alias in &ALIASES {
            // A missing source leaves the alias out, and tests/openapi.rs
            // then reports its path as undocumented.
            let Some(source) = document
                .paths
                .get_path_operation(alias.source_path, alias.source_method.clone())
            else {
                continue;
            };
            let mut operation = source.clone();
            operation.operation_id = Some(alias.operation_id.to_owned());
            document
                .paths
                .add_path_operation(alias.path, vec![alias.method.clone()], operation);
        }
    }
}

/// Adds the request headers that the middleware and the scoped-token check
/// read to every operation that they apply to.
struct CommonHeaders;

impl Modify for CommonHeaders {
    fn modify(&self, document: &mut openapi::OpenApi) {
        let scoped = SecurityRequirement::new(SCOPED_TOKEN_SCHEME, Vec::<String>::new());
        for_each_operation(document, |operation| {
            let accepts_token = operation
                .security
                .as_ref()
                .is_some_and(|requirements| requirements.contains(&scoped));
            if accepts_token {
                add_header(
                    operation,
                    "X-APP-ID",
                    "Required with a scoped token: the application origin the token was minted \
                     for, such as `localhost:3000` or `https://app.example.com`.",
                    None,
                );
            }
            add_header(
                operation,
                "X-Prequel-Api-Version",
                "API version; any other value gets 400. Absent means this version.",
                Some(API_VERSION),
            );
        });
    }
}

/// Removes the `null` alternative that utoipa 6 gives an `Option<T>`
/// request body. `Option` marks the body as not required, which is true because
/// `JsonObject` reads an empty body as `{}`, but a `null` body gets 400.
struct OptionalBodies;

impl Modify for OptionalBodies {
    fn modify(&self, document: &mut openapi::OpenApi) {
        for_each_operation(document, |operation| {
            let Some(RefOr::T(body)) = operation.request_body.as_mut() else {
                return;
            };
            for content in body.content.values_mut() {
                let RefOr::T(content) = content else {
                    continue;
                };
                let Some(RefOr::T(Schema::OneOf(alternatives))) = &content.schema else {
                    continue;
                };
                let mut kept: Vec<RefOr<Schema>> = alternatives
                    .items
                    .iter()
                    .filter(|schema| !is_null_schema(schema))
                    .cloned()
                    .collect();
                if kept.len() == 1 {
                    content.schema = kept.pop();
                }
            }
        });
    }
}

fn is_null_schema(schema: &RefOr<Schema>) -> bool {
    matches!(
        schema,
        RefOr::T(Schema::Object(object)) if object.schema_type == SchemaType::Type(Type::Null)
    )
}

/// Calls `change` on every operation of the methods that the router uses.
fn for_each_operation(document: &mut openapi::OpenApi, mut change: impl FnMut(&mut Operation)) {
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            change(operation);
        }
    }
}

/// Appends an optional string header parameter, limited to `only_value`
/// when it is given.
fn add_header(operation: &mut Operation, name: &str, description: &str, only_value: Option<&str>) {
    let mut schema = ObjectBuilder::new().schema_type(Type::String);
    if let Some(value) = only_value {
        schema = schema.enum_values(Some([value]));
    }
    let parameter = ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build();
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(parameter.into());
}
