//! Sessions over HTTP: refresh-token rotation and theft detection, revocation, the cap of five, and logout.
//! Forged tokens are in `token_attacks`.

use serde_json::{json, Value};
use syndic_testkit::api_client::PASSWORD;

use crate::helpers::{spawn_app, Backend, TestApp};

/// Logs in; returns the whole answer (access token, refresh token).
async fn sign_in(app: &TestApp, name: &str) -> Value {
    let response = app
        .post_json(
            "/v1/auth/login",
            None,
            &json!({"identifier": name, "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

async fn refresh(app: &TestApp, refresh_token: &Value) -> reqwest::Response {
    app.post_json("/v1/auth/refresh", None, &json!({ "refresh_token": refresh_token }))
        .await
}

async fn status_of_me(app: &TestApp, token: &Value) -> u16 {
    app.get("/v1/me", token.as_str()).await.status().as_u16()
}

async fn sessions(app: &TestApp, token: &Value) -> Vec<Value> {
    let response = app.get("/v1/sessions", token.as_str()).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["sessions"].as_array().unwrap().clone()
}

async fn a_refresh_token_rotates_and_its_reuse_revokes_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("alice").await;
    let first = sign_in(&app, "alice").await;
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], 15 * 60, "access tokens are short-lived by default");

    let response = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(response.status(), 200);
    let second: Value = response.json().await.unwrap();
    assert_ne!(
        second["refresh_token"], first["refresh_token"],
        "the refresh token rotates"
    );
    assert_eq!(status_of_me(&app, &second["access_token"]).await, 200);

    // The first refresh token was spent: presenting it again is what a thief would do.
    let reused = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(reused.status(), 401);
    let error: Value = reused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unauthorized");
    // The whole family is revoked: the legitimate holder's newer tokens stop too.
    assert_eq!(refresh(&app, &second["refresh_token"]).await.status(), 401);
    assert_eq!(status_of_me(&app, &second["access_token"]).await, 401);
    assert_eq!(status_of_me(&app, &first["access_token"]).await, 401);

    // Garbage and a missing token are refused as well.
    assert_eq!(refresh(&app, &json!("not a token")).await.status(), 401);
    let missing = app.post_json("/v1/auth/refresh", None, &json!({})).await;
    assert_eq!(missing.status(), 400, "a missing field is malformed input");
}

async fn a_revoked_session_is_refused_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("alice").await;
    let laptop = sign_in(&app, "alice").await;
    let phone = sign_in(&app, "alice").await;
    let listed = sessions(&app, &laptop["access_token"]).await;
    assert_eq!(listed.len(), 3, "registering signed in once too");
    let current: Vec<&Value> = listed.iter().filter(|session| session["current"] == true).collect();
    assert_eq!(current.len(), 1, "{listed:?}");
    assert!(listed
        .iter()
        .all(|session| session["ip"] == "127.0.0.1" && session["created_at"].is_string()));
    let from_phone = sessions(&app, &phone["access_token"]).await;
    let phone_session = from_phone.iter().find(|session| session["current"] == true).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(current[0]["id"], json!(phone_session));

    let revoked = app
        .delete(
            &format!("/v1/sessions/{phone_session}"),
            laptop["access_token"].as_str().unwrap(),
        )
        .await;
    assert_eq!(revoked.status(), 204);
    assert_eq!(
        status_of_me(&app, &phone["access_token"]).await,
        401,
        "at once, not at expiry"
    );
    assert_eq!(refresh(&app, &phone["refresh_token"]).await.status(), 401);
    assert_eq!(status_of_me(&app, &laptop["access_token"]).await, 200);

    let laptop_token = laptop["access_token"].as_str().unwrap();
    let again = app.delete(&format!("/v1/sessions/{phone_session}"), laptop_token).await;
    assert_eq!(again.status(), 404);
    let garbage = app.delete("/v1/sessions/not-a-uuid", laptop_token).await;
    assert_eq!(garbage.status(), 400);

    // Another user cannot revoke alice's session.
    let bob = app.user("bob").await;
    let laptop_session = current[0]["id"].as_str().unwrap().to_owned();
    let theirs = app.delete(&format!("/v1/sessions/{laptop_session}"), &bob).await;
    assert_eq!(theirs.status(), 404);
    assert_eq!(status_of_me(&app, &laptop["access_token"]).await, 200);
}

async fn a_sixth_sign_in_ends_the_oldest_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("alice").await;
    let mut signed_in = Vec::new();
    for _ in 0..6 {
        signed_in.push(sign_in(&app, "alice").await);
    }
    // `user` signed in once already, so the first two sessions are the oldest beyond five.
    assert_eq!(status_of_me(&app, &signed_in[0]["access_token"]).await, 401);
    assert_eq!(refresh(&app, &signed_in[0]["refresh_token"]).await.status(), 401);
    for later in &signed_in[1..] {
        assert_eq!(status_of_me(&app, &later["access_token"]).await, 200);
    }
    assert_eq!(sessions(&app, &signed_in[5]["access_token"]).await.len(), 5);
}

async fn logout_ends_the_current_session_only(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("alice").await;
    let laptop = sign_in(&app, "alice").await;
    let phone = sign_in(&app, "alice").await;
    let out = app
        .post_json("/v1/auth/logout", laptop["access_token"].as_str(), &json!({}))
        .await;
    assert_eq!(out.status(), 204);
    assert_eq!(status_of_me(&app, &laptop["access_token"]).await, 401);
    assert_eq!(refresh(&app, &laptop["refresh_token"]).await.status(), 401);
    assert_eq!(status_of_me(&app, &phone["access_token"]).await, 200);
    let twice = app
        .post_json("/v1/auth/logout", laptop["access_token"].as_str(), &json!({}))
        .await;
    assert_eq!(twice.status(), 401);
}

crate::on_both_backends!(
    a_refresh_token_rotates_and_its_reuse_revokes_the_session,
    a_revoked_session_is_refused_at_once,
    a_sixth_sign_in_ends_the_oldest_session,
    logout_ends_the_current_session_only,
);
