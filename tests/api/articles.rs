//! The timeline: keyset paging, filters, read and starred state, and ownership.

use serde_json::{json, Value};

use crate::helpers::{feed_server, spawn_app, Backend};
use syndic_testkit::documents::titled::rss;

/// A podcast feed: one episode with an MP3 enclosure, and an older text post without any.
pub fn podcast(title: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{title} podcast</title>\
         <item><title>{title} episode</title><guid>{title}-episode</guid>\
         <pubDate>Mon, 02 Nov 2026 06:00:00 GMT</pubDate>\
         <enclosure url=\"https://cdn.example.com/{title}.mp3\" length=\"1000\" type=\"audio/mpeg\"/></item>\
         <item><title>{title} notes</title><guid>{title}-notes</guid>\
         <pubDate>Sun, 01 Nov 2026 06:00:00 GMT</pubDate></item></channel></rss>"
    )
}

async fn articles_show_their_enclosures_and_their_feeds_title(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/podcast.xml", podcast("cast"), "application/rss+xml");
    let token = app.user("alice").await;
    app.subscribe(&token, &[server.url("/podcast.xml")]).await;
    let articles = app.wait_for_timeline(&token, 2).await;
    assert_eq!(articles[0]["title"], "cast episode");
    assert_eq!(
        articles[0]["enclosures"],
        json!([{"url": "https://cdn.example.com/cast.mp3", "type": "audio/mpeg", "length": 1000}])
    );
    assert_eq!(articles[1]["enclosures"], json!([]), "an article without enclosures");
    assert!(articles.iter().all(|article| article["feed_title"] == "cast podcast"));
    let id = articles[0]["id"].as_i64().unwrap();
    let one: Value = app
        .get(&format!("/v1/articles/{id}"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["enclosures"], articles[0]["enclosures"]);
    assert_eq!(one["feed_title"], "cast podcast");
}

/// A feed whose only item's description is hostile HTML.
const HOSTILE: &str = "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>hostile</title>\
     <item><title>hostile post</title><guid>hostile-1</guid><link>https://blog.example.com/posts/one.html</link>\
     <description><![CDATA[<p onclick=\"steal()\">Hello <a href=\"../two.html\">next</a> \
     <a href=\"javascript:alert(1)\">click</a></p><script>alert(2)</script>\
     <img src=\"https://counter.example/p.gif\" width=\"1\" height=\"1\">]]></description></item>\
     </channel></rss>";

async fn article_html_is_served_sanitised_and_stored_as_the_feed_sent_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/hostile.xml", HOSTILE.to_owned(), "application/rss+xml");
    let token = app.user("alice").await;
    app.subscribe(&token, &[server.url("/hostile.xml")]).await;
    let articles = app.wait_for_timeline(&token, 1).await;
    let id = articles[0]["id"].as_i64().unwrap();
    let one: Value = app
        .get(&format!("/v1/articles/{id}"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    for served in [&articles[0]["summary"], &one["summary"]] {
        let served = served.as_str().expect("a summary");
        for gone in ["onclick", "steal", "javascript", "script", "alert", "counter.example"] {
            assert!(!served.contains(gone), "{gone:?} is served: {served}");
        }
        assert!(
            served
                .contains(r#"<a href="https://blog.example.com/two.html" rel="noopener noreferrer nofollow">next</a>"#),
            "{served}"
        );
    }
    let stored = app.database.stored_summaries().await;
    let stored = stored[0].as_deref().expect("the summary is stored");
    assert!(
        stored.contains("<script>alert(2)</script>") && stored.contains("onclick"),
        "{stored}"
    );
}

async fn pages_follow_the_cursor_without_gaps_or_overlaps(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/many.xml", rss("many", 0, 25), "application/rss+xml");
    let token = app.user("alice").await;
    app.subscribe(&token, &[server.url("/many.xml")]).await;
    app.wait_for_timeline(&token, 25).await;

    let mut seen = Vec::new();
    let mut path = "/v1/articles?limit=10".to_owned();
    let mut pages = 0;
    loop {
        let body: Value = app.get(&path, Some(&token)).await.json().await.unwrap();
        pages += 1;
        let articles = body["articles"].as_array().unwrap();
        assert!(articles.len() <= 10);
        seen.extend(
            articles
                .iter()
                .map(|article| article["title"].as_str().unwrap().to_owned()),
        );
        match body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/articles?limit=10&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).rev().map(|n| format!("many {n}")).collect();
    assert_eq!(seen, expected);
}

async fn read_and_starred_state_is_kept_and_filtered(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/state.xml", rss("state", 0, 4), "application/rss+xml");
    let token = app.user("alice").await;
    app.subscribe(&token, &[server.url("/state.xml")]).await;
    let articles = app.wait_for_timeline(&token, 4).await;
    let first = articles[0]["id"].as_i64().unwrap();
    let second = articles[1]["id"].as_i64().unwrap();

    let read: Value = app
        .patch_json(&format!("/v1/articles/{first}"), &token, &json!({"read": true}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (read["read"].as_bool(), read["starred"].as_bool()),
        (Some(true), Some(false))
    );
    let starred: Value = app
        .patch_json(&format!("/v1/articles/{second}"), &token, &json!({"starred": true}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (starred["read"].as_bool(), starred["starred"].as_bool()),
        (Some(false), Some(true))
    );

    assert_eq!(app.timeline(&token, "status=unread").await.len(), 3);
    let only_read = app.timeline(&token, "status=read").await;
    assert_eq!(only_read.len(), 1);
    assert_eq!(only_read[0]["id"], first);
    let only_starred = app.timeline(&token, "starred=true").await;
    assert_eq!(only_starred.len(), 1);
    assert_eq!(only_starred[0]["id"], second);

    let feeds: Value = app.get("/v1/feeds", Some(&token)).await.json().await.unwrap();
    assert_eq!(feeds["feeds"][0]["unread_count"], 3);

    let unread_again: Value = app
        .patch_json(&format!("/v1/articles/{first}"), &token, &json!({"read": false}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(unread_again["read"], false);
    let one: Value = app
        .get(&format!("/v1/articles/{first}"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["read"], false);
    assert_eq!(one["title"], articles[0]["title"]);
}

async fn feed_filter_limits_the_timeline_to_one_feed(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/one.xml", rss("one", 0, 2), "application/rss+xml");
    server.set("/two.xml", rss("two", 0, 3), "application/rss+xml");
    let token = app.user("alice").await;
    let results = app
        .subscribe(&token, &[server.url("/one.xml"), server.url("/two.xml")])
        .await;
    app.wait_for_timeline(&token, 5).await;
    let feed_two = results[1]["feed_id"].as_i64().unwrap();
    let only_two = app.timeline(&token, &format!("feed_id={feed_two}")).await;
    assert_eq!(only_two.len(), 3);
    assert!(only_two.iter().all(|article| article["feed_id"] == feed_two));
}

async fn bad_timeline_parameters_are_client_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;
    for (query, status, field) in [
        ("limit=0", 422, Some("limit")),
        ("limit=201", 422, Some("limit")),
        ("cursor=garbage", 422, Some("cursor")),
        ("status=banana", 400, None),
        ("feed_id=abc", 400, None),
    ] {
        let response = app.get(&format!("/v1/articles?{query}"), Some(&token)).await;
        assert_eq!(response.status().as_u16(), status, "{query}");
        let body: Value = response.json().await.unwrap();
        if let Some(field) = field {
            assert_eq!(body["error"]["field"], field, "{query}");
        }
        assert!(body["error"]["message"].is_string());
    }
    let empty_patch = app.patch_json("/v1/articles/1", &token, &json!({})).await;
    assert_eq!(empty_patch.status(), 422);
}

async fn another_users_article_is_not_found(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/private.xml", rss("private", 0, 1), "application/rss+xml");
    let alice = app.user("alice").await;
    let mallory = app.user("mallory").await;
    app.subscribe(&alice, &[server.url("/private.xml")]).await;
    let articles = app.wait_for_timeline(&alice, 1).await;
    let id = articles[0]["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&format!("/v1/articles/{id}"), Some(&mallory)).await.status(),
        404
    );
    let patched = app
        .patch_json(&format!("/v1/articles/{id}"), &mallory, &json!({"read": true}))
        .await;
    assert_eq!(patched.status(), 404);
    let mine: Value = app
        .get(&format!("/v1/articles/{id}"), Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["read"], false, "mallory's attempt changed nothing");
    assert!(app.timeline(&mallory, "status=all").await.is_empty());
}

crate::on_both_backends!(
    articles_show_their_enclosures_and_their_feeds_title,
    article_html_is_served_sanitised_and_stored_as_the_feed_sent_it,
    pages_follow_the_cursor_without_gaps_or_overlaps,
    read_and_starred_state_is_kept_and_filtered,
    feed_filter_limits_the_timeline_to_one_feed,
    bad_timeline_parameters_are_client_errors,
    another_users_article_is_not_found,
);
