//! Saved filters end to end: the routes' success and error paths, the timeline with `?filter=`, a stream with
//! `?filter=` that gets only matching new articles, a webhook that gets only matching deliveries, a digest of a
//! filter, and a filter deleted while a webhook and a digest use it (they then match nothing).
//!
//! The feeds are "tech" (articles "tech 0", "tech 1", …) and "news"; the filter `tech -0` keeps "tech 1" and
//! later tech articles but neither "tech 0" nor any news: it needs the search index and the exclusion to agree.

use serde_json::{json, Value};
use syndic_actors::events::{EventKind, NewEvent};
use syndic_testkit::documents::titled::rss;

use crate::helpers::{
    assert_payload_matches_contract, eventually, feed_server, spawn_app_configured, Backend, TestApp, TestSettings,
};
use crate::sse::SseReader;
use crate::webhook_receiver::Receiver;

/// Feeds polled every second, so that new articles arrive while the test waits.
async fn app(backend: Backend) -> TestApp {
    let settings = TestSettings {
        poll_interval_secs: 1,
        ..TestSettings::default()
    };
    spawn_app_configured(backend, settings, |config| config.webhook_retry_base_ms = 1).await
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(actual, status, "{body}");
    body
}

async fn save(app: &TestApp, token: &str, name: &str, query: Value) -> i64 {
    let saved = json_of(
        app.post_json("/v1/filters", Some(token), &json!({"name": name, "query": query}))
            .await,
        201,
    )
    .await;
    saved["id"].as_i64().unwrap()
}

async fn refused(response: reqwest::Response, status: u16) -> Value {
    let body = json_of(response, status).await;
    body["error"]["field"].clone()
}

fn titles(articles: &[Value]) -> Vec<String> {
    let mut titles: Vec<String> = articles
        .iter()
        .map(|article| article["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

/// The titles of the `article.new` deliveries a receiver accepted, sorted.
fn delivered_titles(receiver: &Receiver) -> Vec<String> {
    let mut titles: Vec<String> = receiver
        .accepted()
        .iter()
        .filter(|received| received.event.as_deref() == Some("article.new"))
        .map(|received| received.json()["data"]["title"].as_str().unwrap().to_owned())
        .collect();
    titles.sort();
    titles
}

/// Alice follows "tech" (2 articles) and "news" (2), and has waited for all four.
async fn tech_and_news(app: &TestApp, token: &str) -> (crate::helpers::FeedServer, i64, i64) {
    let server = feed_server().await;
    server.set("/tech.xml", rss("tech", 0, 2), "application/rss+xml");
    server.set("/news.xml", rss("news", 0, 2), "application/rss+xml");
    let subscribed = app
        .subscribe(token, &[server.url("/tech.xml"), server.url("/news.xml")])
        .await;
    let tech = subscribed[0]["feed_id"].as_i64().unwrap();
    let news = subscribed[1]["feed_id"].as_i64().unwrap();
    (server, tech, news)
}

async fn saved_filters_are_created_listed_edited_and_deleted_by_their_owner_only(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let other = app.user("bob").await;

    let created = json_of(
        app.post_json(
            "/v1/filters",
            Some(&token),
            &json!({"name": " Rust ", "query": {"q": "rust -java", "tag": "lang"}}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(created["name"], "Rust");
    assert_eq!(created["query"], json!({"q": "rust -java", "tag": "lang"}));
    let id = created["id"].as_i64().unwrap();
    let path = format!("/v1/filters/{id}");
    save(&app, &token, "Ann", json!({"author": "Ann"})).await;

    let listed = json_of(app.get("/v1/filters", Some(&token)).await, 200).await;
    let names: Vec<&str> = listed["filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|filter| filter["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ann", "Rust"]);
    assert_eq!(json_of(app.get(&path, Some(&token)).await, 200).await, created);
    assert_eq!(
        json_of(app.get("/v1/filters", Some(&other)).await, 200).await["filters"],
        json!([])
    );

    let edited = json_of(
        app.patch_json(
            &path,
            &token,
            &json!({"name": "Rust news", "query": {"category": "News"}}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(edited["name"], "Rust news");
    assert_eq!(edited["query"], json!({"category": "News"}));
    let renamed_only = json_of(app.patch_json(&path, &token, &json!({"name": "Rusty"})).await, 200).await;
    assert_eq!(renamed_only["query"], json!({"category": "News"}));

    // The refusals, each naming its field.
    let bad_bodies = [
        (json!({"name": "Ann", "query": {"q": "x"}}), 409, "name"),
        (json!({"name": " ", "query": {"q": "x"}}), 422, "name"),
        (json!({"name": "n", "query": {}}), 422, "query"),
        (json!({"name": "n", "query": {"q": "\"unclosed"}}), 422, "query.q"),
        (json!({"name": "n", "query": {"q": "-only"}}), 422, "query.q"),
        (json!({"name": "n", "query": {"category": " "}}), 422, "query.category"),
        (json!({"name": "n", "query": {"tag": ""}}), 422, "query.tag"),
        (json!({"name": "n", "query": {"author": "\u{7}"}}), 422, "query.author"),
    ];
    for (body, status, field) in bad_bodies {
        let answer = refused(app.post_json("/v1/filters", Some(&token), &body).await, status).await;
        assert_eq!(answer, field, "{body}");
    }
    assert_eq!(
        refused(app.patch_json(&path, &token, &json!({"name": "Ann"})).await, 409).await,
        "name"
    );
    assert_eq!(
        refused(
            app.patch_json(&path, &token, &json!({"query": {"q": "a OR"}})).await,
            422
        )
        .await,
        "query.q"
    );
    assert_eq!(app.get("/v1/filters", None).await.status(), 401);

    // Another user's filter is not found, whatever the route.
    assert_eq!(app.get(&path, Some(&other)).await.status(), 404);
    assert_eq!(
        app.patch_json(&path, &other, &json!({"name": "Mine"})).await.status(),
        404
    );
    assert_eq!(app.delete(&path, &other).await.status(), 404);
    assert_eq!(app.get("/v1/filters/999999", Some(&token)).await.status(), 404);

    assert_eq!(app.delete(&path, &token).await.status(), 204);
    assert_eq!(app.get(&path, Some(&token)).await.status(), 404);
    assert_eq!(app.delete(&path, &token).await.status(), 404);
    assert_eq!(
        app.patch_json(&path, &token, &json!({"name": "Back"})).await.status(),
        404
    );

    // At most 100 each.
    for number in 1..100 {
        save(&app, &token, &format!("filter {number}"), json!({"tag": "t"})).await;
    }
    let answer = refused(
        app.post_json(
            "/v1/filters",
            Some(&token),
            &json!({"name": "one more", "query": {"tag": "t"}}),
        )
        .await,
        422,
    )
    .await;
    assert_eq!(answer, "name");
    save(&app, &other, "one more", json!({"tag": "t"})).await;
}

async fn the_timeline_with_a_saved_filter_lists_what_the_filter_keeps(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let other = app.user("bob").await;
    let (_server, tech, _news) = tech_and_news(&app, &token).await;
    app.wait_for_timeline(&token, 4).await;
    let filter = save(&app, &token, "tech", json!({"q": "tech -0"})).await;

    let kept = app.timeline(&token, &format!("status=all&filter={filter}")).await;
    assert_eq!(titles(&kept), ["tech 1"]);
    assert_eq!(kept[0]["feed_id"], tech);
    // Other parameters combine with it; one it sets already is refused.
    let none = app
        .timeline(&token, &format!("status=all&filter={filter}&author=nobody"))
        .await;
    assert!(none.is_empty());
    let in_order = app
        .timeline(&token, &format!("status=all&filter={filter}&order=date"))
        .await;
    assert_eq!(titles(&in_order), ["tech 1"]);
    let twice = app
        .get(&format!("/v1/articles?filter={filter}&q=news"), Some(&token))
        .await;
    assert_eq!(refused(twice, 422).await, "q");
    let bobs = save(&app, &other, "bob's", json!({"q": "news"})).await;
    for id in [bobs, 999_999] {
        let answer = app.get(&format!("/v1/articles?filter={id}"), Some(&token)).await;
        assert_eq!(refused(answer, 422).await, "filter");
    }
}

async fn open(app: &TestApp, token: &str, query: &str) -> SseReader {
    let request = app
        .client
        .get(app.url(&format!("/v1/events{query}")))
        .bearer_auth(token);
    SseReader::new(request.send().await.unwrap())
}

async fn a_stream_with_a_saved_filter_gets_only_matching_new_articles(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let filter = save(&app, &token, "tech", json!({"q": "tech -0"})).await;
    assert_eq!(
        refused(open_response(&app, &token, "?filter=999999").await, 422).await,
        "filter"
    );
    let mut filtered = open(&app, &token, &format!("?filter={filter}")).await;
    let mut everything = open(&app, &token, "?types=article.new").await;
    eventually(10, "the streams to open", || async {
        app.engine().events().streams().open_count() == 2
    })
    .await;

    let (_server, tech, _news) = tech_and_news(&app, &token).await;
    let all_new = everything.take(2).await;
    let mut all_ids: Vec<i64> = all_new
        .iter()
        .flat_map(|message| message.data["article_ids"].as_array().unwrap().clone())
        .map(|id| id.as_i64().unwrap())
        .collect();
    all_ids.sort_unstable();
    assert_eq!(all_ids.len(), 4);
    // A marker after both feeds' events: what the filtered stream got before it is all it will get of them.
    let alice = app
        .database
        .store
        .find_credentials("alice")
        .await
        .unwrap()
        .unwrap()
        .user
        .id;
    app.engine().events().publish(vec![NewEvent {
        user: alice,
        kind: EventKind::JobDone,
        feed: None,
        data: json!({"job_id": 1}),
    }]);
    let mut article_new = Vec::new();
    loop {
        let message = filtered.expect().await;
        match message.event.as_str() {
            "job.done" => break,
            "article.new" => article_new.push(message),
            _ => {}
        }
    }
    assert_eq!(
        article_new.len(),
        1,
        "{:?}",
        article_new.iter().map(|m| &m.data).collect::<Vec<_>>()
    );
    let event = &article_new[0].data;
    assert_eq!(event["feed_id"], tech);
    assert_eq!(event["count"], 1);
    let kept = app.timeline(&token, &format!("status=all&filter={filter}")).await;
    assert_eq!(event["article_ids"], json!([kept[0]["id"]]));
}

async fn open_response(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/v1/events{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn a_webhook_with_a_saved_filter_gets_only_matching_articles_until_the_filter_is_deleted(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let other = app.user("bob").await;
    let filter = save(&app, &token, "tech", json!({"q": "tech -0"})).await;
    let bobs = save(&app, &other, "bob's", json!({"q": "tech"})).await;

    let filtered = Receiver::start(&[]).await;
    let everything = Receiver::start(&[]).await;
    for id in [bobs, 999_999] {
        let body = json!({"url": filtered.url, "events": ["article.new"], "filter": {"saved_filter": id}});
        let answer = app.post_json("/v1/webhooks", Some(&token), &body).await;
        assert_eq!(refused(answer, 422).await, "filter.saved_filter");
    }
    let webhook = json_of(
        app.post_json(
            "/v1/webhooks",
            Some(&token),
            &json!({"url": filtered.url, "events": ["article.new"], "filter": {"saved_filter": filter}}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(webhook["filter"]["saved_filter"], filter);
    json_of(
        app.post_json(
            "/v1/webhooks",
            Some(&token),
            &json!({"url": everything.url, "events": ["article.new"]}),
        )
        .await,
        201,
    )
    .await;

    let (server, tech, _news) = tech_and_news(&app, &token).await;
    eventually(10, "the unfiltered webhook gets all four articles", || async {
        delivered_titles(&everything).len() == 4
    })
    .await;
    eventually(5, "the filtered webhook gets its article", || async {
        !delivered_titles(&filtered).is_empty()
    })
    .await;
    assert_eq!(delivered_titles(&filtered), ["tech 1"]);
    for received in filtered.accepted() {
        assert_payload_matches_contract(&received.json());
        assert_eq!(received.json()["data"]["feed_id"], tech);
    }

    // A deleted filter matches nothing, not everything.
    assert_eq!(app.delete(&format!("/v1/filters/{filter}"), &token).await.status(), 204);
    server.set("/tech.xml", rss("tech", 0, 3), "application/rss+xml");
    eventually(10, "the unfiltered webhook gets the new tech article", || async {
        delivered_titles(&everything).len() == 5
    })
    .await;
    // Deliveries are stored in the flush that stored the article: the filtered webhook's outbox is final now.
    let outbox = json_of(
        app.get(&format!("/v1/webhooks/{}/deliveries", webhook["id"]), Some(&token))
            .await,
        200,
    )
    .await;
    assert_eq!(outbox["deliveries"].as_array().unwrap().len(), 1, "{outbox}");
    assert_eq!(delivered_titles(&filtered), ["tech 1"]);
}

async fn a_digest_of_a_saved_filter_lists_its_unread_articles_and_nothing_once_deleted(backend: Backend) {
    let app = app(backend).await;
    let token = app.user("alice").await;
    let other = app.user("bob").await;
    let (_server, _tech, _news) = tech_and_news(&app, &token).await;
    app.wait_for_timeline(&token, 4).await;
    let filter = save(&app, &token, "tech", json!({"q": "tech -0"})).await;
    let doomed = save(&app, &token, "doomed", json!({"q": "news"})).await;
    let bobs = save(&app, &other, "bob's", json!({"q": "news"})).await;

    let receiver = Receiver::start(&[]).await;
    let url = receiver.url.clone();
    let refusals = [
        (json!({"kind": "digest", "filter": bobs}), "payload.filter"),
        (json!({"kind": "digest", "filter": 999_999}), "payload.filter"),
        (json!({"kind": "id", "filter": filter}), "payload.filter"),
        (
            json!({"kind": "digest", "filter": filter, "category": "Tech"}),
            "payload.filter",
        ),
    ];
    for (payload, field) in refusals {
        let body = json!({"in": {"seconds": 5}, "target": {"url": url}, "payload": payload});
        let answer = app.post_json("/v1/timers", Some(&token), &body).await;
        assert_eq!(refused(answer, 422).await, field, "{payload}");
    }

    let timer = json_of(
        app.post_json(
            "/v1/timers",
            Some(&token),
            &json!({"in": {"seconds": 1}, "target": {"url": url}, "payload": {"kind": "digest", "filter": filter}}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(timer["payload"]["filter"], filter);
    let deleted_receiver = Receiver::start(&[]).await;
    json_of(
        app.post_json(
            "/v1/timers",
            Some(&token),
            &json!({"in": {"seconds": 1}, "target": {"url": deleted_receiver.url},
                    "payload": {"kind": "digest", "filter": doomed}}),
        )
        .await,
        201,
    )
    .await;
    assert_eq!(app.delete(&format!("/v1/filters/{doomed}"), &token).await.status(), 204);

    eventually(10, "both digests are delivered", || async {
        !receiver.accepted().is_empty() && !deleted_receiver.accepted().is_empty()
    })
    .await;
    let body = receiver.accepted()[0].json();
    assert_payload_matches_contract(&body);
    let digest = &body["data"]["digest"];
    assert_eq!(digest["filter"], filter);
    assert_eq!(titles(digest["articles"].as_array().unwrap()), ["tech 1"], "{digest}");
    assert_eq!(digest["count"], 1);

    let body = deleted_receiver.accepted()[0].json();
    assert_payload_matches_contract(&body);
    let digest = &body["data"]["digest"];
    assert_eq!(digest["count"], 0, "{digest}");
    assert_eq!(digest["articles"], json!([]));
}

crate::on_both_backends!(
    saved_filters_are_created_listed_edited_and_deleted_by_their_owner_only,
    the_timeline_with_a_saved_filter_lists_what_the_filter_keeps,
    a_stream_with_a_saved_filter_gets_only_matching_new_articles,
    a_webhook_with_a_saved_filter_gets_only_matching_articles_until_the_filter_is_deleted,
    a_digest_of_a_saved_filter_lists_its_unread_articles_and_nothing_once_deleted,
);
