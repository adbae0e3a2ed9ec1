//! The event stream's payload: Server-Sent Events on the wire, documented as one SSE message per item. That is
//! what OpenAPI 3.2's `itemSchema` describes and what schemathesis checks each parsed message against on 3.0
//! (`schema` taken per message); poem-openapi's own `EventStream` documents an array of `data:` objects instead,
//! which no parsed message can match.
//!
//! The body hands each message to hyper as one `Bytes` of its own size. poem's `SSE` response goes through an
//! `AsyncRead` and a 4 KiB read buffer per stream instead, which an idle stream keeps for its whole life.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use poem::web::sse::Event as SseEvent;
use poem::{Body, IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::ApiResponse;
use serde_json::json;
use syndic_actors::events::EventKind;
use tokio::time::{Interval, MissedTickBehavior};

use crate::events::EventPayload;

/// A heartbeat: a comment line, which clients ignore and proxies take as traffic.
const HEARTBEAT: &[u8] = b":\n\n";

/// Server-Sent Events whose `data:` is an [`EventPayload`] JSON object.
pub struct SseMessages {
    messages: BoxStream<'static, SseEvent>,
    heartbeat: Duration,
}

impl SseMessages {
    /// The messages, with a comment line every `heartbeat` (the first one `heartbeat` after the start).
    pub fn new(messages: BoxStream<'static, SseEvent>, heartbeat: Duration) -> SseMessages {
        SseMessages { messages, heartbeat }
    }
}

/// The body: each message, or a heartbeat when none is ready and the interval ticked.
struct WithHeartbeats {
    messages: BoxStream<'static, SseEvent>,
    heartbeats: Interval,
}

impl Stream for WithHeartbeats {
    type Item = Result<Bytes, std::io::Error>;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Poll::Ready(message) = this.messages.poll_next_unpin(context) {
            return Poll::Ready(message.map(|message| Ok(Bytes::from(message.to_string()))));
        }
        this.heartbeats
            .poll_tick(context)
            .map(|_| Some(Ok(Bytes::from_static(HEARTBEAT))))
    }
}

/// The event types a message's `event:` can name.
const EVENT_TYPES: [EventKind; 7] = [
    EventKind::ArticleNew,
    EventKind::FeedStatus,
    EventKind::JobProgress,
    EventKind::JobDone,
    EventKind::WebhookDisabled,
    EventKind::ShareNew,
    EventKind::Resync,
];

fn string(description: &'static str) -> MetaSchema {
    MetaSchema {
        description: Some(description),
        ..MetaSchema::new("string")
    }
}

impl Payload for SseMessages {
    const CONTENT_TYPE: &'static str = "text/event-stream";

    fn schema_ref() -> MetaSchemaRef {
        let event = MetaSchema {
            enum_items: EVENT_TYPES.iter().map(|kind| json!(kind.as_str())).collect(),
            ..string("The event's type, the same as `type` in its data.")
        };
        // On the wire `data:` is text; decoded, it is an `Event`. OpenAPI 3.0 cannot say "a string holding
        // this JSON" (3.1's `contentSchema`), so the decoded shape is the other branch of `anyOf`: a parsed
        // message matches the text branch, and the `Event` schemas stay in the contract.
        let data = MetaSchema {
            description: Some("The JSON text of one `Event` object; decoded, it is an `Event`."),
            any_of: vec![
                MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
                EventPayload::schema_ref(),
            ],
            ..MetaSchema::ANY
        };
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some("One SSE message. Comment lines (heartbeats) carry no message."),
            required: vec!["event", "data"],
            properties: vec![
                (
                    "id",
                    MetaSchemaRef::Inline(Box::new(string(
                        "The event's id, increasing per user; what `Last-Event-ID` names. `resync` has none.",
                    ))),
                ),
                ("event", MetaSchemaRef::Inline(Box::new(event))),
                ("data", MetaSchemaRef::Inline(Box::new(data))),
            ],
            ..MetaSchema::new("object")
        }))
    }

    fn register(registry: &mut Registry) {
        EventPayload::register(registry);
    }
}

impl IntoResponse for SseMessages {
    fn into_response(self) -> Response {
        let period = self.heartbeat.max(Duration::from_millis(1));
        let mut heartbeats = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        // A stream busy with messages owes no heartbeats afterwards.
        heartbeats.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let body = WithHeartbeats {
            messages: self.messages,
            heartbeats,
        };
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            // Tells nginx not to buffer the stream.
            .header("X-Accel-Buffering", "no")
            .header("Cache-Control", "no-cache")
            .body(Body::from_bytes_stream(body))
    }
}

impl ApiResponse for SseMessages {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Self::CONTENT_TYPE,
                    schema: Self::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        EventPayload::register(registry);
    }
}
