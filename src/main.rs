//! syndic: load the config, start the app, and run until Ctrl-C or SIGTERM.

use clap::Parser;
use syndic::{Application, Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    return_large_blocks_to_the_os();
    let cli = Cli::parse();
    if let Some(Command::Admin { action }) = cli.command {
        // Quiet: an operator command prints only its answer (an invite code is captured by scripts).
        println!("{}", syndic::admin_cli::run(&cli.config, action).await?);
        return Ok(());
    }
    syndic::telemetry::init(cli.config.log_format);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Copy { from, to } => {
            for (table, rows) in syndic::copy::copy(&from, &to).await? {
                println!("{table}: {rows} rows");
            }
            Ok(())
        }
        Command::Loadtest { settings } => syndic::loadtest::main(&cli.config, &settings).await,
        Command::Admin { .. } => unreachable!("handled above"),
    }
}

async fn serve(config: syndic::Config) -> anyhow::Result<()> {
    let store = Application::connect_store(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.bind).await?;
    let app = Application::start(&config, store, listener, shutdown_signal()).await?;
    app.wait().await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

/// glibc's malloc raises its mmap threshold each time a large block is freed, so that later large blocks (a
/// 19 MiB argon2 hash, a multi-megabyte feed body) are carved from per-thread arenas, which keep the memory once
/// small allocations sit above it: a burst of 64 logins left the process at 380 MB. A fixed 1 MiB threshold
/// makes every large block an mapping of its own, unmapped when freed: the same burst peaks at 85 MB and falls
/// back to 47 MB. jemalloc and mimalloc were measured too and kept more (BENCHMARKS.md, "Memory after a burst of
/// logins").
fn return_large_blocks_to_the_os() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets a malloc parameter; it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
