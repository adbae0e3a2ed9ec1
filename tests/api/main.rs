//! End-to-end tests: the real app on port 0, real Postgres and Redis, and a real HTTP feed server.

mod accounts;
mod admin_cli;
mod articles;
mod auth;
mod connections;
mod contract;
mod copy;
mod crash;
mod embedded;
mod events;
mod feeds;
mod fuzz_findings;
mod health;
mod helpers;
mod job_client;
mod jobs;
mod limits;
mod newcomer;
mod operators;
mod opml;
mod outages;
mod polling;
mod process;
mod resilience;
mod sse;
mod timeline_cache;
