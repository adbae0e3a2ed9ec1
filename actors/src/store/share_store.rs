//! What the share and notification routes ask of the store. A share is written with its notifications and its
//! `share.new` webhook deliveries in one transaction.

use async_trait::async_trait;

use super::StoreError;
use crate::domain::UserId;
use crate::social::{CommittedShare, NewShare, Notification, SentShare, ShareId};

#[async_trait]
pub trait ShareStore: Send + Sync + 'static {
    /// Stores the share, one notification per recipient (every friend, or the friends `to` names) and a
    /// `share.new` delivery to each recipient's webhooks subscribed to it. `Rejected` naming `article_id` for an
    /// article not in a feed the sender follows, naming `to` for a name that is no friend's or for no
    /// recipients at all; nothing is stored then.
    async fn create_share(&self, share: &NewShare) -> Result<CommittedShare, StoreError>;
    /// Up to `limit` of the shares the user received before share `before`, newest first; `seen` keeps only
    /// the seen (`true`) or the unseen (`false`) ones.
    async fn list_notifications(
        &self,
        user: UserId,
        seen: Option<bool>,
        limit: u32,
        before: Option<ShareId>,
    ) -> Result<Vec<Notification>, StoreError>;
    /// Marks the user's unseen notifications among `shares` seen now; returns how many changed. Ids that are
    /// not the user's notifications are ignored.
    async fn mark_notifications_seen(&self, user: UserId, shares: &[ShareId]) -> Result<u64, StoreError>;
    /// Up to `limit` of the shares the user sent before share `before`, newest first, with their counts.
    async fn list_sent_shares(
        &self,
        user: UserId,
        limit: u32,
        before: Option<ShareId>,
    ) -> Result<Vec<SentShare>, StoreError>;
}

/// Implements [`ShareStore`] for a backend's store by calling its `shares` module.
#[rustfmt::skip]
macro_rules! wire_share_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::ShareStore for $store {
            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %share.user_id), err(level = "debug"))]
            async fn create_share(
                &self,
                share: &$crate::social::NewShare,
            ) -> Result<$crate::social::CommittedShare, $crate::store::StoreError> {
                shares::create_share(self, share).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, limit = limit), err(level = "debug"))]
            async fn list_notifications(
                &self,
                user: $crate::domain::UserId,
                seen: Option<bool>,
                limit: u32,
                before: Option<$crate::social::ShareId>,
            ) -> Result<Vec<$crate::social::Notification>, $crate::store::StoreError> {
                shares::list_notifications(self, user, seen, limit, before).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, count = shares.len()), err(level = "debug"))]
            async fn mark_notifications_seen(
                &self,
                user: $crate::domain::UserId,
                shares: &[$crate::social::ShareId],
            ) -> Result<u64, $crate::store::StoreError> {
                shares::mark_notifications_seen(self, user, shares).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, limit = limit), err(level = "debug"))]
            async fn list_sent_shares(
                &self,
                user: $crate::domain::UserId,
                limit: u32,
                before: Option<$crate::social::ShareId>,
            ) -> Result<Vec<$crate::social::SentShare>, $crate::store::StoreError> {
                shares::list_sent_shares(self, user, limit, before).await
            }
        }
    };
}

pub(super) use wire_share_store;
