//! Tests of the connection deadlines on an in-memory stream, with a paused clock.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::time::Instant;

use super::*;

const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The server's end (with deadlines) and the client's end of a new connection.
fn connection() -> (DeadlineStream<DuplexStream>, DuplexStream) {
    let (server, client) = tokio::io::duplex(64 * 1024);
    let deadlines = Deadlines {
        header_timeout: HEADER_TIMEOUT,
        idle_timeout: IDLE_TIMEOUT,
    };
    (DeadlineStream::new(server, deadlines, None), client)
}

/// Reads until the stream fails; returns the error's kind and when it came, counted from `start`. Fails the
/// test if the stream is still open after an hour (of the paused clock).
async fn read_until_closed(server: &mut DeadlineStream<DuplexStream>, start: Instant) -> (io::ErrorKind, Duration) {
    let mut buffer = [0u8; 1024];
    let failed = tokio::time::timeout(Duration::from_secs(3600), async {
        loop {
            match server.read(&mut buffer).await {
                Ok(0) => panic!("the client closed first"),
                Ok(_) => {}
                Err(error) => return error.kind(),
            }
        }
    })
    .await
    .expect("the connection was never closed");
    (failed, start.elapsed())
}

/// Sends `bytes` from the client and reads them on the server, all of them.
async fn pass(server: &mut DeadlineStream<DuplexStream>, client: &mut DuplexStream, bytes: &[u8]) {
    client.write_all(bytes).await.unwrap();
    let mut received = vec![0u8; bytes.len()];
    server.read_exact(&mut received).await.unwrap();
}

/// Sends `bytes` one per second.
fn trickle(mut client: DuplexStream, bytes: &'static [u8]) -> tokio::task::JoinHandle<DuplexStream> {
    tokio::spawn(async move {
        for byte in bytes {
            if client.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        client
    })
}

#[tokio::test(start_paused = true)]
async fn a_silent_connection_is_closed_at_the_header_timeout() {
    let start = Instant::now();
    let (mut server, _client) = connection();
    let (kind, after) = read_until_closed(&mut server, start).await;
    assert_eq!(kind, io::ErrorKind::TimedOut);
    assert_eq!(after, HEADER_TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn a_head_trickled_byte_by_byte_is_cut_at_the_header_timeout() {
    let start = Instant::now();
    let (mut server, client) = connection();
    let _trickler = trickle(
        client,
        b"GET /healthcheck HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaa",
    );
    let (kind, after) = read_until_closed(&mut server, start).await;
    assert_eq!(kind, io::ErrorKind::TimedOut);
    assert_eq!(after, HEADER_TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn after_a_complete_head_only_the_idle_timeout_applies() {
    let start = Instant::now();
    let (mut server, mut client) = connection();
    client.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (kind, after) = read_until_closed(&mut server, start).await;
    assert_eq!(kind, io::ErrorKind::TimedOut);
    assert_eq!(after, IDLE_TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn a_kept_alive_connection_gets_a_fresh_head_deadline_per_request() {
    let (mut server, mut client) = connection();
    pass(&mut server, &mut client, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
    server
        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
        .await
        .unwrap();

    // Quiet for longer than the header timeout, shorter than the idle one: still open.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let start = Instant::now();
    let _trickler = trickle(client, b"GET /again HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaa");
    let (kind, after) = read_until_closed(&mut server, start).await;
    assert_eq!(kind, io::ErrorKind::TimedOut);
    assert_eq!(after, HEADER_TIMEOUT);
}

#[tokio::test(start_paused = true)]
async fn a_slow_body_after_100_continue_is_not_taken_for_a_head() {
    let (mut server, mut client) = connection();
    let head = b"POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 20\r\n\r\n";
    pass(&mut server, &mut client, head).await;
    server.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.unwrap();
    let _trickler = trickle(client, b"aaaaaaaaaaaaaaaaaaaa");
    let mut body = [0u8; 20];
    server
        .read_exact(&mut body)
        .await
        .expect("a body at one byte a second is read whole");
}

#[tokio::test(start_paused = true)]
async fn http2_prior_knowledge_gets_only_the_idle_timeout() {
    let (mut server, mut client) = connection();
    pass(&mut server, &mut client, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").await;
    server.write_all(b"\0\0\0\x04\0\0\0\0\0").await.unwrap();
    let _trickler = trickle(client, b"\0\0\0\x04\x01\0\0\0\0\0\0\0");
    let mut frames = [0u8; 12];
    server
        .read_exact(&mut frames)
        .await
        .expect("frames without empty lines are not cut");
}

#[test]
fn a_head_ends_at_its_first_empty_line() {
    let mut end = HeadEnd::default();
    assert_eq!(end.feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"), Some(27));
    let mut bare = HeadEnd::default();
    assert_eq!(bare.feed(b"GET / HTTP/1.1\nHost: x\n\nbody"), Some(24));
}

#[test]
fn a_head_end_is_found_across_reads() {
    let mut end = HeadEnd::default();
    assert_eq!(end.feed(b"GET / HTTP/1.1\r\nHost: x\r"), None);
    assert_eq!(end.feed(b"\n\r"), None);
    assert_eq!(end.feed(b"\n"), Some(1));
}

#[test]
fn empty_lines_before_the_request_line_do_not_end_a_head() {
    let mut end = HeadEnd::default();
    assert_eq!(end.feed(b"\r\n\r\n\n\n"), None);
    assert_eq!(end.feed(b"GET / HTTP/1.1\r\n\r\n"), Some(18));
}
