//! What the fetcher makes of real responses: statuses and the publisher's hints, redirects followed by
//! hand, the conditional headers and the User-Agent it sends.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use common::{fetcher, respond, serve, test_settings, url, Request, SMALL_FEED};
use syndic_actors::fetch::{FetchError, FetchOutcome, FetchSettings, FetchedDocument, PublisherHints, Validators};

/// A server answering every request with one fixed response.
async fn answering(status: &'static str, headers: Vec<(&'static str, String)>) -> SocketAddr {
    serve(move |_, stream| {
        let headers = headers.clone();
        async move {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(name, value)| (*name, value.as_str())).collect();
            respond(stream, status, &headers, b"").await;
        }
    })
    .await
}

async fn fetch(address: SocketAddr) -> Result<FetchOutcome, FetchError> {
    fetcher(test_settings())
        .fetch(&url(address, "/feed"), &Validators::default())
        .await
}

fn document(result: Result<FetchOutcome, FetchError>) -> FetchedDocument {
    match result {
        Ok(FetchOutcome::Fetched(document)) => document,
        other => panic!("expected a document, got {other:?}"),
    }
}

#[tokio::test]
async fn not_modified_carries_the_max_age() {
    let address = answering(
        "304 Not Modified",
        vec![("Cache-Control", "public, max-age=900".into())],
    )
    .await;
    match fetch(address).await {
        Ok(FetchOutcome::NotModified { hints }) => {
            assert_eq!(hints.max_age, Some(Duration::from_secs(900)))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_document_carries_its_hints_and_validators() {
    let address = serve(|_, stream| async move {
        let headers = [
            ("Cache-Control", "max-age=60"),
            ("Date", "Sun, 06 Nov 1994 08:49:37 GMT"),
            ("Expires", "Sun, 06 Nov 1994 09:49:37 GMT"),
            ("ETag", "\"abc\""),
        ];
        respond(stream, "200 OK", &headers, SMALL_FEED.as_bytes()).await;
    })
    .await;
    let document = document(fetch(address).await);
    assert_eq!(
        document.hints,
        PublisherHints {
            max_age: Some(Duration::from_secs(60)),
            expires_in: Some(Duration::from_secs(3600)),
            retry_after: None,
        }
    );
    assert_eq!(document.validators.etag.as_deref(), Some("\"abc\""));
    assert_eq!(document.permanent_redirect, None);
    assert_eq!(&document.body[..], SMALL_FEED.as_bytes());
}

#[tokio::test]
async fn too_many_requests_and_unavailable_carry_retry_after_in_seconds() {
    for status in ["429 Too Many Requests", "503 Service Unavailable"] {
        let address = answering(status, vec![("Retry-After", "120".into())]).await;
        let code = status[..3].parse().unwrap();
        assert_eq!(
            fetch(address).await.err(),
            Some(FetchError::Status {
                status: code,
                retry_after: Some(Duration::from_secs(120))
            })
        );
    }
}

#[tokio::test]
async fn retry_after_as_a_date_is_measured_from_the_response_date() {
    let address = answering(
        "503 Service Unavailable",
        vec![
            ("Date", "Sun, 06 Nov 1994 08:49:37 GMT".into()),
            ("Retry-After", "Sun, 06 Nov 1994 08:51:37 GMT".into()),
        ],
    )
    .await;
    assert_eq!(
        fetch(address).await.err(),
        Some(FetchError::Status {
            status: 503,
            retry_after: Some(Duration::from_secs(120))
        })
    );
    // Without a Date, from our clock: two minutes ahead, give or take the second the header rounds to.
    let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
    let address = answering("429 Too Many Requests", vec![("Retry-After", at)]).await;
    match fetch(address).await {
        Err(FetchError::Status {
            status: 429,
            retry_after: Some(wait),
        }) => assert!(
            wait > Duration::from_secs(115) && wait <= Duration::from_secs(120),
            "{wait:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn gone_and_other_statuses() {
    let address = answering("410 Gone", vec![]).await;
    assert_eq!(fetch(address).await.err(), Some(FetchError::Gone));
    // Retry-After is only read where it means "come back later".
    let address = answering("404 Not Found", vec![("Retry-After", "120".into())]).await;
    assert_eq!(
        fetch(address).await.err(),
        Some(FetchError::Status {
            status: 404,
            retry_after: None
        })
    );
}

/// A server whose paths say what to answer: `/301/<next>` redirects to `/<next>` with that status,
/// `/loop` redirects to itself, `/ftp` to an ftp URL, anything else is the feed. Every request is kept.
async fn redirecting() -> (SocketAddr, Arc<Mutex<Vec<Request>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let address = serve(move |request, stream| {
        log.lock().unwrap().push(request.clone());
        async move {
            let mut parts = request.path.trim_start_matches('/').splitn(2, '/');
            let first = parts.next().unwrap_or_default();
            let rest = parts.next().unwrap_or_default();
            let status = match first {
                "301" => "301 Moved Permanently",
                "302" => "302 Found",
                "303" => "303 See Other",
                "307" => "307 Temporary Redirect",
                "308" => "308 Permanent Redirect",
                "loop" => return respond(stream, "301 Moved", &[("Location", "/loop")], b"").await,
                "ftp" => {
                    let to = [("Location", "ftp://127.0.0.1/feed")];
                    return respond(stream, "302 Found", &to, b"").await;
                }
                _ => return respond(stream, "200 OK", &[], SMALL_FEED.as_bytes()).await,
            };
            // Relative Locations, as many servers send them.
            let location = format!("/{rest}");
            respond(stream, status, &[("Location", &location)], b"").await;
        }
    })
    .await;
    (address, seen)
}

async fn fetch_path(address: SocketAddr, path: &str) -> Result<FetchOutcome, FetchError> {
    let validators = Validators {
        etag: Some("\"v7\"".into()),
        last_modified: None,
    };
    fetcher(test_settings()).fetch(&url(address, path), &validators).await
}

#[tokio::test]
async fn only_an_all_permanent_chain_reports_its_end() {
    let (address, seen) = redirecting().await;
    let permanent = document(fetch_path(address, "/301/308/301/feed").await);
    assert_eq!(permanent.permanent_redirect, Some(format!("http://{address}/feed")));
    for path in ["/301/302/feed", "/307/301/feed", "/303/feed"] {
        let document = document(fetch_path(address, path).await);
        assert_eq!(document.permanent_redirect, None, "{path}");
    }
    // Every hop was a separate request, and every one carried the validators.
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 4 + 3 + 3 + 2);
    assert!(seen
        .iter()
        .all(|request| request.header("if-none-match") == Some("\"v7\"")));
}

#[tokio::test]
async fn redirects_are_limited() {
    let (address, seen) = redirecting().await;
    assert_eq!(
        fetch_path(address, "/loop").await.err(),
        Some(FetchError::TooManyRedirects(5))
    );
    // The first request and the five redirects allowed; the sixth redirect is not followed.
    assert_eq!(seen.lock().unwrap().len(), 6);
    // Exactly five is still fine.
    assert!(fetch_path(address, "/301/301/301/301/301/feed").await.is_ok());
}

#[tokio::test]
async fn a_redirect_to_another_scheme_is_blocked() {
    let (address, _) = redirecting().await;
    assert!(matches!(fetch_path(address, "/ftp").await, Err(FetchError::Blocked(_))));
}

#[tokio::test]
async fn the_user_agent_names_the_version_and_the_contact() {
    let agent = Arc::new(Mutex::new(None));
    let log = Arc::clone(&agent);
    let address = serve(move |request, stream| {
        *log.lock().unwrap() = request.header("user-agent").map(str::to_owned);
        async move { respond(stream, "200 OK", &[], SMALL_FEED.as_bytes()).await }
    })
    .await;
    let settings = FetchSettings {
        contact_url: Some("https://example.com/about-our-bot".into()),
        ..test_settings()
    };
    fetcher(settings)
        .fetch(&url(address, "/"), &Validators::default())
        .await
        .unwrap();
    let expected = format!(
        "syndic/{} (+https://example.com/about-our-bot)",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(agent.lock().unwrap().as_deref(), Some(expected.as_str()));
}
