//! Event streams served on their connection past hyper. An open `GET /v1/events` is idle nearly all its life,
//! and hyper keeps about 25 KB of buffers and state for each connection it serves (two 8 KiB read reservations,
//! an 8 KiB write buffer, its dispatcher); that is what an idle stream cost. So the connection loop reads the
//! head of each connection's first request itself, and one that opens an event stream is answered here: the head
//! is parsed with httparse (hyper's own parser), answered by the same poem endpoint as every request, and the
//! response is written with chunked encoding and `connection: close`, one message at a time, with nothing kept
//! between messages but the stream's own state.
//!
//! Anything else (another path or method, HTTP/1.0, a request with a body, a head httparse refuses, bytes past
//! the head) goes to hyper with the bytes read so far put back in front, and is served as before. A client that
//! reuses a kept-alive connection for its stream is served by hyper, as before.

use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::{Bytes, BytesMut};
use http_body_util::combinators::BoxBody;
use hyper::body::Body as _;
use poem::http::header::{CONNECTION, CONTENT_LENGTH, DATE, EXPECT, TRANSFER_ENCODING, UPGRADE};
use poem::http::request::Parts;
use poem::http::{HeaderName, HeaderValue, Method, Version};
use poem::Response;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

/// The start of a request line this module answers.
const EVENT_STREAM_REQUEST: &[u8] = b"GET /v1/events";
/// The most header lines a head taken here may have; a head with more goes to hyper.
const MAX_HEADERS: usize = 64;
/// How much more room each read of the head asks for.
const READ_STEP: usize = 1024;
/// Where a response body is over, in chunked encoding.
const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// What a connection's first bytes turned out to be.
#[derive(Debug)]
pub enum Opening {
    /// The head of a request for an event stream, and nothing after it.
    EventStream(Box<Parts>),
    /// Anything else: the bytes read so far, which hyper must read first.
    Other(Bytes),
    /// The connection closed or failed before its first byte.
    Closed,
}

/// Reads the connection's first request head if it is an event stream's; stops reading as soon as the bytes show
/// it is not, or once `limit` bytes were read without a complete head.
pub async fn read_opening<Io: AsyncRead + Unpin>(io: &mut Io, limit: usize) -> Opening {
    let mut read = BytesMut::new();
    loop {
        read.reserve(READ_STEP);
        match io.read_buf(&mut read).await {
            Ok(0) if read.is_empty() => return Opening::Closed,
            Ok(0) => return Opening::Other(read.freeze()),
            Ok(_) => {}
            // The deadline for the head passed, or the connection broke: there is nobody to answer.
            Err(_) => return Opening::Closed,
        }
        match classify(&read, limit) {
            Some(Classified::EventStream(head)) => return Opening::EventStream(head),
            Some(Classified::Other) => return Opening::Other(read.freeze()),
            None => {}
        }
    }
}

#[derive(Debug)]
enum Classified {
    EventStream(Box<Parts>),
    Other,
}

/// What `bytes`, the start of a connection, are; `None` while more are needed to tell.
fn classify(bytes: &[u8], limit: usize) -> Option<Classified> {
    let known = bytes.len().min(EVENT_STREAM_REQUEST.len());
    if bytes[..known] != EVENT_STREAM_REQUEST[..known] {
        return Some(Classified::Other);
    }
    match bytes.get(EVENT_STREAM_REQUEST.len()) {
        None => return None,
        Some(b'?' | b' ') => {}
        // Another path that starts the same, such as `/v1/eventsx`.
        Some(_) => return Some(Classified::Other),
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    match request.parse(bytes) {
        // Bytes past the head are a body or a pipelined request: hyper's to read.
        Ok(httparse::Status::Complete(length)) if length == bytes.len() => Some(
            head_parts(&request)
                .map(Classified::EventStream)
                .unwrap_or(Classified::Other),
        ),
        Ok(httparse::Status::Partial) if bytes.len() < limit => None,
        _ => Some(Classified::Other),
    }
}

/// The head as `http` types, if it is a plain HTTP/1.1 GET without a body that this module may answer.
fn head_parts(request: &httparse::Request<'_, '_>) -> Option<Box<Parts>> {
    if request.method != Some("GET") || request.version != Some(1) {
        return None;
    }
    let mut builder = poem::http::Request::builder()
        .method(Method::GET)
        .uri(request.path?)
        .version(Version::HTTP_11);
    for header in request.headers.iter() {
        let name = HeaderName::from_bytes(header.name.as_bytes()).ok()?;
        let has_body = name == TRANSFER_ENCODING || (name == CONTENT_LENGTH && header.value != b"0");
        if has_body || name == EXPECT || name == UPGRADE {
            return None;
        }
        builder = builder.header(name, HeaderValue::from_bytes(header.value).ok()?);
    }
    Some(Box::new(builder.body(()).ok()?.into_parts().0))
}

/// Writes `response` on the connection, its body in chunks as they come, and closes it. Ends early, without the
/// last chunk, when the client hangs up, the connection's deadline passes, or the body fails.
///
/// The head is built before the future is made, so that the future, which an idle stream holds for its
/// whole life, keeps neither the response's headers nor room for them.
pub fn answer<Io: AsyncRead + AsyncWrite + Unpin>(io: Io, response: Response) -> Answer<Io> {
    let (parts, body) = hyper::Response::<BoxBody<Bytes, io::Error>>::from(response).into_parts();
    Answer {
        io,
        body,
        pending: response_head(&parts),
        written: 0,
        end: None,
        probe: [0],
    }
}

/// The future of [`answer`]. Written by hand rather than as an `async fn`: an idle stream holds it for its whole
/// life, and the `async fn` kept room for the connection twice and for each buffer at each of its awaits (520
/// bytes against about 200 here).
pub struct Answer<Io> {
    io: Io,
    body: BoxBody<Bytes, io::Error>,
    /// What is being written: the head, then each chunk; freed once written, so an idle stream holds no buffer.
    pending: Vec<u8>,
    /// How much of `pending` is written.
    written: usize,
    /// How the body ended, once it has: `pending` is then the last write.
    end: Option<BodyEnd>,
    /// Reads while streaming only notice a hang-up or a passed deadline.
    probe: [u8; 1],
}

impl<Io: AsyncRead + AsyncWrite + Unpin> Future for Answer<Io> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        loop {
            // A client that stops reading and hangs up must not keep a write waiting.
            if poll_hang_up(&mut this.io, context, &mut this.probe).is_ready() {
                return Poll::Ready(());
            }
            while this.written < this.pending.len() {
                match Pin::new(&mut this.io).poll_write(context, &this.pending[this.written..]) {
                    Poll::Ready(Ok(0) | Err(_)) => return Poll::Ready(()),
                    Poll::Ready(Ok(written)) => this.written += written,
                    Poll::Pending => return Poll::Pending,
                }
            }
            match this.end {
                Some(BodyEnd::Complete) => return Pin::new(&mut this.io).poll_shutdown(context).map(|_| ()),
                // Closed without the last chunk: the client sees the stream cut.
                Some(BodyEnd::Failed) => return Poll::Ready(()),
                None => {}
            }
            this.pending = Vec::new();
            this.written = 0;
            let mut batch = Vec::new();
            let end = poll_batch(&mut this.body, context, &mut batch);
            if end.is_none() && batch.is_empty() {
                return Poll::Pending;
            }
            let mut bytes = if batch.is_empty() { Vec::new() } else { chunk(&batch) };
            if end == Some(BodyEnd::Complete) {
                bytes.extend_from_slice(LAST_CHUNK);
            }
            this.pending = bytes;
            this.end = end;
        }
    }
}

/// How a body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyEnd {
    Complete,
    Failed,
}

/// Most bytes of messages sent in one chunk (one write): a burst of events goes out in few writes.
const BATCH_BYTES: usize = 64 * 1024;

/// Appends to `batch` every message the body has ready, up to [`BATCH_BYTES`]; says whether the body ended.
fn poll_batch(body: &mut BoxBody<Bytes, io::Error>, context: &mut Context<'_>, batch: &mut Vec<u8>) -> Option<BodyEnd> {
    while batch.len() < BATCH_BYTES {
        match Pin::new(&mut *body).poll_frame(context) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    batch.extend_from_slice(&data);
                }
            }
            Poll::Ready(Some(Err(error))) => {
                tracing::debug!(%error, "an event stream's body failed");
                return Some(BodyEnd::Failed);
            }
            Poll::Ready(None) => return Some(BodyEnd::Complete),
            Poll::Pending => return None,
        }
    }
    None
}

/// The status line and headers: the response's own, but for the framing, which is this module's.
fn response_head(head: &poem::http::response::Parts) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(256);
    let status = head.status;
    let _ = write!(
        bytes,
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (name, value) in &head.headers {
        if [CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING].contains(name) {
            continue;
        }
        bytes.extend_from_slice(name.as_str().as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    let _ = write!(
        bytes,
        "date: {}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n",
        httpdate::fmt_http_date(SystemTime::now())
    );
    bytes
}

/// One chunk of a chunked body.
fn chunk(data: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(data.len() + 12);
    let _ = write!(bytes, "{:x}\r\n", data.len());
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(b"\r\n");
    bytes
}

/// Ready once the read side yields anything: the end (a hang-up), an error (or the connection's deadline), or
/// bytes. A connection carries one event stream and nothing after it, so a client that sends more is cut off
/// rather than read, which would let it spend the engine's CPU.
fn poll_hang_up<Io: AsyncRead + Unpin>(io: &mut Io, context: &mut Context<'_>, probe: &mut [u8]) -> Poll<()> {
    let mut buffer = ReadBuf::new(probe);
    Pin::new(&mut *io).poll_read(context, &mut buffer).map(|_| ())
}

#[cfg(test)]
#[path = "event_stream_connection_tests.rs"]
mod tests;
