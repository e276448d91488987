//! The first party's backend in the scopegate embedding flow: a demo login
//! with a signed session cookie, and the `/auth-token` route that the
//! browser's `fetchToken` calls. That route mints a scoped token with the
//! API key, for the tenant of the logged-in user and never for a tenant the
//! browser names.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod auth_token;
pub mod config;
pub mod error;
pub mod scopegate;
pub mod session;
pub mod users;
