//! The actors: the feed supervisor and its feed actors, the subscription router, the persistence actor, the job
//! runner, the timer wheel, and webhook delivery.

pub mod feed;
pub mod feed_handle;
pub mod jobs;
mod manual_refreshes;
pub mod persistence;
pub mod poll_timers;
pub mod polls_in_progress;
pub mod router;
pub mod snapshot;
pub mod supervisor;
pub mod timer_wheel;
pub mod webhooks;
