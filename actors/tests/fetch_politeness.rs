//! Politeness seen from the server: however many feeds a host has, it never gets more requests at once
//! than allowed, nor two starts closer than the gap; and the global cap holds across hosts.

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{fetcher, respond, serve, test_settings, url, SMALL_FEED};
use syndic_actors::fetch::{FetchOutcome, FetchSettings, Fetcher, Validators};
use tokio::time::Instant;

/// Requests being handled now, and the most there ever were.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    most: AtomicUsize,
}

/// A server that holds every request for `hold` before answering, counting requests in flight in
/// `in_flight` (which several servers may share) and noting when each arrived.
async fn slow_server(hold: Duration, in_flight: Arc<InFlight>, arrivals: Arc<Mutex<Vec<Instant>>>) -> SocketAddr {
    serve(move |request, stream| {
        let in_flight = Arc::clone(&in_flight);
        arrivals.lock().unwrap().push(request.arrived);
        async move {
            let now = in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
            in_flight.most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(hold).await;
            // Counted out before answering: the client cannot start another request on this permit
            // before it has the answer, so the count never runs behind the client.
            in_flight.now.fetch_sub(1, Ordering::SeqCst);
            respond(stream, "200 OK", &[], SMALL_FEED.as_bytes()).await;
        }
    })
    .await
}

/// Fetches every path at once, each from its own clone of the fetcher as the feed actors do, and
/// counts the documents that came back.
async fn fetch_all(fetcher: &Fetcher, targets: Vec<(SocketAddr, String)>) -> usize {
    let tasks: Vec<_> = targets
        .into_iter()
        .map(|(address, path)| {
            let fetcher = fetcher.clone();
            tokio::spawn(async move { fetcher.fetch(&url(address, &path), &Validators::default()).await })
        })
        .collect();
    let mut fetched = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(FetchOutcome::Fetched(_)) => fetched += 1,
            other => panic!("{other:?}"),
        }
    }
    fetched
}

#[tokio::test]
async fn one_host_never_sees_more_than_its_cap() {
    let in_flight = Arc::new(InFlight::default());
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let address = slow_server(Duration::from_millis(100), Arc::clone(&in_flight), arrivals).await;
    let fetcher = fetcher(FetchSettings {
        per_host_concurrency: 2,
        ..test_settings()
    });
    let targets = (0..20).map(|index| (address, format!("/feed/{index}"))).collect();
    assert_eq!(fetch_all(&fetcher, targets).await, 20);
    let most = in_flight.most.load(Ordering::SeqCst);
    assert!(most <= 2, "{most} requests in flight at once");
}

#[tokio::test]
async fn requests_to_one_host_start_at_least_the_gap_apart() {
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let in_flight = Arc::new(InFlight::default());
    let address = slow_server(Duration::ZERO, in_flight, Arc::clone(&arrivals)).await;
    let gap = Duration::from_millis(200);
    let fetcher = fetcher(FetchSettings {
        per_host_concurrency: 10,
        per_host_interval: gap,
        ..test_settings()
    });
    let targets = (0..5).map(|index| (address, format!("/feed/{index}"))).collect();
    assert_eq!(fetch_all(&fetcher, targets).await, 5);
    let mut arrivals = arrivals.lock().unwrap().clone();
    arrivals.sort();
    assert_eq!(arrivals.len(), 5);
    for pair in arrivals.windows(2) {
        let apart = pair[1] - pair[0];
        // A few milliseconds of slack for the network stack between the client's start and our read.
        assert!(apart >= gap - Duration::from_millis(10), "{apart:?}");
    }
}

#[tokio::test]
async fn the_global_cap_holds_across_hosts() {
    let in_flight = Arc::new(InFlight::default());
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let hold = Duration::from_millis(100);
    let first = slow_server(hold, Arc::clone(&in_flight), Arc::clone(&arrivals)).await;
    let second = slow_server(hold, Arc::clone(&in_flight), arrivals).await;
    let fetcher = fetcher(FetchSettings {
        max_fetches: 3,
        per_host_concurrency: 10,
        ..test_settings()
    });
    let targets = (0..10)
        .flat_map(|index| [(first, format!("/a/{index}")), (second, format!("/b/{index}"))])
        .collect();
    assert_eq!(fetch_all(&fetcher, targets).await, 20);
    let most = in_flight.most.load(Ordering::SeqCst);
    assert!(most <= 3, "{most} requests in flight across both hosts");
}

#[tokio::test]
async fn a_redirect_to_another_host_waits_for_that_host() {
    // The target host allows one request at a time and is busy with a slow one; a redirect from another
    // host must queue behind it rather than slip in as part of the first host's request.
    let in_flight = Arc::new(InFlight::default());
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let target = slow_server(Duration::from_millis(300), Arc::clone(&in_flight), arrivals).await;
    let location = format!("http://{target}/moved");
    let origin = serve(move |_, stream| {
        let location = location.clone();
        async move { respond(stream, "301 Moved", &[("Location", &location)], b"").await }
    })
    .await;
    let fetcher = fetcher(FetchSettings {
        per_host_concurrency: 1,
        ..test_settings()
    });
    let targets = vec![
        (target, "/direct".to_owned()),
        (origin, "/old".to_owned()),
        (target, "/direct-again".to_owned()),
    ];
    assert_eq!(fetch_all(&fetcher, targets).await, 3);
    let most = in_flight.most.load(Ordering::SeqCst);
    assert!(most <= 1, "{most} requests in flight on the target");
}
