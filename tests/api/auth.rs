//! Registration, login and token checks over HTTP.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, Backend, TestApp};

async fn error_of(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("every error has a JSON body");
    (status, body["error"].clone())
}

async fn register_returns_the_user_with_a_lowercased_email(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .post_json(
            "/v1/auth/register",
            None,
            &json!({"username": "Alice_1", "email": " Alice@Example.COM ", "password": "long enough"}),
        )
        .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["username"], "Alice_1");
    assert_eq!(body["email"], "alice@example.com");
    assert!(body["id"].as_str().unwrap().len() == 36);
    assert!(body.get("password_hash").is_none() && body.get("password").is_none());
}

async fn invalid_registrations_get_422_naming_the_field(backend: Backend) {
    let app = spawn_app(backend).await;
    let cases = [
        (
            json!({"username": "ab", "email": "a@example.com", "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": "has space", "email": "a@example.com", "password": "long enough"}),
            "username",
        ),
        (
            json!({"username": "alice", "email": "not-an-email", "password": "long enough"}),
            "email",
        ),
        (
            json!({"username": "alice", "email": "a@example.com", "password": "short"}),
            "password",
        ),
    ];
    for (body, field) in cases {
        let (status, error) = error_of(app.post_json("/v1/auth/register", None, &body).await).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(error["code"], "validation_failed");
        assert_eq!(error["field"], field);
        assert!(error["message"].as_str().unwrap().len() > 5);
    }
}

async fn register(app: &TestApp, username: &str, email: &str) -> reqwest::Response {
    let body = json!({"username": username, "email": email, "password": "long enough"});
    app.post_json("/v1/auth/register", None, &body).await
}

async fn sign_in(app: &TestApp, identifier: &str, password: &str) -> reqwest::Response {
    let body = json!({"identifier": identifier, "password": password});
    app.post_json("/v1/auth/login", None, &body).await
}

async fn only_a_taken_username_is_a_409(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("alice").await;
    let (status, error) = error_of(register(&app, "ALICE", "other@example.com").await).await;
    assert_eq!(
        (status, error["code"].as_str(), error["field"].as_str()),
        (409, Some("conflict"), Some("username"))
    );
    assert!(!error.to_string().contains("email"), "{error}");
}

/// An email is no account key: registering with one another account gave, in any case, is a plain 201 whose
/// body holds only the new account, so the answer is the one a fresh address gets.
async fn an_email_another_account_gave_registers_like_a_fresh_one(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("alice").await;
    let alice: Value = app
        .get("/v1/me", Some(&app.login("alice").await))
        .await
        .json()
        .await
        .unwrap();
    let mut answers = Vec::new();
    for (username, email) in [
        ("alice2", "ALICE@example.com"),
        ("alice3", " alice@EXAMPLE.com "),
        ("fresh", "fresh@example.com"),
    ] {
        let response = register(&app, username, email).await;
        assert_eq!(response.status(), 201, "{email}");
        let body: Value = response.json().await.unwrap();
        assert_ne!(body["id"], alice["id"], "{body}");
        assert_eq!(body["username"], username);
        let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
        answers.push(keys.into_iter().cloned().collect::<Vec<_>>());
        assert_eq!(sign_in(&app, username, "long enough").await.status(), 200, "{username}");
    }
    assert!(answers.windows(2).all(|pair| pair[0] == pair[1]), "{answers:?}");
    assert_eq!(
        sign_in(&app, "alice", "correct horse battery").await.status(),
        200,
        "the first account is untouched"
    );
}

async fn login_takes_the_username_in_any_case_and_returns_a_bearer_token(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("alice").await;
    for identifier in ["alice", "ALICE", " Alice "] {
        let response = sign_in(&app, identifier, "correct horse battery").await;
        assert_eq!(response.status(), 200, "{identifier}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 900, "15 minutes: the refresh token renews it");
        assert!(body["refresh_token"].as_str().is_some_and(|token| token.len() == 43));
        let token = body["access_token"].as_str().unwrap();
        let me: Value = app.get("/v1/me", Some(token)).await.json().await.unwrap();
        assert_eq!(me["username"], "alice");
    }
}

/// An email does not sign in, even with the right password: the answer is a wrong password's, word for word.
async fn an_email_fails_to_sign_in_exactly_like_a_wrong_password(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("alice").await;
    let wrong_password = error_of(sign_in(&app, "alice", "wrong password").await).await;
    assert_eq!(wrong_password.0, 401);
    for email in ["alice@example.com", "ALICE@EXAMPLE.COM"] {
        let by_email = error_of(sign_in(&app, email, "correct horse battery").await).await;
        assert_eq!(by_email, wrong_password, "{email}");
    }
}

async fn wrong_credentials_get_the_same_401_whether_the_user_exists_or_not(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("alice").await;
    let wrong_password = app
        .post_json(
            "/v1/auth/login",
            None,
            &json!({"identifier": "alice", "password": "wrong password"}),
        )
        .await;
    let no_such_user = app
        .post_json(
            "/v1/auth/login",
            None,
            &json!({"identifier": "nobody", "password": "wrong password"}),
        )
        .await;
    let (status_a, body_a) = error_of(wrong_password).await;
    let (status_b, body_b) = error_of(no_such_user).await;
    assert_eq!((status_a, status_b), (401, 401));
    assert_eq!(body_a, body_b);
}

async fn protected_routes_need_a_valid_token(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;
    for path in ["/v1/me", "/v1/feeds", "/v1/articles", "/v1/feeds/1", "/v1/articles/1"] {
        let (status, error) = error_of(app.get(path, None).await).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (401, Some("unauthorized")),
            "{path} without a token"
        );
        let (status, _) = error_of(app.get(path, Some("not.a.jwt")).await).await;
        assert_eq!(status, 401, "{path} with a garbage token");
    }
    // A token signed with another secret is refused too.
    let forged = token[..token.len() - 4].to_owned() + "AAAA";
    assert_eq!(app.get("/v1/me", Some(&forged)).await.status(), 401);
}

async fn malformed_json_is_a_400_with_a_json_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .client
        .post(app.url("/v1/auth/register"))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["code"].as_str()), (400, Some("bad_request")));
}

crate::on_both_backends!(
    register_returns_the_user_with_a_lowercased_email,
    invalid_registrations_get_422_naming_the_field,
    only_a_taken_username_is_a_409,
    an_email_another_account_gave_registers_like_a_fresh_one,
    login_takes_the_username_in_any_case_and_returns_a_bearer_token,
    an_email_fails_to_sign_in_exactly_like_a_wrong_password,
    wrong_credentials_get_the_same_401_whether_the_user_exists_or_not,
    protected_routes_need_a_valid_token,
    malformed_json_is_a_400_with_a_json_error,
);
