//! Scoped tokens: claims, minting and verification.
//!
//! Tokens are EdDSA (Ed25519) JWTs whose protected header contains exactly
//! `alg`, `typ` and `kid`. Minting signs with the key pair the key ring keeps
//! parsed in memory. Verification pins the algorithm and checks `exp`, `nbf`,
//! `iss` and `aud` with jsonwebtoken, with an explicit clock leeway.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::keys::{KeyRing, SigningKey};
use crate::store::Environment;

/// Permission level of a token; [`crate::auth::Principal`] applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    #[serde(rename = "GET")]
    Get,
    #[serde(rename = "POST")]
    Post,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Get => "GET",
            Scope::Post => "POST",
        }
    }

    /// Returns the `typ` header value of this scope. Each scope has its own,
    /// so one kind of token cannot pass as the other.
    pub fn token_type(self) -> &'static str {
        match self {
            Scope::Get => "scopegate-get+jwt",
            Scope::Post => "scopegate-post+jwt",
        }
    }
}

/// Claims of a scoped token. Credentials never appear here; POST tokens carry
/// only keyed digests of the destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The recipient's `id_in_provider_system`.
    pub sub: String,
    pub org: Uuid,
    pub env: Environment,
    pub scope: Scope,
    pub origin: String,
    pub jti: Uuid,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub api_key_id: Uuid,
    /// The recipient's `recipient_id`.
    pub rid: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dst_id: Option<Uuid>,
    /// Digest of each destination field, keyed by its dotted path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dstf: Option<BTreeMap<String, String>>,
}

/// Issuer, audiences and clock leeway shared by minting and verification.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub leeway_seconds: u64,
}

impl TokenSettings {
    pub fn audience(&self, environment: Environment) -> String {
        format!("{}:{}", self.issuer, environment.as_str())
    }
}

/// Reason a presented token was rejected. Each message is safe to return.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token header must contain only alg, typ and kid; found {0}")]
    ForbiddenHeader(String),
    #[error("the token algorithm is not accepted; only EdDSA is")]
    Algorithm,
    #[error("the token type is not a scopegate token type")]
    Type,
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    #[error("the token signature is invalid")]
    Signature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token audience is not accepted")]
    Audience,
    #[error("the token issuer is not accepted")]
    Issuer,
    #[error("the token lacks the required claim {0}")]
    MissingClaim(String),
    #[error("the token claims are invalid: {0}")]
    Claims(String),
}

/// Describes a claims deserialization error without the position, which
/// means nothing to the client.
fn claims_problem(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.find(" at line ") {
        Some(end) => text[..end].to_owned(),
        None => text,
    }
}

/// Signs `claims` with the active key of the ring.
pub fn mint(key: &SigningKey, claims: &Claims) -> String {
    let header = serde_json::json!({
        "alg": "EdDSA",
        "typ": claims.scope.token_type(),
        "kid": key.kid,
    });
    sign_parts(
        key,
        &header,
        &serde_json::to_value(claims).unwrap_or(Value::Null),
    )
}

/// Signs arbitrary header and claims JSON. Tests use it to build tokens
/// that [`verify`] must reject; [`mint`] is the only production caller.
pub fn sign_parts(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let encoded_header = URL_SAFE_NO_PAD.encode(header.to_string());
    let encoded_claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let message = format!("{encoded_header}.{encoded_claims}");
    let signature = URL_SAFE_NO_PAD.encode(key.sign(message.as_bytes()));
    format!("{message}.{signature}")
}

/// Reads the protected header and rejects anything beyond alg, typ and kid.
/// Returns the `kid` and the scope the `typ` names.
fn check_header(token: &str) -> Result<(String, Scope), TokenError> {
    let encoded = token.split('.').next().ok_or(TokenError::Malformed)?;
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| TokenError::Malformed)?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;

    let mut extra: Vec<&str> = header
        .keys()
        .map(String::as_str)
        .filter(|name| !matches!(*name, "alg" | "typ" | "kid"))
        .collect();
    if !extra.is_empty() {
        extra.sort_unstable();
        return Err(TokenError::ForbiddenHeader(extra.join(", ")));
    }
    if header.get("alg").and_then(Value::as_str) != Some("EdDSA") {
        return Err(TokenError::Algorithm);
    }
    let scope = match header.get("typ").and_then(Value::as_str) {
        Some(typ) if typ == Scope::Get.token_type() => Scope::Get,
        Some(typ) if typ == Scope::Post.token_type() => Scope::Post,
        _ => return Err(TokenError::Type),
    };
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(TokenError::UnknownKey)?;
    Ok((kid.to_owned(), scope))
}

/// Verifies signature, header and registered claims, and returns the claims.
pub fn verify(ring: &KeyRing, settings: &TokenSettings, token: &str) -> Result<Claims, TokenError> {
    if token.split('.').count() != 3 {
        return Err(TokenError::Malformed);
    }
    let (kid, header_scope) = check_header(token)?;
    let key = ring.decoding_key(&kid).ok_or(TokenError::UnknownKey)?;

    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.leeway = settings.leeway_seconds;
    validation.validate_exp = true;
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.set_issuer(&[&settings.issuer]);
    validation.set_audience(&[
        settings.audience(Environment::Staging),
        settings.audience(Environment::Production),
    ]);

    let data =
        jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|error| {
            match error.kind() {
                ErrorKind::InvalidSignature => TokenError::Signature,
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidAudience => TokenError::Audience,
                ErrorKind::InvalidIssuer => TokenError::Issuer,
                ErrorKind::InvalidAlgorithm => TokenError::Algorithm,
                ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim.clone()),
                ErrorKind::Json(error) => TokenError::Claims(claims_problem(error)),
                _ => TokenError::Malformed,
            }
        })?;
    let claims = data.claims;

    // The audience must be the one of the environment the token claims.
    if claims.aud != settings.audience(claims.env) {
        return Err(TokenError::Audience);
    }
    if claims.scope != header_scope {
        return Err(TokenError::Type);
    }
    if claims.scope == Scope::Post && claims.dst.is_none() {
        return Err(TokenError::MissingClaim("dst".to_owned()));
    }
    Ok(claims)
}
