//! Attacks on tokens over HTTP: forged, tampered, expired and unsigned access tokens get a 401 on the bearer
//! header and on the event stream's `?access_token=`; bad refresh tokens and API keys from one address are
//! throttled without slowing anyone else.

use std::time::Duration;

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use syndic_testkit::api_client::PASSWORD;

use crate::helpers::{spawn_app, Backend, TestApp};

/// The secret `spawn_app` gives the server.
const SECRET: &str = "test-secret";
/// Bad refresh tokens or API keys an address may present before it must wait (`TokenThrottleRules::free`).
const FREE_FAILURES: usize = 20;
const STRANGER: &str = "203.0.113.9";
const NEIGHBOUR: &str = "198.51.100.7";

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

/// An app that takes the client's address from `X-Forwarded-For`, so one test can be many clients.
async fn spawn_app_behind_a_proxy(backend: Backend) -> TestApp {
    let mut app = spawn_app(backend).await;
    app.stop().await;
    app.config.trust_forwarded_for = true;
    app.restart().await;
    app
}

async fn me_from(app: &TestApp, token: &str, address: &str) -> reqwest::Response {
    app.client
        .get(app.url("/v1/me"))
        .bearer_auth(token)
        .header("x-forwarded-for", address)
        .send()
        .await
        .unwrap()
}

async fn refresh_from(app: &TestApp, refresh_token: &str, address: &str) -> reqwest::Response {
    app.client
        .post(app.url("/v1/auth/refresh"))
        .header("x-forwarded-for", address)
        .json(&json!({ "refresh_token": refresh_token }))
        .send()
        .await
        .unwrap()
}

/// The event stream, with its token in `?access_token=`.
async fn stream_with_query(app: &TestApp, token: &str, address: &str) -> reqwest::Response {
    let url = reqwest::Url::parse_with_params(&app.url("/v1/events"), [("access_token", token)]).unwrap();
    app.client
        .get(url)
        .header("x-forwarded-for", address)
        .send()
        .await
        .unwrap()
}

/// The status and the error's code; every refusal must have a JSON body.
async fn refusal(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned())
}

/// A 429 with a `Retry-After` of at least a second and the `rate_limited` code; returns the wait.
async fn retry_after_of(response: reqwest::Response, what: &str) -> Duration {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .unwrap_or_else(|| panic!("{what}: a Retry-After header"))
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1, "{what}: {retry_after}");
    assert_eq!(refusal(response).await, (429, "rate_limited".to_owned()), "{what}");
    Duration::from_secs(retry_after)
}

fn base64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn signed(algorithm: Algorithm, secret: &str, claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

/// Claims as the server issues them, valid now for ten minutes.
fn claims(user: &str, session: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": user, "sid": session, "iat": now, "nbf": now, "exp": now + 600})
}

/// Every way we know to forge an access token for `user`'s `session`, given a real token of it, by name.
fn forged_tokens(real: &str, user: &str, session: &str) -> Vec<(&'static str, String)> {
    let now = chrono::Utc::now().timestamp();
    let parts: Vec<&str> = real.split('.').collect();
    let with_claims = |changes: Value| {
        let mut claims = claims(user, session);
        for (name, value) in changes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    };
    let unsigned_header = base64url(json!({"alg": "none", "typ": "JWT"}).to_string().as_bytes());
    let real_payload = String::from_utf8(
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(parts[1])
            .unwrap(),
    )
    .unwrap();
    let tampered = |claims: Value| format!("{}.{}.{}", parts[0], base64url(claims.to_string().as_bytes()), parts[2]);
    let hs256 = |claims: Value| signed(Algorithm::HS256, SECRET, &claims);
    let other_user = uuid::Uuid::new_v4().to_string();
    vec![
        // 30 s is inside jsonwebtoken's default leeway of 60 s, and outside ours of 5 s.
        (
            "expired 30 s ago",
            hs256(with_claims(
                json!({"iat": now - 630, "nbf": now - 630, "exp": now - 30}),
            )),
        ),
        (
            "expired an hour ago",
            hs256(with_claims(
                json!({"iat": now - 4200, "nbf": now - 4200, "exp": now - 3600}),
            )),
        ),
        (
            "another user's id, signature kept",
            tampered(with_claims(json!({"sub": other_user}))),
        ),
        (
            "a later exp, signature kept",
            tampered(with_claims(json!({"exp": now + 86_400 * 365}))),
        ),
        (
            "alg=none, no signature",
            format!("{unsigned_header}.{}.", base64url(real_payload.as_bytes())),
        ),
        (
            "alg=none, the real signature",
            format!("{unsigned_header}.{}.{}", parts[1], parts[2]),
        ),
        (
            "signed with another key",
            signed(Algorithm::HS256, "another-secret", &claims(user, session)),
        ),
        (
            "HS512 with the right key",
            signed(Algorithm::HS512, SECRET, &claims(user, session)),
        ),
        (
            "HS384 with the right key",
            signed(Algorithm::HS384, SECRET, &claims(user, session)),
        ),
        (
            "a session that does not exist",
            hs256(claims(user, &uuid::Uuid::new_v4().to_string())),
        ),
        (
            "a user that does not exist, the real session",
            hs256(claims(&other_user, session)),
        ),
        ("not valid yet", hs256(with_claims(json!({"nbf": now + 3600})))),
        ("issued in the future", hs256(with_claims(json!({"iat": now + 3600})))),
        (
            "no exp",
            hs256(json!({"sub": user, "sid": session, "iat": now, "nbf": now})),
        ),
        (
            "a subject that is not an id",
            hs256(with_claims(json!({"sub": "admin"}))),
        ),
        ("garbage", "garbage".to_owned()),
        ("three dots of garbage", "a.b.c".to_owned()),
        ("a truncated token", real[..real.len() - 10].to_owned()),
        ("a header alone", format!("{}.", parts[0])),
        ("8 KiB of base64", "A".repeat(8 * 1024)),
        ("not ASCII", "é.é.é".to_owned()),
        ("a made-up API key", format!("syk_{}", "A".repeat(43))),
        ("an API key of the wrong shape", "syk_!".to_owned()),
    ]
}

async fn forged_access_tokens_get_401_on_the_header_and_the_stream_query(backend: Backend) {
    let app = spawn_app(backend).await;
    app.user("alice").await;
    let good = sign_in(&app, "alice").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me: Value = app.get("/v1/me", Some(&good)).await.json().await.unwrap();
    let user = me["id"].as_str().unwrap().to_owned();
    let sessions: Value = app.get("/v1/sessions", Some(&good)).await.json().await.unwrap();
    let session = sessions["sessions"][0]["id"].as_str().unwrap().to_owned();

    for (what, token) in forged_tokens(&good, &user, &session) {
        let on_header = app.get("/v1/me", Some(&token)).await;
        assert_eq!(
            refusal(on_header).await,
            (401, "unauthorized".to_owned()),
            "{what}, on the header"
        );
        let on_query = stream_with_query(&app, &token, "127.0.0.1").await;
        assert_eq!(
            refusal(on_query).await,
            (401, "unauthorized".to_owned()),
            "{what}, on ?access_token="
        );
    }
    assert_eq!(
        app.get("/v1/me", Some(&good)).await.status(),
        200,
        "the real token still works"
    );
    let stream = stream_with_query(&app, &good, "127.0.0.1").await;
    assert_eq!(stream.status(), 200, "and opens the stream");
}

async fn bad_refresh_tokens_from_one_address_are_throttled_and_no_one_else_is(backend: Backend) {
    let app = spawn_app_behind_a_proxy(backend).await;
    app.user("alice").await;
    let stranger_session = sign_in(&app, "alice").await;
    let neighbour_session = sign_in(&app, "alice").await;

    for attempt in 0..FREE_FAILURES {
        let response = refresh_from(&app, &format!("made-up-{attempt}"), STRANGER).await;
        assert_eq!(
            refusal(response).await,
            (401, "unauthorized".to_owned()),
            "attempt {attempt}"
        );
    }
    let wait = retry_after_of(refresh_from(&app, "made-up", STRANGER).await, "one more bad token").await;
    // The address is not heard, even with a good token: it is not looked up, so it is not spent.
    let good = stranger_session["refresh_token"].as_str().unwrap();
    retry_after_of(
        refresh_from(&app, good, STRANGER).await,
        "a good token from the address",
    )
    .await;

    let neighbour = refresh_from(&app, neighbour_session["refresh_token"].as_str().unwrap(), NEIGHBOUR).await;
    assert_eq!(neighbour.status(), 200, "another address refreshes");
    let access = stranger_session["access_token"].as_str().unwrap();
    assert_eq!(
        me_from(&app, access, STRANGER).await.status(),
        200,
        "access tokens are not throttled"
    );

    tokio::time::sleep(wait + Duration::from_millis(100)).await;
    assert_eq!(
        refresh_from(&app, good, STRANGER).await.status(),
        200,
        "after the wait, it is heard"
    );
}

async fn bad_api_keys_from_one_address_are_throttled_and_no_one_else_is(backend: Backend) {
    let app = spawn_app_behind_a_proxy(backend).await;
    let token = app.user("alice").await;
    let created = app
        .post_json("/v1/api-keys", Some(&token), &json!({"name": "script"}))
        .await;
    assert_eq!(created.status(), 201);
    let key = created.json::<Value>().await.unwrap()["key"]
        .as_str()
        .unwrap()
        .to_owned();

    for attempt in 0..FREE_FAILURES {
        // Well-formed keys are looked up, others are not; both count.
        let bad = if attempt % 2 == 0 {
            format!("syk_{}", "A".repeat(43))
        } else {
            format!("syk_{attempt}")
        };
        let response = me_from(&app, &bad, STRANGER).await;
        assert_eq!(
            refusal(response).await,
            (401, "unauthorized".to_owned()),
            "attempt {attempt}"
        );
    }
    let wait = retry_after_of(
        me_from(&app, &format!("syk_{}", "B".repeat(43)), STRANGER).await,
        "one more",
    )
    .await;
    retry_after_of(me_from(&app, &key, STRANGER).await, "a good key from the address").await;
    let on_query = stream_with_query(&app, &key, STRANGER).await;
    retry_after_of(on_query, "a good key on ?access_token=").await;

    assert_eq!(
        me_from(&app, &key, NEIGHBOUR).await.status(),
        200,
        "another address uses the key"
    );
    assert_eq!(
        me_from(&app, &token, STRANGER).await.status(),
        200,
        "access tokens are not throttled"
    );

    tokio::time::sleep(wait + Duration::from_millis(100)).await;
    assert_eq!(
        me_from(&app, &key, STRANGER).await.status(),
        200,
        "after the wait, it is heard"
    );
}

/// Made-up access tokens cost a signature check and no lookup, so they are never throttled: a flood of them
/// gets 401s, and the address still works.
async fn a_flood_of_garbage_access_tokens_gets_401s_and_no_429(backend: Backend) {
    let app = spawn_app_behind_a_proxy(backend).await;
    let token = app.user("alice").await;
    for attempt in 0..FREE_FAILURES * 3 {
        let garbage = signed(
            Algorithm::HS256,
            "guess",
            &claims(&uuid::Uuid::new_v4().to_string(), "x"),
        );
        let response = me_from(&app, &format!("{garbage}{attempt}"), STRANGER).await;
        assert_eq!(
            refusal(response).await,
            (401, "unauthorized".to_owned()),
            "attempt {attempt}"
        );
    }
    assert_eq!(me_from(&app, &token, STRANGER).await.status(), 200);
}

crate::on_both_backends!(
    forged_access_tokens_get_401_on_the_header_and_the_stream_query,
    bad_refresh_tokens_from_one_address_are_throttled_and_no_one_else_is,
    bad_api_keys_from_one_address_are_throttled_and_no_one_else_is,
    a_flood_of_garbage_access_tokens_gets_401s_and_no_429,
);
