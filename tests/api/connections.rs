//! The real binary under a crowd of idle, slow and surplus connections, with a low open-file limit: the health
//! check still answers, the server closes what is idle or slow, and running out of descriptors costs no CPU.

use std::time::{Duration, Instant};

use futures::future::join_all;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{Backend, TestDatabase};
use crate::process::{free_port, Syndic};

/// Lets this test process hold thousands of sockets.
fn raise_own_open_file_limit() {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap();
    assert!(
        limit >= 4096,
        "the test needs an open-file limit of 4096, the hard limit is {limit}"
    );
}

fn settings(database: &TestDatabase, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut settings = vec![
        ("DATABASE_URL", database.url.clone()),
        ("SYNDIC_JWT_SECRET", "fixed".to_owned()),
        ("RUST_LOG", "info".to_owned()),
    ];
    settings.extend(extra.iter().map(|(name, value)| (*name, (*value).to_owned())));
    settings
}

/// Opens up to `count` connections at once; those the kernel does not complete within a few seconds are dropped.
async fn open_connections(port: u16, count: usize) -> Vec<TcpStream> {
    let attempts =
        (0..count).map(|_| tokio::time::timeout(Duration::from_secs(3), TcpStream::connect(("127.0.0.1", port))));
    join_all(attempts)
        .await
        .into_iter()
        .filter_map(|attempt| attempt.ok().and_then(Result::ok))
        .collect()
}

/// Waits until the server closes `stream` (end of stream or reset); returns false if it has not within `within`.
async fn closed_by_server(mut stream: TcpStream, within: Duration) -> bool {
    let mut buffer = [0u8; 256];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            // A response to a partial head (e.g. 408/400) before the close is fine.
            Ok(Ok(_)) => {}
        }
    }
}

/// A connection that sends a request head one byte every 300 ms and never finishes it; true once the server
/// has closed it, false if it is still open after `within`.
async fn slowloris(port: u16, within: Duration) -> bool {
    let Ok(stream) = TcpStream::connect(("127.0.0.1", port)).await else {
        return true;
    };
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        let head = b"GET /healthcheck HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
        for byte in head.iter().chain(std::iter::repeat(&b'a')).take(1000) {
            if writer.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let mut buffer = [0u8; 256];
    let closed = tokio::time::timeout(within, async {
        loop {
            match reader.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok();
    trickle.abort();
    closed
}

async fn healthcheck_status(syndic: &Syndic, within: Duration) -> Option<u16> {
    let client = reqwest::Client::builder().timeout(within).build().unwrap();
    let response = client.get(syndic.url("/healthcheck")).send().await.ok()?;
    Some(response.status().as_u16())
}

#[tokio::test]
async fn idle_and_slow_connections_are_closed_and_the_healthcheck_still_answers() {
    raise_own_open_file_limit();
    let database = TestDatabase::create(Backend::Sqlite).await;
    let timeouts = [("SYNDIC_HEADER_TIMEOUT_SECS", "2"), ("SYNDIC_IDLE_TIMEOUT_SECS", "3")];
    // A hard limit of 1,024 descriptors: the engine cannot raise it, and 2,000 clients would exhaust it.
    let mut syndic = Syndic::spawn_with_open_files(free_port(), &settings(&database, &timeouts), 1024);
    syndic.wait_until_healthy().await;

    let slow = tokio::spawn({
        let port = syndic.port;
        async move { join_all((0..50).map(|_| slowloris(port, Duration::from_secs(15)))).await }
    });
    let idle = open_connections(syndic.port, 2000).await;
    assert!(idle.len() >= 1500, "only {} of 2,000 connections opened", idle.len());

    let started = Instant::now();
    let status = healthcheck_status(&syndic, Duration::from_secs(10)).await;
    assert_eq!(
        status,
        Some(200),
        "the health check did not answer within 10 s; logs:\n{}",
        syndic.logs()
    );
    eprintln!(
        "health check answered after {:?} with {} connections open",
        started.elapsed(),
        idle.len()
    );

    let closed = join_all(
        idle.into_iter()
            .map(|stream| closed_by_server(stream, Duration::from_secs(15))),
    )
    .await;
    let still_open = closed.iter().filter(|closed| !**closed).count();
    assert_eq!(still_open, 0, "idle connections the server never closed");
    let slow = slow.await.unwrap();
    assert!(
        slow.iter().all(|closed| *closed),
        "slow-header connections the server never closed"
    );
    assert!(
        !syndic.logs().contains("accepting an HTTP connection failed"),
        "the cap should keep the engine below its descriptor limit"
    );
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    let fields: Vec<&str> = stat.rsplit_once(')').unwrap().1.split_whitespace().collect();
    // Fields 14 and 15 of the whole line are the 12th and 13th after the name.
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn ticks_per_second() -> u64 {
    let output = std::process::Command::new("getconf").arg("CLK_TCK").output().unwrap();
    String::from_utf8(output.stdout).unwrap().trim().parse().unwrap()
}

#[tokio::test]
async fn out_of_descriptors_the_engine_pauses_instead_of_spinning() {
    raise_own_open_file_limit();
    let database = TestDatabase::create(Backend::Sqlite).await;
    // No cap short of the descriptor limit, and long timeouts: the connections fill every descriptor and stay.
    let extra = [
        ("SYNDIC_MAX_CONNECTIONS", "100000"),
        ("SYNDIC_HEADER_TIMEOUT_SECS", "120"),
        ("SYNDIC_IDLE_TIMEOUT_SECS", "120"),
    ];
    let mut syndic = Syndic::spawn_with_open_files(free_port(), &settings(&database, &extra), 256);
    syndic.wait_until_healthy().await;

    let connections = open_connections(syndic.port, 400).await;
    assert!(connections.len() > 256, "only {} connections opened", connections.len());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let window = Duration::from_secs(3);
    let before = cpu_ticks(syndic.pid());
    tokio::time::sleep(window).await;
    let used = cpu_ticks(syndic.pid()) - before;
    let budget = ticks_per_second() * window.as_secs() / 2;
    eprintln!("engine CPU while out of descriptors: {used} ticks in {window:?}, budget {budget}");
    assert!(
        used < budget,
        "the engine used {used} CPU ticks in {window:?} (budget {budget}) while out of descriptors"
    );
    assert!(
        syndic.logs().contains("accepting an HTTP connection failed"),
        "the engine never ran out of descriptors; logs:\n{}",
        syndic.logs()
    );

    drop(connections);
    let mut status = None;
    for _ in 0..20 {
        status = healthcheck_status(&syndic, Duration::from_secs(2)).await;
        if status == Some(200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(status, Some(200), "no health check once the connections were released");
}
