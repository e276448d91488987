//! `POST /actions/generate-scoped-auth-token`: a first party's server mints
//! a browser token for one recipient.

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::post;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::app::AppState;
use crate::auth::ServerKey;
use crate::auth::fingerprint;
use crate::auth::origin::Origin;
use crate::auth::token::{self, Claims, Scope};
use crate::destination::Identity;
use crate::envelope::success;
use crate::error::{ApiError, ApiResult};
use crate::json::JsonObject;
use crate::openapi::{responses, schemas};

pub fn router() -> Router<AppState> {
    Router::new().route("/actions/generate-scoped-auth-token", post(generate))
}

/// The validated mint request.
struct MintRequest {
    origin: Origin,
    destination: Map<String, Value>,
    identity: Identity,
    scope: Option<Scope>,
    ttl_seconds: Option<u64>,
}

fn parse_request(body: &Map<String, Value>, max_ttl: u64) -> ApiResult<MintRequest> {
    let origin = match body.get("application_origin") {
        Some(Value::String(text)) => Origin::parse(text)
            .map_err(|error| ApiError::BadRequest(format!("application_origin {error}")))?,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "application_origin must be a string such as https://app.example.com".to_owned(),
            ));
        }
        None => {
            return Err(ApiError::BadRequest(
                "application_origin is required".to_owned(),
            ));
        }
    };

    let destination = match body.get("destination") {
        Some(Value::Object(object)) => object.clone(),
        None | Some(Value::Null) => Map::new(),
        Some(_) => {
            return Err(ApiError::BadRequest(
                "destination must be an object".to_owned(),
            ));
        }
    };
    let mut identity = Identity::parse(&destination, "destination")?;
    // The 2023-12-01 form also accepts recipient_id at the top level.
    let top_level = Identity::parse(body, "body")?.recipient_id;
    match (identity.recipient_id, top_level) {
        (Some(inner), Some(outer)) if inner != outer => {
            return Err(ApiError::BadRequest(
                "recipient_id and destination.recipient_id name different recipients".to_owned(),
            ));
        }
        (None, Some(outer)) => identity.recipient_id = Some(outer),
        _ => {}
    }

    let scope = match body.get("scope") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) if text.eq_ignore_ascii_case("get") => Some(Scope::Get),
        Some(Value::String(text)) if text.eq_ignore_ascii_case("post") => Some(Scope::Post),
        Some(_) => return Err(ApiError::BadRequest("scope must be GET or POST".to_owned())),
    };

    let ttl_seconds = match body.get("ttl_seconds") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_u64() {
            Some(ttl) if (1..=max_ttl).contains(&ttl) => Some(ttl),
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "ttl_seconds must be an integer from 1 to {max_ttl}"
                )));
            }
        },
    };

    Ok(MintRequest {
        origin,
        destination,
        identity,
        scope,
        ttl_seconds,
    })
}

#[utoipa::path(
    post,
    path = "/actions/generate-scoped-auth-token",
    operation_id = "generate_scoped_auth_token",
    tag = "tokens",
    summary = "Mint a scoped token for one recipient",
    description = "Your server mints a short-lived token for its browser code. The recipient \
                   is created on first use of its `id_in_provider_system`. CORS then also \
                   allows `application_origin`.",
    request_body = schemas::MintRequest,
    responses(
        (status = 200, description = "The token.", body = schemas::Success<schemas::MintedToken>),
        (status = 400, description = "Invalid body: a missing or invalid `application_origin`, `destination` not an object, invalid identity fields, no recipient named, `recipient_id` values that disagree, or an invalid `scope` or `ttl_seconds`.", body = schemas::ErrorEnvelope),
        (status = 401, response = responses::Unauthorized),
        (status = 403, description = "Called with a scoped token.", body = schemas::ErrorEnvelope),
        (status = 404, description = "`recipient_id` names no recipient, or `destination.id` no destination of this recipient.", body = schemas::ErrorEnvelope),
        (status = 413, response = responses::PayloadTooLarge),
        (status = 500, response = responses::InternalError),
        (status = 503, response = responses::Unavailable),
    ),
    security(("api_key" = [])),
)]
#[tracing::instrument(skip_all, fields(api_key_id = %key.key_id))]
async fn generate(
    State(state): State<AppState>,
    ServerKey(key): ServerKey,
    JsonObject(body): JsonObject,
) -> ApiResult<Response> {
    let max_ttl = state.config.token_max_ttl.as_secs();
    let request = parse_request(&body, max_ttl)?;
    let recipient =
        super::resolve_recipient(&state, key.tenant, &request.identity, "destination").await?;

    if let Some(destination_id) = request.identity.id {
        let found = state
            .store
            .get_destination(key.tenant, destination_id)
            .await?;
        if found.is_none_or(|destination| destination.recipient_id != recipient.id) {
            return Err(ApiError::NotFound(format!(
                "destination {destination_id} not found for this recipient"
            )));
        }
    }

    let details = fingerprint::details(&request.destination);
    let scope = request.scope.unwrap_or(if details.is_empty() {
        Scope::Get
    } else {
        Scope::Post
    });
    let (dst, dstf) = match scope {
        Scope::Post => (
            Some(fingerprint::fingerprint(&state.master_key, &details)),
            Some(fingerprint::field_digests(&state.master_key, &details)),
        ),
        Scope::Get => (None, None),
    };

    let now = Utc::now().timestamp();
    let ttl = request
        .ttl_seconds
        .unwrap_or(state.config.token_ttl.as_secs())
        .min(max_ttl);
    let expires_at = now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX));
    let claims = Claims {
        iss: state.token_settings.issuer.clone(),
        aud: state.token_settings.audience(key.tenant.environment),
        sub: recipient.id_in_provider_system.clone(),
        org: key.tenant.organization_id,
        env: key.tenant.environment,
        scope,
        origin: request.origin.to_string(),
        jti: Uuid::new_v4(),
        iat: now,
        nbf: now,
        exp: expires_at,
        api_key_id: key.key_id,
        rid: recipient.id,
        dst,
        dst_id: if scope == Scope::Post {
            request.identity.id
        } else {
            None
        },
        dstf,
    };
    let scoped_token = token::mint(state.key_ring.current().active(), &claims);

    state.origins.vouch(key.tenant, &request.origin).await?;
    state.audit.record(
        key.tenant,
        "token.minted",
        Some(key.key_id),
        Some(recipient.id),
        json!({
            "token_id": claims.jti,
            "scope": scope.as_str(),
            "origin": claims.origin,
            "destination_id": claims.dst_id,
            "expires_at": claims.exp,
        }),
    );
    crate::ops::metrics::record_token_minted(scope, key.tenant.environment);
    tracing::info!(
        recipient_id = %recipient.id,
        scope = scope.as_str(),
        token_id = %claims.jti,
        origin = %claims.origin,
        "minted scoped token"
    );

    let expires_at = DateTime::<Utc>::from_timestamp(expires_at, 0).unwrap_or_default();
    Ok(success(
        json!({
            "scoped_token": scoped_token,
            "expires_at": expires_at,
            "scope": scope.as_str(),
        }),
        "scoped auth token generated",
    ))
}
