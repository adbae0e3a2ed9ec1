//! Bulk marking: `POST /v1/articles/mark` marks whole feeds, ids or articles before a date read or unread,
//! starred or not, answers how many changed, and the unread counts (per feed, per category, the counters and the
//! timeline itself) agree with each other before and after.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Backend, TestApp};
use crate::organise::{json_of, organised, paged_titles, unread};

async fn mark(app: &TestApp, token: &str, body: Value) -> i64 {
    json_of(app.post_json("/v1/articles/mark", Some(token), &body).await, 200).await["marked"]
        .as_i64()
        .unwrap()
}

/// Every count the API gives agrees with the unread timeline, feed by feed and in total.
async fn assert_counts_agree(app: &TestApp, token: &str, feeds: &[i64]) -> i64 {
    let counters = json_of(app.get("/v1/counters", Some(token)).await, 200).await;
    let mut total = 0;
    for feed in feeds {
        let listed = paged_titles(app, token, &format!("status=unread&feed_id={feed}"))
            .await
            .len() as i64;
        assert_eq!(unread(app, token, *feed).await, listed, "feed {feed}");
        let counted = counters["feeds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|counter| counter["feed_id"] == *feed)
            .unwrap()["unread_count"]
            .as_i64()
            .unwrap();
        assert_eq!(counted, listed, "the counters of feed {feed}");
        total += listed;
    }
    assert_eq!(paged_titles(app, token, "status=unread").await.len() as i64, total);
    total
}

async fn bulk_mark_read_keeps_unread_counts_consistent(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, [a, b, c]) = organised(&app).await;
    let feeds = [a, b, c];
    // An article read one by one, and a starred one, before the bulk mark.
    let a_articles = app.timeline(&token, &format!("feed_id={a}")).await;
    let (read_one, starred_one) = (
        a_articles[0]["id"].as_i64().unwrap(),
        a_articles[1]["id"].as_i64().unwrap(),
    );
    json_of(
        app.patch_json(&format!("/v1/articles/{read_one}"), &token, &json!({"read": true}))
            .await,
        200,
    )
    .await;
    json_of(
        app.patch_json(
            &format!("/v1/articles/{starred_one}"),
            &token,
            &json!({"starred": true}),
        )
        .await,
        200,
    )
    .await;
    assert_counts_agree(&app, &token, &feeds).await;
    let (unread_a, unread_b, unread_c) = (
        unread(&app, &token, a).await,
        unread(&app, &token, b).await,
        unread(&app, &token, c).await,
    );
    assert!(
        unread_a > 0 && unread_b > 0 && unread_c > 0,
        "{unread_a} {unread_b} {unread_c}"
    );

    assert_eq!(
        mark(&app, &token, json!({"read": true, "category": "Tech"})).await,
        unread_a + unread_b
    );
    assert_eq!(assert_counts_agree(&app, &token, &feeds).await, unread_c);
    assert_eq!((unread(&app, &token, a).await, unread(&app, &token, b).await), (0, 0));
    let categories = json_of(app.get("/v1/categories", Some(&token)).await, 200).await;
    assert_eq!(categories["categories"][0]["unread_count"], 0);
    let starred = paged_titles(&app, &token, "status=all&starred=true").await;
    assert_eq!(starred, [a_articles[1]["title"].as_str().unwrap()], "stars stay");

    // One article marked unread again after the cutoff moved past it counts once.
    json_of(
        app.patch_json(&format!("/v1/articles/{read_one}"), &token, &json!({"read": false}))
            .await,
        200,
    )
    .await;
    assert_eq!(unread(&app, &token, a).await, 1);
    assert_counts_agree(&app, &token, &feeds).await;

    assert_eq!(mark(&app, &token, json!({"read": true, "feed_id": c})).await, unread_c);
    assert_eq!(
        mark(&app, &token, json!({"read": true, "feed_id": c})).await,
        0,
        "nothing left there"
    );
    assert_eq!(mark(&app, &token, json!({"read": true})).await, 1);
    assert_eq!(assert_counts_agree(&app, &token, &feeds).await, 0);

    // Another user's feeds are not theirs to mark.
    let bob = app.user("bob").await;
    assert_eq!(mark(&app, &bob, json!({"read": true, "feed_id": a})).await, 0);
}

/// The ids and publication times of a feed's articles, newest first.
async fn articles_of(app: &TestApp, token: &str, feed: i64) -> Vec<(i64, String)> {
    app.timeline(token, &format!("status=all&feed_id={feed}"))
        .await
        .iter()
        .map(|article| {
            (
                article["id"].as_i64().unwrap(),
                article["published_at"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn bulk_mark_by_ids_date_and_stars_counts_what_changed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, [a, b, c]) = organised(&app).await;
    let feeds = [a, b, c];
    let total = assert_counts_agree(&app, &token, &feeds).await;
    let (a_articles, b_articles) = (articles_of(&app, &token, a).await, articles_of(&app, &token, b).await);
    let picked = [a_articles[0].0, b_articles[0].0];

    // By ids; another user's ids are ignored, not counted, and not marked for them.
    let bob = app.user("bob").await;
    assert_eq!(mark(&app, &bob, json!({"read": true, "ids": picked})).await, 0);
    assert_eq!(mark(&app, &token, json!({"read": true, "ids": picked})).await, 2);
    assert_eq!(mark(&app, &token, json!({"read": true, "ids": picked})).await, 0);
    assert_eq!(assert_counts_agree(&app, &token, &feeds).await, total - 2);

    // Ids and a feed intersect: only a's article is starred and unread again.
    assert_eq!(
        mark(
            &app,
            &token,
            json!({"read": false, "starred": true, "ids": picked, "feed_id": a})
        )
        .await,
        1
    );
    assert_eq!(assert_counts_agree(&app, &token, &feeds).await, total - 1);
    let starred: Vec<i64> = app
        .timeline(&token, "status=all&starred=true")
        .await
        .iter()
        .map(|article| article["id"].as_i64().unwrap())
        .collect();
    assert_eq!(starred, [a_articles[0].0]);

    // Before a date, in a category: the articles of a and b published before the third newest of each.
    let (newest_a, newest_b) = (&a_articles[2].1, &b_articles[2].1);
    assert_eq!(newest_a, newest_b, "both feeds carry the same dates");
    let older = (a_articles.len() - 3) + (b_articles.len() - 3);
    let by_date = json!({"read": true, "category": "Tech", "before": newest_a});
    assert_eq!(mark(&app, &token, by_date.clone()).await, older as i64);
    assert_eq!(mark(&app, &token, by_date).await, 0);
    assert_eq!(
        assert_counts_agree(&app, &token, &feeds).await,
        total - 1 - older as i64
    );

    // Unstar everything, then everything unread: each counts only what changed.
    assert_eq!(mark(&app, &token, json!({"starred": false})).await, 1);
    assert_eq!(mark(&app, &token, json!({"starred": false})).await, 0);
    assert_eq!(mark(&app, &token, json!({"read": false})).await, 1 + older as i64);
    assert_eq!(assert_counts_agree(&app, &token, &feeds).await, total);
    assert_eq!(mark(&app, &token, json!({"read": true})).await, total);
    assert_eq!(assert_counts_agree(&app, &token, &feeds).await, 0);

    let too_many: Vec<i64> = (1..=1_001).collect();
    for (body, field) in [
        (json!({}), "read"),
        (json!({"feed_id": a}), "read"),
        (json!({"read": true, "ids": too_many}), "ids"),
        (json!({"read": true, "category": " "}), "category"),
    ] {
        let refused = json_of(app.post_json("/v1/articles/mark", Some(&token), &body).await, 422).await;
        assert_eq!(refused["error"]["field"], field, "{body}");
    }
}

crate::on_both_backends!(
    bulk_mark_read_keeps_unread_counts_consistent,
    bulk_mark_by_ids_date_and_stars_counts_what_changed,
);
