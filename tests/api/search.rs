//! Searching the timeline end to end (`GET /v1/articles?q=`): what matches, best match first or newest first,
//! the search beside the other filters and the keyset cursor, only the reader's own feeds, and bad input named
//! in a 422.

use chrono::{DateTime, Utc};
use serde_json::json;
use syndic_testkit::documents::{Entry, Feed};

use crate::helpers::{feed_server, spawn_app, Backend, TestApp};
use crate::organise::{json_of, paged_titles, patch_feed};

fn date(n: usize) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + (n as i64) * 3600, 0).unwrap()
}

/// An Atom feed of entries given as (title, summary, content HTML), the first one newest.
fn written(name: &str, entries: &[(&str, &str, &str)]) -> String {
    let count = entries.len();
    let entries = entries
        .iter()
        .enumerate()
        .map(|(index, (title, summary, content))| Entry {
            id: format!("{name}-{index}"),
            title: (*title).to_owned(),
            link: format!("https://example.com/{name}/{index}"),
            published_at: date(count - index),
            author: None,
            summary: (!summary.is_empty()).then(|| (*summary).to_owned()),
            content_html: (!content.is_empty()).then(|| (*content).to_owned()),
            categories: Vec::new(),
        })
        .collect();
    Feed {
        title: name.to_owned(),
        id: format!("urn:{name}"),
        link: None,
        description: None,
        updated: date(count + 1),
        entries,
    }
    .atom()
}

/// The titles of one page of a search.
async fn titles(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let page = json_of(app.get(&format!("/v1/articles?{query}"), Some(token)).await, 200).await;
    page["articles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|article| article["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_search_ranks_title_hits_first_and_reads_only_the_readers_feeds(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    let news = written(
        "news",
        &[
            ("Weekly notes", "", "<p>Ferris the <b>crab</b> ships</p>"),
            ("Release", "The crab Ferris, again", ""),
            ("Ferris crab", "", "nothing else"),
            ("Gardening", "", r#"<a href="https://ferris.test/">a crab link</a>"#),
        ],
    );
    server.set("/news.xml", news, "application/atom+xml");
    server.set(
        "/other.xml",
        written("other", &[("Ferris crab elsewhere", "", "")]),
        "application/atom+xml",
    );
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    app.subscribe(&alice, &[server.url("/news.xml")]).await;
    app.subscribe(&bob, &[server.url("/other.xml")]).await;
    app.wait_for_timeline(&alice, 4).await;
    app.wait_for_timeline(&bob, 1).await;

    assert_eq!(
        titles(&app, &alice, "q=ferris%20crab").await,
        ["Ferris crab", "Release", "Weekly notes"],
        "title, then summary, then content; bob's feed and a link's address never match"
    );
    assert_eq!(
        titles(&app, &alice, "q=ferris%20crab&order=date").await,
        ["Weekly notes", "Release", "Ferris crab"]
    );
    assert_eq!(
        titles(&app, &alice, "q=%22crab%20ferris%22").await,
        ["Release"],
        "a phrase"
    );
    assert_eq!(
        titles(&app, &alice, "q=crab%20-ferris").await,
        ["Gardening"],
        "an excluded word"
    );
    assert_eq!(
        titles(&app, &alice, "q=ships%20OR%20link&order=date").await,
        ["Weekly notes", "Gardening"],
        "either word"
    );
    assert_eq!(titles(&app, &bob, "q=ferris").await, ["Ferris crab elsewhere"]);
}

async fn a_search_combines_with_category_and_feed_and_pages_every_match_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    // Titles with the word rank above content-only matches; texts repeat, so ranks tie and the id decides.
    let entries = |name: &str| -> Vec<(String, &str, &str)> {
        (0..7)
            .map(|n| {
                let title = if n % 2 == 0 {
                    format!("Rust {name}{n}")
                } else {
                    format!("Weekly {name}{n}")
                };
                (title, "", "<p>rust</p>")
            })
            .collect()
    };
    for name in ["x", "y"] {
        let owned = entries(name);
        let borrowed: Vec<(&str, &str, &str)> = owned.iter().map(|(t, s, c)| (t.as_str(), *s, *c)).collect();
        server.set(
            &format!("/{name}.xml"),
            written(name, &borrowed),
            "application/atom+xml",
        );
    }
    let token = app.user("alice").await;
    let subscribed = app
        .subscribe(&token, &[server.url("/x.xml"), server.url("/y.xml")])
        .await;
    let [x, y] = [0, 1].map(|index| subscribed[index]["feed_id"].as_i64().unwrap());
    app.wait_for_timeline(&token, 14).await;
    json_of(patch_feed(&app, &token, x, json!({"category": "Tech"})).await, 200).await;

    for order in ["relevance", "date"] {
        let whole = titles(&app, &token, &format!("q=rust&order={order}")).await;
        assert_eq!(whole.len(), 14, "{order}");
        let paged = paged_titles(&app, &token, &format!("q=rust&order={order}")).await;
        assert_eq!(paged, whole, "{order}: pages of three are the one page cut");
        let tech = paged_titles(&app, &token, &format!("q=rust&order={order}&category=Tech")).await;
        assert_eq!(tech.len(), 7, "{order}: {tech:?}");
        assert!(tech.iter().all(|title| title.contains(" x")), "{tech:?}");
        let of_y = paged_titles(&app, &token, &format!("q=rust&order={order}&feed_id={y}")).await;
        assert_eq!(of_y.len(), 7, "{order}: {of_y:?}");
        assert!(of_y.iter().all(|title| title.contains(" y")), "{of_y:?}");
    }
    let by_rank = titles(&app, &token, "q=rust").await;
    assert!(
        by_rank[..8].iter().all(|title| title.starts_with("Rust")),
        "{by_rank:?}"
    );
    let by_date = titles(&app, &token, "q=rust&order=date").await;
    let newest_first = titles(&app, &token, "status=all").await;
    assert_eq!(
        by_date, newest_first,
        "every article matches, so date order is the timeline"
    );
}

async fn bad_search_input_is_a_422_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;
    let long = "w".repeat(257);
    let relevance_cursor = {
        // A cursor of a relevance page, made as the server makes one, continues nothing in date order.
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("1700000000000000:5:0.25")
    };
    let date_cursor = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("1700000000000000:5")
    };
    for (query, field) in [
        ("q=%22unclosed".to_owned(), "q"),
        ("q=-only".to_owned(), "q"),
        ("q=%21%21%21".to_owned(), "q"),
        ("q=rust%20OR".to_owned(), "q"),
        (format!("q={long}"), "q"),
        ("order=relevance".to_owned(), "order"),
        (format!("q=rust&order=date&cursor={relevance_cursor}"), "cursor"),
        (format!("q=rust&cursor={date_cursor}"), "cursor"),
        (format!("cursor={relevance_cursor}"), "cursor"),
    ] {
        let refused = json_of(app.get(&format!("/v1/articles?{query}"), Some(&token)).await, 422).await;
        assert_eq!(refused["error"]["field"], field, "{query}: {refused}");
    }
    // An order that is not one of the two does not parse, as any unknown enum value.
    let unparsed = json_of(app.get("/v1/articles?q=rust&order=sideways", Some(&token)).await, 400).await;
    assert!(
        unparsed["error"]["message"].as_str().unwrap().contains("order"),
        "{unparsed}"
    );
}

crate::on_both_backends!(
    a_search_ranks_title_hits_first_and_reads_only_the_readers_feeds,
    a_search_combines_with_category_and_feed_and_pages_every_match_once,
    bad_search_input_is_a_422_naming_the_field,
);
