//! What one firing delivers: the timer's id and instants, and for a digest the owner's unread articles since
//! the last firing, read from the timeline the API serves (bounded, newest first).

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use crate::domain::{Article, ArticleQuery, ReadFilter, SearchOrder};
use crate::store::{Store, StoreError};
use crate::timer::{PayloadKind, Timer, TimerFiring, DIGEST_LIMIT};

/// The firing of a due timer at `now`: its delivery, and where its schedule goes next. A firing more than
/// `late_after` past its instant is marked `late` (the engine was down, or the timer was overdue at start).
/// The next instant is the first after `now`, so periods missed while down fire once, not once each.
pub(super) async fn firing(
    store: &dyn Store,
    timer: &Timer,
    now: DateTime<Utc>,
    late_after: Duration,
) -> Result<TimerFiring, StoreError> {
    let scheduled_for = timer.next_fire_at.unwrap_or(now);
    let next_fire_at = match timer.parsed_schedule() {
        Ok(schedule) => schedule.next_fire_after(scheduled_for.max(now)),
        Err(error) => {
            tracing::error!(timer_id = timer.id, %error, "a stored schedule does not parse; the timer fires once more");
            None
        }
    };
    let late = now - scheduled_for > late_after;
    let mut data = json!({
        "id": timer.id,
        "name": timer.name,
        "scheduled_for": scheduled_for,
        "fired_at": now,
        "late": late,
    });
    if timer.payload.kind == PayloadKind::Digest {
        data["digest"] = digest(store, timer).await?;
    }
    Ok(TimerFiring {
        timer: timer.id,
        webhook_id: timer.webhook_id,
        scheduled_for,
        fired_at: now,
        next_fire_at,
        data,
    })
}

/// Up to [`DIGEST_LIMIT`] of the owner's unread articles published since the last firing (all unread ones
/// before the first), newest first; `more` says there were others.
async fn digest(store: &dyn Store, timer: &Timer) -> Result<Value, StoreError> {
    // A saved filter is read at each firing, so an edit shows in the next digest; a deleted one keeps nothing.
    let saved = match timer.payload.filter {
        Some(filter) => match store.get_saved_filter(timer.user_id, filter).await {
            Ok(saved) => Some(saved.query.article_filter()),
            Err(StoreError::NotFound) => return Ok(digest_data(timer, Vec::new(), false)),
            Err(error) => return Err(error),
        },
        None => None,
    };
    let mut filter = saved.unwrap_or_default();
    if let Some(search) = &mut filter.search {
        // A digest is newest first, as without a search.
        search.order = SearchOrder::Date;
    }
    if let Some(category) = &timer.payload.category {
        filter.category = Some(category.clone());
    }
    let query = ArticleQuery {
        feed_id: timer.payload.feed_id,
        status: ReadFilter::Unread,
        starred: None,
        limit: DIGEST_LIMIT,
        cursor: None,
        filter,
    };
    let page = store.list_articles(timer.user_id, &query).await?;
    let since = timer.last_fired_at;
    let is_new = |article: &Article| since.is_none_or(|since| article.published_at > since);
    let articles: Vec<Value> = page
        .articles
        .iter()
        .filter(|article| is_new(article))
        .map(summary)
        .collect();
    let more = page.next_cursor.is_some() && page.articles.last().is_some_and(is_new);
    Ok(digest_data(timer, articles, more))
}

fn digest_data(timer: &Timer, articles: Vec<Value>, more: bool) -> Value {
    json!({
        "since": timer.last_fired_at,
        "feed_id": timer.payload.feed_id,
        "category": timer.payload.category,
        "filter": timer.payload.filter,
        "count": articles.len(),
        "more": more,
        "articles": articles,
    })
}

/// An article as a digest lists it: no content, so a digest stays small.
fn summary(article: &Article) -> Value {
    json!({
        "id": article.id,
        "feed_id": article.feed_id,
        "feed_title": article.feed_title,
        "title": article.title,
        "url": article.url,
        "published_at": article.published_at,
    })
}
