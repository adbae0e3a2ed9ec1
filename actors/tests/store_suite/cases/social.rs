//! Profiles and friends: requests that cross become friendships, both sides of a friendship go together, mutual
//! friends and the search's ranking, and what each viewer's friendship says.

use syndic_actors::social::{Friendship, ProfilePatch, RequestDirection, RequestOutcome, Visibility};
use syndic_actors::store::StoreError;

use crate::support::{user, SharedStore};

pub async fn crossing_requests_befriend_and_unfriending_ends_both_sides(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let carol = user(&store, "carol").await;
    assert_eq!(
        store.send_friend_request(alice.id, "BOB").await.expect("ask"),
        RequestOutcome::Sent
    );
    assert!(matches!(
        store.send_friend_request(alice.id, "bob").await,
        Err(StoreError::Conflict { field: "username" })
    ));
    assert!(matches!(
        store.send_friend_request(alice.id, "alice").await,
        Err(StoreError::Rejected { field: "username", .. })
    ));
    assert!(matches!(
        store.send_friend_request(alice.id, "nobody").await,
        Err(StoreError::NotFound)
    ));
    let received = store
        .list_friend_requests(bob.id, RequestDirection::Received, 10, None)
        .await
        .expect("received");
    assert_eq!(received.len(), 1);
    assert_eq!(
        (received[0].profile.username.as_str(), received[0].profile.friendship),
        ("alice", Friendship::PendingReceived)
    );
    assert_eq!(
        store.send_friend_request(bob.id, "alice").await.expect("ask back"),
        RequestOutcome::Accepted
    );
    assert!(store
        .list_friend_requests(alice.id, RequestDirection::Sent, 10, None)
        .await
        .expect("sent")
        .is_empty());
    assert_eq!(
        store.profile(bob.id, "alice").await.expect("profile").friendship,
        Friendship::Friends
    );

    store.send_friend_request(carol.id, "alice").await.expect("ask");
    store.accept_friend_request(alice.id, "carol").await.expect("accept");
    assert!(matches!(
        store.accept_friend_request(alice.id, "carol").await,
        Err(StoreError::NotFound)
    ));
    store.send_friend_request(carol.id, "bob").await.expect("ask");
    store.accept_friend_request(bob.id, "carol").await.expect("accept");
    let mutual = store.mutual_friends(alice.id, "bob").await.expect("mutual");
    assert_eq!(
        mutual.iter().map(|friend| friend.username.as_str()).collect::<Vec<_>>(),
        ["carol"]
    );
    let first = store.list_friends(alice.id, 1, None).await.expect("page");
    assert_eq!(first[0].username, "bob");
    let second = store.list_friends(alice.id, 1, Some("bob")).await.expect("page");
    assert_eq!(second[0].username, "carol");

    store.unfriend(bob.id, "alice").await.expect("unfriend");
    assert!(matches!(
        store.unfriend(alice.id, "bob").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(
        store.profile(alice.id, "bob").await.expect("profile").friendship,
        Friendship::None
    );
    assert_eq!(store.list_friends(alice.id, 10, None).await.expect("friends").len(), 1);
    store.send_friend_request(alice.id, "bob").await.expect("ask");
    store.delete_friend_request(bob.id, "alice").await.expect("decline");
    assert!(matches!(
        store.delete_friend_request(bob.id, "alice").await,
        Err(StoreError::NotFound)
    ));
}

pub async fn the_search_ranks_prefixes_then_suffixes_and_matches_only_visible_display_names(store: SharedStore) {
    let viewer = user(&store, "viewer").await;
    user(&store, "hannah").await;
    user(&store, "joann").await;
    user(&store, "annie").await;
    let zed = user(&store, "zed").await;
    let yves = user(&store, "yves").await;
    let shown = ProfilePatch {
        display_name: Some(Some("Annette".to_owned())),
        ..ProfilePatch::default()
    };
    let own = store.update_profile(zed.id, &shown).await.expect("patch");
    assert_eq!(
        (
            own.display_name.as_deref(),
            own.display_name_visibility,
            own.email_visibility
        ),
        (Some("Annette"), Visibility::Everyone, Visibility::Nobody)
    );
    let hidden = ProfilePatch {
        display_name: Some(Some("Ann".to_owned())),
        display_name_visibility: Some(Visibility::Friends),
        email_visibility: Some(Visibility::Friends),
    };
    store.update_profile(yves.id, &hidden).await.expect("patch");
    let found = store.search_users(viewer.id, "Ann", 10).await.expect("search");
    let names: Vec<&str> = found.iter().map(|user| user.username.as_str()).collect();
    assert_eq!(names, ["annie", "zed", "joann", "hannah"]);
    assert_eq!(store.search_users(viewer.id, "ann", 2).await.expect("search").len(), 2);
    assert!(store.search_users(viewer.id, "%", 10).await.expect("search").is_empty());
}
