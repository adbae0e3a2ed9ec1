//! What the job and OPML tests do through the API: upload a document, wait for a job, read its results and
//! every subscription.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::TestApp;

/// A fixture from `fixtures/opml`, its feed URLs pointed at `server`.
pub fn fixture(name: &str, server: &str) -> Vec<u8> {
    let path = format!("{}/tests/api/fixtures/opml/{name}", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("read {path}: {error}"));
    // The placeholder is ASCII, so replacing it keeps any legacy encoding intact.
    let mut document = Vec::with_capacity(bytes.len() + 512);
    let mut rest = bytes.as_slice();
    while let Some(at) = rest.windows(10).position(|window| window == b"{{server}}") {
        document.extend_from_slice(&rest[..at]);
        document.extend_from_slice(server.as_bytes());
        rest = &rest[at + 10..];
    }
    document.extend_from_slice(rest);
    document
}

/// An OPML document listing `urls`, each in `folder` if one is given.
pub fn document(urls: &[String], folder: Option<&str>) -> Vec<u8> {
    let outlines: String = urls
        .iter()
        .map(|url| format!("<outline type=\"rss\" text=\"{url}\" xmlUrl=\"{url}\"/>\n"))
        .collect();
    let body = match folder {
        Some(folder) => format!("<outline text=\"{folder}\">\n{outlines}</outline>"),
        None => outlines,
    };
    format!("<?xml version=\"1.0\"?>\n<opml version=\"2.0\"><head/><body>\n{body}\n</body></opml>").into_bytes()
}

pub async fn post_opml(app: &TestApp, token: &str, document: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/v1/opml"))
        .bearer_auth(token)
        .header("content-type", "text/x-opml")
        .body(document)
        .send()
        .await
        .unwrap()
}

/// Starts an import and returns its job, checking the 202.
pub async fn import(app: &TestApp, token: &str, document: Vec<u8>) -> Value {
    let response = post_opml(app, token, document).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    response.json().await.unwrap()
}

pub async fn job(app: &TestApp, token: &str, id: i64) -> Value {
    let response = app.get(&format!("/v1/jobs/{id}"), Some(token)).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Waits until the job reaches `status`; fails the test after `seconds`, showing the job.
pub async fn wait_for_status(app: &TestApp, token: &str, id: i64, status: &str, seconds: u64) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
    loop {
        let job = job(app, token, id).await;
        if job["status"] == status {
            return job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {id} never became {status}: {job}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every per-item result of a job, following pages.
pub async fn items(app: &TestApp, token: &str, id: i64) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after = String::new();
    loop {
        let response = app
            .get(&format!("/v1/jobs/{id}/items?limit=1000{after}"), Some(token))
            .await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_after"].as_i64() {
            Some(next) => after = format!("&after={next}"),
            None => return items,
        }
    }
}

/// Every subscription of the user, oldest first.
pub async fn all_feeds(app: &TestApp, token: &str) -> Vec<Value> {
    let mut feeds = Vec::new();
    let mut cursor = String::new();
    loop {
        let response = app.get(&format!("/v1/feeds?limit=500{cursor}"), Some(token)).await;
        assert_eq!(response.status(), 200);
        let page: Value = response.json().await.unwrap();
        feeds.extend(page["feeds"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return feeds,
        }
    }
}
