//! syndic's engine: domain types, store, cache, fetch and parse, and the actors.

pub mod domain;
pub mod engine;
pub mod parse;
pub mod store;
