//! The API's connection loop: poem's endpoint served on hyper as poem's `Server` serves it, but with each
//! connection's buffers bounded.
//!
//! Under poem's `Server`, hyper keeps its default of about 416 KiB of write buffer per connection (hyper-util's
//! HTTP/1-or-2 detection hides that the socket takes vectored writes, so hyper flattens every response into one
//! buffer), and polls a response body until that buffer is full. A client that opened an event stream, or asked
//! for a large page, and then stopped reading held that much of the engine's memory until the idle timeout. Here
//! hyper buffers at most [`CONNECTION_BUFFER`] per connection (HTTP/2: per connection's send buffer) and stops
//! polling a body beyond it, so a reader that stalls holds its socket's kernel buffers and about one message.
//!
//! A connection whose first request opens an event stream is not hyper's: it is answered past hyper, holding
//! nothing but the stream's own state while idle (`event_stream_connection`).
//!
//! Shutdown is poem's: stop accepting, let each connection finish what it is answering, and after `grace` drop
//! the ones still open.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Endpoint, EndpointExt, IntoEndpoint, RequestParts, Response};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::connection_deadlines::DeadlineStream;
use crate::event_stream_connection::{self, Opening};
use crate::prefixed_io::PrefixedIo;

/// Most bytes hyper holds for one connection, written or read: responses wait in it until the socket takes
/// them, and a request head must fit in it (a longer head is refused). hyper's own floor is 8 KiB.
pub const CONNECTION_BUFFER: usize = 16 * 1024;

type SharedEndpoint = Arc<BoxEndpoint<'static, Response>>;

/// An accepted connection, and what of it an event stream keeps for the stream's life.
pub trait Connection: AsyncRead + AsyncWrite + Send + Unpin + 'static {
    type ForStream: AsyncRead + AsyncWrite + Send + Unpin + 'static;

    /// The connection as the stream uses it, and the slot it holds under the connection cap, if any.
    fn for_stream(self) -> (Self::ForStream, Option<OwnedSemaphorePermit>);
}

/// A stream keeps its connection without the deadlines: its heartbeats keep it from falling silent, and its own
/// reads notice a hang-up (or bytes a client should not send). An idle stream then holds no timer.
impl<Io: AsyncRead + AsyncWrite + Send + Unpin + 'static> Connection for DeadlineStream<Io> {
    type ForStream = Io;

    fn for_stream(self) -> (Io, Option<OwnedSemaphorePermit>) {
        self.into_parts()
    }
}

/// Where one connection comes from, as poem's requests carry it.
#[derive(Clone)]
struct Peer {
    local: LocalAddr,
    remote: RemoteAddr,
    scheme: Scheme,
}

/// What every connection task watches, to end when the server stops.
#[derive(Clone)]
struct Stopping {
    /// Set when the server stops accepting: answer what is in flight, then close.
    closing: CancellationToken,
    /// Set when the grace period is over: close now.
    out_of_time: CancellationToken,
}

/// Serves `endpoint` on the connections `acceptor` yields until `shutdown` completes; then waits up to `grace`
/// for the open connections to finish, and drops the rest.
pub async fn serve<A, E>(
    mut acceptor: A,
    endpoint: E,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()>
where
    A: Acceptor + 'static,
    A::Io: Connection,
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let endpoint: SharedEndpoint = Arc::new(endpoint.into_endpoint().map_to_response().boxed());
    let stopping = Stopping {
        closing: CancellationToken::new(),
        out_of_time: CancellationToken::new(),
    };
    // Each connection task holds a sender; the receiver ends once every task has ended.
    let (alive, mut all_closed) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = acceptor.accept() => match accepted {
                Ok((io, local, remote, scheme)) => {
                    let peer = Peer { local, remote, scheme };
                    tokio::spawn(serve_connection(io, peer, endpoint.clone(), stopping.clone(), alive.clone()));
                }
                Err(error) => tracing::debug!(%error, "accepting a connection failed"),
            },
        }
    }
    drop(acceptor);
    drop(alive);
    stopping.closing.cancel();
    if tokio::time::timeout(grace, all_closed.recv()).await.is_err() {
        tracing::info!(
            grace_seconds = grace.as_secs_f32(),
            "closing the connections still open"
        );
        stopping.out_of_time.cancel();
        all_closed.recv().await;
    }
    Ok(())
}

/// Serves one connection; `alive` is dropped when it ends. A connection whose first request opens an event
/// stream is answered past hyper (see [`event_stream_connection`]), in a task of its own; any other goes to hyper.
async fn serve_connection<Io: Connection>(
    mut io: Io,
    peer: Peer,
    endpoint: SharedEndpoint,
    stopping: Stopping,
    alive: mpsc::Sender<()>,
) {
    let opening = tokio::select! {
        opening = event_stream_connection::read_opening(&mut io, CONNECTION_BUFFER) => opening,
        () = stopping.closing.cancelled() => return,
    };
    match opening {
        Opening::EventStream(head) => {
            let parts = RequestParts::from((*head, peer.local, peer.remote, peer.scheme));
            let request = poem::Request::from_parts(parts, poem::Body::empty());
            let response = Box::pin(endpoint.get_response(request)).await;
            let (io, slot) = io.for_stream();
            spawn_event_stream(io, slot, response, stopping.out_of_time, alive);
        }
        Opening::Other(read) => Box::pin(serve_http(PrefixedIo::new(read, io), peer, endpoint, stopping)).await,
        Opening::Closed => {}
    }
}

/// Answers an event stream in a task of its own, which holds the connection and its slot, the stream and the end
/// of the grace period: nothing of the opening (the peer, the endpoint, room for the head or for hyper's
/// connection) stays in memory for the stream's life.
fn spawn_event_stream<Io>(
    io: Io,
    slot: Option<OwnedSemaphorePermit>,
    response: Response,
    out_of_time: CancellationToken,
    alive: mpsc::Sender<()>,
) where
    Io: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    tokio::spawn(EventStreamTask {
        answering: event_stream_connection::answer(io, response),
        out_of_time: out_of_time.cancelled_owned(),
        _slot: slot,
        _alive: alive,
    });
}

pin_project_lite::pin_project! {
    /// An event stream's answer, cut when the grace period is over (like hyper's connections, a response under way
    /// is finished when the server starts closing). A struct rather than an `async` block around `select!`: the
    /// block would keep the answer's future twice, once captured and once being polled.
    struct EventStreamTask<F> {
        #[pin]
        answering: F,
        #[pin]
        out_of_time: WaitForCancellationFutureOwned,
        _slot: Option<OwnedSemaphorePermit>,
        _alive: mpsc::Sender<()>,
    }
}

impl<F: Future<Output = ()>> Future for EventStreamTask<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        if this.out_of_time.poll(context).is_ready() {
            return Poll::Ready(());
        }
        this.answering.poll(context)
    }
}

/// Serves one connection, HTTP/1 or HTTP/2, with bounded buffers.
async fn serve_http<Io>(io: Io, peer: Peer, endpoint: SharedEndpoint, stopping: Stopping)
where
    Io: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let endpoint = endpoint.clone();
        let request = poem::Request::from((request, peer.local.clone(), peer.remote.clone(), peer.scheme.clone()));
        async move {
            let response = endpoint.get_response(request).await;
            Ok::<_, Infallible>(hyper::Response::<BoxBody<Bytes, io::Error>>::from(response))
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().max_buf_size(CONNECTION_BUFFER);
    builder.http2().max_send_buf_size(CONNECTION_BUFFER);
    let connection = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => return,
        () = stopping.closing.cancelled() => {}
    }
    connection.as_mut().graceful_shutdown();
    tokio::select! {
        _ = connection => {}
        () = stopping.out_of_time.cancelled() => {}
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
