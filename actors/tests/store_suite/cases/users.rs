//! Cases for users: creation, lookup for login (by username only), conflicts (on usernames only) and invites.

use chrono::Duration;
use syndic_actors::domain::{invite_code_hash, NewInvite, NewUser, Role};
use syndic_actors::store::StoreError;
use uuid::Uuid;

use crate::support::{now, user, SharedStore};

pub async fn ping_answers(store: SharedStore) {
    store.ping().await.expect("ping");
}

pub async fn create_user_then_find_by_username_and_id_never_by_email(store: SharedStore) {
    let before = now();
    let created = store
        .create_user(&NewUser {
            username: "Alice".to_owned(),
            email: "alice@example.com".to_owned(),
            password_hash: "$argon2id$hash".to_owned(),
            invite_hash: None,
        })
        .await
        .expect("create");
    assert_eq!(created.username, "Alice");
    assert_eq!(created.email, "alice@example.com");
    assert!(created.created_at >= before - chrono::Duration::seconds(5));
    assert!(created.created_at <= now() + chrono::Duration::seconds(5));

    for identifier in ["Alice", "  Alice  "] {
        let found = store
            .find_credentials(identifier)
            .await
            .expect("find")
            .unwrap_or_else(|| panic!("{identifier:?} finds the user"));
        assert_eq!(found.user, created, "{identifier:?}");
        assert_eq!(found.password_hash, "$argon2id$hash");
    }
    // One name, whatever its case.
    for identifier in ["alice", "ALICE"] {
        let found = store.find_credentials(identifier).await.expect("find");
        assert_eq!(found.map(|found| found.user), Some(created.clone()), "{identifier:?}");
    }
    // An email is not an account key: it finds nobody, not even the one user who gave it.
    for identifier in ["bob", "", "alice@example.org", "alice@example.com", "ALICE@Example.COM"] {
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
            invite_hash: None,
        })
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict { field: "username" })),
        "{duplicate:?}"
    );
    // A username differing only in case is the same username.
    let same_but_case = store
        .create_user(&NewUser {
            username: "CaRoL".to_owned(),
            email: "carol2@example.com".to_owned(),
            password_hash: "x".to_owned(),
            invite_hash: None,
        })
        .await;
    assert!(
        matches!(same_but_case, Err(StoreError::Conflict { field: "username" })),
        "{same_but_case:?}"
    );
}

pub async fn an_email_another_user_gave_is_accepted(store: SharedStore) {
    let dave = user(&store, "dave").await;
    let david = store
        .create_user(&NewUser {
            username: "david".to_owned(),
            email: dave.email.clone(),
            password_hash: "x".to_owned(),
            invite_hash: None,
        })
        .await
        .expect("an email is not unique");
    assert_ne!(david.id, dave.id);
    assert_eq!(david.email, dave.email);
    for (name, id) in [("dave", dave.id), ("david", david.id)] {
        let found = store.find_credentials(name).await.expect("find").expect("found");
        assert_eq!(found.user.id, id, "{name}");
    }
    assert!(store.find_credentials(&dave.email).await.expect("find").is_none());
}

fn invited(name: &str, invite_hash: Option<String>) -> NewUser {
    NewUser {
        username: name.to_owned(),
        email: format!("{name}@example.com"),
        password_hash: "x".to_owned(),
        invite_hash,
    }
}

pub async fn an_invite_registers_exactly_one_user(store: SharedStore) {
    let (code, invite) = NewInvite::generate(now() + Duration::days(1));
    store.create_invite(&invite).await.expect("invite");
    // The code as typed, in another case and with spaces, hashes to the stored hash.
    let hash = invite_code_hash(&format!(" {} ", code.to_uppercase()));
    let erin = store
        .create_user(&invited("erin", Some(hash.clone())))
        .await
        .expect("registers");
    assert_eq!(erin.role, Role::User);
    let again = store.create_user(&invited("frank", Some(hash))).await;
    assert!(
        matches!(again, Err(StoreError::Rejected { field: "invite", .. })),
        "{again:?}"
    );
    assert!(
        store.find_credentials("frank").await.expect("find").is_none(),
        "frank was not stored"
    );
}

pub async fn an_expired_or_unknown_invite_stores_nothing(store: SharedStore) {
    let (code, invite) = NewInvite::generate(now() - Duration::seconds(1));
    store.create_invite(&invite).await.expect("invite");
    let expired = store.create_user(&invited("gina", Some(invite_code_hash(&code)))).await;
    assert!(
        matches!(expired, Err(StoreError::Rejected { field: "invite", .. })),
        "{expired:?}"
    );
    let unknown = store
        .create_user(&invited("gina", Some(invite_code_hash("nope"))))
        .await;
    assert!(
        matches!(unknown, Err(StoreError::Rejected { field: "invite", .. })),
        "{unknown:?}"
    );
    assert!(store.find_credentials("gina").await.expect("find").is_none());
    // The name is still free.
    store
        .create_user(&invited("gina", None))
        .await
        .expect("registers without an invite");
}

pub async fn roles_are_granted_and_revoked_by_name(store: SharedStore) {
    let henry = user(&store, "henry").await;
    assert_eq!(henry.role, Role::User);
    let granted = store.set_role("HENRY", Role::Admin).await.expect("grant");
    assert_eq!((granted.id, granted.role), (henry.id, Role::Admin));
    assert_eq!(store.get_user(henry.id).await.expect("get").role, Role::Admin);
    let credentials = store.find_credentials("henry").await.expect("find").expect("found");
    assert_eq!(credentials.user.role, Role::Admin);
    store.set_role("henry", Role::User).await.expect("revoke");
    assert_eq!(store.get_user(henry.id).await.expect("get").role, Role::User);
    assert!(matches!(
        store.set_role("nobody", Role::Admin).await,
        Err(StoreError::NotFound)
    ));
}
