//! The timeline cache seen from the API: the first page of the default queries is served from the cache, every
//! write that changes it (read, unread, star, subscribe, unsubscribe) drops it before it is answered, new articles
//! drop it through `article.new`, and with Redis down reads and writes stay right.
//! To tell a cached page from a fresh one, the tests rename the articles in the database behind the engine's back:
//! only a page read from the database shows the new titles.

use serde_json::{json, Value};

use crate::helpers::{eventually, feed_server, spawn_app, Backend, TestApp};
use crate::process::PrivateRedis;
use syndic_actors::actors::feed::FeedMsg;
use syndic_actors::events::{EventKind, NewEvent};
use syndic_testkit::documents::titled::rss;

/// The first page of `GET /v1/articles?{query}` with the default limit: the shape that is cached.
async fn first_page(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let response = app.get(&format!("/v1/articles?{query}"), Some(token)).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["articles"].as_array().unwrap().clone()
}

fn titles(page: &[Value]) -> Vec<&str> {
    page.iter().map(|article| article["title"].as_str().unwrap()).collect()
}

async fn patch(app: &TestApp, token: &str, article: &Value, body: Value) {
    let id = article["id"].as_i64().unwrap();
    let response = app.patch_json(&format!("/v1/articles/{id}"), token, &body).await;
    assert_eq!(response.status(), 200);
}

/// The value of a counter in `/metrics`, shared by every app in this process.
async fn counter(app: &TestApp, name: &str) -> f64 {
    app.metrics()
        .await
        .lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// A user subscribed to one feed of `entries` articles, all on their timeline, with no `article.new` of theirs on
/// its way. An `article.new` drops the cached page when it arrives, a moment after its articles show on the
/// timeline: a page cached in that moment would be dropped under the test. So another user subscribes first, and
/// the feed's stored articles come with this user's subscription ("ready"), without an event.
async fn reader_of(app: &TestApp, entries: usize) -> (String, Vec<Value>) {
    let server = feed_server().await;
    server.set("/cached.xml", rss("cached", 0, entries), "application/rss+xml");
    let first = app.user("first").await;
    app.subscribe(&first, &[server.url("/cached.xml")]).await;
    app.wait_for_timeline(&first, entries).await;
    let token = app.user("alice").await;
    let subscribed = app.subscribe(&token, &[server.url("/cached.xml")]).await;
    assert_eq!(subscribed[0]["status"], "ready", "{subscribed:?}");
    let articles = app.timeline(&token, "status=all").await;
    assert_eq!(
        articles.len(),
        entries,
        "the stored articles came with the subscription"
    );
    (token, articles)
}

async fn the_first_page_is_served_from_the_cache_and_counted_as_a_hit(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, articles) = reader_of(&app, 3).await;
    let misses = counter(&app, "syndic_timeline_cache_misses_total").await;
    let page = first_page(&app, &token, "").await;
    assert_eq!(titles(&page), titles(&articles));
    assert!(counter(&app, "syndic_timeline_cache_misses_total").await > misses);

    app.database.retitle_articles("renamed").await;
    let hits = counter(&app, "syndic_timeline_cache_hits_total").await;
    assert_eq!(
        first_page(&app, &token, "").await,
        page,
        "the cached page, not the renamed rows"
    );
    assert!(counter(&app, "syndic_timeline_cache_hits_total").await > hits);
    // Other shapes are not cached.
    let one_page = first_page(&app, &token, "limit=10").await;
    assert_eq!(titles(&one_page), vec!["renamed"; 3]);
    assert_eq!(
        titles(&first_page(&app, &token, "status=read").await),
        Vec::<&str>::new()
    );
}

async fn a_mark_read_is_seen_by_the_next_read_of_the_cached_pages(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, articles) = reader_of(&app, 3).await;
    assert_eq!(first_page(&app, &token, "").await.len(), 3);
    assert_eq!(first_page(&app, &token, "status=unread").await.len(), 3);
    app.database.retitle_articles("renamed").await;

    patch(&app, &token, &articles[0], json!({"read": true})).await;
    let all = first_page(&app, &token, "").await;
    assert_eq!(all[0]["id"], articles[0]["id"]);
    assert_eq!(all[0]["read"], true, "the page after a mark-read shows it");
    assert_eq!(titles(&all), vec!["renamed"; 3], "read from the database");
    let unread = first_page(&app, &token, "status=unread").await;
    assert_eq!(unread.len(), 2);
    assert!(unread.iter().all(|article| article["id"] != articles[0]["id"]));
}

async fn mark_unread_and_star_invalidate_the_cached_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, articles) = reader_of(&app, 2).await;
    patch(&app, &token, &articles[1], json!({"read": true})).await;
    assert_eq!(first_page(&app, &token, "status=unread").await.len(), 1);
    assert_eq!(first_page(&app, &token, "").await[1]["read"], true);

    patch(&app, &token, &articles[1], json!({"read": false})).await;
    assert_eq!(first_page(&app, &token, "status=unread").await.len(), 2);
    assert_eq!(first_page(&app, &token, "").await[1]["read"], false);

    patch(&app, &token, &articles[0], json!({"starred": true})).await;
    let page = first_page(&app, &token, "").await;
    assert_eq!(
        (page[0]["starred"].as_bool(), page[1]["starred"].as_bool()),
        (Some(true), Some(false))
    );
}

async fn subscribe_and_unsubscribe_invalidate_the_cached_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, _) = reader_of(&app, 2).await;
    assert_eq!(first_page(&app, &token, "").await.len(), 2);

    // A second user's subscription brings the feed's stored articles at once ("ready" from the feed cache).
    let server = feed_server().await;
    server.set("/second.xml", rss("second", 0, 3), "application/rss+xml");
    let bob = app.user("bob").await;
    app.subscribe(&bob, &[server.url("/second.xml")]).await;
    app.wait_for_timeline(&bob, 3).await;
    let subscribed = app.subscribe(&token, &[server.url("/second.xml")]).await;
    assert_eq!(subscribed[0]["status"], "ready", "{subscribed:?}");
    assert_eq!(
        first_page(&app, &token, "").await.len(),
        5,
        "the new feed's articles at once"
    );

    let feed = subscribed[0]["feed_id"].as_i64().unwrap();
    let response = app.delete(&format!("/v1/feeds/{feed}"), &token).await;
    assert_eq!(response.status(), 204);
    assert_eq!(
        first_page(&app, &token, "").await.len(),
        2,
        "the feed's articles gone at once"
    );
}

crate::on_both_backends!(
    the_first_page_is_served_from_the_cache_and_counted_as_a_hit,
    a_mark_read_is_seen_by_the_next_read_of_the_cached_pages,
    mark_unread_and_star_invalidate_the_cached_page,
    subscribe_and_unsubscribe_invalidate_the_cached_page,
    an_article_new_event_drops_the_users_cached_page,
    a_polled_new_article_reaches_the_cached_first_page,
);

/// Redis is the Postgres set-up's cache; the embedded one has nothing to lose.
#[tokio::test]
async fn with_redis_down_reads_and_writes_go_on_and_stay_right() {
    let mut redis = PrivateRedis::start().await;
    let mut app = spawn_app(Backend::Postgres).await;
    app.stop().await;
    app.config.redis_url = Some(redis.url());
    app.restart().await;
    let (token, articles) = reader_of(&app, 2).await;
    assert_eq!(first_page(&app, &token, "status=unread").await.len(), 2, "cached");

    redis.stop();
    patch(&app, &token, &articles[0], json!({"read": true})).await;
    assert_eq!(first_page(&app, &token, "status=unread").await.len(), 1);

    redis.start_again().await;
    eventually(10, "Redis answers again", || async {
        app.get("/healthcheck", None).await.json::<Value>().await.unwrap()["status"] == "ok"
    })
    .await;
    // The invalidation failed while Redis was down: this process does not trust the user's entry any more, and
    // a page stored now is right.
    for _ in 0..2 {
        assert_eq!(first_page(&app, &token, "status=unread").await.len(), 1);
    }
    patch(&app, &token, &articles[1], json!({"read": true})).await;
    assert_eq!(first_page(&app, &token, "status=unread").await.len(), 0);
}

async fn user_id(app: &TestApp, token: &str) -> uuid::Uuid {
    let me: Value = app.get("/v1/me", Some(token)).await.json().await.unwrap();
    me["id"].as_str().unwrap().parse().unwrap()
}

/// `article.new` is announced once the event log holds it, a moment after the articles' commit: the cached
/// page is dropped when the event arrives, hence `eventually`.
async fn an_article_new_event_drops_the_users_cached_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, articles) = reader_of(&app, 2).await;
    assert_eq!(titles(&first_page(&app, &token, "").await), titles(&articles));
    app.database.retitle_articles("renamed").await;
    let feed = articles[0]["feed_id"].as_i64().unwrap();
    app.engine().events().publish(vec![NewEvent {
        user: user_id(&app, &token).await,
        kind: EventKind::ArticleNew,
        feed: Some(feed),
        data: json!({ "feed_id": feed }),
    }]);
    eventually(10, "the first page is read again after article.new", || async {
        titles(&first_page(&app, &token, "").await) == vec!["renamed"; 2]
    })
    .await;
}

/// The whole path: a poll stores a new article, the persistence side publishes `article.new` after its commit,
/// and the listener drops the subscriber's cached first page.
async fn a_polled_new_article_reaches_the_cached_first_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/grows.xml", rss("grows", 0, 2), "application/rss+xml");
    let token = app.user("alice").await;
    let subscribed = app.subscribe(&token, &[server.url("/grows.xml")]).await;
    app.wait_for_timeline(&token, 2).await;
    assert_eq!(first_page(&app, &token, "").await.len(), 2, "cached with two articles");

    server.set("/grows.xml", rss("grows", 0, 3), "application/rss+xml");
    let feed = subscribed[0]["feed_id"].as_i64().unwrap();
    app.engine()
        .feed_actor(feed)
        .await
        .unwrap()
        .expect("the feed has an actor")
        .send_message(FeedMsg::PollNow)
        .unwrap();
    eventually(10, "the cached first page shows the new article", || async {
        first_page(&app, &token, "").await.len() == 3
    })
    .await;
}
