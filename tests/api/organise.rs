//! Organising subscriptions end to end: a feed's own title, category and tags; the category and tag listings
//! with their counts; the counters; the timeline's filters, alone, together, with keyset paging and beside the
//! cached first page; and every bad input named in a 4xx.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use syndic_testkit::documents::{titled, Entry, Feed};

use crate::helpers::{feed_server, spawn_app, Backend, TestApp};

/// When entry `n` of a `titled` feed was published, as `titled` dates them.
fn date(n: usize) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + (n as i64) * 3600, 0).unwrap()
}

/// An Atom feed of `count` entries, `t n` published at `date(n)`, the even ones by Ann Lee.
fn authored(title: &str, count: usize) -> String {
    let entries = (0..count)
        .rev()
        .map(|n| Entry {
            id: format!("{title}-{n}"),
            title: format!("{title} {n}"),
            link: format!("https://example.com/{title}/{n}"),
            published_at: date(n),
            author: Some(if n % 2 == 0 { "Ann Lee" } else { "Bo Chen" }.to_owned()),
            summary: None,
            content_html: None,
            categories: Vec::new(),
        })
        .collect();
    Feed {
        title: title.to_owned(),
        id: format!("urn:{title}"),
        link: None,
        description: None,
        updated: date(count),
        entries,
    }
    .atom()
}

pub(crate) async fn patch_feed(app: &TestApp, token: &str, feed: i64, body: Value) -> reqwest::Response {
    app.patch_json(&format!("/v1/feeds/{feed}"), token, &body).await
}

pub(crate) async fn json_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status, "{:?}", response.url().path());
    response.json().await.unwrap()
}

/// Three feeds of ten articles each, `a` and `b` in the category Tech, `a` and `c` tagged rust; `c`'s articles
/// have authors. Answers the token and the feeds' ids.
pub(crate) async fn organised(app: &TestApp) -> (String, [i64; 3]) {
    let server = feed_server().await;
    server.set("/a.xml", titled::rss("a", 0, 10), "application/rss+xml");
    server.set("/b.xml", titled::rss("b", 0, 10), "application/rss+xml");
    server.set("/c.xml", authored("c", 10), "application/atom+xml");
    let token = app.user("alice").await;
    let results = app
        .subscribe(
            &token,
            &[server.url("/a.xml"), server.url("/b.xml"), server.url("/c.xml")],
        )
        .await;
    let ids: Vec<i64> = results
        .iter()
        .map(|result| result["feed_id"].as_i64().unwrap())
        .collect();
    app.wait_for_timeline(&token, 30).await;
    let [a, b, c] = [ids[0], ids[1], ids[2]];
    json_of(
        patch_feed(app, &token, a, json!({"category": "Tech", "tags": ["rust", "db"]})).await,
        200,
    )
    .await;
    json_of(patch_feed(app, &token, b, json!({"category": "Tech"})).await, 200).await;
    json_of(patch_feed(app, &token, c, json!({"tags": ["rust"]})).await, 200).await;
    (token, [a, b, c])
}

/// Every article a query lists, three at a time through the keyset cursor, as titles.
pub(crate) async fn paged_titles(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let mut titles = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = json_of(
            app.get(&format!("/v1/articles?limit=3&{query}{cursor}"), Some(token))
                .await,
            200,
        )
        .await;
        let articles = page["articles"].as_array().unwrap();
        assert!(articles.len() <= 3);
        titles.extend(
            articles
                .iter()
                .map(|article| article["title"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => return titles,
        }
    }
}

/// The titles `feed n` for each feed and each `n` in `numbers`, sorted: feeds publish at the same times, and
/// the timeline orders those ties by article id, which depends on which feed was stored first.
fn titles_of(feeds: &[&str], numbers: std::ops::Range<usize>) -> Vec<String> {
    sorted(
        numbers
            .flat_map(|n| feeds.iter().map(move |feed| format!("{feed} {n}")))
            .collect(),
    )
}

fn sorted(mut titles: Vec<String>) -> Vec<String> {
    titles.sort();
    titles
}

async fn a_feed_takes_its_own_title_a_category_and_tags_and_the_listings_count_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, [a, b, c]) = organised(&app).await;
    let patched = json_of(patch_feed(&app, &token, a, json!({"title": "Alpha"})).await, 200).await;
    assert_eq!(patched["title"], "Alpha");
    assert_eq!(patched["feed_title"], "a");
    assert_eq!(patched["category"], "Tech", "a title alone leaves the category");
    assert_eq!(patched["tags"], json!(["db", "rust"]));
    let timeline = app.timeline(&token, &format!("feed_id={a}")).await;
    assert!(
        timeline.iter().all(|article| article["feed_title"] == "Alpha"),
        "articles show the own title"
    );

    let categories = json_of(app.get("/v1/categories", Some(&token)).await, 200).await;
    let tech = &categories["categories"][0];
    assert_eq!(
        (tech["name"].clone(), tech["feed_count"].clone()),
        (json!("Tech"), json!(2))
    );
    let (unread_a, unread_b, unread_c) = (
        unread(&app, &token, a).await,
        unread(&app, &token, b).await,
        unread(&app, &token, c).await,
    );
    assert_eq!(tech["unread_count"], unread_a + unread_b);
    let tags = json_of(app.get("/v1/tags", Some(&token)).await, 200).await;
    assert_eq!(
        tags["tags"],
        json!([{"name": "db", "feed_count": 1}, {"name": "rust", "feed_count": 2}])
    );
    let first = json_of(app.get("/v1/tags?limit=1", Some(&token)).await, 200).await;
    assert_eq!(first["tags"], json!([{"name": "db", "feed_count": 1}]));
    let rest = json_of(
        app.get(
            &format!("/v1/tags?limit=1&cursor={}", first["next_cursor"].as_str().unwrap()),
            Some(&token),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(rest["tags"][0]["name"], "rust");

    let counters = json_of(app.get("/v1/counters", Some(&token)).await, 200).await;
    let tech_id = tech["id"].as_i64().unwrap();
    assert_eq!(
        counters,
        json!({
            "feeds": [
                {"feed_id": a, "unread_count": unread_a},
                {"feed_id": b, "unread_count": unread_b},
                {"feed_id": c, "unread_count": unread_c},
            ],
            "categories": [{"category_id": tech_id, "unread_count": unread_a + unread_b}],
        })
    );

    let renamed = json_of(
        app.patch_json(&format!("/v1/categories/{tech_id}"), &token, &json!({"name": "Dev"}))
            .await,
        200,
    )
    .await;
    assert_eq!(renamed["name"], "Dev");
    assert_eq!(
        json_of(app.get(&format!("/v1/feeds/{b}"), Some(&token)).await, 200).await["category"],
        "Dev"
    );
    let news = json_of(
        app.post_json("/v1/categories", Some(&token), &json!({"name": "News"}))
            .await,
        201,
    )
    .await;
    assert_eq!(
        (news["feed_count"].clone(), news["unread_count"].clone()),
        (json!(0), json!(0))
    );
    let taken = json_of(
        app.patch_json(&format!("/v1/categories/{tech_id}"), &token, &json!({"name": "News"}))
            .await,
        409,
    )
    .await;
    assert_eq!(taken["error"]["field"], "name");
    json_of(
        app.post_json("/v1/categories", Some(&token), &json!({"name": "News"}))
            .await,
        409,
    )
    .await;

    assert_eq!(
        app.delete(&format!("/v1/categories/{tech_id}"), &token).await.status(),
        204
    );
    let feed_b = json_of(app.get(&format!("/v1/feeds/{b}"), Some(&token)).await, 200).await;
    assert_eq!(
        (feed_b["category"].clone(), feed_b["category_id"].clone()),
        (Value::Null, Value::Null)
    );
    let cleared = json_of(
        patch_feed(&app, &token, a, json!({"title": null, "tags": []})).await,
        200,
    )
    .await;
    assert_eq!(
        (cleared["title"].clone(), cleared["tags"].clone()),
        (json!("a"), json!([]))
    );
}

async fn organising_refuses_bad_input_naming_the_field_and_keeps_users_apart(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, [a, _, _]) = organised(&app).await;
    let too_many: Vec<String> = (0..51).map(|n| format!("t{n}")).collect();
    for (body, field) in [
        (json!({"category": "  "}), "category"),
        (json!({"category": "x".repeat(1025)}), "category"),
        (json!({"title": ""}), "title"),
        (json!({"tags": ["ok", " "]}), "tags"),
        (json!({"tags": ["x".repeat(101)]}), "tags"),
        (json!({"tags": too_many}), "tags"),
        (json!({}), "title"),
    ] {
        let refused = json_of(patch_feed(&app, &token, a, body.clone()).await, 422).await;
        assert_eq!(refused["error"]["field"], field, "{body}");
    }
    let refused = json_of(
        app.post_json("/v1/categories", Some(&token), &json!({"name": "\t"}))
            .await,
        422,
    )
    .await;
    assert_eq!(refused["error"]["field"], "name");
    for query in [
        "category=%20",
        "tag=",
        "author=%20",
        "since=2024-01-02T00:00:00Z&until=2024-01-01T00:00:00Z",
    ] {
        let refused = json_of(app.get(&format!("/v1/articles?{query}"), Some(&token)).await, 422).await;
        assert!(refused["error"]["field"].is_string(), "{query}: {refused}");
    }
    json_of(patch_feed(&app, &token, 999_999, json!({"title": "x"})).await, 404).await;

    let bob = app.user("bob").await;
    json_of(patch_feed(&app, &bob, a, json!({"title": "mine"})).await, 404).await;
    let categories = json_of(app.get("/v1/categories", Some(&token)).await, 200).await;
    let tech = categories["categories"][0]["id"].as_i64().unwrap();
    json_of(app.get(&format!("/v1/categories/{tech}"), Some(&bob)).await, 404).await;
    json_of(
        app.patch_json(&format!("/v1/categories/{tech}"), &bob, &json!({"name": "x"}))
            .await,
        404,
    )
    .await;
    assert_eq!(app.delete(&format!("/v1/categories/{tech}"), &bob).await.status(), 404);
    let bobs = json_of(app.get("/v1/categories", Some(&bob)).await, 200).await;
    assert_eq!(bobs["categories"], json!([]));
    assert_eq!(
        json_of(app.get("/v1/tags", Some(&bob)).await, 200).await["tags"],
        json!([])
    );
    assert_eq!(
        paged_titles(&app, &bob, "status=all&category=Tech").await,
        Vec::<String>::new(),
        "alice's category is not bob's"
    );
}

async fn timeline_filters_combine_with_each_other_and_with_keyset_paging(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, [a, _, c]) = organised(&app).await;
    assert_eq!(
        sorted(paged_titles(&app, &token, "status=all&category=Tech").await),
        titles_of(&["a", "b"], 0..10)
    );
    assert_eq!(
        sorted(paged_titles(&app, &token, "status=all&tag=rust").await),
        titles_of(&["a", "c"], 0..10)
    );
    assert_eq!(
        sorted(paged_titles(&app, &token, "status=all&category=Tech&tag=rust").await),
        titles_of(&["a"], 0..10)
    );
    let (since, until) = (date(3).to_rfc3339(), date(7).to_rfc3339());
    let window = format!("since={}&until={}", urlencode(&since), urlencode(&until));
    assert_eq!(
        sorted(paged_titles(&app, &token, &format!("status=all&{window}")).await),
        titles_of(&["a", "b", "c"], 3..7)
    );
    assert_eq!(
        sorted(paged_titles(&app, &token, &format!("status=all&category=Tech&{window}")).await),
        titles_of(&["a", "b"], 3..7)
    );
    assert_eq!(
        sorted(paged_titles(&app, &token, "status=all&author=ann%20LEE").await),
        sorted(["c 0", "c 2", "c 4", "c 6", "c 8"].map(str::to_owned).to_vec())
    );
    assert_eq!(
        paged_titles(&app, &token, &format!("status=all&author=Ann%20Lee&tag=rust&{window}")).await,
        ["c 6", "c 4"].map(str::to_owned).to_vec()
    );
    assert_eq!(
        paged_titles(&app, &token, "status=all&category=Nothing").await,
        Vec::<String>::new()
    );

    // Starred articles are read from the marks: the filters apply there too.
    for feed in [a, c] {
        let newest = &app.timeline(&token, &format!("feed_id={feed}")).await[0];
        let id = newest["id"].as_i64().unwrap();
        json_of(
            app.patch_json(&format!("/v1/articles/{id}"), &token, &json!({"starred": true}))
                .await,
            200,
        )
        .await;
    }
    assert_eq!(
        paged_titles(&app, &token, "status=all&starred=true&category=Tech").await,
        ["a 9"]
    );
    assert_eq!(
        sorted(paged_titles(&app, &token, "status=all&starred=true&tag=rust").await),
        ["a 9", "c 9"]
    );
}

async fn a_filtered_first_page_neither_comes_from_nor_goes_into_the_timeline_cache(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, _) = organised(&app).await;
    let first_page = |query: &'static str| {
        let app = &app;
        let token = &token;
        async move {
            let page = json_of(app.get(&format!("/v1/articles{query}"), Some(token)).await, 200).await;
            page["articles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|article| article["title"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    // The default first page twice: the second is the cached one.
    let unfiltered = first_page("").await;
    assert_eq!(unfiltered.len(), 30);
    assert_eq!(first_page("").await, unfiltered);
    assert_eq!(
        sorted(first_page("?category=Tech").await),
        titles_of(&["a", "b"], 0..10)
    );
    assert_eq!(sorted(first_page("?tag=rust").await), titles_of(&["a", "c"], 0..10));
    assert_eq!(
        first_page("").await,
        unfiltered,
        "a filtered page was not cached as the default one"
    );
}

pub(crate) async fn unread(app: &TestApp, token: &str, feed: i64) -> i64 {
    json_of(app.get(&format!("/v1/feeds/{feed}"), Some(token)).await, 200).await["unread_count"]
        .as_i64()
        .unwrap()
}

fn urlencode(value: &str) -> String {
    value.replace(':', "%3A").replace('+', "%2B")
}

crate::on_both_backends!(
    a_feed_takes_its_own_title_a_category_and_tags_and_the_listings_count_them,
    organising_refuses_bad_input_naming_the_field_and_keeps_users_apart,
    timeline_filters_combine_with_each_other_and_with_keyset_paging,
    a_filtered_first_page_neither_comes_from_nor_goes_into_the_timeline_cache,
);
