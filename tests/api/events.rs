//! `GET /v1/events` end to end: events after commits, replay with `Last-Event-ID` (across a restart too),
//! bursts larger than a stream's buffer, slow readers cut off, limits, and a browser's `EventSource`.

use std::time::Duration;

use serde_json::{json, Value};
use syndic_actors::domain::UserId;
use syndic_actors::events::{EventKind, NewEvent};
use syndic_testkit::documents::titled::rss;

use crate::chromium;
use crate::helpers::{eventually, feed_server, spawn_app, Backend, TestApp};
use crate::sse::{Message, SseReader};

/// `GET /v1/events{query}`, with `Last-Event-ID` when given: the response, before it is read as a stream.
pub(crate) async fn open_response(
    app: &TestApp,
    token: &str,
    query: &str,
    last_event_id: Option<i64>,
) -> reqwest::Response {
    let mut request = app
        .client
        .get(app.url(&format!("/v1/events{query}")))
        .bearer_auth(token);
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id.to_string());
    }
    request.send().await.unwrap()
}

pub(crate) async fn open(app: &TestApp, token: &str, query: &str, last_event_id: Option<i64>) -> SseReader {
    SseReader::new(open_response(app, token, query, last_event_id).await)
}

pub(crate) async fn user_id(app: &TestApp, name: &str) -> UserId {
    app.database
        .store
        .find_credentials(name)
        .await
        .unwrap()
        .expect("the user exists")
        .user
        .id
}

pub(crate) fn job_done(user: UserId, job: i64) -> NewEvent {
    NewEvent {
        user,
        kind: EventKind::JobDone,
        feed: None,
        data: json!({ "job_id": job }),
    }
}

/// Waits until the app has `count` open streams, so that what is published next reaches them live.
pub(crate) async fn wait_for_streams(app: &TestApp, count: usize) {
    eventually(10, "the streams to open", || async {
        app.engine().events().streams().open_count() == count
    })
    .await;
}

fn ids(messages: &[Message]) -> Vec<i64> {
    messages.iter().map(|message| message.id.expect("an id")).collect()
}

async fn an_open_stream_gets_article_new_after_a_poll_commits(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set("/feed.xml", rss("news", 0, 3), "application/rss+xml");
    let token = app.user("alice").await;
    let mut stream = open(&app, &token, "", None).await;
    wait_for_streams(&app, 1).await;

    let results = app.subscribe(&token, &[server.url("/feed.xml")]).await;
    let feed_id = results[0]["feed_id"].as_i64().unwrap();
    let mut seen = Vec::new();
    let article_new = loop {
        let message = stream.expect().await;
        seen.push(message.event.clone());
        if message.event == "article.new" {
            break message;
        }
    };
    assert_eq!(article_new.data["type"], "article.new");
    assert_eq!(article_new.data["feed_id"], feed_id);
    assert_eq!(article_new.data["count"], 3);
    assert_eq!(article_new.data["id"], article_new.id.unwrap());
    assert!(article_new.data["at"].as_str().is_some());
    // The ids are the ones the timeline shows, so the commit came first.
    let mut listed: Vec<i64> = article_new.data["article_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_i64().unwrap())
        .collect();
    let timeline = app.timeline(&token, "status=all").await;
    let mut stored: Vec<i64> = timeline.iter().map(|article| article["id"].as_i64().unwrap()).collect();
    listed.sort_unstable();
    stored.sort_unstable();
    assert_eq!(listed, stored);
    // Pending to ok, announced with the batch's commit.
    let status = if seen.contains(&"feed.status".to_owned()) {
        None
    } else {
        Some(stream.expect().await)
    };
    if let Some(status) = status {
        assert_eq!(status.event, "feed.status");
        assert_eq!(status.data["status"], "ok");
    }
}

async fn an_open_stream_gets_feed_status_when_a_feed_dies(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    server.set_status("/gone.xml", 410, &[]);
    let token = app.user("alice").await;
    let mut stream = open(&app, &token, "?types=feed.status", None).await;
    wait_for_streams(&app, 1).await;

    let results = app.subscribe(&token, &[server.url("/gone.xml")]).await;
    let feed_id = results[0]["feed_id"].as_i64().unwrap();
    let message = stream.expect().await;
    assert_eq!(message.event, "feed.status");
    assert_eq!(message.data["feed_id"], feed_id);
    assert_eq!(message.data["status"], "dead");
    assert!(message.data["error"].as_str().unwrap().contains("410"), "{message:?}");
    // The stored status is what was announced.
    let feed: Value = app
        .get(&format!("/v1/feeds/{feed_id}"), Some(&token))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(feed["status"], "dead");
}

async fn feed_status_follows_a_feed_into_errors_and_back_to_ok_on_a_304(backend: Backend) {
    let app = spawn_app(backend).await;
    let server = feed_server().await;
    let document = rss("flaky", 0, 2);
    server.set("/flaky.xml", document.clone(), "application/rss+xml");
    let token = app.user("alice").await;
    let mut stream = open(&app, &token, "?types=feed.status", None).await;
    wait_for_streams(&app, 1).await;
    let results = app.subscribe(&token, &[server.url("/flaky.xml")]).await;
    let feed_id = results[0]["feed_id"].as_i64().unwrap();
    let status = |message: Message| (message.data["feed_id"].as_i64(), message.data["status"].clone());
    assert_eq!(status(stream.expect().await), (Some(feed_id), json!("ok")));

    server.set_status("/flaky.xml", 500, &[]);
    app.engine().refresh_stale(chrono::Utc::now()).await.unwrap();
    let failed = stream.expect().await;
    assert_eq!(status(failed.clone()), (Some(feed_id), json!("error")));
    assert!(failed.data["error"].as_str().unwrap().contains("500"), "{failed:?}");

    // The same document again: a 304, which is what turns the feed ok.
    server.set("/flaky.xml", document, "application/rss+xml");
    app.engine().refresh_stale(chrono::Utc::now()).await.unwrap();
    assert_eq!(status(stream.expect().await), (Some(feed_id), json!("ok")));
    assert_eq!(server.not_modified("/flaky.xml"), 1);
}

async fn reconnecting_with_last_event_id_replays_exactly_what_was_missed_even_after_a_restart(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    let bob_token = app.user("bob").await;
    let bob = user_id(&app, "bob").await;

    let mut stream = open(&app, &token, "", None).await;
    wait_for_streams(&app, 1).await;
    app.engine()
        .events()
        .publish(vec![job_done(alice, 1), job_done(alice, 2)]);
    let seen = stream.take(2).await;
    let last_seen = seen[1].id.unwrap();
    assert_eq!(ids(&seen), [last_seen - 1, last_seen]);
    drop(stream);

    // Missed: three before the restart (stored by the shutdown at the latest), one of bob's, two after.
    app.engine().events().publish(vec![
        job_done(alice, 3),
        job_done(bob, 99),
        job_done(alice, 4),
        job_done(alice, 5),
    ]);
    app.restart().await;
    app.engine()
        .events()
        .publish(vec![job_done(alice, 6), job_done(alice, 7)]);
    // Replayed from the log, whatever the broadcast held: wait until both are stored.
    eventually(10, "the events after the restart to be stored", || async {
        app.engine().events_after(alice, last_seen, 100).await.unwrap().len() == 5
    })
    .await;

    let mut stream = open(&app, &token, "", Some(last_seen)).await;
    let replayed = stream.take(5).await;
    assert_eq!(ids(&replayed), (last_seen + 1..=last_seen + 5).collect::<Vec<_>>());
    let jobs: Vec<i64> = replayed
        .iter()
        .map(|message| message.data["job_id"].as_i64().unwrap())
        .collect();
    assert_eq!(jobs, [3, 4, 5, 6, 7], "in order, only alice's");
    // Live events follow, with nothing repeated in between.
    wait_for_streams(&app, 1).await;
    app.engine().events().publish(vec![job_done(alice, 8)]);
    let live = stream.expect().await;
    assert_eq!((live.id, live.data["job_id"].clone()), (Some(last_seen + 6), json!(8)));

    // ?last_event_id= does the same for clients that cannot set the header.
    let response = app
        .client
        .get(app.url(&format!("/v1/events?last_event_id={}", last_seen + 4)))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let mut by_query = SseReader::new(response);
    assert_eq!(ids(&by_query.take(2).await), [last_seen + 5, last_seen + 6]);

    let mut bobs = open(&app, &bob_token, "", Some(0)).await;
    assert_eq!(bobs.expect().await.data["job_id"], 99);
}

async fn a_gap_older_than_the_log_gets_resync_first(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    let events: Vec<NewEvent> = (1..=5).map(|job| job_done(alice, job)).collect();
    let stored = app.database.store.append_events(&events).await.unwrap();
    // Keep the newest two only, as the bus's pruning would once the others are too old.
    app.database
        .store
        .prune_events(chrono::Utc::now() - chrono::Duration::days(1), 2, 100)
        .await
        .unwrap();

    let mut stream = open(&app, &token, "", Some(stored[0].id)).await;
    let resync = stream.expect().await;
    assert_eq!((resync.event.as_str(), resync.id), ("resync", None));
    assert_eq!(resync.data["reason"], "gap");
    assert_eq!(ids(&stream.take(2).await), [stored[3].id, stored[4].id]);

    // No gap: no resync.
    let mut stream = open(&app, &token, "", Some(stored[3].id)).await;
    assert_eq!(ids(&stream.take(1).await), [stored[4].id]);
}

async fn a_fresh_stream_starts_live_and_a_lagging_dispatcher_replays_no_history(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;
    app.user("bob").await;
    let (alice, bob) = (user_id(&app, "alice").await, user_id(&app, "bob").await);
    let history: Vec<NewEvent> = (1..=5).map(|job| job_done(alice, job)).collect();
    app.database.store.append_events(&history).await.unwrap();
    let mut stream = open(&app, &token, "", None).await;
    wait_for_streams(&app, 1).await;

    // Bob's burst is larger than the broadcast holds: the dispatcher lags and every stream reads the log. A
    // fresh stream reads it from where it started, not from the beginning.
    app.engine()
        .events()
        .publish((0..10_000).map(|job| job_done(bob, job)).collect());
    app.engine().events().publish(vec![job_done(alice, 99)]);
    assert_eq!(
        stream.expect().await.data["job_id"],
        99,
        "no event from before the stream opened"
    );
}

/// A flush and the bus both store and broadcast events, so a user's events can reach the broadcast out of id
/// order. A stream handed an id beyond the next one reads the events between from the log, and drops the late
/// one when it comes: the client sees every id once, in order.
async fn events_broadcast_out_of_order_reach_the_client_in_order_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    // A stream with a saved filter matches each live burst in the store before passing it: the other path.
    let created = app
        .post_json(
            "/v1/filters",
            Some(&token),
            &json!({"name": "any", "query": {"q": "rust"}}),
        )
        .await;
    assert_eq!(created.status(), 201);
    let filter = created.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut plain = open(&app, &token, "", None).await;
    let mut filtered = open(&app, &token, &format!("?filter={filter}"), None).await;
    wait_for_streams(&app, 2).await;

    let stored = app
        .database
        .store
        .append_events(&[job_done(alice, 1), job_done(alice, 2), job_done(alice, 3)])
        .await
        .unwrap();
    // The first and the third come first, the second late.
    app.engine().events().stored(vec![stored[0].clone(), stored[2].clone()]);
    for stream in [&mut plain, &mut filtered] {
        let received = stream.take(3).await;
        assert_eq!(ids(&received), [1, 2, 3]);
        let jobs: Vec<&Value> = received.iter().map(|message| &message.data["job_id"]).collect();
        assert_eq!(jobs, [&json!(1), &json!(2), &json!(3)]);
    }
    app.engine().events().stored(vec![stored[1].clone()]);
    app.engine().events().publish(vec![job_done(alice, 4)]);
    for stream in [&mut plain, &mut filtered] {
        let next = stream.expect().await;
        assert_eq!(
            (next.id, &next.data["job_id"]),
            (Some(4), &json!(4)),
            "the late one is not sent again"
        );
    }
}

async fn a_slow_reader_is_cut_off_with_resync_while_others_keep_flowing(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.config.event_stream_buffer = 16;
    app.config.event_stream_max_lag_ms = 300;
    app.restart().await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    let mut fast = open(&app, &token, "", None).await;
    let mut slow = open(&app, &token, "", None).await;
    wait_for_streams(&app, 2).await;

    // 64 KiB events, ten at a time in step with the fast reader: far more than the socket buffers hold, so
    // the slow reader's buffer fills, while the fast reader's never holds more than ten.
    let padding = "x".repeat(64 * 1024);
    let mut received = Vec::new();
    for round in 0..40 {
        let events = (0..10)
            .map(|index| NewEvent {
                user: alice,
                kind: EventKind::JobProgress,
                feed: None,
                data: json!({ "job_id": round * 10 + index, "padding": padding }),
            })
            .collect();
        app.engine().events().publish(events);
        received.extend(ids(&fast.take(10).await));
    }
    assert_eq!(received.len(), 400);
    assert!(received.windows(2).all(|pair| pair[1] == pair[0] + 1), "all, in order");

    // The slow reader has been behind for longer than the allowed lag: it gets what its buffers held, then
    // resync, then the end.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut last = None;
    let mut count = 0;
    while let Some(message) = slow.next().await {
        count += 1;
        last = Some(message);
    }
    let last = last.expect("some messages");
    assert_eq!(last.event, "resync", "after {count} messages");
    assert_eq!(last.data["reason"], "slow_client");
    assert!(count < 400, "cut off before the end: {count}");
    wait_for_streams(&app, 1).await;

    // The fast reader goes on.
    app.engine().events().publish(vec![job_done(alice, 1)]);
    assert_eq!(fast.expect().await.data["job_id"], 1);
}

async fn a_burst_larger_than_the_buffer_reaches_a_fast_reader_whole_and_in_order(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.config.event_stream_buffer = 16;
    app.restart().await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    let mut stream = open(&app, &token, "", None).await;
    let mut filtered = open(&app, &token, "?types=job.done", None).await;
    wait_for_streams(&app, 2).await;

    // One publish is one write of the log and one burst on the broadcast: far more than the buffer holds.
    app.engine()
        .events()
        .publish((0..1_000).map(|job| job_done(alice, job)).collect());
    let mut received = ids(&stream.take(100).await);
    // More arrive while the stream is still reading the log.
    app.engine()
        .events()
        .publish((1_000..1_500).map(|job| job_done(alice, job)).collect());
    received.extend(ids(&stream.take(1_400).await));
    assert_eq!(received.len(), 1_500);
    assert!(
        received.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "all, in order, once"
    );

    let jobs: Vec<i64> = filtered
        .take(1_500)
        .await
        .iter()
        .map(|message| message.data["job_id"].as_i64().expect("a job id"))
        .collect();
    assert_eq!(jobs, (0..1_500).collect::<Vec<_>>(), "a filtered stream catches up too");

    // Live again: the next event comes through the buffer.
    app.engine().events().publish(vec![job_done(alice, 2_000)]);
    assert_eq!(stream.expect().await.data["job_id"], 2_000);
}

async fn streams_refuse_bad_input_and_unauthenticated_clients_and_count_per_user(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.user("alice").await;

    let anonymous = app.get("/v1/events", None).await;
    assert_eq!(anonymous.status(), 401);
    let forged = app.get("/v1/events?access_token=not-a-token", None).await;
    assert_eq!(forged.status(), 401);
    for (query, field) in [("?types=article.nope", "types"), ("?types=resync", "types")] {
        let response = app.get(&format!("/v1/events{query}"), Some(&token)).await;
        assert_eq!(response.status(), 422, "{query}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    let response = app
        .client
        .get(app.url("/v1/events"))
        .bearer_auth(&token)
        .header("Last-Event-ID", "yesterday")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["field"], "Last-Event-ID");
    assert_eq!(app.engine().events().streams().open_count(), 0, "nothing held open");

    // The query token opens a stream as the header does; the sixteenth is the last one a user may hold.
    let mut streams = Vec::new();
    for _ in 0..16 {
        let response = app.get(&format!("/v1/events?access_token={token}"), None).await;
        streams.push(SseReader::new(response));
    }
    let refused = app.get("/v1/events", Some(&token)).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
    let bob = app.user("bob").await;
    let _others = SseReader::new(app.get("/v1/events", Some(&bob)).await);
    assert_eq!(app.engine().events().streams().open_count(), 17);
    drop(streams);
}

async fn an_idle_stream_gets_heartbeat_comments(backend: Backend) {
    let mut app = spawn_app(backend).await;
    app.config.event_heartbeat_ms = 50;
    app.restart().await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    let mut stream = open(&app, &token, "", None).await;
    wait_for_streams(&app, 1).await;
    // Heartbeats are comments, which the reader counts and skips: each event read brings the ones before it.
    for job in 0..200 {
        if stream.comments >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        app.engine().events().publish(vec![job_done(alice, job)]);
        assert_eq!(stream.expect().await.data["job_id"], job);
    }
    assert!(stream.comments >= 2, "{} heartbeats", stream.comments);
}

crate::on_both_backends!(
    events_broadcast_out_of_order_reach_the_client_in_order_once,
    an_open_stream_gets_article_new_after_a_poll_commits,
    an_open_stream_gets_feed_status_when_a_feed_dies,
    feed_status_follows_a_feed_into_errors_and_back_to_ok_on_a_304,
    reconnecting_with_last_event_id_replays_exactly_what_was_missed_even_after_a_restart,
    a_gap_older_than_the_log_gets_resync_first,
    a_burst_larger_than_the_buffer_reaches_a_fast_reader_whole_and_in_order,
    a_fresh_stream_starts_live_and_a_lagging_dispatcher_replays_no_history,
    a_slow_reader_is_cut_off_with_resync_while_others_keep_flowing,
    streams_refuse_bad_input_and_unauthenticated_clients_and_count_per_user,
    an_idle_stream_gets_heartbeat_comments,
);

#[tokio::test]
async fn a_browser_event_source_with_an_access_token_receives_an_event() {
    let mut app = spawn_app(Backend::Sqlite).await;
    let page_server = PageServer::bind().await;
    app.config.cors_origins = vec![page_server.origin.clone()];
    app.restart().await;
    let token = app.user("alice").await;
    let alice = user_id(&app, "alice").await;
    // The page opens an EventSource (which cannot set headers) and writes the first job.done into the DOM,
    // then closes it, so that headless Chromium's virtual time can run out and the DOM is dumped.
    let stream_url = format!("{}/v1/events?types=job.done&access_token={token}", app.address);
    let page = format!(
        "<html><body><p id=\"got\">waiting</p><script>\
         const source = new EventSource({stream_url:?});\
         source.addEventListener('job.done', (event) => {{\
           document.getElementById('got').textContent = 'got ' + event.lastEventId + ' ' + event.data;\
           source.close();\
         }});\
         </script></body></html>"
    );
    page_server.serve(page);

    let page_url = page_server.url.clone();
    let run = tokio::task::spawn_blocking(move || chromium::dump_dom(page_url, 20_000));
    // Once the browser's stream is open, an event goes out live. A browser started beside other tests (four run
    // at a time, another of them in Chromium too) took over 10 s to open it once.
    eventually(60, "the browser's stream to open", || async {
        app.engine().events().streams().open_count() == 1
    })
    .await;
    app.engine().events().publish(vec![job_done(alice, 42)]);
    let output = run.await.unwrap();
    let dom = String::from_utf8_lossy(&output.stdout);
    assert!(
        dom.contains("got 1 {") && dom.contains("\"job_id\":42"),
        "DOM:\n{dom}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Serves one HTML page, from another origin than the API: the API's CORS rules let it read the stream.
struct PageServer {
    listener: std::sync::Mutex<Option<tokio::net::TcpListener>>,
    origin: String,
    url: String,
}

impl PageServer {
    async fn bind() -> PageServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        PageServer {
            listener: std::sync::Mutex::new(Some(listener)),
            origin: format!("http://{address}"),
            url: format!("http://{address}/"),
        }
    }

    fn serve(&self, page: String) {
        use poem::endpoint::make_sync;
        use poem::web::Html;
        let listener = self.listener.lock().unwrap().take().expect("served once");
        let endpoint = make_sync(move |_| Html(page.clone()));
        let acceptor = poem::listener::TcpAcceptor::from_tokio(listener).unwrap();
        tokio::spawn(poem::Server::new_with_acceptor(acceptor).run(endpoint));
    }
}
