//! What the API may ask of the store, through the engine, and what the operator CLI needs: accounts, reading a
//! user's subscriptions and timeline, operator listings, and the health of the database.

use async_trait::async_trait;

use super::{PoolState, StoreError};
use crate::domain::{
    Article, ArticleId, ArticlePage, ArticlePatch, ArticleQuery, Feed, FeedId, FeedStatus, NewInvite, NewUser, Role,
    Subscription, SubscriptionCursor, SubscriptionPage, User, UserCredentials, UserId,
};

#[async_trait]
pub trait ApiStore: Send + Sync + 'static {
    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Open connections, and how many of them are idle.
    fn pool_state(&self) -> PoolState;

    // Users.
    /// Creates a user with the `user` role, spending `user.invite_hash` (if any) in the same transaction. A
    /// username that differs from a taken one only by case is taken (`Conflict { field: "username" }`). An
    /// invite that is unknown, spent or expired is `Rejected { field: "invite" }`, and nothing is stored. An
    /// email is not a key: any number of users may give the same one.
    async fn create_user(&self, user: &NewUser) -> Result<User, StoreError>;
    /// Finds a user by username (any case), for login. Never by email: emails are not unique, and a sign-in that
    /// took one would tell whether an address has an account.
    async fn find_credentials(&self, identifier: &str) -> Result<Option<UserCredentials>, StoreError>;
    async fn get_user(&self, user: UserId) -> Result<User, StoreError>;
    /// Stores an invite to register while registration is closed.
    async fn create_invite(&self, invite: &NewInvite) -> Result<(), StoreError>;
    /// Gives the user named `username` (any case) a role; `NotFound` when nobody has that name.
    async fn set_role(&self, username: &str, role: Role) -> Result<User, StoreError>;

    // Reading subscriptions.
    /// Up to `limit` of the user's subscriptions after `after`, in subscription order (time, then feed id), each
    /// with its unread count. Each count is arithmetic on the subscription and feed rows, whatever the statistics.
    async fn list_subscriptions(
        &self,
        user: UserId,
        limit: u32,
        after: Option<SubscriptionCursor>,
    ) -> Result<SubscriptionPage, StoreError>;
    async fn get_subscription(&self, user: UserId, feed: FeedId) -> Result<Subscription, StoreError>;

    // Timeline.
    async fn list_articles(&self, user: UserId, query: &ArticleQuery) -> Result<ArticlePage, StoreError>;
    async fn get_article(&self, user: UserId, article: ArticleId) -> Result<Article, StoreError>;
    async fn update_article(
        &self,
        user: UserId,
        article: ArticleId,
        patch: ArticlePatch,
    ) -> Result<Article, StoreError>;

    // Operators.
    /// Feeds for operators, optionally of one status, most consecutive errors first, at most `limit`.
    async fn list_feeds(&self, status: Option<FeedStatus>, limit: u32) -> Result<Vec<Feed>, StoreError>;
}
