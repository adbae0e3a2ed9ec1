//! Accepted TCP connections with Nagle's algorithm off (`TCP_NODELAY`), so that each write leaves at once.
//!
//! An event stream writes each event as its own small frame. With Nagle on, a frame written while the one
//! before is still unacknowledged waits for the client's ACK, and a client that only reads delays its ACKs (by
//! up to 40 ms on Linux). In the load harness's streams scenario on SQLite, the engine had handed the slowest
//! 1% of events to their connection 43-45 ms before they arrived (BENCHMARKS.md, "Store to wire").

use std::io;

use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::net::TcpStream;

/// Wraps a TCP acceptor: every connection it accepts has `TCP_NODELAY` set.
pub struct NoDelayAcceptor<A> {
    inner: A,
}

impl<A> NoDelayAcceptor<A> {
    pub fn new(inner: A) -> Self {
        NoDelayAcceptor { inner }
    }
}

impl<A: Acceptor<Io = TcpStream>> Acceptor for NoDelayAcceptor<A> {
    type Io = TcpStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(TcpStream, LocalAddr, RemoteAddr, Scheme)> {
        let (io, local, remote, scheme) = self.inner.accept().await?;
        // It fails only on a socket that is already broken: that connection is served as it is, and ends anyway.
        if let Err(error) = io.set_nodelay(true) {
            tracing::debug!(%error, "could not turn Nagle's algorithm off on an accepted connection");
        }
        Ok((io, local, remote, scheme))
    }
}

#[cfg(test)]
mod tests {
    use poem::listener::{Listener, TcpListener};

    use super::*;

    #[tokio::test]
    async fn accepted_connections_have_nagle_off() {
        let listener = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let address = *listener.local_addr()[0].as_socket_addr().unwrap();
        let mut acceptor = NoDelayAcceptor::new(listener);
        let _client = TcpStream::connect(address).await.unwrap();
        let (accepted, ..) = acceptor.accept().await.unwrap();
        assert!(
            accepted.nodelay().unwrap(),
            "TCP_NODELAY is not set on the accepted connection"
        );
    }
}
