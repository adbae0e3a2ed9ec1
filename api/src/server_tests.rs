use std::sync::atomic::{AtomicUsize, Ordering};

use poem::{handler, Body, Route};
use tokio::io::AsyncWriteExt;

use super::*;

/// The tests' in-memory connections have no deadlines to drop.
impl Connection for tokio::io::DuplexStream {
    type ForStream = Self;

    fn for_stream(self) -> (Self, Option<OwnedSemaphorePermit>) {
        (self, None)
    }
}

/// Bytes the endpoint's endless body has handed to hyper.
static PULLED: AtomicUsize = AtomicUsize::new(0);
/// Large enough that hyper's own limit of 16 queued buffers would let far more than the bound through.
const CHUNK: usize = 8 * 1024;

#[handler]
fn endless() -> Body {
    let chunks = futures::stream::repeat_with(|| {
        PULLED.fetch_add(CHUNK, Ordering::SeqCst);
        Ok::<_, io::Error>(Bytes::from(vec![b'x'; CHUNK]))
    });
    Body::from_bytes_stream(chunks)
}

fn peer() -> Peer {
    Peer {
        local: LocalAddr(poem::Addr::Custom("test", "local".into())),
        remote: RemoteAddr(poem::Addr::Custom("test", "remote".into())),
        scheme: Scheme::HTTP,
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_holds_at_most_the_connection_buffer() {
    // An in-memory pipe with a 4 KiB buffer stands for the socket, so that no kernel buffer hides hyper's.
    let (mut client, server) = tokio::io::duplex(4 * 1024);
    let endpoint: SharedEndpoint = Arc::new(Route::new().at("/", endless).map_to_response().boxed());
    let stopping = Stopping {
        closing: CancellationToken::new(),
        out_of_time: CancellationToken::new(),
    };
    let (alive, _all_closed) = mpsc::channel(1);
    tokio::spawn(serve_connection(server, peer(), endpoint, stopping.clone(), alive));
    client.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n").await.unwrap();

    // The client never reads: the body is pulled until hyper's buffer is full, then no more.
    let mut pulled = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        pulled = PULLED.load(Ordering::SeqCst);
    }
    assert!(pulled > 0, "the response started");
    let bound = CONNECTION_BUFFER + 4 * 1024 + 2 * CHUNK;
    assert!(
        pulled <= bound,
        "{pulled} bytes pulled for a client that reads nothing, over {bound}"
    );
    stopping.out_of_time.cancel();
}

#[tokio::test]
async fn an_event_stream_task_holds_little_beside_its_connection() {
    use crate::connection_deadlines::Deadlines;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let _client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (socket, _) = listener.accept().await.unwrap();
    let deadlines = Deadlines {
        header_timeout: Duration::from_secs(1),
        idle_timeout: Duration::from_secs(1),
    };
    let (io, slot) = DeadlineStream::new(socket, deadlines, None).for_stream();
    let connection = std::mem::size_of_val(&io);
    // The socket alone: no deadlines, and no timer (a boxed `Sleep`, 112 bytes more per stream).
    assert_eq!(connection, std::mem::size_of::<tokio::net::TcpStream>());
    let (alive, _all_closed) = mpsc::channel::<()>(1);
    let task = EventStreamTask {
        answering: event_stream_connection::answer(io, Response::default()),
        out_of_time: CancellationToken::new().cancelled_owned(),
        _slot: slot,
        _alive: alive,
    };
    // An idle stream holds this task for its whole life. Written as an `async fn`, the answer alone took 520
    // bytes (the connection twice, and room for each buffer at each await); the task took 600.
    let beside = std::mem::size_of_val(&task) - connection;
    assert!(beside <= 160, "{beside} bytes beside the connection's {connection}");
}
