//! Limits on the API's TCP connections: a cap on open connections, per-connection deadlines, and a pause
//! after a failed accept, so that idle or slow clients cannot use up the engine's sockets or spin its CPU.
//!
//! poem's `Server` loop ignores a failed `accept` and calls it again at once; when the process is out of file
//! descriptors (EMFILE/ENFILE) that is a busy loop. `LimitedAcceptor::accept` therefore never returns an error:
//! it retries by itself, pausing longer after each failure.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use poem::http::uri::Scheme;
use poem::listener::Acceptor;
use poem::web::{LocalAddr, RemoteAddr};
use tokio::sync::Semaphore;

use crate::connection_deadlines::{DeadlineStream, Deadlines};

/// The connection limits, from the binary's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most connections open at once; beyond it new ones wait in the kernel's backlog.
    pub max_connections: usize,
    pub deadlines: Deadlines,
}

/// The first pause after a failed accept; it doubles after each further failure, up to `LONGEST_PAUSE`.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
/// Short enough that the API resumes within a second once descriptors are free again.
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

/// Wraps an acceptor with `ConnectionLimits`.
pub struct LimitedAcceptor<A> {
    inner: A,
    deadlines: Deadlines,
    slots: Arc<Semaphore>,
}

impl<A: Acceptor> LimitedAcceptor<A> {
    pub fn new(inner: A, limits: ConnectionLimits) -> Self {
        LimitedAcceptor {
            inner,
            deadlines: limits.deadlines,
            slots: Arc::new(Semaphore::new(limits.max_connections.clamp(1, Semaphore::MAX_PERMITS))),
        }
    }
}

impl<A: Acceptor> Acceptor for LimitedAcceptor<A> {
    type Io = DeadlineStream<A::Io>;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.inner.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        // At the cap, wait for a slot before accepting: new connections queue in the kernel, open ones are untouched.
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| io::Error::other("the connection slots were closed"))?;
        let mut pause = FIRST_PAUSE;
        loop {
            match self.inner.accept().await {
                Ok((io, local, remote, scheme)) => {
                    return Ok((
                        DeadlineStream::new(io, self.deadlines, Some(slot)),
                        local,
                        remote,
                        scheme,
                    ));
                }
                // The client gave up before we accepted: nothing is wrong on our side.
                Err(error) if is_about_one_connection(&error) => {}
                Err(error) => {
                    tracing::warn!(%error, pause_ms = pause.as_millis() as u64, "accepting an HTTP connection failed; pausing");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
            }
        }
    }
}

fn is_about_one_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use poem::listener::{Listener, TcpListener};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    fn limits(max_connections: usize) -> ConnectionLimits {
        ConnectionLimits {
            max_connections,
            deadlines: Deadlines {
                header_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
            },
        }
    }

    /// An acceptor whose every accept fails as if the process had no file descriptor left.
    struct OutOfDescriptors {
        attempts: Arc<AtomicUsize>,
    }

    impl Acceptor for OutOfDescriptors {
        type Io = tokio::io::DuplexStream;

        fn local_addr(&self) -> Vec<LocalAddr> {
            Vec::new()
        }

        async fn accept(&mut self) -> io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
            self.attempts.fetch_add(1, Ordering::SeqCst);
            // Yield as a real accept would, so that a retry loop without a pause spins rather than hangs.
            tokio::task::yield_now().await;
            Err(io::Error::from_raw_os_error(24)) // EMFILE
        }
    }

    #[tokio::test]
    async fn failed_accepts_pause_instead_of_spinning() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let mut acceptor = LimitedAcceptor::new(
            OutOfDescriptors {
                attempts: attempts.clone(),
            },
            limits(10),
        );
        let outcome = tokio::time::timeout(Duration::from_secs(1), acceptor.accept()).await;
        assert!(
            outcome.is_err(),
            "accept must keep waiting, not return the error to poem's loop"
        );
        // Pauses of 10, 20, 40, ... 640 ms: 7 attempts in the first second; a loop without pauses makes millions.
        let attempts = attempts.load(Ordering::SeqCst);
        assert!((2..=12).contains(&attempts), "{attempts} accept attempts in 1 s");
    }

    #[tokio::test]
    async fn beyond_the_cap_a_connection_waits_until_one_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").into_acceptor().await.unwrap();
        let address = *listener.local_addr()[0].as_socket_addr().unwrap();
        let mut acceptor = LimitedAcceptor::new(listener, limits(1));
        let mut first_client = tokio::net::TcpStream::connect(address).await.unwrap();
        let (first, ..) = acceptor.accept().await.unwrap();
        let mut second_client = tokio::net::TcpStream::connect(address).await.unwrap();

        let waiting = tokio::time::timeout(Duration::from_millis(300), acceptor.accept()).await;
        assert!(
            waiting.is_err(),
            "a second connection was accepted beyond the cap of one"
        );

        drop(first);
        let mut byte = [0u8; 1];
        assert_eq!(
            first_client.read(&mut byte).await.unwrap(),
            0,
            "the first connection is closed"
        );
        let (mut second, ..) = tokio::time::timeout(Duration::from_secs(5), acceptor.accept())
            .await
            .expect("the freed slot lets the second connection in")
            .unwrap();
        second_client.write_all(b"x").await.unwrap();
        second.read_exact(&mut byte).await.unwrap();
        assert_eq!(&byte, b"x");
    }
}
