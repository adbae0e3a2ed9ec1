//! Feed icons over HTTP: looked for after a feed's first poll (its own logo, else its site's
//! `<link rel="icon">`, else `/favicon.ico`), kept only when they are small images, and served to subscribers
//! with an ETag. Each test has its own feed server, so each has its own `/favicon.ico`.

use serde_json::Value;

use crate::helpers::{eventually, feed_server, spawn_app, Backend, TestApp};

/// A GIF as far as its bytes go (its magic number), and text as far as the feed server goes.
pub(crate) fn gif(marker: &str) -> String {
    format!("GIF89a{marker}")
}

/// An ICO header, likewise.
fn ico(marker: &str) -> String {
    format!("\u{0}\u{0}\u{1}\u{0}{marker}")
}

pub(crate) fn atom_with_icon(icon: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>With icon</title><id>urn:icon</id>
<updated>2024-01-01T00:00:00Z</updated><icon>{icon}</icon>
<entry><id>urn:icon:1</id><title>One</title><updated>2024-01-01T00:00:00Z</updated></entry></feed>"#
    )
}

fn rss_of_site(site: &str) -> String {
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Site feed</title><link>{site}</link>
<description>d</description><item><guid>urn:site:1</guid><title>One</title></item></channel></rss>"#
    )
}

async fn subscribe_one(app: &TestApp, token: &str, url: String) -> i64 {
    let results = app.subscribe(token, &[url]).await;
    results[0]["feed_id"].as_i64().expect("subscribed")
}

/// Waits until the feed's icon was looked for, found or not.
async fn wait_for_icon_lookup(app: &TestApp, feed_id: i64) {
    eventually(15, "the feed's icon was looked for", || async {
        app.database.store.icon_looked_for(feed_id).await.unwrap()
    })
    .await;
}

async fn icon(app: &TestApp, token: &str, feed_id: i64, if_none_match: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url(&format!("/v1/feeds/{feed_id}/icon")))
        .bearer_auth(token);
    if let Some(etag) = if_none_match {
        request = request.header("if-none-match", etag);
    }
    request.send().await.unwrap()
}

async fn a_feeds_own_icon_is_served_with_an_etag_and_304_and_only_to_subscribers(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    // Relative: it resolves against the feed's URL.
    server.set(
        "/feeds/atom.xml",
        atom_with_icon("../static/logo.gif"),
        "application/atom+xml",
    );
    server.set("/static/logo.gif", gif("own"), "image/gif");
    server.set("/favicon.ico", ico("fallback"), "image/x-icon");
    let alice = app.user("alice").await;
    let mallory = app.user("mallory").await;
    let feed_id = subscribe_one(&app, &alice, server.url("/feeds/atom.xml")).await;
    wait_for_icon_lookup(&app, feed_id).await;

    let response = icon(&app, &alice, feed_id, None).await;
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/gif");
    assert_eq!(headers["cache-control"], "private, max-age=86400");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert_eq!(response.bytes().await.unwrap().as_ref(), gif("own").as_bytes());
    assert_eq!(server.requests("/favicon.ico"), 0, "the feed's own icon comes first");

    let again = icon(&app, &alice, feed_id, Some(&etag)).await;
    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
    assert!(again.bytes().await.unwrap().is_empty());
    assert_eq!(icon(&app, &alice, feed_id, Some("\"other\"")).await.status(), 200);

    let stranger = icon(&app, &mallory, feed_id, None).await;
    assert_eq!(stranger.status(), 404);
    let body: Value = stranger.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(icon(&app, &alice, feed_id + 1000, None).await.status(), 404);
    assert_eq!(app.get(&format!("/v1/feeds/{feed_id}/icon"), None).await.status(), 401);
}

async fn a_sites_icon_link_comes_before_its_favicon(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/linked.xml", rss_of_site(&server.url("/site/")), "application/rss+xml");
    server.set(
        "/site/",
        r#"<!DOCTYPE html><html><head><link rel="icon" href="img/site.ico"></head></html>"#.to_owned(),
        "text/html",
    );
    server.set("/site/img/site.ico", ico("linked"), "image/vnd.microsoft.icon");
    server.set("/favicon.ico", gif("favicon"), "image/gif");
    let token = app.user("alice").await;
    let feed_id = subscribe_one(&app, &token, server.url("/linked.xml")).await;
    wait_for_icon_lookup(&app, feed_id).await;
    let response = icon(&app, &token, feed_id, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/x-icon");
    assert_eq!(response.bytes().await.unwrap().as_ref(), ico("linked").as_bytes());
    assert_eq!(server.requests("/favicon.ico"), 0);
}

async fn without_an_icon_link_the_sites_favicon_is_used(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/plain.xml", rss_of_site(&server.url("/plain/")), "application/rss+xml");
    server.set(
        "/plain/",
        "<!DOCTYPE html><html><head></head></html>".to_owned(),
        "text/html",
    );
    server.set("/favicon.ico", gif("favicon"), "image/gif");
    let token = app.user("alice").await;
    let feed_id = subscribe_one(&app, &token, server.url("/plain.xml")).await;
    wait_for_icon_lookup(&app, feed_id).await;
    let response = icon(&app, &token, feed_id, None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.bytes().await.unwrap().as_ref(), gif("favicon").as_bytes());
    assert_eq!(server.requests("/plain/"), 1);
}

async fn a_non_image_or_an_oversize_icon_is_refused_and_the_feed_is_unharmed(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;
    // An HTML error page where the logo and the favicon should be.
    let pages = feed_server().await;
    pages.set("/feed.atom", atom_with_icon("/logo.gif"), "application/atom+xml");
    pages.set("/logo.gif", "<html>not found</html>".to_owned(), "text/html");
    pages.set("/favicon.ico", gif("but declared as html"), "text/html");
    // An image past the 256 KiB cap.
    let huge = feed_server().await;
    huge.set("/feed.atom", atom_with_icon("/logo.gif"), "application/atom+xml");
    huge.set("/logo.gif", gif(&"x".repeat(300 * 1024)), "image/gif");
    let not_image = subscribe_one(&app, &token, pages.url("/feed.atom")).await;
    let oversize = subscribe_one(&app, &token, huge.url("/feed.atom")).await;
    for feed_id in [not_image, oversize] {
        wait_for_icon_lookup(&app, feed_id).await;
        assert_eq!(icon(&app, &token, feed_id, None).await.status(), 404, "feed {feed_id}");
        let feed: Value = app
            .get(&format!("/v1/feeds/{feed_id}"), Some(&token))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(feed["status"], "ok", "{feed}");
    }
    assert_eq!(pages.requests("/favicon.ico"), 1);
    assert_eq!(huge.requests("/logo.gif"), 1);
}

crate::on_both_backends!(
    a_feeds_own_icon_is_served_with_an_etag_and_304_and_only_to_subscribers,
    a_sites_icon_link_comes_before_its_favicon,
    without_an_icon_link_the_sites_favicon_is_used,
    a_non_image_or_an_oversize_icon_is_refused_and_the_feed_is_unharmed,
);
