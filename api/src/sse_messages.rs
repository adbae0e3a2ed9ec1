//! The event stream's payload: Server-Sent Events on the wire, documented as one SSE message per item. That is
//! what OpenAPI 3.2's `itemSchema` describes and what schemathesis checks each parsed message against on 3.0
//! (`schema` taken per message); poem-openapi's own `EventStream` documents an array of `data:` objects instead,
//! which no parsed message can match.
//!
//! The body hands each message to hyper as one `Bytes` of its own size. poem's `SSE` response goes through an
//! `AsyncRead` and a 4 KiB read buffer per stream instead, which an idle stream keeps for its whole life, and a
//! heartbeat timer of its own; here the engine's one ticker says when a heartbeat is due (`EventStreams`).

use bytes::Bytes;
use futures::{Stream, StreamExt};
use poem::web::sse::Event as SseEvent;
use poem::{Body, IntoResponse, Response};
use poem_openapi::payload::Payload;
use poem_openapi::registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use poem_openapi::ApiResponse;
use serde_json::json;
use syndic_actors::events::EventKind;

use crate::events::EventPayload;

/// A heartbeat: a comment line, which clients ignore and proxies take as traffic.
const HEARTBEAT: &[u8] = b":\n\n";

/// What an event stream sends: a message, or a heartbeat when the engine's ticker says one is due.
pub enum SseItem {
    Message(SseEvent),
    Heartbeat,
}

impl SseItem {
    fn into_bytes(self) -> Bytes {
        match self {
            SseItem::Message(message) => Bytes::from(message.to_string()),
            SseItem::Heartbeat => Bytes::from_static(HEARTBEAT),
        }
    }
}

/// Server-Sent Events whose `data:` is an [`EventPayload`] JSON object.
pub struct SseMessages {
    body: Body,
}

impl SseMessages {
    /// The items, each encoded as it comes. The body boxes the stream once, with nothing beside it: an idle
    /// stream holds this and its own state only.
    pub fn new(items: impl Stream<Item = SseItem> + Send + 'static) -> SseMessages {
        SseMessages {
            body: Body::from_bytes_stream(items.map(|item| Ok::<_, std::io::Error>(item.into_bytes()))),
        }
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
        Response::builder()
            .content_type(Self::CONTENT_TYPE)
            // Tells nginx not to buffer the stream.
            .header("X-Accel-Buffering", "no")
            .header("Cache-Control", "no-cache")
            .body(self.body)
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
