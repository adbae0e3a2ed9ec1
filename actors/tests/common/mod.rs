//! Small raw HTTP servers for the fetch tests: real sockets on 127.0.0.1, each one misbehaving exactly
//! as a test asks, which a well-behaved server library would not let us do.
// Each test file uses a different part of this module.
#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use syndic_actors::feed_url::FeedUrl;
use syndic_actors::fetch::{FetchSettings, Fetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// What the server read of one request.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub arrived: Instant,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Serves every connection with `handler`, which gets the request and the socket to answer on as it
/// likes. One request per connection: answers should say `Connection: close`.
pub async fn serve<H, F>(handler: H) -> SocketAddr
where
    H: Fn(Request, TcpStream) -> F + Send + Sync + 'static,
    F: Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let handler = Arc::new(handler);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let handler = Arc::clone(&handler);
            tokio::spawn(async move {
                if let Some(request) = read_request(&mut stream).await {
                    handler(request, stream).await;
                }
            });
        }
    });
    address
}

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buffer.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 || buffer.len() > 64 * 1024 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    }
    let arrived = Instant::now();
    let text = String::from_utf8_lossy(&buffer);
    let mut lines = text.split("\r\n");
    let path = lines.next()?.split(' ').nth(1)?.to_owned();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_owned(), value.trim().to_owned()))
        .collect();
    Some(Request { path, headers, arrived })
}

/// Writes a whole response with a Content-Length and closes.
pub async fn respond(mut stream: TcpStream, status: &str, headers: &[(&str, &str)], body: &[u8]) {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}

/// Settings for tests: private addresses allowed (the servers are on 127.0.0.1), short timeouts, a
/// 1 MiB cap and no politeness gap, so that a test that hangs fails fast.
pub fn test_settings() -> FetchSettings {
    FetchSettings {
        connect_timeout: Duration::from_secs(1),
        total_timeout: Duration::from_millis(1500),
        max_body_bytes: 1024 * 1024,
        max_redirects: 5,
        allow_private_networks: true,
        per_host_interval: Duration::ZERO,
        ..FetchSettings::default()
    }
}

pub fn fetcher(settings: FetchSettings) -> Fetcher {
    Fetcher::new(settings).unwrap()
}

pub fn url(address: SocketAddr, path: &str) -> FeedUrl {
    FeedUrl::parse(&format!("http://{address}{path}")).unwrap()
}

pub const SMALL_FEED: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><guid>1</guid><title>one</title></item></channel></rss>"#;
