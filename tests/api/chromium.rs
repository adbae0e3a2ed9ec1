//! Headless Chromium for the browser tests: Debian's package, as `scripts/test` installs it, run on one page
//! until its virtual time runs out, with the DOM it dumps on standard output.

use std::process::{Command, Output};

/// The browser's command name.
fn chromium() -> String {
    for candidate in ["chromium", "chromium-browser"] {
        if Command::new(candidate)
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
        {
            return candidate.to_owned();
        }
    }
    panic!("the browser tests need Debian's chromium package (apt-get install chromium); scripts/test installs it");
}

/// Loads `page` in a fresh profile, lets it run for `virtual_time_budget_ms` of virtual time, and returns the
/// browser's output (the DOM on stdout). It blocks: call it from `spawn_blocking`.
pub fn dump_dom(page: String, virtual_time_budget_ms: u32) -> Output {
    let profile = std::env::temp_dir().join(format!("syndic-chromium-{}", uuid::Uuid::new_v4().simple()));
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--virtual-time-budget={virtual_time_budget_ms}"))
        .arg("--dump-dom")
        .arg(page)
        .output()
        .expect("chromium runs")
}
