//! The idle event streams' client ends, in a child process of their own (this binary, run with the hidden
//! `stream-clients` scenario), so that the harness's resident memory is the engine's alone and the engine can
//! hold more streams than one process's open-file limit allows for both ends.
//!
//! The parent asks over the child's stdin, one line per request: `open K` opens K more streams (each a bare
//! socket that sent `GET /v1/events` and read the response head), answered on stdout by `opened K` or
//! `failed: <why>`. The child ends, closing every stream, when its stdin closes.

use std::net::SocketAddr;
use std::process::Stdio;

use anyhow::{bail, Context};
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Streams opened at once.
const OPEN_CONCURRENCY: usize = 200;
/// The variable that hands the child the idle user's token (not an argument: arguments are visible to all).
const TOKEN_VARIABLE: &str = "SYNDIC_LOADTEST_STREAM_TOKEN";

#[derive(Debug, Clone, clap::Args)]
pub struct StreamClientsSettings {
    /// stream-clients (run by the streams scenario, not by hand): the engine's address.
    #[arg(long, hide = true)]
    pub stream_clients_address: Option<SocketAddr>,
}

/// The parent's handle on the child; dropping it ends the child and so closes its streams.
pub struct StreamClients {
    child: Child,
    requests: ChildStdin,
    answers: Lines<BufReader<ChildStdout>>,
}

impl StreamClients {
    /// Starts the child, which opens streams at `address` with `token` when asked.
    pub fn spawn(address: SocketAddr, token: &str) -> anyhow::Result<StreamClients> {
        let executable = std::env::current_exe().context("the harness's own path")?;
        let mut child = Command::new(executable)
            .args(["--scenario", "stream-clients", "--stream-clients-address"])
            .arg(address.to_string())
            .env(TOKEN_VARIABLE, token)
            // Its stdout carries the answers: no log lines in it.
            .env("RUST_LOG", "off")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting the stream clients' process")?;
        let requests = child.stdin.take().context("the child's stdin")?;
        let answers = BufReader::new(child.stdout.take().context("the child's stdout")?).lines();
        Ok(StreamClients {
            child,
            requests,
            answers,
        })
    }

    /// Has the child open `count` more streams, and waits until each has its response head.
    pub async fn open(&mut self, count: usize) -> anyhow::Result<()> {
        self.requests.write_all(format!("open {count}\n").as_bytes()).await?;
        self.requests.flush().await?;
        match self.answers.next_line().await? {
            Some(answer) if answer == format!("opened {count}") => Ok(()),
            Some(answer) => bail!("the stream clients' process answered: {answer}"),
            None => bail!("the stream clients' process ended: {:?}", self.child.try_wait()),
        }
    }

    /// Closes every stream: the child ends with its stdin.
    pub async fn close(mut self) -> anyhow::Result<()> {
        drop(self.requests);
        self.child.wait().await?;
        Ok(())
    }
}

/// The child: opens streams when asked, holds them, ends when its stdin closes.
pub async fn serve(settings: &StreamClientsSettings) -> anyhow::Result<()> {
    let address = settings
        .stream_clients_address
        .context("--stream-clients-address is required")?;
    let token = std::env::var(TOKEN_VARIABLE).with_context(|| format!("{TOKEN_VARIABLE} is required"))?;
    let mut held = Vec::new();
    let mut requests = BufReader::new(tokio::io::stdin()).lines();
    let mut answers = tokio::io::stdout();
    while let Some(request) = requests.next_line().await? {
        let count: usize = request
            .strip_prefix("open ")
            .and_then(|count| count.trim().parse().ok())
            .with_context(|| format!("not a request: {request}"))?;
        let answer = match open_streams(address, &token, count, &mut held).await {
            Ok(()) => format!("opened {count}\n"),
            Err(error) => format!("failed: {error:#}\n"),
        };
        answers.write_all(answer.as_bytes()).await?;
        answers.flush().await?;
    }
    Ok(())
}

async fn open_streams(address: SocketAddr, token: &str, count: usize, held: &mut Vec<TcpStream>) -> anyhow::Result<()> {
    held.reserve(count);
    let mut opening = futures::stream::iter(0..count)
        .map(|_| open_idle_stream(address, token))
        .buffer_unordered(OPEN_CONCURRENCY);
    while let Some(stream) = opening.next().await {
        held.push(stream?);
    }
    Ok(())
}

/// Opens a stream over a bare socket and reads only the response head: an idle client.
async fn open_idle_stream(address: SocketAddr, token: &str) -> anyhow::Result<TcpStream> {
    let mut socket = TcpStream::connect(address).await?;
    let request = format!(
        "GET /v1/events HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    );
    socket.write_all(request.as_bytes()).await?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await? == 0 {
            bail!("the stream closed before its head");
        }
        head.push(byte[0]);
    }
    if !head.starts_with(b"HTTP/1.1 200") {
        bail!("the stream was refused: {}", String::from_utf8_lossy(&head));
    }
    Ok(socket)
}
