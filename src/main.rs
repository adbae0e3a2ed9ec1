//! syndic: load the config, start the app, and run until Ctrl-C or SIGTERM.

use anyhow::Context;
use clap::Parser;
use syndic::{Application, Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    syndic::process_setup::return_large_blocks_to_the_os();
    let cli = Cli::parse();
    if let Some(Command::Admin { action }) = cli.command {
        // Quiet: an operator command prints only its answer (an invite code is captured by scripts).
        println!("{}", syndic::admin_cli::run(&cli.config, action).await?);
        return Ok(());
    }
    syndic::telemetry::init(cli.config.log_format);
    syndic::process_setup::raise_open_file_limit();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Copy { from, to } => {
            for (table, rows) in syndic::copy::copy(&from, &to).await? {
                println!("{table}: {rows} rows");
            }
            Ok(())
        }
        Command::Admin { .. } => unreachable!("handled above"),
    }
}

async fn serve(config: syndic::Config) -> anyhow::Result<()> {
    let store = Application::connect_store(&config).await?;
    let listener = bind(config.bind)?;
    let _trim = syndic::process_setup::trim_freed_memory_every(std::time::Duration::from_secs(config.memory_trim_secs));
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
