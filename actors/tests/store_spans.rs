//! The store's tracing spans on both backends: what a debug log shows of each call, and what it must never show.
//!
//! This is its own test binary with one test, run on one backend after the other: tracing caches whether a
//! callsite is enabled, and a store span first hit by a concurrent test, while only that test's dispatcher
//! exists, could be cached as disabled for this one's subscriber (the store suite saw this once in five runs).

#[allow(dead_code)]
#[path = "store_suite/backends.rs"]
mod backends;
#[allow(dead_code)]
#[path = "store_suite/support.rs"]
mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use syndic_actors::domain::NewUser;
use tracing::instrument::WithSubscriber;
use tracing::Level;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::MakeWriter;

use support::{at, batch, entry, SharedStore};

/// Everything the subscriber writes, kept for the assertions.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("the log buffer")).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("the log buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

async fn store_spans_carry_small_ids_and_never_a_secret_or_an_entry(store: SharedStore) {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(captured.clone())
        .with_max_level(Level::DEBUG)
        .with_span_events(FmtSpan::NEW)
        .with_ansi(false)
        .finish();
    let password_hash = "argon2id-password-hash-to-hide";
    let invite_hash = "invite-code-hash-to-hide";
    let polled = at("2026-03-01T12:00:00Z");
    let mut body = entry("a", Some(polled));
    body.content = Some("entry-content-to-keep-out-of-logs".to_owned());
    let (user_id, feed_id) = async {
        let refused = store
            .create_user(&NewUser {
                username: "alice".to_owned(),
                email: "alice@example.com".to_owned(),
                password_hash: password_hash.to_owned(),
                invite_hash: Some(invite_hash.to_owned()),
            })
            .await;
        assert!(refused.is_err(), "an unknown invite is refused");
        let alice = store
            .create_user(&NewUser {
                username: "alice".to_owned(),
                email: "alice@example.com".to_owned(),
                password_hash: password_hash.to_owned(),
                invite_hash: None,
            })
            .await
            .expect("create a user");
        store.find_credentials("alice").await.expect("find credentials");
        let feed = store
            .subscribe(alice.id, "https://example.com/feed.xml")
            .await
            .expect("subscribe")
            .feed_id;
        store.get_feed(feed).await.expect("get the feed");
        store
            .persist_batches(&[batch(feed, vec![body], polled)])
            .await
            .expect("persist");
        (alice.id, feed)
    }
    .with_subscriber(subscriber)
    .await;

    let log = captured.text();
    for hidden in [password_hash, invite_hash, "entry-content-to-keep-out-of-logs"] {
        assert!(!log.contains(hidden), "the log shows {hidden:?}:\n{log}");
    }
    for expected in [
        "create_user{username=alice}".to_owned(),
        format!("subscribe_many{{user_id={user_id} urls=1}}"),
        format!("get_feed{{feed_id={feed_id}}}"),
        "persist_batches{batches=1}".to_owned(),
    ] {
        assert!(log.contains(&expected), "the log has {expected:?}:\n{log}");
    }
    // The refused registration says why, at debug level, in its span.
    assert!(
        log.contains("error=invite: the invite is unknown"),
        "the refusal is logged:\n{log}"
    );
}

#[tokio::test]
async fn store_spans_carry_small_ids_and_never_a_secret_or_an_entry_on_both_backends() {
    let (_database, postgres) = backends::postgres().await;
    store_spans_carry_small_ids_and_never_a_secret_or_an_entry(postgres).await;
    let (_file, sqlite) = backends::sqlite().await;
    store_spans_carry_small_ids_and_never_a_secret_or_an_entry(sqlite).await;
}
