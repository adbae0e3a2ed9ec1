//! `GET /v1/events?category=` end to end: a stream gets the events about the feeds in the category and none
//! about the others, with `types`, `feed_id` and a saved `filter` holding too; it follows a feed moved in or
//! out, keeps the category through a rename and matches no feed once it is deleted; a replay after
//! `Last-Event-ID` and a live burst larger than the buffer are filtered alike; an unknown category is refused
//! naming it.
//!
//! The feeds are "tech" and "news"; each poll that finds new articles stores one `article.new` for its feed. A
//! `job.done` published by the test is a marker: being about no feed, it passes the category, and what a stream
//! got before it is all it will get of the events stored before it.

use serde_json::{json, Value};
use syndic_actors::domain::UserId;
use syndic_actors::events::{EventKind, NewEvent};
use syndic_testkit::documents::titled::rss;

use crate::events::{job_done, open_response, user_id};
use crate::helpers::{eventually, feed_server, spawn_app_with, Backend, FeedServer, TestApp, TestSettings};
use crate::sse::{Message, SseReader};

/// Feeds polled every second, so that new articles arrive while the test waits.
async fn app(backend: Backend) -> TestApp {
    let settings = TestSettings {
        poll_interval_secs: 1,
        ..TestSettings::default()
    };
    spawn_app_with(backend, settings).await
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(actual, status, "{body}");
    body
}

async fn open(app: &TestApp, token: &str, query: &str) -> SseReader {
    SseReader::new(open_response(app, token, query, None).await)
}

async fn wait_for_streams(app: &TestApp, count: usize) {
    eventually(10, "the streams to open", || async {
        app.engine().events().streams().open_count() == count
    })
    .await;
}

/// Publishes marker `job` and reads `stream` up to it: the messages before it.
async fn until_marker(app: &TestApp, user: UserId, stream: &mut SseReader, job: i64) -> Vec<Message> {
    app.engine().events().publish(vec![job_done(user, job)]);
    read_to_marker(stream, job).await
}

async fn read_to_marker(stream: &mut SseReader, job: i64) -> Vec<Message> {
    let mut before = Vec::new();
    loop {
        let message = stream.expect().await;
        if message.event == "job.done" && message.data["job_id"] == job {
            return before;
        }
        before.push(message);
    }
}

/// No feed: what `article_feeds` gives when no `article.new` came.
const NONE: [i64; 0] = [];

/// The feeds of the `article.new` messages, in order.
fn article_feeds(messages: &[Message]) -> Vec<i64> {
    messages
        .iter()
        .filter(|message| message.event == "article.new")
        .map(|message| message.data["feed_id"].as_i64().expect("a feed id"))
        .collect()
}

/// Alice's "tech" and "news" feeds, one article each, both stored with their events (so that a stream opened
/// next gets none of them); her category Tech, holding "tech" when `tech_in_it`. Returns the server, the
/// category's id and the two feeds.
async fn tech_and_news(app: &TestApp, token: &str, tech_in_it: bool) -> (FeedServer, i64, i64, i64) {
    let server = feed_server().await;
    server.set("/tech.xml", rss("tech", 0, 1), "application/rss+xml");
    server.set("/news.xml", rss("news", 0, 1), "application/rss+xml");
    let category = json_of(
        app.post_json("/v1/categories", Some(token), &json!({"name": "Tech"}))
            .await,
        201,
    )
    .await;
    let subscribed = app
        .subscribe(token, &[server.url("/tech.xml"), server.url("/news.xml")])
        .await;
    let tech = subscribed[0]["feed_id"].as_i64().unwrap();
    let news = subscribed[1]["feed_id"].as_i64().unwrap();
    let alice = user_id(app, "alice").await;
    eventually(10, "both feeds' first events to be stored", || async {
        let stored = app.engine().events_after(alice, 0, 100).await.unwrap();
        stored
            .iter()
            .filter(|event| event.kind == EventKind::ArticleNew)
            .count()
            == 2
    })
    .await;
    if tech_in_it {
        move_feed(app, token, tech, json!("Tech")).await;
    }
    (server, category["id"].as_i64().unwrap(), tech, news)
}

async fn save_filter(app: &TestApp, token: &str, name: &str, q: &str) -> i64 {
    let saved = json_of(
        app.post_json("/v1/filters", Some(token), &json!({"name": name, "query": {"q": q}}))
            .await,
        201,
    )
    .await;
    saved["id"].as_i64().unwrap()
}

async fn move_feed(app: &TestApp, token: &str, feed: i64, category: Value) {
    json_of(
        app.patch_json(&format!("/v1/feeds/{feed}"), token, &json!({ "category": category }))
            .await,
        200,
    )
    .await;
}

/// Serves `count` articles on each named feed and waits until `everything` (an unfiltered `article.new` stream)
/// has their events: they are stored, so a marker published next comes after them.
async fn new_articles(server: &FeedServer, everything: &mut SseReader, feeds: &[&str], count: usize) {
    for feed in feeds {
        server.set(&format!("/{feed}.xml"), rss(feed, 0, count), "application/rss+xml");
    }
    let got = everything.take(feeds.len()).await;
    assert!(got.iter().all(|message| message.event == "article.new"), "{got:?}");
}

async fn a_stream_with_a_category_gets_only_events_about_its_feeds(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    let (server, _category, tech, news) = tech_and_news(&app, &token, true).await;
    let mut in_tech = open(&app, &token, "?category=Tech").await;
    let mut tech_news_only = open(&app, &token, &format!("?category=Tech&feed_id={news}")).await;
    let mut tech_articles = open(&app, &token, "?category=Tech&types=article.new,job.done").await;
    let about_tech = save_filter(&app, &token, "about tech", "tech").await;
    let about_news = save_filter(&app, &token, "about news", "news").await;
    let mut tech_about_tech = open(&app, &token, &format!("?category=Tech&filter={about_tech}")).await;
    let mut tech_about_news = open(&app, &token, &format!("?category=Tech&filter={about_news}")).await;
    let mut everything = open(&app, &token, "?types=article.new").await;
    wait_for_streams(&app, 6).await;

    new_articles(&server, &mut everything, &["tech", "news"], 2).await;
    app.engine().events().publish(vec![job_done(alice, 1)]);
    let mut got = Vec::new();
    let marker_id = loop {
        let message = in_tech.expect().await;
        if message.event == "job.done" {
            break message.id;
        }
        got.push(message);
    };
    assert_eq!(article_feeds(&got), [tech], "{got:?}");
    assert!(
        got.iter().all(|message| message.data["feed_id"] == tech),
        "no event about news: {got:?}"
    );
    let got = read_to_marker(&mut tech_articles, 1).await;
    assert_eq!(article_feeds(&got), [tech]);
    assert!(got.iter().all(|message| message.event == "article.new"), "{got:?}");
    // With a saved filter, both must keep an article: news's match the filter but are outside Tech.
    assert_eq!(article_feeds(&read_to_marker(&mut tech_about_tech, 1).await), [tech]);
    assert_eq!(article_feeds(&read_to_marker(&mut tech_about_news, 1).await), NONE);

    // The filters combine. A stream of news's events in Tech got nothing while news was outside Tech (a marker
    // about no feed does not pass `feed_id`): the first it gets is news's next article, once news is in Tech.
    move_feed(&app, &token, news, json!("Tech")).await;
    new_articles(&server, &mut everything, &["news"], 3).await;
    let first = tech_news_only.expect().await;
    assert_eq!(first.event, "article.new", "{first:?}");
    assert_eq!(first.data["feed_id"], news);
    assert!(first.id > marker_id, "news's earlier articles did not pass: {first:?}");
}

async fn the_stream_follows_moves_and_renames_and_matches_no_feed_once_the_category_is_deleted(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    let (server, category, tech, news) = tech_and_news(&app, &token, true).await;
    let mut in_tech = open(&app, &token, "?category=Tech&types=article.new,job.done").await;
    let mut everything = open(&app, &token, "?types=article.new").await;
    wait_for_streams(&app, 2).await;

    new_articles(&server, &mut everything, &["news"], 2).await;
    assert_eq!(article_feeds(&until_marker(&app, alice, &mut in_tech, 1).await), NONE);

    // Moved in while the stream is open: its next articles come.
    move_feed(&app, &token, news, json!("Tech")).await;
    new_articles(&server, &mut everything, &["news"], 3).await;
    assert_eq!(article_feeds(&until_marker(&app, alice, &mut in_tech, 2).await), [news]);

    // Renamed: the stream keeps the same category, by its new name too.
    json_of(
        app.patch_json(
            &format!("/v1/categories/{category}"),
            &token,
            &json!({"name": "Technology"}),
        )
        .await,
        200,
    )
    .await;
    new_articles(&server, &mut everything, &["news"], 4).await;
    assert_eq!(article_feeds(&until_marker(&app, alice, &mut in_tech, 3).await), [news]);

    // Moved out: its articles stop, the other feed's still come.
    move_feed(&app, &token, news, Value::Null).await;
    new_articles(&server, &mut everything, &["tech", "news"], 5).await;
    assert_eq!(article_feeds(&until_marker(&app, alice, &mut in_tech, 4).await), [tech]);

    // Deleted: no feed's events come any more, even those of the feeds that were in it.
    assert_eq!(
        app.delete(&format!("/v1/categories/{category}"), &token).await.status(),
        204
    );
    new_articles(&server, &mut everything, &["tech", "news"], 6).await;
    assert_eq!(article_feeds(&until_marker(&app, alice, &mut in_tech, 5).await), NONE);
    // A new category of the old name is another category: the stream does not follow it.
    json_of(
        app.post_json("/v1/categories", Some(&token), &json!({"name": "Tech"}))
            .await,
        201,
    )
    .await;
    move_feed(&app, &token, tech, json!("Tech")).await;
    new_articles(&server, &mut everything, &["tech"], 7).await;
    assert_eq!(article_feeds(&until_marker(&app, alice, &mut in_tech, 6).await), NONE);
}

async fn a_replay_after_last_event_id_applies_the_category(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    let (server, _category, tech, _news) = tech_and_news(&app, &token, true).await;
    let mut everything = open(&app, &token, "?types=article.new,job.done").await;
    wait_for_streams(&app, 1).await;
    app.engine().events().publish(vec![job_done(alice, 1)]);
    let start = everything.expect().await;
    assert_eq!(start.data["job_id"], 1);

    new_articles(&server, &mut everything, &["tech", "news"], 2).await;
    app.engine().events().publish(vec![job_done(alice, 2)]);
    let got = read_to_marker(&mut everything, 2).await;
    assert!(got.is_empty(), "{got:?}");

    let response = open_response(&app, &token, "?category=Tech", start.id).await;
    let mut replayed = SseReader::new(response);
    let got = read_to_marker(&mut replayed, 2).await;
    assert_eq!(article_feeds(&got), [tech], "{got:?}");
    assert!(got.iter().all(|message| message.data["feed_id"] == tech), "{got:?}");
}

async fn a_live_burst_larger_than_the_buffer_is_filtered_whole_and_in_order(backend: Backend) {
    let mut app = app(backend).await;
    app.config.event_stream_buffer = 16;
    app.restart().await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    let (_server, _category, tech, news) = tech_and_news(&app, &token, true).await;
    let mut in_tech = open(&app, &token, "?category=Tech&types=article.new,job.done").await;
    wait_for_streams(&app, 1).await;

    // One publish is one burst, far more than the buffer holds: the stream matches what the buffer held, then
    // reads the rest from the log, in pages, each matched on its own. The first 200 events are news's, so that
    // a page matched with what an earlier one found would drop tech's.
    let burst: Vec<NewEvent> = (0..600)
        .map(|index| NewEvent {
            user: alice,
            kind: EventKind::ArticleNew,
            feed: Some(if index < 200 || index % 2 == 1 { news } else { tech }),
            data: json!({ "article_ids": [], "count": index }),
        })
        .collect();
    app.engine().events().publish(burst);
    let got = until_marker(&app, alice, &mut in_tech, 1).await;
    assert_eq!(article_feeds(&got), vec![tech; 200]);
    let counts: Vec<i64> = got
        .iter()
        .map(|message| message.data["count"].as_i64().unwrap())
        .collect();
    assert_eq!(
        counts,
        (200..600).step_by(2).collect::<Vec<_>>(),
        "tech's events, in order, once"
    );
}

async fn an_unknown_category_is_refused_naming_it(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let bob = app.user("bob").await;
    json_of(
        app.post_json("/v1/categories", Some(&bob), &json!({"name": "Tech"}))
            .await,
        201,
    )
    .await;
    // Another user's category is unknown too; so is a name no category can have.
    for query in ["?category=Tech", "?category=", "?category=Tech&types=job.done"] {
        let response = open_response(&app, &token, query, None).await;
        // The status first: the body of a stream that opened would never end.
        assert_eq!(response.status(), 422, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], "category", "{query}: {body}");
    }
    assert_eq!(app.engine().events().streams().open_count(), 0);
    // The timeline lists nothing for an unknown category; a stream that could never match is refused instead.
    assert!(app.timeline(&token, "status=all&category=Tech").await.is_empty());
}

crate::on_both_backends!(
    a_stream_with_a_category_gets_only_events_about_its_feeds,
    the_stream_follows_moves_and_renames_and_matches_no_feed_once_the_category_is_deleted,
    a_replay_after_last_event_id_applies_the_category,
    a_live_burst_larger_than_the_buffer_is_filtered_whole_and_in_order,
    an_unknown_category_is_refused_naming_it,
);
