//! Login, logout and the session cookie.
//!
//! The cookie contains `username:issued_at` (Unix seconds) and an HMAC
//! signature made with the session key. It is `HttpOnly`, so page scripts
//! cannot read it, and `SameSite=Strict`. It has no `Max-Age`, so the browser
//! drops it when it closes. The proxy accepts it for [`SESSION_LIFETIME`]
//! after login, and only until the process restarts when the key was
//! generated.
//!
//! NOTE: logout only removes the cookie from the browser. A copy of the
//! cookie taken before logout stays valid until it expires, because the proxy
//! keeps no server-side session list.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::ProxyError;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "demo_session";
/// How long a login lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);

/// Signing key and flags of session cookies.
#[derive(Clone)]
pub struct SessionSettings {
    pub key: Key,
    /// Sets the cookie's `Secure` flag; true when the app is served over https.
    pub secure: bool,
}

/// The logged-in user of a request. Extracting it fails with 401 when the
/// request carries no valid, unexpired session cookie of a known user.
#[derive(Debug, Clone, Serialize)]
pub struct Session {
    pub username: String,
    pub tenant: String,
}

impl FromRequestParts<AppState> for Session {
    type Rejection = ProxyError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = SignedCookieJar::from_headers(&parts.headers, state.session.key.clone());
        // `get` returns only cookies whose signature verifies.
        let cookie = jar.get(SESSION_COOKIE).ok_or(ProxyError::NotLoggedIn)?;
        let username =
            parse_session_value(cookie.value(), unix_now()).ok_or(ProxyError::NotLoggedIn)?;
        let user = state.users.find(username).ok_or(ProxyError::NotLoggedIn)?;
        Ok(Self {
            username: user.username.clone(),
            tenant: user.tenant.clone(),
        })
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

fn session_value(username: &str, issued_at: u64) -> String {
    format!("{username}:{issued_at}")
}

/// Returns the username of a session value issued at most
/// [`SESSION_LIFETIME`] before `now`.
fn parse_session_value(value: &str, now: u64) -> Option<&str> {
    let (username, issued_text) = value.rsplit_once(':')?;
    let issued_at: u64 = issued_text.parse().ok()?;
    let fresh = issued_at <= now && now - issued_at <= SESSION_LIFETIME.as_secs();
    fresh.then_some(username)
}

#[derive(Debug, Deserialize)]
pub struct LoginRequest {
    username: String,
    password: String,
}

/// `POST /login` with `{"username", "password"}`: sets the session cookie
/// and returns `{"username", "tenant"}`, or 401.
pub async fn login(
    State(state): State<AppState>,
    jar: SignedCookieJar,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Result<(SignedCookieJar, Json<Session>), ProxyError> {
    let Json(request) = body.map_err(ProxyError::from_json_rejection)?;

    let Some(user) = state
        .users
        .authenticate(&request.username, &request.password)
    else {
        tracing::warn!(username = %request.username, "login failed");
        return Err(ProxyError::BadCredentials);
    };

    let cookie = Cookie::build((SESSION_COOKIE, session_value(&user.username, unix_now())))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.session.secure);
    tracing::info!(username = %user.username, tenant = %user.tenant, "login");
    let session = Session {
        username: user.username.clone(),
        tenant: user.tenant.clone(),
    };
    Ok((jar.add(cookie), Json(session)))
}

/// `POST /logout`: removes the session cookie. Returns 204 also when no
/// user was logged in.
pub async fn logout(jar: SignedCookieJar) -> (SignedCookieJar, StatusCode) {
    (
        jar.remove(Cookie::build(SESSION_COOKIE).path("/")),
        StatusCode::NO_CONTENT,
    )
}

/// `GET /session`: the logged-in user, or 401.
pub async fn current(session: Session) -> Json<Session> {
    Json(session)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn session_value_round_trip() {
        let value = session_value("alice", NOW - 60);

        assert_eq!(parse_session_value(&value, NOW), Some("alice"));
    }

    #[test]
    fn session_value_expires() {
        let lifetime = SESSION_LIFETIME.as_secs();

        assert_eq!(
            parse_session_value(&session_value("alice", NOW - lifetime), NOW),
            Some("alice")
        );
        assert_eq!(
            parse_session_value(&session_value("alice", NOW - lifetime - 1), NOW),
            None
        );
    }

    #[test]
    fn session_value_from_future_rejected() {
        assert_eq!(
            parse_session_value(&session_value("alice", NOW + 1), NOW),
            None
        );
    }

    #[test]
    fn session_value_malformed_rejected() {
        for value in ["alice", "alice:", "alice:soon", ":"] {
            assert_eq!(parse_session_value(value, NOW), None, "{value}");
        }
    }
}
