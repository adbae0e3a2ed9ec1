//! An in-process HTTP feed server on 127.0.0.1: fixtures with ETag support, bare statuses and redirects, and
//! documents generated anew at every request; it counts requests per path. `serve` starts any poem endpoint
//! the same way, for servers with logic of their own (the load farm).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use poem::http::StatusCode;
use poem::listener::{Acceptor, Listener, TcpListener};
use poem::{Endpoint, Request, Response};

/// Serves `endpoint` on `127.0.0.1:port` (0: any free port) until the runtime stops; returns its address.
pub async fn serve<E>(port: u16, endpoint: E) -> anyhow::Result<SocketAddr>
where
    E: Endpoint + 'static,
{
    let acceptor = TcpListener::bind(format!("127.0.0.1:{port}"))
        .into_acceptor()
        .await
        .with_context(|| format!("Failed to bind 127.0.0.1:{port}"))?;
    let address = acceptor
        .local_addr()
        .first()
        .and_then(|address| address.as_socket_addr().copied())
        .context("The listener has no address")?;
    tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(endpoint));
    Ok(address)
}

/// Makes a document from the number of earlier requests to its path.
type Generator = Arc<dyn Fn(usize) -> String + Send + Sync>;

#[derive(Clone)]
enum Body {
    Fixed(String),
    Generated(Generator),
}

#[derive(Clone)]
struct Fixture {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    body: Body,
    content_type: &'static str,
    etag: Option<String>,
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
        let state = Arc::new(Mutex::new(ServerState::default()));
        let endpoint_state = state.clone();
        let endpoint = poem::endpoint::make(move |request: Request| {
            let state = endpoint_state.clone();
            async move { Ok::<_, poem::Error>(respond(&state, &request)) }
        });
        let address = serve(0, endpoint).await.expect("the feed server starts");
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

    /// Serves at `path` the document `generate` makes from the number of earlier requests to it: 0, 1, …;
    /// always 200, with no ETag.
    pub fn set_generated<G>(&self, path: &str, content_type: &'static str, generate: G)
    where
        G: Fn(usize) -> String + Send + Sync + 'static,
    {
        let fixture = Fixture {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: Body::Generated(Arc::new(generate)),
            content_type,
            etag: None,
            conditional: false,
        };
        self.state.lock().unwrap().fixtures.insert(path.to_owned(), fixture);
    }

    fn insert(&self, path: &str, body: String, content_type: &'static str, conditional: bool) {
        let etag = format!("\"{:x}\"", fnv_hash(&body));
        let fixture = Fixture {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: Body::Fixed(body),
            content_type,
            etag: Some(etag),
            conditional,
        };
        self.state.lock().unwrap().fixtures.insert(path.to_owned(), fixture);
    }

    /// Answers `path` with a bare status and headers (errors, 410, 429 with Retry-After).
    pub fn set_status(&self, path: &str, status: u16, headers: &[(&'static str, &str)]) {
        let fixture = Fixture {
            status: StatusCode::from_u16(status).unwrap(),
            headers: headers.iter().map(|(name, value)| (*name, value.to_string())).collect(),
            body: Body::Fixed(String::new()),
            content_type: "text/plain",
            etag: None,
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

fn respond(state: &Mutex<ServerState>, request: &Request) -> Response {
    let path = request.uri().path().to_owned();
    let mut state = state.lock().unwrap();
    let earlier = state.requests.get(&path).copied().unwrap_or(0);
    state.requests.insert(path.clone(), earlier + 1);
    let Some(fixture) = state.fixtures.get(&path).cloned() else {
        return Response::builder().status(StatusCode::NOT_FOUND).body("no such feed");
    };
    if fixture.status != StatusCode::OK {
        let mut response = Response::builder().status(fixture.status);
        for (name, value) in fixture.headers {
            response = response.header(name, value);
        }
        return response.body(fixture.body.make(earlier));
    }
    let if_none_match = request
        .headers()
        .get("if-none-match")
        .and_then(|value| value.to_str().ok());
    if fixture.conditional && if_none_match.is_some() && if_none_match == fixture.etag.as_deref() {
        *state.not_modified.entry(path).or_default() += 1;
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header("etag", fixture.etag.unwrap_or_default())
            .finish();
    }
    // Released before the body is made, so that generating a document holds up no other request.
    drop(state);
    let mut response = Response::builder().header("content-type", fixture.content_type);
    if let Some(etag) = fixture.etag {
        response = response.header("etag", etag);
    }
    response.body(fixture.body.make(earlier))
}

impl Body {
    fn make(self, earlier_requests: usize) -> String {
        match self {
            Body::Fixed(body) => body,
            Body::Generated(generate) => generate(earlier_requests),
        }
    }
}

/// A cheap content hash for ETags (FNV-1a); tests only need "changes when the body changes".
fn fnv_hash(body: &str) -> u64 {
    body.bytes().fold(0xcbf29ce484222325u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x100000001b3)
    })
}
