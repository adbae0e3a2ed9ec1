//! Keeps the timeline cache in step with articles the engine stores: each `article.new` event drops its user's
//! cached pages. Events are broadcast once the event log holds them, a moment after the articles' own commit,
//! so a new article reaches a cached first page that much later; a user's own writes invalidate synchronously.

use std::sync::Arc;

use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio::task::JoinHandle;

use super::TimelineCache;
use crate::events::{Announced, EventKind};

/// Listens until the bus is gone. A listener that lagged lost events it cannot name, so it drops every user's
/// pages.
pub fn invalidate_on_new_articles(mut events: Receiver<Arc<Announced>>, cache: TimelineCache) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match events.recv().await {
                Ok(event) if event.kind == EventKind::ArticleNew => cache.invalidate(event.user).await,
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "timeline cache listener lagged; dropping every cached timeline");
                    cache.invalidate_everyone().await;
                }
                Err(RecvError::Closed) => return,
            }
        }
    })
}
