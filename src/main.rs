//! syndic: load the config, start the app, and run until Ctrl-C or SIGTERM.

use anyhow::Context;
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
    raise_open_file_limit();
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

/// Raises the soft open-file limit to the hard one: each API connection holds a descriptor, and the default
/// soft limit (often 1,024) is the first thing a crowd of idle clients would exhaust.
fn raise_open_file_limit() {
    let before = rlimit::getrlimit(rlimit::Resource::NOFILE).map(|(soft, _)| soft);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(before = before.ok(), open_files = limit, "open-file limit"),
        Err(error) => tracing::warn!(%error, "could not raise the open-file limit"),
    }
}

async fn serve(config: syndic::Config) -> anyhow::Result<()> {
    let store = Application::connect_store(&config).await?;
    let listener = bind(config.bind)?;
    let app = Application::start(&config, store, listener, shutdown_signal()).await?;
    app.wait().await?;
    // Everything is written by now. Dropping a million idle actors, their timers and their memory one by one
    // would only delay the exit by seconds (BENCHMARKS.md, "A million feeds"), so the process ends here.
    tracing::info!("exiting");
    std::process::exit(0)
}

/// Connections the kernel may queue for us while the API is at its connection cap (the kernel caps it at
/// `net.core.somaxconn`); tokio's default of 1,024 drops handshakes of a burst sooner.
const LISTEN_BACKLOG: u32 = 4096;

fn bind(address: std::net::SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    let socket = match address {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As std's bind does, so that a restart does not wait for old connections in TIME_WAIT.
    socket.set_reuseaddr(true)?;
    socket
        .bind(address)
        .with_context(|| format!("Failed to bind the API listener on {address}"))?;
    Ok(socket.listen(LISTEN_BACKLOG)?)
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
    // SAFETY: mallopt only sets a malloc parameter, under malloc's own lock; the runtime's threads may already
    // exist, and their arenas simply follow the new threshold from their next large block on.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}
