//! OPML import and export end to end: real export shapes, malformed documents, round trips, and 5,000 feeds in
//! one request with progress streamed live on `GET /v1/events`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::helpers::{eventually, feed_server, spawn_app, spawn_app_configured, Backend, TestSettings};
use crate::job_client::{all_feeds, document, fixture, import, items, post_opml, wait_for_status};
use crate::sse::SseReader;

/// Each feed's category (its OPML folder), by URL.
fn folders(feeds: &[Value]) -> BTreeMap<String, Option<String>> {
    feeds
        .iter()
        .map(|feed| {
            (
                feed["url"].as_str().unwrap().to_owned(),
                feed["category"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

/// A feed's path on the feed server, and the folder it should land in.
type ExpectedFeed = (&'static str, Option<&'static str>);

fn expected(server: &str, feeds: &[ExpectedFeed]) -> BTreeMap<String, Option<String>> {
    feeds
        .iter()
        .map(|(path, folder)| (format!("{server}{path}"), folder.map(str::to_owned)))
        .collect()
}

async fn every_real_export_shape_imports_each_feed_once_in_its_folder(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    let base = server.url("");
    let cases: [(&str, Vec<ExpectedFeed>); 5] = [
        (
            "miniflux.opml",
            vec![
                ("/miniflux/release.xml", Some("All")),
                ("/miniflux/tom-and-jerry.xml", Some("All")),
                ("/miniflux/rust.xml?format=atom&lang=en", Some("Programming")),
            ],
        ),
        (
            "freshrss.opml",
            vec![
                ("/freshrss/releases.atom", Some("Sans catégorie")),
                ("/freshrss/lemonde.xml", Some("Actualités")),
                ("/freshrss/scraped.html", Some("Actualités")),
            ],
        ),
        (
            "feedly.opml",
            vec![
                ("/feedly/overreacted.xml", Some("Programming")),
                ("/feedly/jvns.xml", Some("Programming")),
                ("/feedly/videos.xml?channel_id=UC6nSFpj9HTCZ5t-N3Rm3-HA", Some("Videos")),
            ],
        ),
        (
            "netnewswire.opml",
            vec![
                ("/netnewswire/feed.json", None),
                ("/netnewswire/df.xml", None),
                ("/netnewswire/sixcolors.xml", Some("Apple")),
                ("/netnewswire/inessential.xml", Some("Apple / Nested")),
            ],
        ),
        (
            "inoreader.opml",
            vec![
                ("/inoreader/coffee.xml", Some("Café culture")),
                ("/inoreader/tea.xml", Some("Café culture")),
                ("/inoreader/untitled.xml", None),
            ],
        ),
    ];
    for (index, (name, feeds)) in cases.iter().enumerate() {
        let token = app.user(&format!("reader{index}")).await;
        let job = import(&app, &token, fixture(name, &base)).await;
        assert_eq!(
            (job["kind"].as_str(), job["status"].as_str()),
            (Some("opml_import"), Some("pending"))
        );
        assert_eq!(job["total"], feeds.len(), "{name}");
        let done = wait_for_status(&app, &token, job["id"].as_i64().unwrap(), "done", 20).await;
        assert_eq!(done["done"], feeds.len(), "{name}");
        assert_eq!(done["attempts"], 1, "{name}");
        let results = items(&app, &token, job["id"].as_i64().unwrap()).await;
        assert_eq!(results.len(), feeds.len(), "{name}");
        for (position, item) in results.iter().enumerate() {
            assert_eq!(item["position"], position);
            assert_eq!(item["result"]["status"], "pending", "{name}: {item}");
            assert!(item["result"]["feed_id"].is_i64(), "{name}: {item}");
        }
        assert_eq!(
            folders(&all_feeds(&app, &token).await),
            expected(&base, feeds),
            "{name}"
        );
    }
}

async fn a_malformed_document_gets_a_422_naming_the_line_and_column(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;
    let broken =
        b"<?xml version=\"1.0\"?>\n<opml>\n<body>\n  <outline xmlUrl=\"https://example.com/feed\">\n</body>\n</opml>";
    let response = post_opml(&app, &token, broken.to_vec()).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["field"], "opml");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("line 5, column "), "{message}");

    let entities = b"<?xml version=\"1.0\"?>\n<!DOCTYPE opml [<!ENTITY a \"aaaa\">]>\n<opml><body/></opml>";
    let body: Value = post_opml(&app, &token, entities.to_vec()).await.json().await.unwrap();
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 2, column 1: a DOCTYPE"),
        "{body}"
    );
    let body: Value = post_opml(&app, &token, b"<opml><body/></opml>".to_vec())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["error"]["code"], "validation_failed",
        "a document without feeds: {body}"
    );

    let oversized = vec![b' '; 4 * 1024 * 1024 + 1];
    let response = post_opml(&app, &token, oversized).await;
    assert_eq!(response.status(), 413, "the body cap holds");

    let anonymous = app
        .client
        .post(app.url("/v1/opml"))
        .header("content-type", "text/x-opml")
        .body(document(&["https://example.com/feed".to_owned()], None))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(all_feeds(&app, &token).await.is_empty(), "nothing was subscribed");
}

async fn an_export_round_trips_through_import_at_once_or_as_a_job(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    let alice = app.user("alice").await;
    let job = import(&app, &alice, fixture("netnewswire.opml", &server.url(""))).await;
    wait_for_status(&app, &alice, job["id"].as_i64().unwrap(), "done", 20).await;
    let job = import(&app, &alice, fixture("miniflux.opml", &server.url(""))).await;
    wait_for_status(&app, &alice, job["id"].as_i64().unwrap(), "done", 20).await;
    let alices = folders(&all_feeds(&app, &alice).await);

    let response = app.get("/v1/opml", Some(&alice)).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/x-opml"));
    let export = response.bytes().await.unwrap().to_vec();
    let bob = app.user("bob").await;
    let job = import(&app, &bob, export.clone()).await;
    wait_for_status(&app, &bob, job["id"].as_i64().unwrap(), "done", 20).await;
    assert_eq!(
        folders(&all_feeds(&app, &bob).await),
        alices,
        "bob's import of alice's export"
    );

    let response = app.get("/v1/opml?async=true", Some(&alice)).await;
    assert_eq!(response.status(), 202);
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["kind"], "opml_export");
    let done = wait_for_status(&app, &alice, job["id"].as_i64().unwrap(), "done", 20).await;
    assert_eq!(done["result"]["feeds"], alices.len());
    let result_url = done["result_url"].as_str().expect("a document to download");
    let downloaded = app.get(result_url, Some(&alice)).await;
    assert_eq!(downloaded.status(), 200);
    let without_date = |document: &[u8]| {
        String::from_utf8(document.to_vec())
            .unwrap()
            .lines()
            .filter(|line| !line.contains("dateCreated"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_date(&downloaded.bytes().await.unwrap()), without_date(&export));
    assert_eq!(
        app.get(result_url, Some(&bob)).await.status(),
        404,
        "another user's document"
    );
}

const MANY: usize = 5_000;

async fn five_thousand_feeds_import_in_one_request_with_live_progress(backend: Backend) {
    let app = spawn_app_configured(backend, TestSettings::default(), |config| config.job_chunk_size = 100).await;
    let token = app.user("alice").await;
    // Nothing listens on port 9: each feed's first poll fails at once, and is retried much later.
    let urls: Vec<String> = (0..MANY)
        .map(|index| format!("http://127.0.0.1:9/feed/{index}"))
        .collect();
    let response = app
        .client
        .get(app.url("/v1/events?types=job.progress,job.done"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut stream = SseReader::new(response);
    eventually(10, "the stream to open", || async {
        app.engine().events().streams().open_count() == 1
    })
    .await;
    let job = import(&app, &token, document(&urls, Some("Big"))).await;
    let id = job["id"].as_i64().unwrap();
    let mut progress = Vec::new();
    let finished = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let message = stream.expect().await;
            assert_eq!(message.data["job_id"], id);
            match message.event.as_str() {
                "job.progress" => {
                    assert_eq!(message.data["total"], MANY);
                    progress.push(message.data["done"].as_u64().unwrap());
                }
                "job.done" => return message.data["status"].clone(),
                other => panic!("an event the filter excludes: {other}"),
            }
        }
    })
    .await
    .expect("the import finishes within two minutes");
    assert_eq!(finished, "done");
    assert!(progress.len() >= 2, "progress arrived step by step: {progress:?}");
    assert!(
        progress.windows(2).all(|pair| pair[0] < pair[1]),
        "progress only grows: {progress:?}"
    );
    assert_eq!(progress.last(), Some(&(MANY as u64)));

    let done = wait_for_status(&app, &token, id, "done", 10).await;
    assert_eq!(done["result"]["counts"]["pending"], MANY);
    let feeds = all_feeds(&app, &token).await;
    assert_eq!(feeds.len(), MANY);
    assert!(feeds.iter().all(|feed| feed["category"] == "Big"));
}

crate::on_both_backends!(
    every_real_export_shape_imports_each_feed_once_in_its_folder,
    a_malformed_document_gets_a_422_naming_the_line_and_column,
    an_export_round_trips_through_import_at_once_or_as_a_job,
    five_thousand_feeds_import_in_one_request_with_live_progress,
);
