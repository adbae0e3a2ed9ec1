//! An event stream opened as a connection's first request is served past hyper: chunked, `connection: close`,
//! and ended as soon as its client hangs up. Over bare sockets, so that no client pool reuses a connection.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::events::{job_done, user_id};
use crate::helpers::{eventually, spawn_app, Backend, TestApp};

/// Opens a connection whose first request is `GET /v1/events`, and reads the response head.
async fn open_stream(app: &TestApp, token: Option<&str>) -> (TcpStream, String) {
    let address = app.address.trim_start_matches("http://");
    let mut socket = TcpStream::connect(address).await.unwrap();
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let request = format!("GET /v1/events HTTP/1.1\r\nHost: {address}\r\n{authorization}\r\n");
    // In two writes, so that the head is read across reads.
    let (first, rest) = request.split_at(9);
    socket.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    socket.write_all(rest.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(socket.read(&mut byte).await.unwrap(), 1, "closed before the head's end");
        head.push(byte[0]);
    }
    (socket, String::from_utf8(head).unwrap().to_lowercase())
}

/// Reads until `needle` has arrived, or fails after 10 s.
async fn read_until(socket: &mut TcpStream, needle: &str) -> String {
    let mut read = Vec::new();
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(Duration::from_secs(10), async {
        while !String::from_utf8_lossy(&read).contains(needle) {
            let count = socket.read(&mut buffer).await.unwrap();
            assert!(
                count > 0,
                "closed before {needle:?}: {}",
                String::from_utf8_lossy(&read)
            );
            read.extend_from_slice(&buffer[..count]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {needle:?} in {}", String::from_utf8_lossy(&read)));
    String::from_utf8(read).unwrap()
}

async fn a_stream_on_its_own_connection_is_chunked_and_a_hang_up_frees_its_place_at_once(backend: Backend) {
    let mut app = spawn_app(backend).await;
    // No heartbeat in the test's time: only the read side can notice the hang-up.
    app.config.event_heartbeat_ms = 600_000;
    app.restart().await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;

    let (mut socket, head) = open_stream(&app, Some(&token)).await;
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    for header in [
        "content-type: text/event-stream",
        "transfer-encoding: chunked",
        "connection: close",
    ] {
        assert!(head.contains(&format!("\r\n{header}\r\n")), "no {header:?} in {head}");
    }
    eventually(10, "the stream to open", || async {
        app.engine().events().streams().open_count() == 1
    })
    .await;
    app.engine().events().publish(vec![job_done(alice, 7)]);
    let read = read_until(&mut socket, "\n\n\r\n").await;
    // One chunk: its size in hex, then the message with its blank line, then the chunk's own line end.
    let (size, message) = read.split_once("\r\n").unwrap();
    let message = message.strip_suffix("\r\n").unwrap();
    assert_eq!(usize::from_str_radix(size, 16).unwrap(), message.len(), "{read:?}");
    assert!(message.contains("event: job.done\n"), "{message:?}");
    assert!(message.contains("\"job_id\":7"), "{message:?}");

    drop(socket);
    eventually(3, "the hung-up stream to end", || async {
        app.engine().events().streams().open_count() == 0
    })
    .await;

    // A stream open at shutdown does not hold the engine past its grace.
    let (_socket, _) = open_stream(&app, Some(&token)).await;
    eventually(10, "the stream to open", || async {
        app.engine().events().streams().open_count() == 1
    })
    .await;
    tokio::time::timeout(Duration::from_secs(30), app.stop())
        .await
        .expect("the engine stopped");
}

async fn a_refused_stream_on_its_own_connection_gets_its_json_error_then_the_close(backend: Backend) {
    let app = spawn_app(backend).await;
    let (mut socket, head) = open_stream(&app, None).await;
    assert!(head.starts_with("http/1.1 401 unauthorized\r\n"), "{head}");
    assert!(head.contains("\r\ncontent-type: application/json"), "{head}");
    let mut body = String::new();
    socket.read_to_string(&mut body).await.unwrap();
    let json = body
        .split("\r\n")
        .find(|line| line.starts_with('{'))
        .expect("a JSON chunk");
    let json: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(json["error"]["code"], "unauthorized", "{json}");
    assert!(
        body.ends_with("\r\n0\r\n\r\n"),
        "the last chunk, then the close: {body:?}"
    );
    assert_eq!(app.engine().events().streams().open_count(), 0);
}

/// The idle timeout closes silent connections; a stream is never silent for long (its heartbeats), and its own
/// reads notice a hang-up, so it keeps its connection without deadlines, and an idle stream holds no timer.
async fn a_stream_outlives_the_idle_timeout_of_other_connections(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.config.idle_timeout_secs = 1;
    app.config.event_heartbeat_ms = 600_000;
    app.restart().await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    let (mut socket, head) = open_stream(&app, Some(&token)).await;
    assert!(head.starts_with("http/1.1 200 ok\r\n"), "{head}");
    // A connection that sends half a head and falls silent is closed at the idle timeout meanwhile.
    let address = app.address.trim_start_matches("http://");
    let mut silent = TcpStream::connect(address).await.unwrap();
    silent.write_all(b"GET /healthcheck HTTP/1.1\r\n").await.unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), silent.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the silent connection was closed");

    assert_eq!(
        app.engine().events().streams().open_count(),
        1,
        "the stream is still open"
    );
    app.engine().events().publish(vec![job_done(alice, 8)]);
    let read = read_until(&mut socket, "\"job_id\":8").await;
    assert!(read.contains("event: job.done\n"), "{read:?}");
}

crate::on_both_backends!(
    a_stream_outlives_the_idle_timeout_of_other_connections,
    a_stream_on_its_own_connection_is_chunked_and_a_hang_up_frees_its_place_at_once,
    a_refused_stream_on_its_own_connection_gets_its_json_error_then_the_close,
);
