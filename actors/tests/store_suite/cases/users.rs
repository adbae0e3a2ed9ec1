//! Cases for users: creation, lookup for login, and which unique value a conflict is about.

use syndic_actors::domain::NewUser;
use syndic_actors::store::StoreError;
use uuid::Uuid;

use crate::support::{now, user, SharedStore};

pub async fn ping_answers(store: SharedStore) {
    store.ping().await.expect("ping");
}

pub async fn create_user_then_find_by_username_email_and_id(store: SharedStore) {
    let before = now();
    let created = store
        .create_user(&NewUser {
            username: "Alice".to_owned(),
            email: "alice@example.com".to_owned(),
            password_hash: "$argon2id$hash".to_owned(),
        })
        .await
        .expect("create");
    assert_eq!(created.username, "Alice");
    assert_eq!(created.email, "alice@example.com");
    assert!(created.created_at >= before - chrono::Duration::seconds(5));
    assert!(created.created_at <= now() + chrono::Duration::seconds(5));

    for identifier in ["Alice", "alice@example.com", "ALICE@Example.COM", "  Alice  "] {
        let found = store
            .find_credentials(identifier)
            .await
            .expect("find")
            .unwrap_or_else(|| panic!("{identifier:?} finds the user"));
        assert_eq!(found.user, created, "{identifier:?}");
        assert_eq!(found.password_hash, "$argon2id$hash");
    }
    // Usernames are case-sensitive; only emails are folded.
    for identifier in ["alice", "ALICE", "bob", "", "alice@example.org"] {
        let found = store.find_credentials(identifier).await.expect("find");
        assert!(found.is_none(), "{identifier:?} finds nobody");
    }

    assert_eq!(store.get_user(created.id).await.expect("get"), created);
    assert!(matches!(
        store.get_user(Uuid::new_v4()).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn duplicate_username_is_a_username_conflict(store: SharedStore) {
    user(&store, "carol").await;
    let duplicate = store
        .create_user(&NewUser {
            username: "carol".to_owned(),
            email: "someone-else@example.com".to_owned(),
            password_hash: "x".to_owned(),
        })
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict { field: "username" })),
        "{duplicate:?}"
    );
    // A username differing only in case is another username.
    store
        .create_user(&NewUser {
            username: "Carol".to_owned(),
            email: "carol2@example.com".to_owned(),
            password_hash: "x".to_owned(),
        })
        .await
        .expect("Carol is not carol");
}

pub async fn duplicate_email_is_an_email_conflict(store: SharedStore) {
    user(&store, "dave").await;
    let duplicate = store
        .create_user(&NewUser {
            username: "david".to_owned(),
            email: "dave@example.com".to_owned(),
            password_hash: "x".to_owned(),
        })
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict { field: "email" })),
        "{duplicate:?}"
    );
    let found = store.find_credentials("david").await.expect("find");
    assert!(found.is_none(), "the conflicting user was not stored");
}
