//! The streams scenario at a tiny size, through the harness's own binary: its idle clients run in a child
//! process (the same binary, started by the scenario), so the run needs the binary rather than the library.
//! Timings and memory figures are not checked here, only that every stream opened and every event arrived and
//! was timed.

use std::process::Command;

use serde_json::Value;

#[test]
fn the_idle_streams_open_in_a_child_process_and_the_reading_stream_gets_every_article_new() {
    let json = std::env::temp_dir().join(format!("syndic-loadtest-streams-{}.json", std::process::id()));
    let output = Command::new(env!("CARGO_BIN_EXE_syndic-loadtest"))
        .args(["--scenario", "streams", "--streams", "30", "--streams-first", "10"])
        .args([
            "--streams-idle-secs",
            "1",
            "--feeds",
            "6",
            "--broken-share",
            "0",
            "--json",
        ])
        .arg(&json)
        .env("RUST_LOG", "error")
        .output()
        .expect("the harness runs");
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&std::fs::read(&json).expect("the JSON is written")).unwrap();
    let _ = std::fs::remove_file(&json);
    assert_eq!(report["streams"], 30, "{report}");
    assert_eq!(report["streams_first"], 10, "{report}");
    assert_eq!(report["cold_round_feeds"], 6, "{report}");
    assert_eq!(report["events_received"], 6, "{report}");
    // The engine timed each message it handed to the reading stream, from its commit.
    assert_eq!(report["commit_to_wire_timed"], 6.0, "{report}");
    assert!(report["commit_to_wire_p99_at_most_ms"].is_f64(), "{report}");
    let resident = |name: &str| report[name].as_u64().unwrap_or(0);
    assert!(resident("resident_before_bytes") > 0, "{report}");
    assert!(resident("resident_first_bytes") > 0, "{report}");
    assert!(resident("resident_open_bytes") > 0, "{report}");
    assert!(resident("resident_idle_bytes") > 0, "{report}");
}
