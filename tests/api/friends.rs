//! Friends and profiles end to end: requests sent, crossed, accepted, declined and withdrawn; unfriending; a
//! friendship graph with its mutual friends; the user search's ranking; and who sees a display name or an email.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Backend, TestApp};

async fn status_and_body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn ask(app: &TestApp, token: &str, username: &str) -> (u16, Value) {
    status_and_body(
        app.post_json("/v1/friends/requests", Some(token), &json!({ "username": username }))
            .await,
    )
    .await
}

async fn accept(app: &TestApp, token: &str, username: &str) -> u16 {
    let path = format!("/v1/friends/requests/{username}/accept");
    app.post_json(&path, Some(token), &Value::Null).await.status().as_u16()
}

/// The usernames a listing holds under `key`, with the next cursor.
async fn names(app: &TestApp, token: &str, path: &str, key: &str) -> (Vec<String>, Value) {
    let (status, body) = status_and_body(app.get(path, Some(token)).await).await;
    assert_eq!(status, 200, "{path}: {body}");
    let names = body[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let user = if item.get("user").is_some() {
                &item["user"]
            } else {
                item
            };
            user["username"].as_str().unwrap().to_owned()
        })
        .collect();
    (names, body["next_cursor"].clone())
}

async fn friendship(app: &TestApp, token: &str, username: &str) -> String {
    let (status, body) = status_and_body(app.get(&format!("/v1/users/{username}"), Some(token)).await).await;
    assert_eq!(status, 200, "{body}");
    body["friendship"].as_str().unwrap().to_owned()
}

async fn befriend(app: &TestApp, tokens: &[String], first: usize, second: usize) {
    let (status, body) = ask(app, &tokens[first], &format!("user{second}")).await;
    assert_eq!((status, body["friendship"].as_str()), (201, Some("pending_sent")));
    assert_eq!(accept(app, &tokens[second], &format!("user{first}")).await, 204);
}

async fn a_request_is_sent_answered_or_withdrawn_and_bad_ones_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let carol = app.user("carol").await;
    let dave = app.user("dave").await;

    let (status, body) = ask(&app, &alice, "Bob").await;
    assert_eq!(
        (status, body["friendship"].as_str()),
        (201, Some("pending_sent")),
        "any case"
    );
    assert_eq!(ask(&app, &alice, "bob").await.0, 409, "twice");
    assert_eq!(
        ask(&app, &bob, "alice").await.1["friendship"],
        "friends",
        "asking back accepts"
    );
    assert_eq!(ask(&app, &bob, "alice").await.0, 409, "friends already");
    let (status, body) = ask(&app, &alice, "alice").await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("username")));
    let (status, body) = ask(&app, &alice, "nobody").await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let no_token = app
        .post_json("/v1/friends/requests", None, &json!({ "username": "bob" }))
        .await;
    assert_eq!(no_token.status(), 401);

    assert_eq!(ask(&app, &carol, "alice").await.0, 201);
    assert_eq!(ask(&app, &dave, "alice").await.0, 201);
    assert_eq!(ask(&app, &alice, "dave").await.1["friendship"], "friends");
    let (received, next) = names(&app, &alice, "/v1/friends/requests?direction=received", "requests").await;
    assert_eq!((received, next), (vec!["carol".to_owned()], Value::Null));
    let (sent, _) = names(&app, &carol, "/v1/friends/requests?direction=sent", "requests").await;
    assert_eq!(sent, ["alice"]);
    assert_eq!(friendship(&app, &carol, "alice").await, "pending_sent");
    assert_eq!(friendship(&app, &alice, "carol").await, "pending_received");
    assert_eq!(friendship(&app, &alice, "dave").await, "friends");
    assert_eq!(friendship(&app, &bob, "carol").await, "none");
    assert_eq!(app.get("/v1/users/nobody", Some(&bob)).await.status(), 404);
    let bad_direction = app.get("/v1/friends/requests?direction=sideways", Some(&alice)).await;
    assert_eq!(bad_direction.status(), 400);

    // Declined by alice, then asked again and withdrawn by carol.
    assert_eq!(app.delete("/v1/friends/requests/carol", &alice).await.status(), 204);
    assert_eq!(app.delete("/v1/friends/requests/carol", &alice).await.status(), 404);
    assert_eq!(accept(&app, &alice, "carol").await, 404, "nothing left to accept");
    assert_eq!(ask(&app, &carol, "alice").await.0, 201);
    assert_eq!(app.delete("/v1/friends/requests/alice", &carol).await.status(), 204);
    assert_eq!(friendship(&app, &alice, "carol").await, "none");

    let (friends, _) = names(&app, &alice, "/v1/friends", "friends").await;
    assert_eq!(friends, ["bob", "dave"]);
    assert_eq!(app.delete("/v1/friends/bob", &alice).await.status(), 204);
    assert_eq!(app.delete("/v1/friends/bob", &alice).await.status(), 404);
    assert_eq!(app.delete("/v1/friends/carol", &alice).await.status(), 404);
    assert_eq!(
        names(&app, &bob, "/v1/friends", "friends").await.0,
        Vec::<String>::new()
    );
    assert_eq!(names(&app, &alice, "/v1/friends", "friends").await.0, ["dave"]);
    let (status, body) = status_and_body(app.get("/v1/friends?limit=0", Some(&alice)).await).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("limit")));
}

async fn a_graph_of_ten_users_has_the_mutual_friends_it_was_built_with(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut tokens = Vec::new();
    for n in 0..10 {
        tokens.push(app.user(&format!("user{n}")).await);
    }
    // user0 befriends 1 to 6, user9 befriends 4 to 8, user1 befriends 2 and 9.
    for friend in 1..=6 {
        befriend(&app, &tokens, 0, friend).await;
    }
    for friend in 4..=8 {
        befriend(&app, &tokens, friend, 9).await;
    }
    befriend(&app, &tokens, 1, 2).await;
    befriend(&app, &tokens, 1, 9).await;

    let (status, mutual) = status_and_body(app.get("/v1/users/user9/mutual-friends", Some(&tokens[0])).await).await;
    assert_eq!(status, 200);
    let named: Vec<&str> = mutual["friends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|friend| friend["username"].as_str().unwrap())
        .collect();
    assert_eq!(
        (mutual["count"].as_u64(), named),
        (Some(4), vec!["user1", "user4", "user5", "user6"])
    );
    let (_, mutual) = status_and_body(app.get("/v1/users/user2/mutual-friends", Some(&tokens[9])).await).await;
    assert_eq!(
        (mutual["count"].as_u64(), mutual["friends"][0]["username"].as_str()),
        (Some(1), Some("user1"))
    );
    let (_, none) = status_and_body(app.get("/v1/users/user3/mutual-friends", Some(&tokens[8])).await).await;
    assert_eq!(none["count"], 0);
    assert_eq!(
        app.get("/v1/users/nobody/mutual-friends", Some(&tokens[0]))
            .await
            .status(),
        404
    );

    // user0's six friends, four to a page.
    let (first, cursor) = names(&app, &tokens[0], "/v1/friends?limit=4", "friends").await;
    assert_eq!(first, ["user1", "user2", "user3", "user4"]);
    let cursor = cursor.as_str().unwrap().to_owned();
    let (second, last) = names(
        &app,
        &tokens[0],
        &format!("/v1/friends?limit=4&cursor={cursor}"),
        "friends",
    )
    .await;
    assert_eq!(
        (second, last),
        (vec!["user5".to_owned(), "user6".to_owned()], Value::Null)
    );
}

async fn patch_profile(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    status_and_body(app.patch_json("/v1/me", token, &body).await).await
}

async fn search(app: &TestApp, token: &str, query: &str) -> Vec<(String, Value, Value)> {
    let (status, body) = status_and_body(app.get(&format!("/v1/users?q={query}"), Some(token)).await).await;
    assert_eq!(status, 200, "{body}");
    body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| {
            (
                user["username"].as_str().unwrap().to_owned(),
                user["display_name"].clone(),
                user["email"].clone(),
            )
        })
        .collect()
}

async fn the_search_ranks_prefixes_then_suffixes_then_the_rest_and_shows_only_what_users_allow(backend: Backend) {
    let app = spawn_app(backend).await;
    let searcher = app.user("searcher").await;
    let hannah = app.user("hannah").await;
    let joann = app.user("joann").await;
    let annabel = app.user("annabel").await;
    let zed = app.user("zed").await;
    let yves = app.user("yves").await;
    let hidden = app.user("quinn").await;
    for token in [&hannah, &joann] {
        assert_eq!(ask(&app, token, "searcher").await.0, 201);
    }
    assert_eq!(accept(&app, &searcher, "hannah").await, 204);
    assert_eq!(accept(&app, &searcher, "joann").await, 204);

    let (status, own) = patch_profile(&app, &zed, json!({ "display_name": "  Ann Smith " })).await;
    assert_eq!((status, own["display_name"].as_str()), (200, Some("Ann Smith")));
    assert_eq!(own["email_visibility"], "nobody", "hidden by default");
    patch_profile(
        &app,
        &yves,
        json!({ "display_name": "Ann Hidden", "visibility": { "display_name": "nobody" } }),
    )
    .await;
    patch_profile(
        &app,
        &hidden,
        json!({ "display_name": "Friendly Ann", "visibility": { "display_name": "friends" } }),
    )
    .await;
    for token in [&joann, &annabel] {
        let (status, own) = patch_profile(&app, token, json!({ "visibility": { "email": "friends" } })).await;
        assert_eq!((status, own["email_visibility"].as_str()), (200, Some("friends")));
    }

    let found = search(&app, &searcher, "ANN").await;
    let order: Vec<&str> = found.iter().map(|(name, ..)| name.as_str()).collect();
    // Prefixes (annabel; zed by display name), then suffixes (joann), then the rest (hannah); yves and quinn
    // hide their display names from the searcher.
    assert_eq!(order, ["annabel", "zed", "joann", "hannah"]);
    let email_of = |name: &str| found.iter().find(|(user, ..)| user == name).unwrap().2.clone();
    assert_eq!(email_of("joann"), "joann@example.com", "a friend who shows it");
    assert_eq!(email_of("annabel"), Value::Null, "shown to friends only");
    assert_eq!(email_of("hannah"), Value::Null, "a friend who hides it");
    assert_eq!(found[1].1, "Ann Smith");

    // quinn's display name is found by a friend only.
    assert_eq!(ask(&app, &hidden, "searcher").await.0, 201);
    assert_eq!(search(&app, &searcher, "friendly").await.len(), 0, "not a friend yet");
    assert_eq!(accept(&app, &searcher, "quinn").await, 204);
    let friendly = search(&app, &searcher, "friendly").await;
    assert_eq!(
        (friendly[0].0.as_str(), &friendly[0].1),
        ("quinn", &json!("Friendly Ann"))
    );
    assert!(search(&app, &searcher, "searcher").await.is_empty(), "never yourself");
    assert!(
        search(&app, &searcher, "a_b%").await.is_empty(),
        "wildcards match themselves"
    );

    let (status, body) = patch_profile(&app, &zed, json!({ "visibility": { "email": "everyone" } })).await;
    assert_eq!(
        (status, body["error"]["field"].as_str()),
        (422, Some("visibility.email"))
    );
    let (status, body) = patch_profile(&app, &zed, json!({ "display_name": "x".repeat(65) })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("display_name")));
    let (status, body) = patch_profile(&app, &zed, json!({ "visibility": { "display_name": "aliens" } })).await;
    assert_eq!(status, 400, "{body}");
    let (status, own) = patch_profile(&app, &zed, json!({ "display_name": null })).await;
    assert_eq!((status, &own["display_name"]), (200, &Value::Null));
    let (status, body) = status_and_body(app.get("/v1/users?q=%20", Some(&searcher)).await).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("q")));
    assert_eq!(app.get("/v1/users?q=ann", None).await.status(), 401);
}

crate::on_both_backends!(
    a_request_is_sent_answered_or_withdrawn_and_bad_ones_are_refused,
    a_graph_of_ten_users_has_the_mutual_friends_it_was_built_with,
    the_search_ranks_prefixes_then_suffixes_then_the_rest_and_shows_only_what_users_allow,
);
