//! OPML, the subscription-list format every feed reader imports and exports: reading one into the feeds to
//! subscribe to (`parse`), and writing a user's subscriptions as one (`write`).

mod parse;
mod write;

pub use parse::{parse, OpmlError, OpmlFeed, MAX_FEEDS, MAX_FOLDER_BYTES};
pub use write::{write, ExportedFeed};
