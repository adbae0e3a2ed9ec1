//! syndic's engine: domain types, store, cache, fetch and parse, and the actors.

pub mod actors;
pub mod cache;
pub mod dedupe;
pub mod domain;
pub mod engine;
mod engine_api;
mod engine_jobs;
pub mod engine_timers;
pub mod engine_webhooks;
pub mod events;
pub mod feed_url;
pub mod fetch;
pub mod fetch_headers;
pub mod instruments;
pub mod job;
pub mod network_policy;
pub mod opml;
pub mod parse;
pub mod politeness;
mod resolver;
pub mod sanitize;
pub mod schedule;
pub mod store;
pub mod timer;
pub mod timer_schedule;
pub mod webhook;
pub mod webhook_signature;
