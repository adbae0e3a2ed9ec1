//! Users stored directly, for tests and benches that need a user id and no login: no password is hashed.

use syndic_actors::domain::{NewUser, User};
use syndic_actors::store::Store;
use uuid::Uuid;

/// A user stored with a placeholder hash: nobody logs in as it.
pub async fn store_user(store: &dyn Store, username: &str) -> User {
    store
        .create_user(&NewUser {
            username: username.to_owned(),
            email: format!("{username}@example.com"),
            password_hash: "x".into(),
            invite_hash: None,
        })
        .await
        .expect("store a user")
}

/// A user with a name of its own (`{prefix}{unique}`), for benches that create many.
pub async fn store_new_user(store: &dyn Store, prefix: &str) -> User {
    store_user(store, &format!("{prefix}{}", Uuid::new_v4().simple())).await
}
