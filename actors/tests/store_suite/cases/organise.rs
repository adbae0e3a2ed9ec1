//! Organising subscriptions: categories by name from an import, a subscription's own title and tags, renames
//! that collide, deletion that leaves feeds in none, and counters that agree with the listings.

use syndic_actors::organise::{Name, SubscriptionPatch, Title};
use syndic_actors::store::StoreError;

use crate::support::{subscribe, user, SharedStore};

fn name(value: &str) -> Name {
    Name::category(value).expect("a valid name")
}

pub async fn an_import_puts_each_subscription_in_its_category_by_name(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let feed = subscribe(&store, &alice, "https://example.com/a").await;
    let second = subscribe(&store, &alice, "https://example.com/c").await;
    let other = subscribe(&store, &bob, "https://example.com/b").await;
    store
        .set_subscription_categories(
            alice.id,
            &[
                (feed, name("News & Views")),
                (second, name("News & Views")),
                (other, name("not hers")),
            ],
        )
        .await
        .expect("categories");
    let category = store.get_subscription(alice.id, feed).await.expect("sub").category;
    assert_eq!(
        category.as_ref().map(|category| category.name.as_str()),
        Some("News & Views")
    );
    assert_eq!(
        store.get_subscription(alice.id, second).await.expect("sub").category,
        category,
        "one category for one name"
    );
    assert_eq!(store.get_subscription(bob.id, other).await.expect("sub").category, None);
    let alices = store.list_categories(alice.id, 10, None).await.expect("list");
    assert_eq!(alices.len(), 1);
    assert_eq!(alices[0].feed_count, 2);
    assert!(store.list_categories(bob.id, 10, None).await.expect("list").is_empty());
}

pub async fn a_patch_sets_title_category_and_tags_and_null_clears_them(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let feed = subscribe(&store, &alice, "https://example.com/a").await;
    let patch = SubscriptionPatch {
        title: Some(Some(Title::parse("Mine").unwrap())),
        category: Some(Some(name("Tech"))),
        tags: Some(vec![Name::tag("rust").unwrap(), Name::tag("db").unwrap()]),
    };
    let patched = store.update_subscription(alice.id, feed, &patch).await.expect("patch");
    assert_eq!(patched.title.as_deref(), Some("Mine"));
    assert_eq!(
        patched.category.as_ref().map(|category| category.name.as_str()),
        Some("Tech")
    );
    assert_eq!(patched.tags, ["db", "rust"]);
    let cleared = store
        .update_subscription(
            alice.id,
            feed,
            &SubscriptionPatch {
                title: Some(None),
                category: Some(None),
                tags: Some(vec![]),
            },
        )
        .await
        .expect("clear");
    assert_eq!(
        (cleared.title, cleared.category, cleared.tags),
        (None, None, Vec::<String>::new())
    );
    let bob = user(&store, "bob").await;
    assert!(matches!(
        store.update_subscription(bob.id, feed, &patch).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn a_category_name_is_unique_per_user_and_deleting_one_keeps_its_feeds(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let news = store.create_category(alice.id, &name("News")).await.expect("create");
    let tech = store.create_category(alice.id, &name("Tech")).await.expect("create");
    store
        .create_category(bob.id, &name("News"))
        .await
        .expect("bob has his own");
    assert!(matches!(
        store.create_category(alice.id, &name("News")).await,
        Err(StoreError::Conflict { field: "name" })
    ));
    assert!(matches!(
        store.rename_category(alice.id, tech.id, &name("News")).await,
        Err(StoreError::Conflict { field: "name" })
    ));
    assert!(matches!(
        store.rename_category(bob.id, tech.id, &name("Other")).await,
        Err(StoreError::NotFound)
    ));
    let feed = subscribe(&store, &alice, "https://example.com/a").await;
    store
        .set_subscription_categories(alice.id, &[(feed, name("News"))])
        .await
        .expect("assign");
    assert!(matches!(
        store.delete_category(bob.id, news.id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_category(alice.id, news.id).await.expect("delete");
    let subscription = store.get_subscription(alice.id, feed).await.expect("still subscribed");
    assert_eq!(subscription.category, None);
}
