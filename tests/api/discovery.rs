//! Discovery over HTTP: subscribing to a web page subscribes to the feed it leads to, and `POST /v1/discover`
//! lists them all. The pages and feeds are served by the test's own feed server.

use serde_json::{json, Value};

use crate::helpers::{feed_server, spawn_app, Backend};
use syndic_testkit::documents::titled::{atom, json_feed, rss};

const HTML: &str = "text/html; charset=utf-8";

fn page(head: &str) -> String {
    format!("<!DOCTYPE html>\n<html><head><title>A blog</title>{head}</head><body><p>Hello</p></body></html>")
}

async fn an_html_page_is_replaced_by_the_first_feed_it_links_to(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    // The page is reached through a redirect: its relative links resolve against where it really is.
    server.set_redirect("/start", 302, "/blog/post.html");
    server.set(
        "/blog/post.html",
        page(
            r#"<link rel="alternate" type="application/rss+xml" title="Gone" href="missing.xml">
               <link rel="alternate" type="application/rss+xml" title="Posts" href="feeds/main.xml">
               <link rel="alternate" type="application/atom+xml" href="/second.xml">"#,
        ),
        HTML,
    );
    server.set("/blog/feeds/main.xml", rss("main", 0, 3), "application/rss+xml");
    server.set("/second.xml", atom("second", 2), "application/atom+xml");
    let token = app.user("alice").await;
    let results = app.subscribe(&token, &[server.url("/start")]).await;
    assert_eq!(results[0]["status"], "pending", "{results:?}");
    assert_eq!(results[0]["url"], server.url("/start"));
    assert_eq!(results[0]["feed_url"], server.url("/blog/feeds/main.xml"));
    let feed_id = results[0]["feed_id"].as_i64().unwrap();
    let articles = app.wait_for_timeline(&token, 3).await;
    assert!(articles.iter().all(|article| article["feed_id"] == feed_id));
    let feed: Value = app
        .get(&format!("/v1/feeds/{feed_id}"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(feed["url"], server.url("/blog/feeds/main.xml"));
    // The fetch that found the feed was its first poll: the feed was fetched once, the second link never.
    assert_eq!(server.requests("/blog/feeds/main.xml"), 1);
    assert_eq!(server.requests("/second.xml"), 0);
}

async fn a_page_without_feed_links_is_replaced_by_a_feed_at_a_usual_path(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/home", page(r#"<link rel="stylesheet" href="/style.css">"#), HTML);
    server.set("/rss.xml", rss("usual", 0, 2), "application/rss+xml");
    let token = app.user("alice").await;
    let results = app.subscribe(&token, &[server.url("/home")]).await;
    assert_eq!(results[0]["status"], "pending", "{results:?}");
    assert_eq!(results[0]["feed_url"], server.url("/rss.xml"));
    app.wait_for_timeline(&token, 2).await;
    // `/feed` was tried first, and answered 404.
    assert_eq!(server.requests("/feed"), 1);
}

async fn a_page_with_no_feed_is_invalid_and_a_feed_url_is_kept_as_sent(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/nothing", page(""), HTML);
    server.set("/direct.json", json_feed("direct", 1), "application/feed+json");
    let token = app.user("alice").await;
    let results = app
        .subscribe(&token, &[server.url("/nothing"), server.url("/direct.json")])
        .await;
    assert_eq!(results[0]["status"], "invalid", "{results:?}");
    assert_eq!(results[0]["error"], "no feed found");
    assert_eq!(results[0]["feed_id"], Value::Null);
    assert_eq!(results[0]["feed_url"], Value::Null);
    assert_eq!(results[1]["status"], "pending");
    assert_eq!(results[1]["feed_url"], server.url("/direct.json"));
    app.wait_for_timeline(&token, 1).await;
    let feeds: Value = app.get("/v1/feeds", Some(&token)).await.json().await.unwrap();
    assert_eq!(feeds["feeds"].as_array().unwrap().len(), 1, "{feeds}");
    assert_eq!(
        server.requests("/direct.json"),
        1,
        "the feed's first poll was its discovery fetch"
    );
}

async fn discover_lists_every_announced_feed_with_its_title_and_type(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set(
        "/site/",
        page(
            r#"<link rel="alternate" type="application/rss+xml" title="Posts" href="posts.xml">
               <link rel="alternate" hreflang="fr" href="/fr/">
               <link rel="alternate" type="application/atom+xml" href="/atom.xml">
               <link rel="alternate" type="application/feed+json" title="JSON" href="https://feeds.example.com/j">"#,
        ),
        HTML,
    );
    let token = app.user("alice").await;
    let response = app
        .post_json("/v1/discover", Some(&token), &json!({"url": server.url("/site/")}))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["url"], server.url("/site/"));
    assert_eq!(
        body["feeds"],
        json!([
            {"url": server.url("/site/posts.xml"), "title": "Posts", "type": "rss"},
            {"url": server.url("/atom.xml"), "title": null, "type": "atom"},
            {"url": "https://feeds.example.com/j", "title": "JSON", "type": "json"},
        ])
    );
    // Listing subscribes to nothing and fetches no candidate.
    let feeds: Value = app.get("/v1/feeds", Some(&token)).await.json().await.unwrap();
    assert!(feeds["feeds"].as_array().unwrap().is_empty());
    assert_eq!(server.requests("/site/posts.xml") + server.requests("/atom.xml"), 0);
}

async fn discover_reads_a_feed_itself_and_the_usual_paths(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/a.atom", atom("Atom Title", 1), "application/atom+xml");
    server.set("/bare", page(""), HTML);
    server.set("/feed", json_feed("At Feed", 1), "application/feed+json");
    server.set("/index.xml", rss("At Index", 0, 1), "application/rss+xml");
    let token = app.user("alice").await;
    let discover = |url: String| {
        let app = &app;
        let token = token.clone();
        async move {
            let response = app
                .post_json("/v1/discover", Some(&token), &json!({ "url": url }))
                .await;
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()["feeds"].clone()
        }
    };
    assert_eq!(
        discover(server.url("/a.atom")).await,
        json!([{"url": server.url("/a.atom"), "title": "Atom Title", "type": "atom"}])
    );
    assert_eq!(
        discover(server.url("/bare")).await,
        json!([
            {"url": server.url("/feed"), "title": "At Feed", "type": "json"},
            {"url": server.url("/index.xml"), "title": "At Index", "type": "rss"},
        ])
    );
    assert_eq!(discover(server.url("/a.atom")).await.as_array().unwrap().len(), 1);
}

async fn discover_refuses_bad_unreachable_and_private_urls(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set(
        "/page",
        page(r#"<link rel="alternate" type="application/rss+xml" href="/f.xml">"#),
        HTML,
    );
    let token = app.user("alice").await;
    let field_error = |response: reqwest::Response| async move {
        assert_eq!(response.status(), 422);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], "url", "{body}");
        body["error"]["message"].as_str().unwrap().to_owned()
    };
    let message = field_error(
        app.post_json("/v1/discover", Some(&token), &json!({"url": "not a url"}))
            .await,
    )
    .await;
    assert!(message.contains("could not be parsed"), "{message}");
    let message = field_error(
        app.post_json("/v1/discover", Some(&token), &json!({"url": server.url("/missing")}))
            .await,
    )
    .await;
    assert!(message.contains("HTTP 404"), "{message}");
    assert_eq!(
        app.post_json("/v1/discover", Some(&token), &json!({"url": 5}))
            .await
            .status(),
        400
    );
    assert_eq!(
        app.post_json("/v1/discover", None, &json!({"url": server.url("/page")}))
            .await
            .status(),
        401
    );

    // As in production: the page and every feed it links to are on a private address.
    app.stop().await;
    app.config.allow_private_networks = false;
    app.restart().await;
    let token = app.login("alice").await;
    let message = field_error(
        app.post_json("/v1/discover", Some(&token), &json!({"url": server.url("/page")}))
            .await,
    )
    .await;
    assert!(message.contains("private or reserved"), "{message}");
    assert_eq!(server.requests("/page"), 0, "a private page is not fetched");
}

crate::on_both_backends!(
    an_html_page_is_replaced_by_the_first_feed_it_links_to,
    a_page_without_feed_links_is_replaced_by_a_feed_at_a_usual_path,
    a_page_with_no_feed_is_invalid_and_a_feed_url_is_kept_as_sent,
    discover_lists_every_announced_feed_with_its_title_and_type,
    discover_reads_a_feed_itself_and_the_usual_paths,
    discover_refuses_bad_unreachable_and_private_urls,
);
