//! syndic-loadtest: serve a farm of generated feeds on 127.0.0.1, run a fresh engine against it (SQLite in the
//! temp dir, or a new database on the Postgres server of `--database-url`), and print the figures. Stops by
//! itself; `--farm-only` serves the farm alone until Ctrl-C.

use clap::Parser;
use syndic_loadtest::LoadSettings;

/// The engine's settings (the same flags and variables as `syndic`), and the run's.
#[derive(Debug, Parser)]
#[command(
    name = "syndic-loadtest",
    version,
    about = "Load test syndic on this machine against a local feed farm",
    long_about = "Load test syndic on this machine: serve a farm of generated feeds on 127.0.0.1, run a fresh engine \
                  against it, and print the figures. The engine runs on a new database on the Postgres server of \
                  --database-url (dropped at the end), or without one on SQLite in the temp dir. Stops by itself."
)]
struct Cli {
    #[command(flatten)]
    config: syndic::Config,
    #[command(flatten)]
    settings: LoadSettings,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // As in `syndic`, so that the figures are the engine's as it runs in production.
    syndic::process_setup::return_large_blocks_to_the_os();
    let cli = Cli::parse();
    syndic::telemetry::init(cli.config.log_format);
    syndic::process_setup::raise_open_file_limit();
    let _trim =
        syndic::process_setup::trim_freed_memory_every(std::time::Duration::from_secs(cli.config.memory_trim_secs));
    syndic_loadtest::execute(&cli.config, &cli.settings).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_and_run_settings_parse_together() {
        let cli = Cli::try_parse_from([
            "syndic-loadtest",
            "--feeds",
            "20",
            "--database-url",
            "postgres://postgres@127.0.0.1/postgres",
            "--per-host-interval-ms",
            "0",
            "--farm-only",
            "--farm-port",
            "9901",
        ])
        .unwrap();
        assert_eq!(cli.settings.feeds, 20);
        assert_eq!(
            cli.config.database_url.as_deref(),
            Some("postgres://postgres@127.0.0.1/postgres")
        );
        assert_eq!(cli.config.per_host_interval_ms, 0);
        assert!(cli.settings.farm_only);
        assert_eq!(cli.settings.farm_port, 9901);
        assert_eq!(cli.settings.scenario, syndic_loadtest::Scenario::Rounds);
    }

    #[test]
    fn each_scenario_parses_with_its_own_flags() {
        let cli = Cli::try_parse_from([
            "syndic-loadtest",
            "--scenario",
            "popular-feed",
            "--subscribers",
            "20",
            "--new-entries",
            "5",
            "--api-sample",
            "2",
            "--subscriptions",
            "10",
            "--articles",
            "1000",
            "--requests",
            "7",
            "--deep-page",
            "3",
            "--idle-feeds",
            "50",
            "--polled-feeds",
            "200",
            "--fixed-interval-secs",
            "2",
            "--sustain-secs",
            "6",
            "--changing-share",
            "0.1",
            "--lateness-sample",
            "30",
        ])
        .unwrap();
        assert_eq!(cli.settings.scenario, syndic_loadtest::Scenario::PopularFeed);
        assert_eq!(cli.settings.popular_feed.subscribers, 20);
        assert_eq!(cli.settings.popular_feed.api_sample, 2);
        assert_eq!(cli.settings.timeline_read.deep_page, 3);
        assert_eq!(cli.settings.timeline_read.articles, 1000);
        assert_eq!(cli.settings.million.idle_feeds, 50);
        assert_eq!(cli.settings.sustained.polled_feeds, 200);
        assert_eq!(cli.settings.sustained.fixed_interval_secs, 2);
        assert_eq!(cli.settings.sustained.sustain_secs, 6);
        assert_eq!(cli.settings.sustained.changing_share, 0.1);
        assert_eq!(cli.settings.sustained.lateness_sample, 30);
        for scenario in ["rounds", "timeline-read", "million", "sustained", "search"] {
            assert!(Cli::try_parse_from(["syndic-loadtest", "--scenario", scenario]).is_ok());
        }
    }
}
