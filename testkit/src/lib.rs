//! syndic's test tooling, written once for the tests, the benches and the load harness: a fresh database per
//! test, generated feed documents, an in-process feed server, API calls tests repeat, stored users, and the
//! process's resident memory. A dev-dependency only: the `syndic` binary never compiles it.

pub mod api_client;
pub mod database;
pub mod documents;
pub mod feed_server;
pub mod process;
pub mod users;
