#![allow(dead_code)]

/// Generates, for each async `case(Backend)` function named, a module with
/// one test per store backend. Not every test binary uses it.
#[allow(unused_macros)]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        $(
            mod $case {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$case(Backend::Postgres).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$case(Backend::Sqlite).await;
                }
            }
        )*
    };
}

pub mod db;
pub mod flow;
pub mod process;
pub mod prometheus;
pub mod server;
