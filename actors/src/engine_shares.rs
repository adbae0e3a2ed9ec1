//! The engine's door for shares: sending one to friends, and the notifications it leaves.

use crate::domain::UserId;
use crate::engine::Engine;
use crate::events::{EventKind, NewEvent};
use crate::social::{share_new_data, CommittedShare, NewShare, Notification, SentShare, ShareId};
use crate::store::StoreError;

impl Engine {
    /// Shares a link with the sender's friends (all, or those named). After the commit, each recipient's
    /// webhooks get their `share.new` delivery and each recipient's event stream gets `share.new`.
    pub async fn share(&self, share: &NewShare) -> Result<CommittedShare, StoreError> {
        let committed = self.share_store().create_share(share).await?;
        tracing::info!(
            share_id = committed.share.id,
            user_id = %share.user_id,
            recipients = committed.recipients.len(),
            "share sent"
        );
        if !committed.webhooks.is_empty() {
            self.webhook_deliveries().sweep();
        }
        let data = share_new_data(&committed.share);
        self.events().publish(
            committed
                .recipients
                .iter()
                .map(|recipient| NewEvent {
                    user: *recipient,
                    kind: EventKind::ShareNew,
                    feed: None,
                    data: data.clone(),
                })
                .collect(),
        );
        Ok(committed)
    }

    /// The shares the user received, newest first.
    pub async fn list_notifications(
        &self,
        user: UserId,
        seen: Option<bool>,
        limit: u32,
        before: Option<ShareId>,
    ) -> Result<Vec<Notification>, StoreError> {
        self.share_store().list_notifications(user, seen, limit, before).await
    }

    /// Marks the user's notifications of these shares seen; returns how many were not seen before.
    pub async fn mark_notifications_seen(&self, user: UserId, shares: &[ShareId]) -> Result<u64, StoreError> {
        self.share_store().mark_notifications_seen(user, shares).await
    }

    /// The shares the user sent, newest first.
    pub async fn list_sent_shares(
        &self,
        user: UserId,
        limit: u32,
        before: Option<ShareId>,
    ) -> Result<Vec<SentShare>, StoreError> {
        self.share_store().list_sent_shares(user, limit, before).await
    }
}
