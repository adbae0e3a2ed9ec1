//! `GET /v1/events`: a user's events as Server-Sent Events. A reconnecting client names the last event it saw
//! (`Last-Event-ID`, or `?last_event_id=`) and first gets what it missed from the durable log, then the live
//! events; `resync` says that it missed events no longer kept, or stayed behind too long and is being cut off.

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::Stream;
use poem::web::sse::Event as SseEvent;
use poem::web::Data;
use poem_openapi::param::{Header, Query};
use poem_openapi::{Object, OpenApi, Union};
use serde_json::{json, Value};
use syndic_actors::domain::{ArticleId, FeedId};
use syndic_actors::engine::Engine;
use syndic_actors::events::{Event, EventKind, LiveEvent, LiveEvents, StreamRefused};
use syndic_actors::instruments::{self, DeliveryTimedFrom};
use syndic_actors::saved_filter::SavedFilterId;
use tokio::time::Instant;

use crate::auth::StreamAuth;
use crate::error::ApiError;
use crate::error_responses::{Events, Failure};
use crate::event_filter::{article_ids, EventFilter};
use crate::feeds::FeedStatusBody;
use crate::jobs::JobStatusBody;
use crate::sse_messages::{SseItem, SseMessages};
use crate::webhook_payloads::ShareNewData;
use crate::ApiTags;

/// Events read from the log per query while replaying or catching up: what one stream holds at most while it
/// reads the log.
const LOG_PAGE: u32 = 100;
/// How long a client refused for too many streams is told to wait.
const RETRY_AFTER_SECONDS: u64 = 5;

pub struct EventsApi;

#[OpenApi(prefix_path = "/v1", tag = "ApiTags::Events")]
impl EventsApi {
    /// The user's events as Server-Sent Events (`text/event-stream`). Each message has `id:` (increasing per
    /// user), `event:` (the type) and `data:`, one JSON object described by `Event`. A comment line comes every
    /// 15 s. The token goes in the `Authorization` header or, for a browser's `EventSource`, in
    /// `?access_token=`. After `Last-Event-ID` (or `?last_event_id=`), the stream first replays the kept events
    /// after that id, in order; if some were no longer kept (the log keeps each user's last 24 h, at most
    /// 10,000 events), a `resync` comes first. A burst larger than the stream's buffer is read from the log, in
    /// order; a client that stays behind for longer than the allowed lag (10 s: it does not read) gets `resync`
    /// and the stream ends: reload state, then reconnect. With `filter`, an `article.new` comes only when some of
    /// the articles it lists match the saved filter, and then lists only those (`count` is how many); an article
    /// matches when `GET /v1/articles?filter=` would list it. Other event types are not filtered by it (`types`
    /// picks them). A filter deleted while the stream is open matches nothing from then on. With `category`,
    /// an event about a feed (`article.new`, `feed.status`) comes only when that feed is, as the event is
    /// sent, in your category of that name: moving a feed in or out while the stream is open counts from its
    /// next event, renaming the category keeps the stream on it, and deleting it leaves a stream that gets no
    /// feed's events. Events about no feed (`job.progress`, `job.done`, `webhook.disabled`, `share.new`) are not
    /// filtered by it. A replay after `Last-Event-ID` is filtered the same way, by where the feeds are now. All
    /// the filters given must hold.
    #[oai(path = "/events", method = "get", operation_id = "stream_events")]
    // One argument per documented input: poem-openapi builds the spec from them.
    #[allow(clippy::too_many_arguments)]
    async fn stream(
        &self,
        auth: StreamAuth,
        /// Only these event types, comma-separated: `article.new`, `feed.status`, `job.progress`, `job.done`,
        /// `webhook.disabled`.
        /// `resync` always comes.
        types: Query<Option<String>>,
        /// Only events about this feed (and `resync`).
        #[oai(validator(minimum(value = 1.0)))]
        feed_id: Query<Option<i64>>,
        /// Only the new articles that your saved filter of this id keeps (see above); 422 when it is not one of
        /// yours.
        #[oai(name = "filter", validator(minimum(value = 1.0)))]
        filter_id: Query<Option<SavedFilterId>>,
        /// Only the events about feeds in your category of this name (see above); 422 when you have none of
        /// this name: unlike `GET /v1/articles?category=`, which lists nothing, since a stream that can never
        /// match is a mistake.
        category: Query<Option<String>>,
        /// The last event id seen, for clients that cannot send the `Last-Event-ID` header.
        #[oai(validator(minimum(value = 0.0)))]
        last_event_id: Query<Option<i64>>,
        /// The last event id seen; a browser's `EventSource` sends it when it reconnects.
        #[oai(name = "Last-Event-ID")]
        last_event_id_header: Header<Option<String>>,
        engine: Data<&Engine>,
    ) -> Result<SseMessages, Failure<Events>> {
        let mut filter = EventFilter::parse(types.0.as_deref(), feed_id.0)?;
        if let Some(saved) = filter_id.0 {
            filter.saved = Some(engine.users_saved_filter("filter", auth.user(), saved).await?);
        }
        if let Some(name) = category.0.as_deref() {
            filter.category = Some(engine.users_category_id("category", auth.user(), name).await?);
        }
        let after = match last_event_id_header.0.as_deref() {
            Some(header) => Some(parse_last_event_id(header)?),
            None => last_event_id.0,
        };
        let user = auth.user();
        // Every stream starts after an id: the client's, or else the user's latest event, so that a fresh stream
        // starts live and no catch-up ever reads history the client did not ask for. The log's bounds are read
        // first and the stream opens behind: it reads the log after that id (what was stored meanwhile), then
        // resumes the live side, so nothing falls between the two.
        let bounds = engine.event_log_bounds(user).await?;
        let live = engine.events().streams().open(user).map_err(refused)?;
        let mut state = StreamState {
            engine: engine.0.clone(),
            filter: (filter != EventFilter::default()).then(|| Box::new(filter)),
            live,
            reading_log: true,
            resumed: false,
            behind_since: None,
            page: None,
            last_id: after.unwrap_or(bounds.last_id),
            opened_after: bounds.last_id,
            gap_first: false,
            ended: false,
        };
        if let Some(after) = after {
            if bounds.has_gap_after(after) || after > bounds.last_id {
                state.gap_first = true;
                state.last_id = after.min(bounds.last_id);
            }
        }
        Ok(SseMessages::new(EventMessages::Ready(state)))
    }
}

fn refused(refusal: StreamRefused) -> ApiError {
    match refusal {
        StreamRefused::TooManyForUser | StreamRefused::TooMany => ApiError::RateLimited {
            message: refusal.to_string(),
            retry_after_seconds: RETRY_AFTER_SECONDS,
        },
        StreamRefused::Closing => ApiError::Unavailable(refusal.to_string().into()),
    }
}

fn parse_last_event_id(header: &str) -> Result<i64, ApiError> {
    match header.trim().parse::<i64>() {
        Ok(id) if id >= 0 => Ok(id),
        _ => Err(ApiError::MalformedField {
            field: "Last-Event-ID".to_owned(),
            message: "Last-Event-ID must be a non-negative integer".to_owned(),
        }),
    }
}

/// One stream's progress: reads from the log (a replay, or catching up after falling behind), then the live
/// events.
///
/// Every idle stream holds this state for its whole life, so it keeps nothing another part holds already (the
/// user is in `live`), a filter only when the stream has one, and a page only while it passes one.
struct StreamState {
    engine: Engine,
    /// The stream's filter; `None` when it wants every event, as most streams do.
    filter: Option<Box<EventFilter>>,
    live: LiveEvents,
    /// Reading the log: a replay, or catching up with what the live side left there.
    reading_log: bool,
    /// Whether the live side was resumed during this read of the log (one more read follows it).
    resumed: bool,
    /// Since when this stream has been behind the live events, while it is.
    behind_since: Option<Instant>,
    /// While the stream passes a page of events: boxed, and only then, as a waiting stream has none.
    page: Option<Box<Page>>,
    /// The id of the last event this stream passed (sent or filtered out): live events up to it were read.
    last_id: i64,
    /// The user's latest event id when the stream opened: the events after it were stored while it was open,
    /// and their delivery is timed.
    opened_after: i64,
    /// Whether a `resync` for a gap comes before anything else. A flag rather than the reason: every idle
    /// stream holds this state.
    gap_first: bool,
    ended: bool,
}

/// Events a stream passes a page at a time (read from the log, or a live burst matched with the store), and
/// what the store said about them.
#[derive(Default)]
struct Page {
    events: VecDeque<Event>,
    /// With a category: the feeds of `events` that were in it when the page was matched, sorted.
    feeds_in_category: Vec<FeedId>,
}

/// A stream's messages, as the response body reads them. A waiting stream holds its state alone: it waits for
/// the live side with a waker, not in a future. Each time it wakes, one step runs in a future of its own, which
/// owns the state until the step ends.
enum EventMessages {
    /// A step runs at the next read.
    Ready(StreamState),
    /// Waiting for the live side.
    Waiting(StreamState),
    Stepping(Pin<Box<dyn Future<Output = (Step, StreamState)> + Send>>),
    Ended,
}

impl EventMessages {
    fn step(mut state: StreamState, arrived: Option<LiveEvent>) -> EventMessages {
        EventMessages::Stepping(Box::pin(async move {
            let step = state.step(arrived).await;
            (step, state)
        }))
    }
}

impl Stream for EventMessages {
    type Item = SseItem;

    fn poll_next(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<Option<SseItem>> {
        let this = self.get_mut();
        loop {
            *this = match std::mem::replace(this, EventMessages::Ended) {
                EventMessages::Ready(state) => EventMessages::step(state, None),
                EventMessages::Waiting(mut state) => match state.live.poll_recv(context) {
                    Poll::Ready(arrived) => EventMessages::step(state, Some(arrived)),
                    Poll::Pending => {
                        *this = EventMessages::Waiting(state);
                        return Poll::Pending;
                    }
                },
                EventMessages::Stepping(mut step) => match step.as_mut().poll(context) {
                    Poll::Ready((Step::Send(item), state)) => {
                        *this = EventMessages::Ready(state);
                        return Poll::Ready(Some(item));
                    }
                    Poll::Ready((Step::Wait, state)) => EventMessages::Waiting(state),
                    Poll::Ready((Step::End, _)) => return Poll::Ready(None),
                    Poll::Pending => {
                        *this = EventMessages::Stepping(step);
                        return Poll::Pending;
                    }
                },
                EventMessages::Ended => return Poll::Ready(None),
            };
        }
    }
}

/// What one step of a stream ends with.
enum Step {
    /// A message to send.
    Send(SseItem),
    /// Nothing to do until the live side has something.
    Wait,
    /// The stream is over.
    End,
}

impl StreamState {
    /// Runs until there is a message to send, the live side has nothing more, or the stream ends. `arrived` is
    /// what the live side had for the stream when it woke it.
    async fn step(&mut self, mut arrived: Option<LiveEvent>) -> Step {
        if std::mem::take(&mut self.gap_first) {
            return Step::Send(WireEvent::resync("gap").into_sse());
        }
        if self.ended {
            return Step::End;
        }
        loop {
            if let Some(event) = self.next_in_page() {
                if let Some(wire) = self.pass(&event) {
                    return Step::Send(self.hand_over(wire, &event, None));
                }
                continue;
            }
            // The log and the store are read in boxed futures: this step's own future, allocated each time the
            // stream wakes, then keeps no room for them.
            if self.reading_log {
                if let Err(reason) = Box::pin(self.read_log()).await {
                    return self.end_with_resync(reason);
                }
                if let Err(reason) = Box::pin(self.match_page()).await {
                    return self.end_with_resync(reason);
                }
                continue;
            }
            let Some(live) = arrived.take().or_else(|| self.live.ready_now()) else {
                return Step::Wait;
            };
            match live {
                LiveEvent::Event(event) => {
                    if event.id <= self.last_id {
                        continue;
                    }
                    if event.id > self.last_id + 1 {
                        // A user's ids have no gaps and commit in order, but two writers (a flush and the bus)
                        // broadcast them: the events before this one are in the log, on their way here.
                        if let Err(reason) = self.catch_up_now().await {
                            return self.end_with_resync(reason);
                        }
                        continue;
                    }
                    if self.filter.as_ref().is_some_and(|filter| filter.matches_in_store()) {
                        // The burst this event came in is matched at once: one query per filter that needs one.
                        let mut next_id = event.id + 1;
                        self.page_mut().events.push_back(Event::clone(&event));
                        let mut out_of_order = false;
                        while let Some(more) = self.live.try_recv() {
                            if more.id > next_id {
                                out_of_order = true;
                                break;
                            }
                            if more.id == next_id {
                                self.page_mut().events.push_back(Event::clone(&more));
                                next_id += 1;
                            }
                        }
                        if let Err(reason) = Box::pin(self.match_page()).await {
                            return self.end_with_resync(reason);
                        }
                        // The page is passed first; the log is read from its last event on.
                        if out_of_order {
                            if let Err(reason) = self.catch_up_now().await {
                                return self.end_with_resync(reason);
                            }
                        }
                        continue;
                    }
                    if let Some(wire) = self.pass(&event) {
                        return Step::Send(self.hand_over(wire, &event, Some(event.committed)));
                    }
                }
                LiveEvent::Behind { since } => {
                    if let Err(reason) = Box::pin(self.start_catching_up(since)).await {
                        return self.end_with_resync(reason);
                    }
                }
                LiveEvent::Closed => return Step::End,
                LiveEvent::Heartbeat => return Step::Send(SseItem::Heartbeat),
            }
        }
    }

    /// A live event came before one it follows: reads the log from the last event passed on, as after falling
    /// behind.
    async fn catch_up_now(&mut self) -> Result<(), &'static str> {
        instruments::event_stream_read_out_of_order();
        Box::pin(self.start_catching_up(Instant::now())).await
    }

    /// The live side left events to the log: read them there, unless the client has been too slow for too
    /// long, or some are no longer kept.
    async fn start_catching_up(&mut self, since: Instant) -> Result<(), &'static str> {
        self.behind_since = Some(since);
        if since.elapsed() > self.max_lag() {
            return Err("slow_client");
        }
        match self.engine.event_log_bounds(self.live.user()).await {
            Ok(bounds) if bounds.has_gap_after(self.last_id) => return Err("gap"),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(user_id = %self.live.user(), %error, "could not read the event log's bounds");
                return Err("unavailable");
            }
        }
        self.reading_log = true;
        self.resumed = false;
        Ok(())
    }

    /// Reads the next page of the log into `page`; at the end of the log, resumes the live side and reads once
    /// more, then goes back to it.
    async fn read_log(&mut self) -> Result<(), &'static str> {
        if self.behind_since.is_some_and(|since| since.elapsed() > self.max_lag()) {
            return Err("slow_client");
        }
        let page = match self.engine.events_after(self.live.user(), self.last_id, LOG_PAGE).await {
            Ok(page) => page,
            Err(error) => {
                tracing::warn!(user_id = %self.live.user(), %error, "could not read the event log");
                return Err("unavailable");
            }
        };
        if !page.is_empty() {
            self.page_mut().events = page.into();
        } else if !self.resumed {
            self.live.resume();
            self.resumed = true;
        } else {
            self.reading_log = false;
            self.behind_since = None;
        }
        Ok(())
    }

    /// The page's next event; once it is passed, the page goes.
    fn next_in_page(&mut self) -> Option<Event> {
        let event = self.page.as_mut()?.events.pop_front();
        if event.is_none() {
            self.page = None;
        }
        event
    }

    fn page_mut(&mut self) -> &mut Page {
        self.page.get_or_insert_with(Box::default)
    }

    /// The events of the page not passed yet.
    fn page_to_pass(&self) -> impl Iterator<Item = &Event> {
        let last_id = self.last_id;
        self.page
            .iter()
            .flat_map(|page| &page.events)
            .filter(move |event| event.id > last_id)
    }

    /// Matches the page (a log page, or a live burst) with the store, once for the whole page whatever the
    /// number of events in it: one query for the saved filter, one for the category, none without them.
    async fn match_page(&mut self) -> Result<(), &'static str> {
        self.match_saved_filter().await?;
        self.match_category().await
    }

    /// With a category: which feeds of the page's events are in it now, asked once for the whole page.
    async fn match_category(&mut self) -> Result<(), &'static str> {
        let Some(category) = self.filter.as_ref().and_then(|filter| filter.category) else {
            return Ok(());
        };
        let mut feeds: Vec<FeedId> = self.page_to_pass().filter_map(|event| event.feed).collect();
        feeds.sort_unstable();
        feeds.dedup();
        if feeds.is_empty() {
            if let Some(page) = self.page.as_mut() {
                page.feeds_in_category.clear();
            }
            return Ok(());
        }
        match self.engine.feeds_in_category(self.live.user(), category, &feeds).await {
            Ok(mut found) => {
                found.sort_unstable();
                self.page_mut().feeds_in_category = found;
                Ok(())
            }
            Err(error) => {
                tracing::warn!(user_id = %self.live.user(), %error, "could not match events to a category");
                Err("unavailable")
            }
        }
    }

    /// With a saved filter: keeps in each `article.new` of the page only the articles the filter matches.
    async fn match_saved_filter(&mut self) -> Result<(), &'static str> {
        let Some(saved) = self.filter.as_ref().and_then(|filter| filter.saved) else {
            return Ok(());
        };
        let mut articles: Vec<ArticleId> = self
            .page_to_pass()
            .filter(|event| event.kind == EventKind::ArticleNew)
            .flat_map(article_ids)
            .collect();
        if articles.is_empty() {
            return Ok(());
        }
        articles.sort_unstable();
        articles.dedup();
        let matched: HashSet<ArticleId> = match self
            .engine
            .saved_filter_matches(self.live.user(), saved, &articles)
            .await
        {
            Ok(matched) => matched.into_iter().collect(),
            Err(error) => {
                tracing::warn!(user_id = %self.live.user(), %error, "could not match new articles to a saved filter");
                return Err("unavailable");
            }
        };
        let last_id = self.last_id;
        for event in self.page.iter_mut().flat_map(|page| page.events.iter_mut()) {
            if event.kind != EventKind::ArticleNew || event.id <= last_id {
                continue;
            }
            let kept: Vec<ArticleId> = article_ids(event)
                .into_iter()
                .filter(|article| matched.contains(article))
                .collect();
            event.data["count"] = json!(kept.len());
            event.data["article_ids"] = json!(kept);
        }
        Ok(())
    }

    fn pass(&mut self, event: &Event) -> Option<WireEvent> {
        self.last_id = event.id;
        let feeds_in_category = self.page.as_ref().map_or(&[][..], |page| &page.feeds_in_category[..]);
        self.filter
            .as_ref()
            .is_none_or(|filter| filter.wants(event, feeds_in_category))
            .then(|| WireEvent::from_event(event))
    }

    /// How long the stream may stay behind before it is cut off: the same for every stream.
    fn max_lag(&self) -> Duration {
        self.engine.events().streams().max_lag()
    }

    /// The event's message, encoded for the connection, its delivery timed: from its commit when the live side
    /// carried that moment, else from its `at`.
    fn hand_over(&self, wire: WireEvent, event: &Event, committed: Option<std::time::Instant>) -> SseItem {
        let item = wire.into_sse();
        if let Some((timed_from, latency)) = delivery(event, self.opened_after, committed) {
            instruments::event_delivered(timed_from, latency);
        }
        item
    }

    fn end_with_resync(&mut self, reason: &'static str) -> Step {
        instruments::event_stream_cut_off(reason);
        self.ended = true;
        Step::Send(WireEvent::resync(reason).into_sse())
    }
}

/// How long after its commit an event is handed over, and from which clock: the moment the commit returned when
/// known, else the event's `at`, stamped before the commit (an upper bound). `None` for an event stored before
/// the stream opened: replaying it late measures the client's absence, not the engine.
fn delivery(
    event: &Event,
    opened_after: i64,
    committed: Option<std::time::Instant>,
) -> Option<(DeliveryTimedFrom, Duration)> {
    if event.id <= opened_after {
        return None;
    }
    Some(match committed {
        Some(committed) => (DeliveryTimedFrom::Commit, committed.elapsed()),
        None => (
            DeliveryTimedFrom::StoredAt,
            (Utc::now() - event.at).to_std().unwrap_or_default(),
        ),
    })
}

/// One SSE message, before it goes on the wire; its `data:` is described by [`EventPayload`].
pub struct WireEvent {
    id: Option<i64>,
    kind: EventKind,
    json: Value,
}

impl WireEvent {
    fn from_event(event: &Event) -> WireEvent {
        let mut json = match &event.data {
            Value::Object(fields) => Value::Object(fields.clone()),
            _ => json!({}),
        };
        json["id"] = json!(event.id);
        json["type"] = json!(event.kind.as_str());
        json["at"] = json!(event.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        if let Some(feed) = event.feed {
            json["feed_id"] = json!(feed);
        }
        WireEvent {
            id: Some(event.id),
            kind: event.kind,
            json,
        }
    }

    fn resync(reason: &'static str) -> WireEvent {
        let at = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        WireEvent {
            id: None,
            kind: EventKind::Resync,
            json: json!({ "type": "resync", "reason": reason, "at": at }),
        }
    }

    fn into_sse(self) -> SseItem {
        let message = SseEvent::message(self.json.to_string()).event_type(self.kind.as_str());
        SseItem::Message(match self.id {
            Some(id) => message.id(id.to_string()),
            None => message,
        })
    }
}

/// The `data:` of one event; `type` says which.
#[derive(Debug, Union)]
#[oai(rename = "Event", discriminator_name = "type")]
pub enum EventPayload {
    #[oai(mapping = "article.new")]
    ArticleNew(ArticleNewEvent),
    #[oai(mapping = "feed.status")]
    FeedStatus(FeedStatusEvent),
    #[oai(mapping = "job.progress")]
    JobProgress(JobProgressEvent),
    #[oai(mapping = "job.done")]
    JobDone(JobDoneEvent),
    #[oai(mapping = "webhook.disabled")]
    WebhookDisabled(WebhookDisabledEvent),
    #[oai(mapping = "share.new")]
    ShareNew(ShareNewEvent),
    #[oai(mapping = "resync")]
    Resync(ResyncEvent),
}

/// A subscribed feed gained articles (one event per feed per stored poll).
#[derive(Debug, Object)]
pub struct ArticleNewEvent {
    /// The event's id: increasing per user, what `Last-Event-ID` names.
    pub id: i64,
    pub feed_id: FeedId,
    /// When the event was stored.
    pub at: DateTime<Utc>,
    /// The new articles' ids, ascending; at most 100.
    pub article_ids: Vec<ArticleId>,
    /// How many articles are new, listed or not.
    pub count: i64,
}

/// A subscribed feed's status changed.
#[derive(Debug, Object)]
pub struct FeedStatusEvent {
    pub id: i64,
    pub feed_id: FeedId,
    pub at: DateTime<Utc>,
    pub status: FeedStatusBody,
    /// The last error, for `error`, `dead` and `failed`.
    #[oai(skip_serializing_if_is_none)]
    pub error: Option<String>,
}

/// A job committed a step (published after the commit): `done` of `total` items processed.
#[derive(Debug, Object)]
pub struct JobProgressEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The job, as `GET /v1/jobs/{id}` names it.
    pub job_id: i64,
    /// Items (feeds) processed so far.
    pub done: i64,
    /// Items to process; 0 while unknown.
    pub total: i64,
}

/// A job ended: `done`, `dead` (out of attempts) or `cancelled`.
#[derive(Debug, Object)]
pub struct JobDoneEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The job, as `GET /v1/jobs/{id}` names it.
    pub job_id: i64,
    pub status: JobStatusBody,
}

/// One of the user's webhooks was disabled after 50 deliveries in a row failed every attempt; `PATCH` it with
/// `enabled: true` to turn it back on. Never sent to a webhook.
#[derive(Debug, Object)]
pub struct WebhookDisabledEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The webhook, as `GET /v1/webhooks/{id}` names it.
    pub webhook_id: i64,
    pub reason: String,
}

/// A friend shared a link with you; it is in `GET /v1/notifications` too.
#[derive(Debug, Object)]
pub struct ShareNewEvent {
    pub id: i64,
    pub at: DateTime<Utc>,
    #[oai(flatten)]
    pub share: ShareNewData,
}

/// Events were missed: `gap` (no longer kept), `slow_client` (the client fell behind; the stream ends) or
/// `unavailable` (the log could not be read; the stream ends). Reload state, then reconnect. It has no id.
#[derive(Debug, Object)]
pub struct ResyncEvent {
    pub reason: String,
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use syndic_actors::domain::UserId;

    use super::*;

    #[test]
    fn a_last_event_id_is_a_non_negative_integer() {
        assert_eq!(parse_last_event_id(" 42 ").expect("parses"), 42);
        assert!(parse_last_event_id("-1").is_err());
        assert!(parse_last_event_id("abc").is_err());
    }

    #[test]
    fn an_idle_stream_holds_its_state_alone_and_it_stays_small() {
        // What the response body of a waiting stream holds for its whole life: its state, and no future. The
        // state was 232 bytes with the filter inline and the user kept twice, 152 with the page inline; the
        // body held 384 with the future it waited in.
        let state = std::mem::size_of::<StreamState>();
        assert!(state <= 104, "{state} bytes");
        let body = std::mem::size_of::<EventMessages>();
        assert!(body <= state + 8, "{body} bytes");
    }

    fn stored(id: i64, age: Duration) -> Event {
        Event {
            id,
            user: UserId::from_u128(1),
            kind: EventKind::JobDone,
            feed: None,
            data: json!({}),
            at: Utc::now() - age,
        }
    }

    #[test]
    fn events_stored_before_the_stream_opened_are_not_timed() {
        let committed = Some(std::time::Instant::now());
        assert_eq!(delivery(&stored(7, Duration::ZERO), 7, committed), None);
        assert_eq!(delivery(&stored(3, Duration::from_secs(3600)), 7, None), None);
    }

    #[test]
    fn a_live_event_is_timed_from_its_commit_and_one_from_a_page_from_its_at() {
        let committed = std::time::Instant::now() - Duration::from_millis(20);
        // `at` is an hour old: a live event's figure does not read it.
        let (timed_from, latency) = delivery(&stored(8, Duration::from_secs(3600)), 7, Some(committed)).expect("timed");
        assert_eq!(timed_from, DeliveryTimedFrom::Commit);
        assert!(
            latency >= Duration::from_millis(20) && latency < Duration::from_secs(60),
            "{latency:?}"
        );

        let (timed_from, latency) = delivery(&stored(8, Duration::from_secs(2)), 7, None).expect("timed");
        assert_eq!(timed_from, DeliveryTimedFrom::StoredAt);
        assert!(
            latency >= Duration::from_secs(2) && latency < Duration::from_secs(60),
            "{latency:?}"
        );
    }
}
