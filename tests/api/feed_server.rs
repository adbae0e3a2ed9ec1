//! A real HTTP feed server for tests: serves fixtures with ETag support and counts requests per path.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Request, Response};

#[derive(Clone)]
struct Fixture {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: String,
    content_type: &'static str,
    etag: String,
    /// When false, the server ignores If-None-Match and always answers 200.
    conditional: bool,
}

#[derive(Default)]
struct ServerState {
    fixtures: HashMap<String, Fixture>,
    requests: HashMap<String, usize>,
    not_modified: HashMap<String, usize>,
}

#[derive(Clone)]
pub struct FeedServer {
    address: String,
    state: Arc<Mutex<ServerState>>,
}

impl FeedServer {
    pub async fn start() -> FeedServer {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let address = acceptor.local_addr()[0].as_socket_addr().unwrap().to_string();
        let state = Arc::new(Mutex::new(ServerState::default()));
        let endpoint_state = state.clone();
        let endpoint = poem::endpoint::make(move |request: Request| {
            let state = endpoint_state.clone();
            async move { serve(&state, &request) }
        });
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(endpoint));
        FeedServer {
            address: format!("http://{address}"),
            state,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Serves `body` at `path`, with an ETag derived from the body.
    pub fn set(&self, path: &str, body: String, content_type: &'static str) {
        self.insert(path, body, content_type, true);
    }

    /// Serves `body` at `path` and always answers 200, ignoring conditional headers.
    pub fn set_unconditional(&self, path: &str, body: String, content_type: &'static str) {
        self.insert(path, body, content_type, false);
    }

    fn insert(&self, path: &str, body: String, content_type: &'static str, conditional: bool) {
        let etag = format!("\"{:x}\"", fnv_hash(&body));
        let fixture = Fixture {
            status: StatusCode::OK,
            headers: Vec::new(),
            body,
            content_type,
            etag,
            conditional,
        };
        self.state.lock().unwrap().fixtures.insert(path.to_owned(), fixture);
    }

    /// Answers `path` with a bare status and headers (errors, 410, 429 with Retry-After).
    pub fn set_status(&self, path: &str, status: u16, headers: &[(&'static str, &str)]) {
        let fixture = Fixture {
            status: StatusCode::from_u16(status).unwrap(),
            headers: headers.iter().map(|(name, value)| (*name, value.to_string())).collect(),
            body: String::new(),
            content_type: "text/plain",
            etag: String::new(),
            conditional: false,
        };
        self.state.lock().unwrap().fixtures.insert(path.to_owned(), fixture);
    }

    /// Redirects `path` to `target` (a path on this server) with the given 3xx status.
    pub fn set_redirect(&self, path: &str, status: u16, target: &str) {
        self.set_status(path, status, &[("location", &self.url(target))]);
    }

    pub fn requests(&self, path: &str) -> usize {
        self.state.lock().unwrap().requests.get(path).copied().unwrap_or(0)
    }

    pub fn not_modified(&self, path: &str) -> usize {
        self.state.lock().unwrap().not_modified.get(path).copied().unwrap_or(0)
    }
}

fn serve(state: &Mutex<ServerState>, request: &Request) -> poem::Result<Response> {
    let path = request.uri().path().to_owned();
    let mut state = state.lock().unwrap();
    *state.requests.entry(path.clone()).or_default() += 1;
    let Some(fixture) = state.fixtures.get(&path).cloned() else {
        return Ok(Response::builder().status(StatusCode::NOT_FOUND).body("no such feed"));
    };
    if fixture.status != StatusCode::OK {
        let mut response = Response::builder().status(fixture.status);
        for (name, value) in fixture.headers {
            response = response.header(name, value);
        }
        return Ok(response.body(fixture.body));
    }
    let if_none_match = request
        .headers()
        .get("if-none-match")
        .and_then(|value| value.to_str().ok());
    if fixture.conditional && if_none_match == Some(fixture.etag.as_str()) {
        *state.not_modified.entry(path).or_default() += 1;
        return Ok(Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header("etag", fixture.etag)
            .finish());
    }
    Ok(Response::builder()
        .header("content-type", fixture.content_type)
        .header("etag", fixture.etag)
        .body(fixture.body))
}

/// A cheap content hash for ETags (FNV-1a); tests only need "changes when the body changes".
fn fnv_hash(body: &str) -> u64 {
    body.bytes().fold(0xcbf29ce484222325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100000001b3)
    })
}

/// An RSS 2.0 document with entries `first..first+count`, newest first.
pub fn rss(title: &str, first: usize, count: usize) -> String {
    let items: String = (first..first + count)
        .rev()
        .map(|n| {
            format!(
                "<item><title>{title} {n}</title><link>https://example.com/{title}/{n}</link><guid>{title}-{n}</guid>\
                 <description>Summary {n}</description><pubDate>{}</pubDate></item>",
                date(n).to_rfc2822()
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><link>https://example.com/{title}</link>{items}</channel></rss>"#
    )
}

/// An Atom document with `count` entries.
pub fn atom(title: &str, count: usize) -> String {
    let entries: String = (0..count)
        .map(|n| {
            format!(
                "<entry><title>{title} {n}</title><id>urn:{title}:{n}</id><link href=\"https://example.com/{title}/{n}\"/>\
                 <updated>{}</updated><author><name>Author</name></author><content type=\"html\">&lt;p&gt;{n}&lt;/p&gt;</content></entry>",
                date(n).to_rfc3339()
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>{title}</title><id>urn:{title}</id><updated>2024-01-01T00:00:00Z</updated>{entries}</feed>"#
    )
}

/// A JSON Feed 1.1 document with `count` items.
pub fn json_feed(title: &str, count: usize) -> String {
    let items: Vec<serde_json::Value> = (0..count)
        .map(|n| {
            serde_json::json!({
                "id": format!("{title}-{n}"),
                "url": format!("https://example.com/{title}/{n}"),
                "title": format!("{title} {n}"),
                "content_html": format!("<p>{n}</p>"),
                "date_published": date(n).to_rfc3339(),
                "tags": ["json", "test"],
            })
        })
        .collect();
    serde_json::json!({"version": "https://jsonfeed.org/version/1.1", "title": title, "items": items}).to_string()
}

fn date(n: usize) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_700_000_000 + (n as i64) * 3600, 0).unwrap()
}
