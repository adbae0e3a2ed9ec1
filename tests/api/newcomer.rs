//! Rough edges a newcomer hits first: logs written to a file, a feed whose host does not resolve yet, and how
//! long a poll took apart from its wait for a politeness slot.

use crate::helpers::TestDatabase;
use crate::process::{free_port, Syndic};

#[tokio::test]
async fn logs_written_to_a_file_carry_no_colour_codes() {
    let database = TestDatabase::create(crate::helpers::Backend::Sqlite).await;
    let mut syndic = Syndic::spawn(
        free_port(),
        &[
            ("DATABASE_URL", database.url.clone()),
            ("RUST_LOG", "info".into()),
            // An empty NO_COLOR does not turn colours off, so only the missing terminal can.
            ("NO_COLOR", String::new()),
        ],
    );
    syndic.wait_until_healthy().await;
    let logs = syndic.logs();
    assert!(logs.contains("INFO"), "the engine logged its start: {logs}");
    assert!(!logs.contains("\x1b["), "no ANSI escape codes in a log file: {logs:?}");
}
