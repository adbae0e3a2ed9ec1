//! One set of behaviour tests for the store, run against every backend: Postgres and SQLite must agree.

mod backends;
mod cases;
mod postgres_only;
mod sqlite_only;
mod support;

/// Instantiates each case once per backend, as `postgres::<case>` and `sqlite::<case>`.
macro_rules! for_each_backend {
    ($($case:ident),+ $(,)?) => {
        mod postgres {
            $(
                #[tokio::test]
                async fn $case() {
                    let (_database, store) = crate::backends::postgres().await;
                    crate::cases::$case(store).await;
                }
            )+
        }

        mod sqlite {
            $(
                #[tokio::test]
                async fn $case() {
                    let (_file, store) = crate::backends::sqlite().await;
                    crate::cases::$case(store).await;
                }
            )+
        }
    };
}

for_each_backend!(
    // Tracing.
    // Users.
    ping_answers,
    create_user_then_find_by_username_and_id_never_by_email,
    duplicate_username_is_a_username_conflict,
    an_email_another_user_gave_is_accepted,
    an_invite_registers_exactly_one_user,
    an_expired_or_unknown_invite_stores_nothing,
    roles_are_granted_and_revoked_by_name,
    // API keys.
    an_api_key_records_its_last_use_at_most_once_per_interval,
    // Subscriptions.
    subscribe_creates_the_feed_once_and_is_idempotent,
    subscribe_many_answers_in_request_order_in_one_go,
    unsubscribe_returns_remaining_subscribers_and_unlinks_articles,
    unread_from_cached_articles_shows_from_the_oldest_given_article_on_as_unread,
    unread_recent_articles_shows_the_newest_up_to_the_limit_as_unread,
    unread_counts_stay_exact_when_marks_meet_a_moving_cutoff,
    concurrent_marks_keep_unread_counts_exact,
    subscriptions_report_unread_counts_and_hide_other_users_feeds,
    subscriptions_page_by_subscription_time_then_feed_with_unread_counts,
    feeds_with_subscribers_lists_only_subscribed_feeds,
    get_feed_returns_the_feed_or_not_found,
    poll_error_and_unchanged_poll_update_the_feed,
    // Batches.
    persist_stores_entries_and_records_poll_state,
    persist_again_returns_the_same_ids_and_nothing_new,
    persist_keeps_the_first_of_duplicate_keys,
    persist_dates_undated_entries_with_the_poll,
    persist_shows_new_articles_to_subscribers_only,
    persist_many_feeds_in_one_call,
    persist_keeps_title_and_site_url_but_replaces_validators,
    persist_is_atomic_across_feeds,
    // Feed state.
    a_dead_feed_keeps_its_first_dead_since_until_a_good_poll,
    a_meltdown_parks_the_feed_as_failed,
    a_feed_is_found_by_its_url_and_its_icon_is_recorded_once_and_served_to_subscribers,
    unchanged_polls_are_recorded_together_and_never_roll_a_feed_back,
    list_feeds_filters_by_status_most_errors_first,
    stale_feeds_are_subscribed_feeds_not_polled_since,
    a_permanent_redirect_renames_or_merges_the_feed,
    status_changes_put_their_deliveries_in_the_outbox_in_the_same_transaction,
    // Timeline.
    list_articles_newest_first_ties_by_id,
    list_articles_pages_by_keyset_without_gaps_or_overlaps,
    pages_over_many_feeds_match_one_sorted_timeline,
    search_ranks_title_matches_first_and_reads_text_not_markup,
    search_pages_by_rank_or_date_return_each_match_once,
    search_by_relevance_ranks_only_the_newest_matches_of_a_common_query,
    search_by_date_lists_every_match_in_timeline_order_at_any_frequency_and_filter,
    list_articles_filters_by_read_starred_and_feed,
    get_and_update_article,
    text_round_trips,
    articles_carry_their_enclosures_and_their_feeds_title,
    // The event log.
    events_are_numbered_per_user_in_publish_order,
    events_replay_after_an_id_in_order_as_stored,
    events_of_a_missing_user_are_skipped,
    pruning_keeps_the_newest_per_user_and_drops_old_ones,
    subscribers_of_feeds_lists_each_feeds_users,
    the_bus_broadcasts_events_once_they_are_stored,
    a_flush_stores_the_article_new_of_its_new_articles_with_them,
    // Jobs.
    jobs_are_claimed_oldest_first_once_each_skipping_busy_users,
    a_step_commits_its_items_and_progress_once,
    a_failed_attempt_waits_for_its_retry_and_the_last_one_is_dead,
    running_jobs_go_back_in_line_after_a_restart_or_die_out_of_attempts,
    a_cancelled_job_takes_no_more_steps_and_jobs_are_private,
    jobs_list_newest_first_a_page_at_a_time,
    job_changes_put_their_deliveries_in_the_outbox_in_the_same_transaction,
    the_event_counter_is_exported_with_its_user,
    // Organising subscriptions.
    an_import_puts_each_subscription_in_its_category_by_name,
    a_patch_sets_title_category_and_tags_and_null_clears_them,
    a_category_name_is_unique_per_user_and_deleting_one_keeps_its_feeds,
    feeds_in_a_category_follow_moves_and_renames_and_none_once_it_is_deleted,
    renaming_a_category_carries_its_webhook_and_digest_filters_along,
    a_saved_filter_matches_what_the_timeline_with_it_lists,
    bulk_marks_change_the_selected_articles_once_and_keep_counts_exact,
    // Profiles and friends.
    crossing_requests_befriend_and_unfriending_ends_both_sides,
    the_search_ranks_prefixes_then_suffixes_and_matches_only_visible_display_names,
    // Shares.
    a_share_writes_its_notifications_and_deliveries_together_or_nothing,
    // Webhooks.
    enqueued_deliveries_are_due_in_order_with_their_envelope,
    fifty_dead_deliveries_in_a_row_disable_the_webhook_once,
    // Timers.
    a_firing_moves_the_timer_and_writes_its_delivery_once,
    an_edit_wins_over_a_firing_loaded_before_it,
    timers_are_private_limited_and_take_their_own_webhook_with_them,
    // Moving a database.
    every_table_pages_out_completely_in_key_order,
    pages_import_as_they_are_into_an_empty_database,
);
