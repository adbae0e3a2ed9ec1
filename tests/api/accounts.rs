//! Accounts held against misuse: closed registration and invites, roles that no name grants, one identity per
//! name whatever its case or look-alike form, tokens of deleted users, and login throttling.

use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};
use syndic_actors::domain::NewInvite;

use crate::helpers::{spawn_app, Backend, TestApp};

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("every error has a JSON body");
    (status, body["error"].clone())
}

fn registration(name: &str, invite: Option<&str>) -> Value {
    let mut body =
        json!({"username": name, "email": format!("{name}@example.com"), "password": "correct horse battery"});
    if let Some(invite) = invite {
        body["invite"] = json!(invite);
    }
    body
}

async fn login(app: &TestApp, identifier: &str, password: &str, from: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .post(app.url("/v1/auth/login"))
        .json(&json!({"identifier": identifier, "password": password}));
    if let Some(address) = from {
        request = request.header("x-forwarded-for", address);
    }
    request.send().await.unwrap()
}

async fn closed_registration_needs_an_invite_that_works_once(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.stop().await;
    app.config.registration = syndic::config::RegistrationMode::Closed;
    app.restart().await;

    let (status, error) = error_of(
        app.post_json("/v1/auth/register", None, &registration("alice", None))
            .await,
    )
    .await;
    assert_eq!((status, error["field"].as_str()), (422, Some("invite")), "{error}");
    let (status, error) = error_of(
        app.post_json("/v1/auth/register", None, &registration("alice", Some("made-up")))
            .await,
    )
    .await;
    assert_eq!((status, error["field"].as_str()), (422, Some("invite")), "{error}");

    let (code, invite) = NewInvite::generate(Utc::now() + chrono::Duration::hours(1));
    app.database.store.create_invite(&invite).await.unwrap();
    let registered = app
        .post_json("/v1/auth/register", None, &registration("alice", Some(&code)))
        .await;
    assert_eq!(registered.status(), 201);
    let (status, error) = error_of(
        app.post_json("/v1/auth/register", None, &registration("bob", Some(&code)))
            .await,
    )
    .await;
    assert_eq!(
        (status, error["field"].as_str()),
        (422, Some("invite")),
        "an invite is spent once: {error}"
    );
    let bob = login(&app, "bob", "correct horse battery", None).await;
    assert_eq!(bob.status(), 401, "bob was not stored");
}

async fn registering_an_operators_name_gives_no_rights(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("root_admin").await;
    let (status, error) = error_of(app.get("/v1/admin/feeds", Some(&token)).await).await;
    assert_eq!((status, error["code"].as_str()), (403, Some("forbidden")));
    let me: Value = app.get("/v1/me", Some(&token)).await.json().await.unwrap();
    assert_eq!(me["role"], "user");
    // Only a grant gives the role, and the same token then works: rights are read from the database.
    app.make_admin("root_admin").await;
    assert_eq!(app.get("/v1/admin/feeds", Some(&token)).await.status(), 200);
    let me: Value = app.get("/v1/me", Some(&token)).await.json().await.unwrap();
    assert_eq!(me["role"], "admin");
}

async fn a_username_is_one_name_whatever_its_case_or_width(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("Alice").await;
    for taken in ["alice", "ALICE"] {
        let body =
            json!({"username": taken, "email": format!("{taken}@example.org"), "password": "correct horse battery"});
        let (status, error) = error_of(app.post_json("/v1/auth/register", None, &body).await).await;
        assert_eq!(
            (status, error["field"].as_str()),
            (409, Some("username")),
            "{taken}: {error}"
        );
    }
    // A full-width look-alike is not a username at all (the contract says ASCII)...
    let body = json!({"username": "Ａｌｉｃｅ", "email": "wide@example.org", "password": "correct horse battery"});
    let (status, error) = error_of(app.post_json("/v1/auth/register", None, &body).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("username")), "{error}");
    // ...and at login it is folded by NFKC to the name it looks like.
    for identifier in ["alice", "ALICE", "Ａｌｉｃｅ"] {
        assert_eq!(
            login(&app, identifier, "correct horse battery", None).await.status(),
            200,
            "{identifier}"
        );
    }
}

async fn look_alike_emails_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    // A zero-width space, a byte-order mark, and a Cyrillic а among Latin letters.
    for email in [
        "ali\u{200b}ce@example.com",
        "\u{feff}bob@example.com",
        "\u{430}lice@example.com",
        "eve@ex\u{430}mple.com",
    ] {
        let body = json!({"username": "someone", "email": email, "password": "correct horse battery"});
        let (status, error) = error_of(app.post_json("/v1/auth/register", None, &body).await).await;
        assert_eq!(
            (status, error["field"].as_str()),
            (422, Some("email")),
            "{email:?}: {error}"
        );
    }
}

async fn a_deleted_users_token_is_a_401_everywhere(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("gone").await;
    app.database.delete_user("gone").await;
    let subscribe = app
        .post_json(
            "/v1/feeds",
            Some(&token),
            &json!({"urls": ["http://127.0.0.1:9/feed.xml"]}),
        )
        .await;
    let (status, error) = error_of(subscribe).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (401, Some("unauthorized")),
        "POST /v1/feeds"
    );
    for path in [
        "/v1/me",
        "/v1/feeds",
        "/v1/articles",
        "/v1/feeds/1",
        "/v1/articles/1",
        "/v1/admin/feeds",
    ] {
        let (status, _) = error_of(app.get(path, Some(&token)).await).await;
        assert_eq!(status, 401, "{path}");
    }
    let patch = app.patch_json("/v1/articles/1", &token, &json!({"read": true})).await;
    assert_eq!(patch.status(), 401);
}

async fn repeated_wrong_passwords_are_slowed_with_retry_after(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("carol").await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let response = login(&app, "carol", "wrong password", None).await;
        if response.status() == 429 {
            let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
            assert!((1..=900).contains(&retry_after), "{retry_after}");
        }
        statuses.push(response.status().as_u16());
    }
    assert_eq!(&statuses[..5], &[401; 5], "five free failures: {statuses:?}");
    assert!(statuses[5..].contains(&429), "then attempts are refused: {statuses:?}");
    // Even the right password is not heard until the wait is over...
    let refused = login(&app, "carol", "correct horse battery", None).await;
    let retry_after: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    let (status, error) = error_of(refused).await;
    assert_eq!((status, error["code"].as_str()), (429, Some("rate_limited")));
    // ...and then it is.
    tokio::time::sleep(Duration::from_secs(retry_after) + Duration::from_millis(100)).await;
    assert_eq!(login(&app, "carol", "correct horse battery", None).await.status(), 200);
}

async fn a_stranger_cannot_lock_the_owner_out(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.stop().await;
    app.config.trust_forwarded_for = true;
    app.restart().await;
    app.user("dora").await;
    let home = "198.51.100.7";
    assert_eq!(
        login(&app, "dora", "correct horse battery", Some(home)).await.status(),
        200
    );
    // A botnet: one wrong password from each of 40 addresses, then a stranger hammering from one of them.
    for index in 0..40 {
        login(&app, "dora", "guess", Some(&format!("203.0.113.{index}"))).await;
    }
    for _ in 0..20 {
        login(&app, "dora", "guess", Some("203.0.113.1")).await;
    }
    assert_eq!(
        login(&app, "dora", "guess", Some("203.0.113.250")).await.status(),
        429,
        "new addresses wait"
    );
    assert_eq!(
        login(&app, "dora", "correct horse battery", Some(home)).await.status(),
        200,
        "the owner's own address still logs in"
    );
}

crate::on_both_backends!(
    closed_registration_needs_an_invite_that_works_once,
    registering_an_operators_name_gives_no_rights,
    a_username_is_one_name_whatever_its_case_or_width,
    look_alike_emails_are_refused,
    a_deleted_users_token_is_a_401_everywhere,
    repeated_wrong_passwords_are_slowed_with_retry_after,
    a_stranger_cannot_lock_the_owner_out,
);
