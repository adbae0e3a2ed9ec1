//! Hostile servers: silence, endless bodies, lying lengths, compression and entity bombs. Each must end
//! in a `FetchError` or a parse error, quickly, and never in a hang or a panic.

mod common;

use std::io::Write;
use std::time::Duration;

use common::{fetcher, respond, serve, test_settings, url};
use flate2::write::GzEncoder;
use flate2::Compression;
use syndic_actors::fetch::{FetchError, FetchOutcome, Validators};
use syndic_actors::parse::parse_feed;
use tokio::io::AsyncWriteExt;
use tokio::time::Instant;

/// Long enough for any of these tests to have ended on its own; a test still running then has hung.
const HANG: Duration = Duration::from_secs(5);

async fn fetch_once(path_server: std::net::SocketAddr) -> (Result<FetchOutcome, FetchError>, Duration) {
    let fetcher = fetcher(test_settings());
    let started = Instant::now();
    let result = tokio::time::timeout(HANG, fetcher.fetch(&url(path_server, "/feed"), &Validators::default()))
        .await
        .expect("the fetch hung past its own timeout");
    (result, started.elapsed())
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_total_timeout() {
    let address = serve(|_, stream| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        drop(stream);
    })
    .await;
    let (result, elapsed) = fetch_once(address).await;
    assert_eq!(result.err(), Some(FetchError::Timeout));
    assert!(elapsed >= Duration::from_millis(1400), "{elapsed:?}");
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
}

#[tokio::test]
async fn a_body_dribbled_forever_is_cut_off() {
    let address = serve(|_, mut stream| async move {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nTransfer-Encoding: chunked\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        while stream.write_all(b"1\r\n<\r\n").await.is_ok() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let (result, elapsed) = fetch_once(address).await;
    assert!(
        matches!(result, Err(FetchError::Timeout | FetchError::TooLarge(_))),
        "{result:?}"
    );
    assert!(elapsed < Duration::from_millis(2500), "{elapsed:?}");
}

#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused_before_reading() {
    let address = serve(|_, mut stream| async move {
        let head = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n<rss>";
        let _ = stream.write_all(head.as_bytes()).await;
        // Then nothing: a client that waits for the gigabyte would time out instead.
        tokio::time::sleep(Duration::from_secs(60)).await;
    })
    .await;
    let (result, elapsed) = fetch_once(address).await;
    assert_eq!(result.err(), Some(FetchError::TooLarge(1024 * 1024)));
    assert!(elapsed < Duration::from_millis(500), "{elapsed:?}");
}

#[tokio::test]
async fn a_chunked_body_over_the_cap_is_refused() {
    let address = serve(|_, mut stream| async move {
        let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        let _ = stream.write_all(head.as_bytes()).await;
        let block = vec![b'a'; 64 * 1024];
        // 2 MiB in all, twice the cap, and a proper end: only the cap can refuse it.
        for _ in 0..32 {
            let chunk = [format!("{:x}\r\n", block.len()).as_bytes(), &block, b"\r\n"].concat();
            if stream.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n").await;
    })
    .await;
    let (result, _) = fetch_once(address).await;
    assert_eq!(result.err(), Some(FetchError::TooLarge(1024 * 1024)));
}

#[tokio::test]
async fn a_body_just_under_the_cap_is_accepted() {
    // The other side of the cap tests: the cap refuses what is over it, not everything large.
    let address = serve(|_, stream| async move {
        respond(stream, "200 OK", &[], &vec![b'a'; 1024 * 1024]).await;
    })
    .await;
    let (result, _) = fetch_once(address).await;
    match result {
        Ok(FetchOutcome::Fetched(document)) => assert_eq!(document.body.len(), 1024 * 1024),
        other => panic!("{other:?}"),
    }
}

/// 16 MiB of zeros, gzipped to a few kilobytes.
fn gzip_bomb() -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![0u8; 1024 * 1024];
    for _ in 0..16 {
        encoder.write_all(&zeros).unwrap();
    }
    encoder.finish().unwrap()
}

#[tokio::test]
async fn a_gzip_bomb_is_refused_once_it_inflates_past_the_cap() {
    let bomb = gzip_bomb();
    assert!(bomb.len() < 64 * 1024, "the bomb is {} bytes", bomb.len());
    let address = serve(move |_, stream| {
        let bomb = bomb.clone();
        async move {
            let headers = [("Content-Encoding", "gzip"), ("Content-Type", "application/rss+xml")];
            respond(stream, "200 OK", &headers, &bomb).await;
        }
    })
    .await;
    let (result, _) = fetch_once(address).await;
    assert_eq!(result.err(), Some(FetchError::TooLarge(1024 * 1024)));
}

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>&lol9;</title>
<item><guid>1</guid><title>&lol9;</title><description>&lol9;</description></item>
</channel></rss>"#;

const MALFORMED: &str = r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><guid>1</guid><title>unclosed <b>tags & bare ampersands</item></channel><rss"#;

/// Fetches `document` from a test server and parses it off the async threads, as the feed actor does.
async fn fetch_and_parse(document: &'static str) -> Result<syndic_actors::parse::ParsedFeed, String> {
    let address = serve(move |_, stream| async move {
        respond(
            stream,
            "200 OK",
            &[("Content-Type", "application/rss+xml")],
            document.as_bytes(),
        )
        .await;
    })
    .await;
    let body = match fetch_once(address).await.0 {
        Ok(FetchOutcome::Fetched(document)) => document.body,
        other => panic!("{other:?}"),
    };
    let parsing = tokio::task::spawn_blocking(move || parse_feed(&body));
    tokio::time::timeout(HANG, parsing)
        .await
        .expect("parsing hung")
        .expect("parsing panicked past catch_unwind")
        .map_err(|error| error.to_string())
}

#[tokio::test]
async fn an_entity_expansion_bomb_is_not_expanded() {
    let started = Instant::now();
    let parsed = fetch_and_parse(BILLION_LAUGHS).await;
    // Either refused, or parsed without expanding: a billion "lol"s would be 3 GB.
    if let Ok(feed) = parsed {
        let size: usize = feed
            .entries
            .iter()
            .map(|entry| entry.title.as_deref().map_or(0, str::len) + entry.summary.as_deref().map_or(0, str::len))
            .sum::<usize>()
            + feed.title.as_deref().map_or(0, str::len);
        assert!(size < 64 * 1024, "expanded to {size} bytes");
    }
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test]
async fn malformed_xml_is_a_parse_error() {
    let parsed = fetch_and_parse(MALFORMED).await;
    assert!(parsed.is_err(), "{parsed:?}");
}
