//! Cases for API keys: lookup by hash, and their last use recorded at most once per interval.

use chrono::Duration;
use syndic_actors::session::NewApiKey;

use crate::support::{now, user, SharedStore};

pub async fn an_api_key_records_its_last_use_at_most_once_per_interval(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let new_key = |name: &str| NewApiKey {
        user_id: alice.id,
        name: name.to_owned(),
        key_hash: format!("hash of {name}"),
    };
    let created = store.create_api_key(&new_key("script"), 50).await.expect("create");
    assert_eq!(created.last_used_at, None, "never used yet");
    let other = store.create_api_key(&new_key("reader"), 50).await.expect("create");
    let listed = |store: SharedStore| async move {
        let keys = store.list_api_keys(alice.id, 10, None).await.expect("list");
        let last_use = |id| keys.iter().find(|key| key.id == id).expect("listed").last_used_at;
        (last_use(created.id), last_use(other.id))
    };

    let first = now();
    let found = store
        .use_api_key("hash of script", first, first - Duration::minutes(1))
        .await
        .expect("use");
    assert_eq!(found, Some(alice.id));
    let (script, reader) = listed(store.clone()).await;
    let recorded = script.expect("the use is recorded");
    assert!((recorded - first).num_milliseconds().abs() < 1, "{recorded} vs {first}");
    assert_eq!(reader, None, "the other key is untouched");

    // Within the interval, a use only reads.
    let soon = first + Duration::seconds(30);
    store
        .use_api_key("hash of script", soon, soon - Duration::minutes(1))
        .await
        .expect("use");
    assert_eq!(
        listed(store.clone()).await.0,
        Some(recorded),
        "not written again within the minute"
    );

    // After it, the use is recorded again.
    let later = first + Duration::seconds(90);
    store
        .use_api_key("hash of script", later, later - Duration::minutes(1))
        .await
        .expect("use");
    let again = listed(store.clone()).await.0.expect("recorded");
    assert!((again - later).num_milliseconds().abs() < 1, "{again} vs {later}");

    let unknown = store
        .use_api_key("hash of nothing", later, later - Duration::minutes(1))
        .await
        .expect("use");
    assert_eq!(unknown, None);
}
