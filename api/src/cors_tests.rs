//! Tests of the origin list and of which requests get CORS headers.

use poem::http::StatusCode;
use poem::{handler, EndpointExt, Route};

use super::*;

#[handler]
fn hello() -> &'static str {
    "hello"
}

fn origins(list: &[&str]) -> CorsOrigins {
    CorsOrigins::parse(&list.iter().map(|origin| origin.to_string()).collect::<Vec<_>>()).unwrap()
}

fn preflight(origin: &str) -> Request {
    Request::builder()
        .method(Method::OPTIONS)
        .uri_str("/v1/feeds")
        .header(header::ORIGIN, origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization, content-type")
        .finish()
}

async fn send(cors: CorsOrigins, request: Request) -> Response {
    Route::new()
        .at("/v1/feeds", poem::post(hello))
        .with(cors)
        .get_response(request)
        .await
}

#[test]
fn an_empty_setting_turns_cors_off() {
    assert!(origins(&[]).is_empty());
    assert!(origins(&["", " "]).is_empty());
}

#[test]
fn origins_are_scheme_host_and_port() {
    let parsed = origins(&[" https://reader.example.com/ ", "http://localhost:5173"]);
    assert_eq!(
        parsed,
        origins(&["https://reader.example.com", "http://localhost:5173"])
    );
    for bad in [
        "reader.example.com",
        "https://",
        "https://example.com/app",
        "ftp://example.com",
        "*",
    ] {
        assert!(CorsOrigins::parse(&[bad.to_owned()]).is_err(), "{bad} was accepted");
    }
}

#[tokio::test]
async fn a_listed_origin_gets_its_preflight_answered() {
    let response = send(
        origins(&["https://reader.example.com"]),
        preflight("https://reader.example.com"),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "https://reader.example.com"
    );
    let methods = headers[header::ACCESS_CONTROL_ALLOW_METHODS]
        .to_str()
        .unwrap()
        .to_ascii_uppercase();
    assert!(methods.contains("POST") && methods.contains("PATCH"), "{methods}");
    let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type"),
        "{allowed}"
    );
}

#[tokio::test]
async fn another_origin_gets_no_cors_header() {
    let response = send(
        origins(&["https://reader.example.com"]),
        preflight("https://evil.example.net"),
    )
    .await;
    assert!(response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    let simple = Request::builder()
        .method(Method::POST)
        .uri_str("/v1/feeds")
        .header(header::ORIGIN, "https://evil.example.net")
        .finish();
    let response = send(origins(&["https://reader.example.com"]), simple).await;
    assert_eq!(response.status(), StatusCode::OK, "served as without CORS");
    assert!(response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[tokio::test]
async fn off_means_no_cors_header_even_for_a_preflight() {
    let response = send(CorsOrigins::default(), preflight("https://reader.example.com")).await;
    assert!(response.headers().get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}
