//! The behaviour every backend must show, one `pub async fn` per case, each given a fresh store.

mod api_keys;
mod batches;
mod events;
mod feed_state;
mod jobs;
mod organise;
mod saved_filters;
mod search;
mod shares;
mod social;
mod subscriptions;
mod timeline;
mod timers;
mod transfer;
mod users;
mod webhooks;

pub use api_keys::*;
pub use batches::*;
pub use events::*;
pub use feed_state::*;
pub use jobs::*;
pub use organise::*;
pub use saved_filters::*;
pub use search::*;
pub use shares::*;
pub use social::*;
pub use subscriptions::*;
pub use timeline::*;
pub use timers::*;
pub use transfer::*;
pub use users::*;
pub use webhooks::*;
