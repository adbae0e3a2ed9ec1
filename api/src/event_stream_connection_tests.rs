use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

fn classified(bytes: &[u8]) -> Option<Classified> {
    classify(bytes, 16 * 1024)
}

fn is_stream(bytes: &[u8]) -> bool {
    matches!(classified(bytes), Some(Classified::EventStream(_)))
}

fn is_other(bytes: &[u8]) -> bool {
    matches!(classified(bytes), Some(Classified::Other))
}

#[test]
fn an_event_stream_head_is_taken_with_its_path_query_and_headers() {
    let head = b"GET /v1/events?types=article.new HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t\r\n\r\n";
    let Some(Classified::EventStream(parts)) = classified(head) else {
        panic!("not taken")
    };
    assert_eq!(parts.uri.path(), "/v1/events");
    assert_eq!(parts.uri.query(), Some("types=article.new"));
    assert_eq!(parts.headers["authorization"], "Bearer t");
    assert!(is_stream(b"GET /v1/events HTTP/1.1\r\nContent-Length: 0\r\n\r\n"));
}

#[test]
fn more_bytes_are_awaited_while_they_could_still_be_an_event_stream() {
    for partial in [
        &b"G"[..],
        b"GET /v1/ev",
        b"GET /v1/events",
        b"GET /v1/events?a=b HTTP/1.1\r\nHost: x\r\n",
    ] {
        assert!(classified(partial).is_none(), "{:?}", String::from_utf8_lossy(partial));
    }
}

#[test]
fn everything_else_goes_to_hyper() {
    let others: [&[u8]; 12] = [
        b"GET /v1/articles HTTP/1.1\r\n\r\n",
        b"POST /v1/events HTTP/1.1\r\n\r\n",
        b"GET /v1/eventsx HTTP/1.1\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET /v1/events HTTP/1.0\r\n\r\n",
        b"GET /v1/events HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        b"GET /v1/events HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
        b"GET /v1/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"GET /v1/events HTTP/1.1\r\nUpgrade: h2c\r\n\r\n",
        b"GET /v1/events HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
        // A pipelined request after the head.
        b"GET /v1/events HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        b"GET /v1/events HTTP/1.1\r\nBad Header\r\n\r\n",
    ];
    for other in others {
        assert!(is_other(other), "{:?}", String::from_utf8_lossy(other));
    }
}

#[test]
fn a_head_longer_than_the_limit_goes_to_hyper_which_refuses_it() {
    let long = format!("GET /v1/events HTTP/1.1\r\nX-Long: {}\r\n", "a".repeat(100));
    assert!(classify(long.as_bytes(), 64).is_some_and(|classified| matches!(classified, Classified::Other)));
    assert!(classify(long.as_bytes(), 16 * 1024).is_none());
}

#[tokio::test]
async fn the_opening_is_read_across_reads_and_stops_at_the_first_byte_that_tells() {
    let (mut client, mut server) = tokio::io::duplex(1024);
    let reading = tokio::spawn(async move { (read_opening(&mut server, 16 * 1024).await, server) });
    client.write_all(b"GET /v1/ev").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    client.write_all(b"ents HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    let (opening, _server) = reading.await.unwrap();
    assert!(matches!(opening, Opening::EventStream(_)), "{opening:?}");

    let (mut client, mut server) = tokio::io::duplex(1024);
    client.write_all(b"GET /health").await.unwrap();
    // Not an event stream from the sixth byte on: handed over without waiting for the rest of the head.
    let opening = read_opening(&mut server, 16 * 1024).await;
    assert!(
        matches!(&opening, Opening::Other(read) if read.as_ref() == b"GET /health"),
        "{opening:?}"
    );

    let (client, mut server) = tokio::io::duplex(1024);
    drop(client);
    assert!(matches!(read_opening(&mut server, 16 * 1024).await, Opening::Closed));
}

fn streaming_response(chunks: Vec<&'static str>) -> Response {
    let body = futures::stream::iter(chunks.into_iter().map(|chunk| Ok::<_, io::Error>(Bytes::from(chunk))));
    Response::builder()
        .content_type("text/event-stream")
        .header("content-length", "99")
        .body(poem::Body::from_bytes_stream(body))
}

#[tokio::test]
async fn the_response_is_chunked_and_closes_the_connection() {
    let (mut client, server) = tokio::io::duplex(4096);
    answer(server, streaming_response(vec![": one\n\n", "", "data: two\n\n"])).await;
    let mut written = String::new();
    client.read_to_string(&mut written).await.unwrap();
    let (head, body) = written.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\ncontent-type: text/event-stream\r\n"), "{head}");
    assert!(head.contains("\r\ntransfer-encoding: chunked\r\n"), "{head}");
    assert!(head.contains("\r\nconnection: close"), "{head}");
    assert!(head.contains("\r\ndate: "), "{head}");
    assert!(!head.contains("content-length"), "the framing is chunked: {head}");
    // Both messages were ready at once: one chunk (0x12 = 18 bytes), then the last chunk.
    assert_eq!(body, "12\r\n: one\n\ndata: two\n\n\r\n0\r\n\r\n");
}

#[tokio::test]
async fn a_client_that_hangs_up_ends_a_stream_that_has_nothing_to_send() {
    let (mut client, server) = tokio::io::duplex(4096);
    let silent = Response::builder()
        .content_type("text/event-stream")
        .body(poem::Body::from_bytes_stream(futures::stream::pending::<
            Result<Bytes, io::Error>,
        >()));
    let answering = tokio::spawn(answer(server, silent));
    let mut head = [0u8; 12];
    client.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    drop(client);
    tokio::time::timeout(std::time::Duration::from_secs(5), answering)
        .await
        .expect("the hang-up ended the answer")
        .unwrap();
}

#[tokio::test]
async fn messages_ready_together_go_out_in_one_chunk_and_a_failed_body_ends_without_the_last_chunk() {
    let (mut client, server) = tokio::io::duplex(4096);
    let body = futures::stream::iter([
        Ok(Bytes::from_static(b"data: 1\n\n")),
        Ok(Bytes::from_static(b"data: 2\n\n")),
        Err(io::Error::other("the stream broke")),
    ]);
    answer(server, Response::builder().body(poem::Body::from_bytes_stream(body))).await;
    let mut written = String::new();
    client.read_to_string(&mut written).await.unwrap();
    let (_, body) = written.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "12\r\ndata: 1\n\ndata: 2\n\n\r\n");
}
