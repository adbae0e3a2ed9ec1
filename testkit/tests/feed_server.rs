//! The feed server: conditional answers for fixed documents, a new document at every request for generated ones.

use syndic_testkit::documents::titled::rss;
use syndic_testkit::feed_server::FeedServer;

#[tokio::test]
async fn a_fixed_document_answers_304_to_its_etag_and_counts_requests() {
    let server = FeedServer::start().await;
    server.set("/feed.xml", rss("a", 0, 2), "application/rss+xml");
    let client = reqwest::Client::new();
    let first = client.get(server.url("/feed.xml")).send().await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["content-type"], "application/rss+xml");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(first.text().await.unwrap(), rss("a", 0, 2));
    let again = client
        .get(server.url("/feed.xml"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    assert_eq!((server.requests("/feed.xml"), server.not_modified("/feed.xml")), (2, 1));
    let missing = client.get(server.url("/other.xml")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_generated_document_is_made_from_the_requests_before_it() {
    let server = FeedServer::start().await;
    server.set_generated("/moving.xml", "application/rss+xml", |earlier| {
        format!("request {earlier}")
    });
    let client = reqwest::Client::new();
    let mut bodies = Vec::new();
    for _ in 0..3 {
        let response = client
            .get(server.url("/moving.xml"))
            .header("if-none-match", "\"anything\"")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(response.headers().get("etag").is_none());
        bodies.push(response.text().await.unwrap());
    }
    assert_eq!(bodies, ["request 0", "request 1", "request 2"]);
    assert_eq!(server.requests("/moving.xml"), 3);
}
