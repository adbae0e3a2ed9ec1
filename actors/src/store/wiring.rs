//! The store traits' wiring, written once for both backends. A backend is a folder with the same modules
//! (`users`, `subscriptions`, `feeds`, `batch`, `timeline`, `transfer`, `events`), whose functions take the backend's
//! store first and the trait method's arguments after; its `mod.rs` has `ping` and invokes [`wire_store!`].
//! So a method added to a trait is added to both backends, or neither compiles, and each method's span is
//! declared once: at debug level, so the default log stays quiet; with small ids and counts as fields, never
//! a batch, a page, a password hash or an invite code.

/// Implements [`ApiStore`](crate::store::ApiStore), [`EngineStore`](crate::store::EngineStore),
/// [`TransferStore`](crate::store::TransferStore) and [`EventStore`](crate::store::EventStore) for a backend's store by calling its modules' functions.
// rustfmt indents a multi-line attribute inside a macro body eight columns too deep; this body is formatted by hand.
#[rustfmt::skip]
macro_rules! wire_store {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::ApiStore for $store {
            #[::tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
            async fn ping(&self) -> Result<(), $crate::store::StoreError> {
                ping(self).await
            }

            fn pool_state(&self) -> $crate::store::PoolState {
                $crate::store::PoolState::of(&self.pool)
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(username = %user.username), err(level = "debug"))]
            async fn create_user(
                &self,
                user: &$crate::domain::NewUser,
            ) -> Result<$crate::domain::User, $crate::store::StoreError> {
                users::create_user(self, user).await
            }

            #[::tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
            async fn find_credentials(
                &self,
                identifier: &str,
            ) -> Result<Option<$crate::domain::UserCredentials>, $crate::store::StoreError> {
                users::find_credentials(self, identifier).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn get_user(
                &self,
                user: $crate::domain::UserId,
            ) -> Result<$crate::domain::User, $crate::store::StoreError> {
                users::get_user(self, user).await
            }

            #[::tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
            async fn create_invite(&self, invite: &$crate::domain::NewInvite) -> Result<(), $crate::store::StoreError> {
                users::create_invite(self, invite).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(username = %username, role = role.as_str()),
                err(level = "debug"),
            )]
            async fn set_role(
                &self,
                username: &str,
                role: $crate::domain::Role,
            ) -> Result<$crate::domain::User, $crate::store::StoreError> {
                users::set_role(self, username, role).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(user_id = %user, limit = limit),
                err(level = "debug"),
            )]
            async fn list_subscriptions(
                &self,
                user: $crate::domain::UserId,
                limit: u32,
                after: Option<$crate::domain::SubscriptionCursor>,
            ) -> Result<$crate::domain::SubscriptionPage, $crate::store::StoreError> {
                subscriptions::list_subscriptions(self, user, limit, after).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(user_id = %user, feed_id = feed),
                err(level = "debug"),
            )]
            async fn get_subscription(
                &self,
                user: $crate::domain::UserId,
                feed: $crate::domain::FeedId,
            ) -> Result<$crate::domain::Subscription, $crate::store::StoreError> {
                subscriptions::get_subscription(self, user, feed).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(user_id = %user, feed_id = ?query.feed_id, limit = query.limit),
                err(level = "debug"),
            )]
            async fn list_articles(
                &self,
                user: $crate::domain::UserId,
                query: &$crate::domain::ArticleQuery,
            ) -> Result<$crate::domain::ArticlePage, $crate::store::StoreError> {
                timeline::list_articles(self, user, query).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(user_id = %user, article_id = article),
                err(level = "debug"),
            )]
            async fn get_article(
                &self,
                user: $crate::domain::UserId,
                article: $crate::domain::ArticleId,
            ) -> Result<$crate::domain::Article, $crate::store::StoreError> {
                timeline::get_article(self, user, article).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(user_id = %user, article_id = article),
                err(level = "debug"),
            )]
            async fn update_article(
                &self,
                user: $crate::domain::UserId,
                article: $crate::domain::ArticleId,
                patch: $crate::domain::ArticlePatch,
            ) -> Result<$crate::domain::Article, $crate::store::StoreError> {
                timeline::update_article(self, user, article, patch).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(status = ?status, limit = limit),
                err(level = "debug"),
            )]
            async fn list_feeds(
                &self,
                status: Option<$crate::domain::FeedStatus>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::Feed>, $crate::store::StoreError> {
                feeds::list_feeds(self, status, limit).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::EngineStore for $store {
            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(user_id = %user, urls = urls.len()),
                err(level = "debug"),
            )]
            async fn subscribe_many(
                &self,
                user: $crate::domain::UserId,
                urls: &[&str],
            ) -> Result<Vec<$crate::store::SubscribedFeed>, $crate::store::StoreError> {
                subscriptions::subscribe_many(self, user, urls).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(user_id = %user, feed_id = feed),
                err(level = "debug"),
            )]
            async fn unsubscribe(
                &self,
                user: $crate::domain::UserId,
                feed: $crate::domain::FeedId,
            ) -> Result<i64, $crate::store::StoreError> {
                subscriptions::unsubscribe(self, user, feed).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(user_id = %user, feed_id = feed, articles = articles.len()),
                err(level = "debug"),
            )]
            async fn unread_from_cached_articles(
                &self,
                user: $crate::domain::UserId,
                feed: $crate::domain::FeedId,
                articles: &[$crate::domain::ArticleId],
            ) -> Result<u64, $crate::store::StoreError> {
                subscriptions::unread_from_cached_articles(self, user, feed, articles).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(user_id = %user, feed_id = feed, limit = limit),
                err(level = "debug"),
            )]
            async fn unread_recent_articles(
                &self,
                user: $crate::domain::UserId,
                feed: $crate::domain::FeedId,
                limit: i64,
            ) -> Result<u64, $crate::store::StoreError> {
                subscriptions::unread_recent_articles(self, user, feed, limit).await
            }

            #[::tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
            async fn feeds_with_subscribers(&self) -> Result<Vec<$crate::domain::Feed>, $crate::store::StoreError> {
                feeds::feeds_with_subscribers(self).await
            }

            #[::tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
            async fn feed_id_by_url(
                &self,
                url: &str,
            ) -> Result<Option<$crate::domain::FeedId>, $crate::store::StoreError> {
                feeds::feed_id_by_url(self, url).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(feed_id = feed), err(level = "debug"))]
            async fn get_feed(
                &self,
                feed: $crate::domain::FeedId,
            ) -> Result<$crate::domain::Feed, $crate::store::StoreError> {
                feeds::get_feed(self, feed).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(feed_id = feed, status = status.as_str(), failed_polls),
                err(level = "debug"),
            )]
            async fn record_poll_errors(
                &self,
                feed: $crate::domain::FeedId,
                error: &str,
                status: $crate::domain::FeedStatus,
                next_poll_at: Option<chrono::DateTime<chrono::Utc>>,
                failed_polls: u32,
            ) -> Result<Vec<$crate::webhook::WebhookId>, $crate::store::StoreError> {
                feeds::record_poll_errors(self, feed, error, status, next_poll_at, failed_polls).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(feed_id = feed), err(level = "debug"))]
            async fn record_feed_failed(
                &self,
                feed: $crate::domain::FeedId,
                message: &str,
            ) -> Result<Vec<$crate::webhook::WebhookId>, $crate::store::StoreError> {
                feeds::record_feed_failed(self, feed, message).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(%polled_before, limit = limit),
                err(level = "debug"),
            )]
            async fn stale_feeds(
                &self,
                polled_before: chrono::DateTime<chrono::Utc>,
                limit: u32,
            ) -> Result<Vec<$crate::domain::Feed>, $crate::store::StoreError> {
                feeds::stale_feeds(self, polled_before, limit).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(feed_id = feed, %url), err(level = "debug"))]
            async fn move_feed(
                &self,
                feed: $crate::domain::FeedId,
                url: &str,
            ) -> Result<$crate::store::FeedMove, $crate::store::StoreError> {
                feeds::move_feed(self, feed, url).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(polls = polls.len()), err(level = "debug"))]
            async fn record_polls_unchanged(
                &self,
                polls: &[$crate::store::UnchangedPoll],
            ) -> Result<Vec<$crate::webhook::WebhookId>, $crate::store::StoreError> {
                feeds::record_polls_unchanged(self, polls).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(batches = batches.len()), err(level = "debug"))]
            async fn persist_batches(
                &self,
                batches: &[$crate::store::FeedBatch],
            ) -> Result<Vec<$crate::store::StoredBatch>, $crate::store::StoreError> {
                batch::persist_batches(self, batches).await
            }

            fn parallel_flushes(&self) -> usize {
                batch::PARALLEL_FLUSHES
            }

            fn max_flush_rows(&self) -> Option<usize> {
                batch::MAX_FLUSH_ROWS
            }

            fn flush_stores_article_new(&self) -> bool {
                batch::STORES_ARTICLE_NEW
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::TransferStore for $store {
            #[::tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
            async fn is_empty(&self) -> Result<bool, $crate::store::StoreError> {
                transfer::is_empty(self).await
            }

            #[::tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
            async fn table_names(&self) -> Result<Vec<String>, $crate::store::StoreError> {
                transfer::table_names(self).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(table = table.name(), limit = limit),
                err(level = "debug"),
            )]
            async fn export_page(
                &self,
                table: $crate::store::transfer::Table,
                after: Option<&$crate::store::transfer::TransferPosition>,
                limit: u32,
            ) -> Result<$crate::store::transfer::TransferPage, $crate::store::StoreError> {
                transfer::export_page(self, table, after, limit).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(rows = page.len()), err(level = "debug"))]
            async fn import_page(
                &self,
                page: &$crate::store::transfer::TransferPage,
            ) -> Result<(), $crate::store::StoreError> {
                transfer::import_page(self, page).await
            }

            #[::tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
            async fn finish_import(&self) -> Result<(), $crate::store::StoreError> {
                transfer::finish_import(self).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::JobStore for $store {
            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %job.user_id, kind = job.kind.as_str()), err(level = "debug"))]
            async fn create_job(&self, job: &$crate::job::NewJob) -> Result<$crate::job::Job, $crate::store::StoreError> {
                jobs::create_job(self, job).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn count_queued_jobs(&self, user: $crate::domain::UserId) -> Result<i64, $crate::store::StoreError> {
                jobs::count_queued_jobs(self, user).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, job_id = job), err(level = "debug"))]
            async fn get_job(
                &self,
                user: $crate::domain::UserId,
                job: $crate::job::JobId,
            ) -> Result<$crate::job::Job, $crate::store::StoreError> {
                jobs::get_job(self, user, job).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, limit = limit), err(level = "debug"))]
            async fn list_jobs(
                &self,
                user: $crate::domain::UserId,
                limit: u32,
                before: Option<$crate::job::JobId>,
            ) -> Result<Vec<$crate::job::Job>, $crate::store::StoreError> {
                jobs::list_jobs(self, user, limit, before).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(job_id = job), err(level = "debug"))]
            async fn job_input(&self, job: $crate::job::JobId) -> Result<String, $crate::store::StoreError> {
                jobs::job_input(self, job).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, job_id = job), err(level = "debug"))]
            async fn job_output(
                &self,
                user: $crate::domain::UserId,
                job: $crate::job::JobId,
            ) -> Result<Option<String>, $crate::store::StoreError> {
                jobs::job_output(self, user, job).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(job_id = job, limit = limit), err(level = "debug"))]
            async fn job_items(
                &self,
                job: $crate::job::JobId,
                after: Option<i64>,
                limit: u32,
            ) -> Result<Vec<$crate::job::JobItem>, $crate::store::StoreError> {
                jobs::job_items(self, job, after, limit).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(busy_users = busy_users.len()), err(level = "debug"))]
            async fn claim_job(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                busy_users: &[$crate::domain::UserId],
            ) -> Result<Option<$crate::job::Job>, $crate::store::StoreError> {
                jobs::claim_job(self, now, busy_users).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(busy_users = busy_users.len()), err(level = "debug"))]
            async fn next_job_due(
                &self,
                busy_users: &[$crate::domain::UserId],
            ) -> Result<Option<chrono::DateTime<chrono::Utc>>, $crate::store::StoreError> {
                jobs::next_job_due(self, busy_users).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(job_id = job, done = done, items = items.len()), err(level = "debug"))]
            async fn record_job_step(
                &self,
                job: $crate::job::JobId,
                done: i64,
                items: &[$crate::job::JobItem],
            ) -> Result<bool, $crate::store::StoreError> {
                jobs::record_job_step(self, job, done, items).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(job_id = job), err(level = "debug"))]
            async fn finish_job(
                &self,
                job: $crate::job::JobId,
                result: &serde_json::Value,
                output: Option<&str>,
            ) -> Result<bool, $crate::store::StoreError> {
                jobs::finish_job(self, job, result, output).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(job_id = job, dead = retry_at.is_none()), err(level = "debug"))]
            async fn fail_job_attempt(
                &self,
                job: $crate::job::JobId,
                error: &str,
                retry_at: Option<chrono::DateTime<chrono::Utc>>,
            ) -> Result<bool, $crate::store::StoreError> {
                jobs::fail_job_attempt(self, job, error, retry_at).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(max_attempts = max_attempts), err(level = "debug"))]
            async fn requeue_running_jobs(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                max_attempts: i32,
            ) -> Result<Vec<$crate::job::RequeuedJob>, $crate::store::StoreError> {
                jobs::requeue_running_jobs(self, now, max_attempts).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, job_id = job), err(level = "debug"))]
            async fn retry_job(
                &self,
                user: $crate::domain::UserId,
                job: $crate::job::JobId,
            ) -> Result<$crate::job::Job, $crate::store::StoreError> {
                jobs::retry_job(self, user, job).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user, job_id = job), err(level = "debug"))]
            async fn cancel_job(
                &self,
                user: $crate::domain::UserId,
                job: $crate::job::JobId,
            ) -> Result<$crate::job::Job, $crate::store::StoreError> {
                jobs::cancel_job(self, user, job).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::EventStore for $store {
            #[::tracing::instrument(level = "debug", skip_all, fields(events = events.len()), err(level = "debug"))]
            async fn append_events(
                &self,
                events: &[$crate::events::NewEvent],
            ) -> Result<Vec<$crate::events::Event>, $crate::store::StoreError> {
                events::append_events(self, events).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(user_id = %user, after = after, limit = limit),
                err(level = "debug"),
            )]
            async fn events_after(
                &self,
                user: $crate::domain::UserId,
                after: i64,
                limit: u32,
            ) -> Result<Vec<$crate::events::Event>, $crate::store::StoreError> {
                events::events_after(self, user, after, limit).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(user_id = %user), err(level = "debug"))]
            async fn event_log_bounds(
                &self,
                user: $crate::domain::UserId,
            ) -> Result<$crate::events::EventLogBounds, $crate::store::StoreError> {
                events::event_log_bounds(self, user).await
            }

            #[::tracing::instrument(
                level = "debug",
                skip_all,
                fields(%older_than, max_per_user = max_per_user, limit = limit),
                err(level = "debug"),
            )]
            async fn prune_events(
                &self,
                older_than: chrono::DateTime<chrono::Utc>,
                max_per_user: u32,
                limit: u32,
            ) -> Result<u64, $crate::store::StoreError> {
                events::prune_events(self, older_than, max_per_user, limit).await
            }

            #[::tracing::instrument(level = "debug", skip_all, fields(feeds = feeds.len()), err(level = "debug"))]
            async fn subscribers_of_feeds(
                &self,
                feeds: &[$crate::domain::FeedId],
            ) -> Result<Vec<($crate::domain::FeedId, $crate::domain::UserId)>, $crate::store::StoreError> {
                events::subscribers_of_feeds(self, feeds).await
            }
        }
    };
}

pub(super) use wire_store;
