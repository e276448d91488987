//! Authentication and authorization: API keys for first-party servers,
//! scoped tokens for browsers, and the [`Principal`] that handlers receive.

pub mod api_key;
pub mod fingerprint;
pub mod keys;
pub mod origin;
mod principal;
pub mod token;

pub use principal::{AdminKey, ApiKeyPrincipal, Principal, ScopedPrincipal, ServerKey};
