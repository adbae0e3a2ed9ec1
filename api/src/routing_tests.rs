//! Tests of the app's plumbing that need no engine: routing, input parsing, auth and the error shape.
//!
//! The app here has a config but no engine, and every handler asks for the engine after its
//! other inputs, so any request that fails before reaching the store is exercised for real.

use std::time::Duration;

use poem::http::{Method, StatusCode};
use poem::{Body, Endpoint, EndpointExt, Request};
use serde_json::{json, Value};
use syndic_actors::domain::UserId;

use crate::auth::issue_token;
use crate::{error, routes, ApiConfig};

const SECRET: &str = "routing test secret";

/// Sends one request to the app (config, no engine) and returns the status, content type and body.
async fn send(request: Request) -> (StatusCode, String, String) {
    let config = ApiConfig {
        jwt_secret: SECRET.to_owned(),
        token_ttl: Duration::from_secs(600),
        session_ttl: Duration::from_secs(3600),
        registration: crate::Registration::Open,
        login_throttle: Default::default(),
        token_throttle: Default::default(),
        hashing: Default::default(),
        trust_forwarded_for: false,
    };
    let app = routes().data(config).catch_all_error(error::render);
    let response = app.get_response(request).await;
    let status = response.status();
    let content_type = response.content_type().unwrap_or_default().to_owned();
    let body = response.into_body().into_string().await.expect("text body");
    (status, content_type, body)
}

fn get(uri: &str) -> Request {
    Request::builder().method(Method::GET).uri_str(uri).finish()
}

fn post(uri: &str, content_type: &str, body: &str) -> Request {
    Request::builder()
        .method(Method::POST)
        .uri_str(uri)
        .content_type(content_type)
        .body(Body::from_string(body.to_owned()))
}

fn with_bearer(mut request: Request) -> Request {
    let value = bearer().parse().expect("header value");
    request.headers_mut().insert("authorization", value);
    request
}

fn bearer() -> String {
    let token = issue_token(
        SECRET,
        UserId::new_v4(),
        uuid::Uuid::new_v4(),
        chrono::Utc::now().timestamp(),
        Duration::from_secs(600),
    );
    format!("Bearer {}", token.expect("signs"))
}

async fn error_of(request: Request) -> (StatusCode, Value) {
    let (status, content_type, body) = send(request).await;
    assert!(content_type.starts_with("application/json"), "{content_type}");
    (status, serde_json::from_str(&body).expect("JSON body"))
}

#[tokio::test]
async fn unknown_route_is_a_json_404() {
    let (status, body) = error_of(get("/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"error": {"code": "not_found", "message": "no such route"}})
    );
}

#[tokio::test]
async fn wrong_method_is_a_json_405() {
    let (status, body) = error_of(Request::builder().method(Method::PUT).uri_str("/v1/me").finish()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn missing_token_is_a_json_401() {
    let (status, body) = error_of(get("/v1/feeds")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn bad_token_is_a_json_401() {
    let mut request = get("/v1/me");
    let value = "Bearer nonsense".parse().expect("header value");
    request.headers_mut().insert("authorization", value);
    let (status, body) = error_of(request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");
}

#[tokio::test]
async fn malformed_json_is_a_400() {
    let (status, body) = error_of(post("/v1/auth/register", "application/json", "{not json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "bad_request");
}

#[tokio::test]
async fn wrong_content_type_is_a_400() {
    let (status, body) = error_of(post("/v1/auth/login", "text/plain", "hi")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "bad_request");
}

#[tokio::test]
async fn an_unknown_status_filter_is_a_400_naming_it() {
    let (status, body) = error_of(with_bearer(get("/v1/articles?status=banana"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "bad_request");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("status"), "{message}");
}

/// The status and the error's field and message, checking that no poem-internal name shows.
async fn field_error_of(request: Request) -> (StatusCode, String, String) {
    let (status, body) = error_of(request).await;
    let field = body["error"]["field"].as_str().unwrap_or("<none>").to_owned();
    let message = body["error"]["message"].as_str().unwrap_or_default().to_owned();
    for internal in [
        "integer_",
        "integer(",
        "param0",
        "uint32",
        "failed to parse",
        "Request\"",
        "occurred while",
    ] {
        assert!(!message.contains(internal), "{message:?} shows {internal:?}");
    }
    (status, field, message)
}

fn json_body(method: Method, uri: &str, body: Value) -> Request {
    with_bearer(
        Request::builder()
            .method(method)
            .uri_str(uri)
            .content_type("application/json")
            .body(Body::from_string(body.to_string())),
    )
}

#[tokio::test]
async fn a_non_numeric_id_in_the_path_is_a_400_naming_id() {
    for uri in [
        "/v1/feeds/abc",
        "/v1/articles/1.5",
        "/v1/admin/actors/x",
        "/v1/feeds/99999999999999999999",
    ] {
        let (status, field, message) = field_error_of(with_bearer(get(uri))).await;
        assert_eq!(
            (status, field.as_str(), message.as_str()),
            (StatusCode::BAD_REQUEST, "id", "id must be an integer"),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn unparsable_query_parameters_are_400s_naming_them() {
    for (uri, field, message) in [
        ("/v1/articles?limit=ten", "limit", "limit must be an integer"),
        ("/v1/articles?feed_id=abc", "feed_id", "feed_id must be an integer"),
        ("/v1/articles?starred=maybe", "starred", "starred must be true or false"),
        (
            "/v1/admin/actors?limit=-1",
            "limit",
            "limit must be a non-negative integer",
        ),
        ("/v1/admin/feeds/stale", "older_than", "older_than is required"),
    ] {
        let (status, actual_field, actual_message) = field_error_of(with_bearer(get(uri))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(
            (actual_field.as_str(), actual_message.as_str()),
            (field, message),
            "{uri}"
        );
    }
}

#[tokio::test]
async fn out_of_bounds_query_parameters_are_422s_naming_them() {
    for (uri, message) in [
        ("/v1/articles?limit=0", "limit must be at least 1"),
        ("/v1/articles?limit=201", "limit must be at most 200"),
        ("/v1/admin/feeds?limit=1001", "limit must be at most 1000"),
    ] {
        let (status, field, actual_message) = field_error_of(with_bearer(get(uri))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}");
        assert_eq!((field.as_str(), actual_message.as_str()), ("limit", message), "{uri}");
    }
}

#[tokio::test]
async fn body_fields_of_the_wrong_json_type_are_400s_naming_them() {
    let register = json!({"username": 123, "email": "a@example.com", "password": "long enough"});
    let patch = |value: Value| json_body(Method::PATCH, "/v1/articles/1", value);
    for (request, field) in [
        (json_body(Method::POST, "/v1/auth/register", register), "username"),
        (json_body(Method::POST, "/v1/feeds", json!({"urls": [false]})), "urls"),
        (
            json_body(Method::POST, "/v1/feeds", json!({"urls": "https://example.com/feed"})),
            "urls",
        ),
        (json_body(Method::POST, "/v1/feeds", json!({})), "urls"),
        (
            json_body(
                Method::POST,
                "/v1/auth/login",
                json!({"identifier": true, "password": "x"}),
            ),
            "identifier",
        ),
        (patch(json!({"read": "true"})), "read"),
        (patch(json!({"starred": 1})), "starred"),
    ] {
        let (status, actual_field, message) = field_error_of(request).await;
        assert_eq!(
            (status, actual_field.as_str()),
            (StatusCode::BAD_REQUEST, field),
            "{message}"
        );
        assert!(message.starts_with(field), "{message}");
    }
}

#[tokio::test]
async fn body_fields_breaking_the_contract_rules_are_422s_naming_them() {
    let register = |username: &str| json!({"username": username, "email": "a@example.com", "password": "long enough"});
    for (request, field) in [
        (json_body(Method::POST, "/v1/auth/register", register("ab")), "username"),
        (
            json_body(Method::POST, "/v1/auth/register", register("al ice")),
            "username",
        ),
        (
            json_body(
                Method::POST,
                "/v1/auth/login",
                json!({"identifier": "ali\u{0}ce", "password": "x"}),
            ),
            "identifier",
        ),
        (json_body(Method::POST, "/v1/feeds", json!({"urls": []})), "urls"),
    ] {
        let (status, actual_field, message) = field_error_of(request).await;
        assert_eq!(
            (status, actual_field.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, field),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_a_400() {
    let (status, _, message) = field_error_of(json_body(Method::POST, "/v1/auth/login", json!([1]))).await;
    assert_eq!(
        (status, message.as_str()),
        (StatusCode::BAD_REQUEST, "the request body must be a JSON object")
    );
}

#[tokio::test]
async fn the_spec_is_served_as_yaml() {
    let (status, content_type, body) = send(get("/openapi.yaml")).await;
    assert_eq!((status, content_type.as_str()), (StatusCode::OK, "application/yaml"));
    assert_eq!(body, crate::spec_yaml());
}

#[tokio::test]
async fn the_docs_are_served() {
    let (status, content_type, _) = send(get("/docs")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
}

#[tokio::test]
async fn the_spec_and_the_docs_list_tags_in_reading_order() {
    let spec: serde_yaml::Value = serde_yaml::from_str(&crate::spec_yaml()).expect("YAML");
    let names: Vec<&str> = spec["tags"]
        .as_sequence()
        .expect("a tags list")
        .iter()
        .filter_map(|tag| tag["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["auth", "feeds", "articles", "events", "health", "admin", "jobs", "webhooks", "timers", "social"]
    );
    let (status, _, page) = send(get("/docs")).await;
    assert_eq!(status, StatusCode::OK);
    let position = |name: &str| {
        page.find(&format!("\"name\": \"{name}\""))
            .expect("the tag is in the page")
    };
    assert!(position("auth") < position("feeds") && position("health") < position("admin"));
}
