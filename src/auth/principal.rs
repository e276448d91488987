//! The [`Principal`] extractor and the authorization rules each kind of
//! credential follows.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::api_key::KeyLookupError;
use super::fingerprint;
use super::origin::Origin;
use super::token::{self, Claims, Scope};
use crate::app::AppState;
use crate::audit::AuditLog;
use crate::crypto::MasterKey;
use crate::error::ApiError;
use crate::ops::metrics::AuthFailure;
use crate::store::{ApiKeyRole, Destination, Tenant};

/// A first-party server authenticated by `X-API-KEY`.
#[derive(Debug, Clone)]
pub struct ApiKeyPrincipal {
    pub key_id: Uuid,
    pub tenant: Tenant,
    pub role: ApiKeyRole,
}

/// A browser authenticated by a scoped token bound to one recipient.
#[derive(Debug, Clone)]
pub struct ScopedPrincipal {
    pub tenant: Tenant,
    pub recipient_id: Uuid,
    pub claims: Claims,
    audit: AuditLog,
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub enum Principal {
    ApiKey(ApiKeyPrincipal),
    Scoped(Box<ScopedPrincipal>),
}

/// Extractor for routes only an API key may call.
#[derive(Debug, Clone)]
pub struct ServerKey(pub ApiKeyPrincipal);

/// Extractor for routes only an admin API key may call: key and signing-key
/// management and audit events.
#[derive(Debug, Clone)]
pub struct AdminKey(pub ApiKeyPrincipal);

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value.to_str().map(Some).map_err(|_| {
            deny(
                AuthFailure::MalformedCredentials,
                format!("the {name} header is not valid text"),
            )
        }),
    }
}

fn deny(failure: AuthFailure, reason: String) -> ApiError {
    crate::ops::metrics::record_auth_failure(failure);
    tracing::info!(reason = %reason, "authentication failed");
    ApiError::Unauthorized(reason)
}

async fn authenticate_api_key(state: &AppState, key: &str) -> Result<ApiKeyPrincipal, ApiError> {
    match state.api_keys.authenticate(&state.store, key).await {
        Ok(record) => Ok(ApiKeyPrincipal {
            key_id: record.id,
            tenant: record.tenant,
            role: record.role,
        }),
        Err(KeyLookupError::Store(error)) => Err(error.into()),
        Err(error) => {
            let failure = AuthFailure::of_key_lookup(&error).unwrap_or(AuthFailure::InvalidApiKey);
            Err(deny(failure, format!("invalid X-API-KEY: {error}")))
        }
    }
}

/// Splits `Bearer <token>`, matching the scheme case-insensitively and
/// taking the token exactly as sent.
fn bearer_token(value: &str) -> Result<&str, ApiError> {
    let (scheme, token) = value.split_once(' ').ok_or_else(|| {
        deny(
            AuthFailure::MalformedCredentials,
            "the Authorization header must be `Bearer <token>`".to_owned(),
        )
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(deny(
            AuthFailure::MalformedCredentials,
            "the Authorization scheme must be Bearer".to_owned(),
        ));
    }
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(deny(
            AuthFailure::MalformedCredentials,
            "the bearer token is empty or contains spaces".to_owned(),
        ));
    }
    Ok(token)
}

fn authenticate_token(
    state: &AppState,
    headers: &HeaderMap,
    authorization: &str,
) -> Result<ScopedPrincipal, ApiError> {
    let token = bearer_token(authorization)?;
    let app_id = header(headers, "x-app-id")?.ok_or_else(|| {
        deny(
            AuthFailure::MissingCredentials,
            "missing X-APP-ID header: send the application origin".to_owned(),
        )
    })?;
    let app_origin = Origin::parse(app_id).map_err(|error| {
        deny(
            AuthFailure::MalformedCredentials,
            format!("the X-APP-ID header is not a valid origin: {error}"),
        )
    })?;

    let claims = token::verify(&state.key_ring.current(), &state.token_settings, token)
        .map_err(|error| deny(AuthFailure::of_token(&error), error.to_string()))?;

    let principal = ScopedPrincipal {
        tenant: Tenant {
            organization_id: claims.org,
            environment: claims.env,
        },
        recipient_id: claims.rid,
        claims,
        audit: state.audit.clone(),
    };
    let token_origin = Origin::parse(&principal.claims.origin).map_err(|_| {
        deny(
            AuthFailure::InvalidToken,
            "the token's application origin is invalid".to_owned(),
        )
    })?;
    if !token_origin.matches(&app_origin) {
        let reason = "the X-APP-ID header does not match the token's application origin";
        principal.record_denial(reason);
        return Err(deny(AuthFailure::OriginMismatch, reason.to_owned()));
    }
    if let Some(browser_origin) = header(headers, "origin")? {
        let matches = Origin::parse(browser_origin)
            .map(|origin| token_origin.matches(&origin))
            .unwrap_or(false);
        if !matches {
            let reason = "the Origin header does not match the token's application origin";
            principal.record_denial(reason);
            return Err(deny(AuthFailure::OriginMismatch, reason.to_owned()));
        }
    }
    Ok(principal)
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let api_key = header(&parts.headers, "x-api-key")?;
        let authorization = header(&parts.headers, "authorization")?;
        match (api_key, authorization) {
            (Some(_), Some(_)) => Err(ApiError::BadRequest(
                "send either X-API-KEY or Authorization, not both".to_owned(),
            )),
            (Some(key), None) => Ok(Principal::ApiKey(authenticate_api_key(state, key).await?)),
            (None, Some(value)) => Ok(Principal::Scoped(Box::new(authenticate_token(
                state,
                &parts.headers,
                value,
            )?))),
            (None, None) => Err(deny(
                AuthFailure::MissingCredentials,
                "missing credentials: send X-API-KEY, or Authorization: Bearer with X-APP-ID"
                    .to_owned(),
            )),
        }
    }
}

impl FromRequestParts<AppState> for ServerKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match Principal::from_request_parts(parts, state).await? {
            Principal::ApiKey(principal) => Ok(ServerKey(principal)),
            Principal::Scoped(_) => Err(ApiError::Forbidden(
                "this route needs an X-API-KEY; scoped tokens cannot call it".to_owned(),
            )),
        }
    }
}

impl FromRequestParts<AppState> for AdminKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ServerKey(principal) = ServerKey::from_request_parts(parts, state).await?;
        if principal.role != ApiKeyRole::Admin {
            return Err(ApiError::Forbidden(
                "this route needs an admin API key; this key has the standard role".to_owned(),
            ));
        }
        Ok(AdminKey(principal))
    }
}

fn forbid(reason: String) -> ApiError {
    tracing::info!(reason = %reason, "scoped token denied");
    ApiError::Forbidden(reason)
}

impl Principal {
    pub fn tenant(&self) -> Tenant {
        match self {
            Principal::ApiKey(principal) => principal.tenant,
            Principal::Scoped(principal) => principal.tenant,
        }
    }

    /// Allows reading a recipient's resources. Returns the recipient a scoped
    /// token is confined to, or `None` for an API key, which may read the
    /// whole environment.
    pub fn authorize_recipient_read(&self) -> Result<Option<Uuid>, ApiError> {
        match self {
            Principal::ApiKey(_) => Ok(None),
            Principal::Scoped(scoped) if scoped.claims.scope == Scope::Get => {
                Ok(Some(scoped.recipient_id))
            }
            Principal::Scoped(scoped) => Err(scoped
                .forbid("this route needs a GET-scope token; the token has POST scope".to_owned())),
        }
    }

    /// Allows writing `destination` as a new destination: an API key may,
    /// a POST-scope token only when the body is the destination it was
    /// minted for.
    pub fn authorize_destination_write(
        &self,
        master_key: &MasterKey,
        destination: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        match self {
            Principal::ApiKey(_) => Ok(()),
            Principal::Scoped(scoped) => scoped.check_post_body(master_key, destination),
        }
    }

    /// Allows reading one saved destination and its transfers. A GET token
    /// reads every destination of its recipient; a POST token only the one
    /// it is bound to. Another recipient's destination reads as not found.
    pub fn authorize_destination_read(&self, destination: &Destination) -> Result<(), ApiError> {
        let Principal::Scoped(scoped) = self else {
            return Ok(());
        };
        scoped.check_recipient(destination)?;
        if scoped.claims.scope == Scope::Post && scoped.claims.dst_id != Some(destination.id) {
            return Err(scoped.forbid(format!(
                "this POST-scope token is not bound to destination {}; use a GET-scope token",
                destination.id
            )));
        }
        Ok(())
    }

    /// Allows changing (or testing with changes) a saved destination.
    /// Empty `changes` only read the destination, which any token of the
    /// recipient may. Otherwise a POST-scope token must have been minted
    /// from exactly these changes, and may not change `host` or
    /// `bucket_name` at any nesting level.
    pub fn authorize_destination_change(
        &self,
        master_key: &MasterKey,
        destination: &Destination,
        stored: &Map<String, Value>,
        changes: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        let Principal::Scoped(scoped) = self else {
            return Ok(());
        };
        scoped.check_recipient(destination)?;
        if crate::auth::fingerprint::details(changes).is_empty() {
            return Ok(());
        }
        if let Some(bound) = scoped.claims.dst_id
            && bound != destination.id
        {
            return Err(scoped.forbid(format!(
                "this token is bound to destination {bound}, not {}",
                destination.id
            )));
        }
        scoped.check_post_body(master_key, changes)?;

        let protected = crate::destination::changed_protected_fields(stored, changes);
        if !protected.is_empty() {
            return Err(scoped.forbid(format!(
                "a scoped token cannot change {}; ask the application's server to change it with \
                 an API key",
                protected.join(", ")
            )));
        }
        Ok(())
    }

    /// Allows deleting a saved destination: an API key, or a POST-scope
    /// token bound to that destination's id.
    pub fn authorize_destination_delete(&self, destination: &Destination) -> Result<(), ApiError> {
        let Principal::Scoped(scoped) = self else {
            return Ok(());
        };
        scoped.check_recipient(destination)?;
        if scoped.claims.scope != Scope::Post {
            return Err(scoped.forbid(
                "deleting a destination needs a POST-scope token bound to it; the token has GET \
                 scope"
                    .to_owned(),
            ));
        }
        if scoped.claims.dst_id != Some(destination.id) {
            return Err(scoped.forbid(format!(
                "this token is not bound to destination {}; mint it from the existing \
                 destination, id included",
                destination.id
            )));
        }
        Ok(())
    }
}

impl ScopedPrincipal {
    /// Queues a `token.denied` audit event with the reason.
    fn record_denial(&self, reason: &str) {
        self.audit.record(
            self.tenant,
            "token.denied",
            Some(self.claims.api_key_id),
            Some(self.recipient_id),
            serde_json::json!({
                "reason": reason,
                "token_id": self.claims.jti,
                "scope": self.claims.scope.as_str(),
            }),
        );
    }

    /// Records a denial and returns the 403 for it.
    fn forbid(&self, reason: String) -> ApiError {
        self.record_denial(&reason);
        forbid(reason)
    }
    /// Rejects a destination of another recipient as not found, so a token
    /// cannot learn which ids exist elsewhere.
    fn check_recipient(&self, destination: &Destination) -> Result<(), ApiError> {
        if destination.recipient_id != self.recipient_id {
            return Err(ApiError::NotFound(format!(
                "destination {} not found",
                destination.id
            )));
        }
        Ok(())
    }

    /// A POST-scope body must carry the token's identity, if any, and
    /// match its fingerprint.
    fn check_post_body(
        &self,
        master_key: &MasterKey,
        destination: &Map<String, Value>,
    ) -> Result<(), ApiError> {
        if self.claims.scope != Scope::Post {
            return Err(self.forbid(
                "this route needs a POST-scope token; the token has GET scope".to_owned(),
            ));
        }
        self.check_identity(destination)?;

        let details = fingerprint::details(destination);
        if Some(fingerprint::fingerprint(master_key, &details)) != self.claims.dst {
            let body_fields = fingerprint::field_digests(master_key, &details);
            let token_fields = self.claims.dstf.clone().unwrap_or_default();
            return Err(self.forbid(fingerprint::describe_difference(
                &token_fields,
                &body_fields,
            )));
        }
        Ok(())
    }

    /// Identity fields in a body, when present and not empty, must equal
    /// the token's. The SDK's default destination carries `""` for them.
    fn check_identity(&self, destination: &Map<String, Value>) -> Result<(), ApiError> {
        let mismatch = |field: &str| {
            self.forbid(format!(
                "destination.{field} does not match the recipient or destination of the token"
            ))
        };
        match destination.get("id_in_provider_system") {
            None | Some(Value::Null) => {}
            Some(Value::String(value)) if value.is_empty() => {}
            Some(Value::String(value)) if *value == self.claims.sub => {}
            Some(_) => return Err(mismatch("id_in_provider_system")),
        }
        match destination.get("recipient_id") {
            None | Some(Value::Null) => {}
            Some(Value::String(value)) if value.is_empty() => {}
            Some(Value::String(value))
                if Uuid::parse_str(value).ok() == Some(self.recipient_id) => {}
            Some(_) => return Err(mismatch("recipient_id")),
        }
        match destination.get("id") {
            None | Some(Value::Null) => {}
            Some(Value::String(value)) if value.is_empty() => {}
            Some(Value::String(value))
                if self.claims.dst_id.is_some()
                    && Uuid::parse_str(value).ok() == self.claims.dst_id => {}
            Some(_) => return Err(mismatch("id")),
        }
        Ok(())
    }
}
