//! The syndic binary's library: configuration and wiring, so that tests start the same app as `main`.

pub mod admin_cli;
pub mod app;
pub mod config;
pub mod copy;
pub mod metrics_endpoint;
pub mod process_setup;
pub mod telemetry;

pub use app::Application;
pub use config::{Cli, Command, Config};
