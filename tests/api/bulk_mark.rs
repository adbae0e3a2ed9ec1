//! Bulk marking: `POST /v1/articles/mark` marks whole feeds read, and the unread counts (per feed, per
//! category, the counters and the timeline itself) agree with each other before and after.

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
    for (body, field) in [
        (json!({"read": false}), "read"),
        (json!({}), "read"),
        (json!({"read": true, "starred": true}), "starred"),
        (json!({"read": true, "ids": [1]}), "ids"),
        (json!({"read": true, "before": "2026-01-01T00:00:00Z"}), "before"),
        (json!({"read": true, "category": " "}), "category"),
    ] {
        let refused = json_of(app.post_json("/v1/articles/mark", Some(&token), &body).await, 422).await;
        assert_eq!(refused["error"]["field"], field, "{body}");
    }
}

crate::on_both_backends!(bulk_mark_read_keeps_unread_counts_consistent);
