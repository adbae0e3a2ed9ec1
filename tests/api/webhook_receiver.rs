//! A webhook receiver inside the test: a real HTTP server on 127.0.0.1 that records every delivery it gets and
//! answers each with the next status of its script (then 200 for ever), with a `Retry-After` on 429 and 503 when
//! told to.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use poem::http::StatusCode;
use poem::{endpoint::make, Request, Response};
use serde_json::Value;

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub event: Option<String>,
    pub delivery: Option<String>,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
    pub body: Vec<u8>,
    /// What the receiver answered.
    pub status: u16,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a delivery's body is JSON")
    }

    /// Whether the signature is the one `secret` makes of the timestamp and the body.
    pub fn signed_with(&self, secret: &str) -> bool {
        let timestamp: i64 = self
            .timestamp
            .as_deref()
            .and_then(|timestamp| timestamp.parse().ok())
            .expect("a numeric X-Syndic-Timestamp");
        syndic_actors::webhook_signature::verify(
            secret,
            timestamp,
            &self.body,
            self.signature.as_deref().unwrap_or_default(),
        )
    }
}

#[derive(Default)]
struct State {
    script: VecDeque<u16>,
    received: Vec<Received>,
    /// The `Retry-After` sent with a 429 or a 503, if any.
    retry_after: Option<String>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Receiver {
    /// A receiver that answers with `script`'s statuses in turn, then 200.
    pub async fn start(script: &[u16]) -> Receiver {
        let state = Arc::new(Mutex::new(State {
            script: script.iter().copied().collect(),
            received: Vec::new(),
            retry_after: None,
        }));
        let shared = state.clone();
        let endpoint = make(move |request: Request| {
            let state = shared.clone();
            async move { answer(state, request).await }
        });
        let address = syndic_testkit::feed_server::serve(0, endpoint)
            .await
            .expect("the receiver starts");
        Receiver {
            url: format!("http://{address}/hook"),
            state,
        }
    }

    /// Answers with `status` from now on, whatever the script said.
    pub fn always(&self, status: u16) {
        let mut state = self.state.lock().unwrap();
        state.script = std::iter::repeat_n(status, 10_000).collect();
    }

    /// Sends `Retry-After: value` with every 429 and 503 from now on.
    pub fn retry_after(&self, value: &str) {
        self.state.lock().unwrap().retry_after = Some(value.to_owned());
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The deliveries it answered with 2xx.
    pub fn accepted(&self) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|received| (200..300).contains(&received.status))
            .collect()
    }
}

async fn answer(state: Arc<Mutex<State>>, mut request: Request) -> Response {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    let (event, delivery, timestamp, signature) = (
        header("x-syndic-event"),
        header("x-syndic-delivery"),
        header("x-syndic-timestamp"),
        header("x-syndic-signature"),
    );
    let body = request.take_body().into_vec().await.unwrap_or_default();
    let mut state = state.lock().unwrap();
    let status = state.script.pop_front().unwrap_or(200);
    state.received.push(Received {
        event,
        delivery,
        timestamp,
        signature,
        body,
        status,
        at: Instant::now(),
    });
    let mut response = Response::builder().status(StatusCode::from_u16(status).unwrap_or(StatusCode::OK));
    if let (429 | 503, Some(retry_after)) = (status, state.retry_after.as_deref()) {
        response = response.header("Retry-After", retry_after);
    }
    response.body("thanks")
}
