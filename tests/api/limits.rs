//! Request caps and CORS on the running app: oversized bodies get 413 before they are read whole, an oversized
//! request head gets 431, and CORS headers go to listed origins only.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{spawn_app, Backend, TestApp};

const MEGABYTE: usize = 1024 * 1024;

/// How a body is framed on the wire.
#[derive(Clone, Copy)]
enum Framing {
    ContentLength,
    Chunked,
}

/// What the server answered to a streamed upload, and how much of the body had been sent by then.
struct Answer {
    status: u16,
    body: Value,
    sent: usize,
}

/// POSTs a JSON-looking body of `size` bytes over a raw connection, and reads the answer while still sending,
/// so a server that answers early is seen to do so.
async fn upload(app: &TestApp, path: &str, token: Option<&str>, size: usize, framing: Framing) -> Answer {
    let address = app.address.trim_start_matches("http://");
    let (mut reader, mut writer) = TcpStream::connect(address).await.unwrap().into_split();
    let mut head = format!("POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n");
    if let Some(token) = token {
        head.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    match framing {
        Framing::ContentLength => head.push_str(&format!("Content-Length: {size}\r\n\r\n")),
        Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n\r\n"),
    }
    let sent = Arc::new(AtomicUsize::new(0));
    let sending = tokio::spawn({
        let sent = sent.clone();
        async move {
            writer.write_all(head.as_bytes()).await.unwrap();
            let chunk = vec![b' '; 64 * 1024];
            while sent.load(Ordering::SeqCst) < size {
                let length = chunk.len().min(size - sent.load(Ordering::SeqCst));
                let written = match framing {
                    Framing::ContentLength => writer.write_all(&chunk[..length]).await,
                    Framing::Chunked => {
                        let framed = [format!("{length:x}\r\n").as_bytes(), &chunk[..length], b"\r\n"].concat();
                        writer.write_all(&framed).await
                    }
                };
                if written.is_err() {
                    return;
                }
                sent.fetch_add(length, Ordering::SeqCst);
            }
            if let Framing::Chunked = framing {
                let _ = writer.write_all(b"0\r\n\r\n").await;
            }
        }
    });
    let response = tokio::time::timeout(Duration::from_secs(30), read_response(&mut reader))
        .await
        .expect("an answer within 30 s");
    let sent = sent.load(Ordering::SeqCst);
    sending.abort();
    Answer {
        status: response.0,
        body: response.1,
        sent,
    }
}

/// Reads one HTTP/1.1 response with a `Content-Length` body: its status and JSON body.
async fn read_response(reader: &mut tokio::net::tcp::OwnedReadHalf) -> (u16, Value) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = reader.read(&mut buffer).await.expect("the response is readable");
        assert!(read > 0, "the connection closed before a whole response");
        received.extend_from_slice(&buffer[..read]);
        let Some(head_end) = received.windows(4).position(|window| window == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
        let status = head[9..12].parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:"))
            .map_or(0, |value| value.trim().parse().unwrap());
        let body = &received[head_end + 4..];
        if body.len() >= length {
            return (status, serde_json::from_slice(&body[..length]).unwrap_or(Value::Null));
        }
    }
}

fn assert_payload_too_large(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 413, "{what}: {}", answer.body);
    assert_eq!(answer.body["error"]["code"], "payload_too_large", "{what}");
    assert!(
        answer.body["error"]["message"].as_str().unwrap().contains("bytes"),
        "{what}"
    );
}

#[tokio::test]
async fn oversized_bodies_are_413_with_or_without_a_content_length() {
    let app = spawn_app(Backend::Sqlite).await;
    let token = app.user("alice").await;
    for (path, token) in [("/v1/auth/register", None), ("/v1/feeds", Some(token.as_str()))] {
        let declared = upload(&app, path, token, 10 * MEGABYTE, Framing::ContentLength).await;
        assert_payload_too_large(&declared, &format!("10 MB with Content-Length to {path}"));
        let chunked = upload(&app, path, token, 10 * MEGABYTE, Framing::Chunked).await;
        assert_payload_too_large(&chunked, &format!("10 MB chunked to {path}"));
    }
}

#[tokio::test]
async fn a_huge_chunked_body_is_refused_before_it_is_sent_whole() {
    let app = spawn_app(Backend::Sqlite).await;
    let size = 200 * MEGABYTE;
    let answer = upload(&app, "/v1/auth/register", None, size, Framing::Chunked).await;
    assert_payload_too_large(&answer, "200 MB chunked");
    // The server stops reading at the 64 KiB cap; what else went out sits in socket buffers.
    assert!(
        answer.sent < 32 * MEGABYTE,
        "{} bytes were sent before the answer",
        answer.sent
    );
}

#[tokio::test]
async fn bodies_within_the_caps_still_work() {
    let app = spawn_app(Backend::Sqlite).await;
    let token = app.user("alice").await;
    // 100 URLs of 2 KiB: about 200 KiB, over the default cap but within the one for subscribing.
    let urls: Vec<String> = (0..100)
        .map(|n| {
            let prefix = format!("http://127.0.0.1:9/feed/{n}/");
            format!("{prefix}{}", "a".repeat(2048 - prefix.len()))
        })
        .collect();
    let response = app.post_json("/v1/feeds", Some(&token), &json!({ "urls": urls })).await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
}

#[tokio::test]
async fn a_request_head_over_16_kib_is_431_and_one_of_12_kib_is_served() {
    let app = spawn_app(Backend::Sqlite).await;
    let token = app.user("alice").await;
    let with_padding = |bytes: usize| {
        app.client
            .get(app.url("/v1/feeds"))
            .bearer_auth(&token)
            .header("x-padding", "a".repeat(bytes))
            .send()
    };
    assert_eq!(with_padding(12 * 1024).await.unwrap().status(), 200);
    assert_eq!(with_padding(20 * 1024).await.unwrap().status(), 431);
}

fn preflight(app: &TestApp, origin: &str) -> reqwest::RequestBuilder {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/v1/feeds"))
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization,content-type")
}

const READER: &str = "https://reader.example.com";

#[tokio::test]
async fn cors_is_off_by_default() {
    let app = spawn_app(Backend::Sqlite).await;
    let answer = preflight(&app, READER).send().await.unwrap();
    assert!(answer.headers().get("access-control-allow-origin").is_none());
    let health = app
        .client
        .get(app.url("/healthcheck"))
        .header("Origin", READER)
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    assert!(health
        .headers()
        .keys()
        .all(|name| !name.as_str().starts_with("access-control-")));
}

#[tokio::test]
async fn cors_answers_listed_origins_only() {
    let mut app = spawn_app(Backend::Sqlite).await;
    app.config.cors_origins = vec![READER.to_owned(), "http://localhost:5173".to_owned()];
    app.restart().await;

    let allowed = preflight(&app, READER).send().await.unwrap();
    assert_eq!(allowed.status(), 200);
    let headers = allowed.headers();
    assert_eq!(headers["access-control-allow-origin"], READER);
    let methods = headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_ascii_uppercase();
    assert!(methods.contains("POST"), "{methods}");
    let request_headers = headers["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(request_headers.contains("authorization") && request_headers.contains("content-type"));

    let health = app
        .client
        .get(app.url("/healthcheck"))
        .header("Origin", READER)
        .send()
        .await
        .unwrap();
    assert_eq!(health.headers()["access-control-allow-origin"], READER);

    let refused = preflight(&app, "https://evil.example.net").send().await.unwrap();
    assert!(refused.headers().get("access-control-allow-origin").is_none());
    let other = app
        .client
        .get(app.url("/healthcheck"))
        .header("Origin", "https://evil.example.net")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "served as without CORS");
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
