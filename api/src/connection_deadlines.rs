//! The deadlines of one API connection: a request head must arrive in time, and a silent connection is closed.
//!
//! hyper's own `header_read_timeout` is not reachable through poem's `Server`, so the deadlines live in a
//! wrapper around the connection's IO stream. What it enforces, exactly:
//! - **Request head.** The first request's head (up to the empty line that ends it) must be read within
//!   `header_timeout` of the accept. A later request on a kept-alive connection gets `header_timeout` from
//!   its first byte. A head "begins" with the first byte read after the server has written a (non-1xx)
//!   response, so a client trickling a head byte by byte is cut, whichever request it is on.
//! - **Idle.** A connection that has neither read nor written a byte for `idle_timeout` is closed.
//! - An HTTP/2 connection (prior-knowledge preface) only gets the idle timeout: its frames have no heads to find.
//!
//! A timed-out connection's read fails with `TimedOut`, so hyper drops it and its slot is freed. Known gap:
//! with HTTP/1 pipelining, a pipelined request whose body arrives after the previous response was written is
//! taken for a head, and cut if that body has no empty line within `header_timeout`.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

/// How long a connection may take to send a request head, and to stay silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Where the connection is in its request/response cycle, as far as the deadlines care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading a request head that must end by `deadline`.
    ReadingHead { deadline: Instant, end: HeadEnd },
    /// The head is in; body bytes pass unscanned until the server writes its response.
    Answering,
    /// Between requests on a kept-alive connection: only the idle timeout applies.
    BetweenRequests,
    /// HTTP/2: only the idle timeout applies.
    Untracked,
}

/// Finds the empty line that ends a request head, across reads. Accepts CRLF and bare LF line ends, as hyper
/// does, and ignores empty lines before the request line, so they cannot end a head early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct HeadEnd {
    seen_content: bool,
    at_line_start: bool,
}

impl HeadEnd {
    /// Feeds bytes; returns where the head ends in them (one past its last byte), if it does.
    fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        for (index, &byte) in bytes.iter().enumerate() {
            match byte {
                b'\n' if self.at_line_start && self.seen_content => return Some(index + 1),
                b'\n' => self.at_line_start = true,
                b'\r' => {}
                _ => {
                    self.seen_content = true;
                    self.at_line_start = false;
                }
            }
        }
        None
    }
}

/// The start of an HTTP/2 prior-knowledge connection.
const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0";

/// An accepted connection's IO stream, with its deadlines and the slot it holds under the connection cap
/// (freed when the stream is dropped).
pub struct DeadlineStream<Io> {
    io: Io,
    deadlines: Deadlines,
    phase: Phase,
    /// Whether no byte has been read yet (to spot the HTTP/2 preface).
    first_read: bool,
    last_activity: Instant,
    timer: Pin<Box<Sleep>>,
    _slot: Option<OwnedSemaphorePermit>,
}

impl<Io> DeadlineStream<Io> {
    /// Wraps a stream accepted just now; `slot` is released when the stream is dropped.
    pub fn new(io: Io, deadlines: Deadlines, slot: Option<OwnedSemaphorePermit>) -> Self {
        let now = Instant::now();
        let phase = Phase::ReadingHead {
            deadline: now + deadlines.header_timeout,
            end: HeadEnd::default(),
        };
        DeadlineStream {
            io,
            deadlines,
            phase,
            first_read: true,
            last_activity: now,
            timer: Box::pin(tokio::time::sleep_until(now + deadlines.header_timeout)),
            _slot: slot,
        }
    }

    /// The connection without its deadlines, and the slot it holds under the connection cap (to keep as long
    /// as the connection): for an event stream, which heartbeats keep from falling silent and whose own reads
    /// notice a hang-up. An idle stream then holds no timer.
    pub fn into_parts(self) -> (Io, Option<OwnedSemaphorePermit>) {
        (self.io, self._slot)
    }

    /// The earliest deadline in force, and why.
    fn next_deadline(&self) -> (Instant, &'static str) {
        let idle = (self.last_activity + self.deadlines.idle_timeout, "idle");
        match self.phase {
            Phase::ReadingHead { deadline, .. } if deadline < idle.0 => (deadline, "request head too slow"),
            _ => idle,
        }
    }

    /// Ready with an error once the earliest deadline has passed; otherwise arms the timer for it.
    fn poll_expired(&mut self, context: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            let (deadline, reason) = self.next_deadline();
            if Instant::now() >= deadline {
                tracing::debug!(reason, "closing an HTTP connection");
                return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, reason));
            }
            if self.timer.deadline() != deadline {
                self.timer.as_mut().reset(deadline);
            }
            ready!(self.timer.as_mut().poll(context));
        }
    }

    /// Tracks heads in bytes just read.
    fn observe_read(&mut self, bytes: &[u8]) {
        self.last_activity = Instant::now();
        if std::mem::take(&mut self.first_read) && bytes.starts_with(HTTP2_PREFACE) {
            self.phase = Phase::Untracked;
            return;
        }
        match &mut self.phase {
            Phase::ReadingHead { end, .. } => {
                if end.feed(bytes).is_some() {
                    self.phase = Phase::Answering;
                }
            }
            Phase::BetweenRequests => {
                let mut end = HeadEnd::default();
                self.phase = match end.feed(bytes) {
                    Some(_) => Phase::Answering,
                    None => Phase::ReadingHead {
                        deadline: self.last_activity + self.deadlines.header_timeout,
                        end,
                    },
                };
            }
            Phase::Answering | Phase::Untracked => {}
        }
    }

    /// A written response ends the request, unless it is an interim (1xx) one such as `100 Continue`.
    fn observe_write(&mut self, bytes: &[u8]) {
        self.last_activity = Instant::now();
        let interim = bytes.starts_with(b"HTTP/1.1 1") || bytes.starts_with(b"HTTP/1.0 1");
        if !interim && self.phase != Phase::Untracked {
            self.phase = Phase::BetweenRequests;
        }
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for DeadlineStream<Io> {
    fn poll_read(self: Pin<&mut Self>, context: &mut Context<'_>, buffer: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buffer.filled().len();
        match Pin::new(&mut this.io).poll_read(context, buffer) {
            Poll::Ready(Ok(())) => {
                let read = &buffer.filled()[before..];
                if !read.is_empty() {
                    this.observe_read(read);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(error)) => Poll::Ready(Err(error)),
            Poll::Pending => this.poll_expired(context).map(Err),
        }
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for DeadlineStream<Io> {
    fn poll_write(self: Pin<&mut Self>, context: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.io).poll_write(context, bytes))?;
        if written > 0 {
            this.observe_write(&bytes[..written]);
        }
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.io).poll_write_vectored(context, buffers))?;
        if written > 0 {
            let first = buffers
                .iter()
                .find(|buffer| !buffer.is_empty())
                .map_or(&[][..], |buffer| &buffer[..]);
            this.observe_write(first);
        }
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(context)
    }
}

#[cfg(test)]
#[path = "connection_deadlines_tests.rs"]
mod tests;
