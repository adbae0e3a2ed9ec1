//! A small Server-Sent Events reader for the event stream tests: messages as they arrive, comments apart.

use std::time::Duration;

use serde_json::Value;

/// How long a test waits for the next message before failing.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(20);

/// One message: its `id:`, `event:` and `data:` (parsed as JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub id: Option<i64>,
    pub event: String,
    pub data: Value,
}

pub struct SseReader {
    response: reqwest::Response,
    buffer: Vec<u8>,
    /// Comment lines seen so far (heartbeats).
    pub comments: usize,
}

impl SseReader {
    /// Reads a `GET /v1/events` response; fails the test unless it is a 200 event stream.
    pub fn new(response: reqwest::Response) -> SseReader {
        assert_eq!(response.status(), 200, "the stream opens");
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        SseReader {
            response,
            buffer: Vec::new(),
            comments: 0,
        }
    }

    /// The next message, or `None` once the server ended the stream; fails the test after 20 s of nothing.
    pub async fn next(&mut self) -> Option<Message> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|pair| pair == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                if let Some(message) = self.parse(std::str::from_utf8(&block).expect("UTF-8")) {
                    return Some(message);
                }
                continue;
            }
            let chunk = tokio::time::timeout(MESSAGE_TIMEOUT, self.response.chunk())
                .await
                .expect("a message within 20 s");
            match chunk {
                Ok(Some(bytes)) => self.buffer.extend_from_slice(&bytes),
                Ok(None) => return None,
                Err(error) => panic!("the stream failed: {error}"),
            }
        }
    }

    /// The next message that is not a heartbeat; fails the test if the stream ends first.
    pub async fn expect(&mut self) -> Message {
        self.next().await.expect("the stream is still open")
    }

    /// The next `count` messages.
    pub async fn take(&mut self, count: usize) -> Vec<Message> {
        let mut messages = Vec::with_capacity(count);
        for _ in 0..count {
            messages.push(self.expect().await);
        }
        messages
    }

    fn parse(&mut self, block: &str) -> Option<Message> {
        let mut id = None;
        let mut event = String::from("message");
        let mut data = String::new();
        let mut fields = 0;
        for line in block.lines().filter(|line| !line.is_empty()) {
            if line.starts_with(':') {
                self.comments += 1;
                continue;
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            fields += 1;
            match field {
                "id" => id = Some(value.parse().expect("a numeric id")),
                "event" => event = value.to_owned(),
                "data" => data.push_str(value),
                _ => {}
            }
        }
        (fields > 0).then(|| Message {
            id,
            event,
            data: serde_json::from_str(&data).unwrap_or_else(|error| panic!("data is JSON ({error}): {data}")),
        })
    }
}
