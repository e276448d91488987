//! scopegate: scoped browser tokens for embedded data-export settings.

#![deny(clippy::unwrap_used, clippy::expect_used)]

pub mod app;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod config;
pub mod cors;
pub mod crypto;
pub mod destination;
pub mod envelope;
pub mod error;
pub mod json;
pub mod openapi;
pub mod ops;
pub mod pagination;
pub mod probe;
pub mod rate_limit;
pub mod rekey;
pub mod routes;
pub mod sshkey;
pub mod startup;
pub mod store;
