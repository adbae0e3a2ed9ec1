//! Logging: tracing to stdout, as text or JSON lines, filtered by RUST_LOG.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::new(filter_directives(std::env::var("RUST_LOG").ok().as_deref()));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(wants_colour());
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    // A subscriber may already be installed (tests); that is not an error.
    let _ = result;
}

/// RUST_LOG (`info` when unset), with ractor below `warn` left out unless RUST_LOG names ractor: ractor opens
/// an info span for the whole life of every actor, and with a million feed actors those spans alone held
/// hundreds of megabytes (BENCHMARKS.md, "A million feeds").
fn filter_directives(rust_log: Option<&str>) -> String {
    let directives = rust_log
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .unwrap_or("info");
    if directives.contains("ractor") {
        directives.to_owned()
    } else {
        format!("{directives},ractor=warn")
    }
}

/// Colours only for a person at a terminal: a file or a log pipeline would keep the escape codes as noise.
/// A non-empty NO_COLOR (no-color.org) turns them off at a terminal too.
fn wants_colour() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    std::io::stdout().is_terminal() && !no_color
}

#[cfg(test)]
mod tests {
    use super::filter_directives;

    #[test]
    fn ractor_spans_are_left_out_unless_rust_log_names_ractor() {
        assert_eq!(filter_directives(None), "info,ractor=warn");
        assert_eq!(filter_directives(Some("  ")), "info,ractor=warn");
        assert_eq!(
            filter_directives(Some("debug,sqlx=warn")),
            "debug,sqlx=warn,ractor=warn"
        );
        assert_eq!(filter_directives(Some("info,ractor=trace")), "info,ractor=trace");
    }
}
