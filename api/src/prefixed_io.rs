//! A connection's IO stream with bytes already read from it put back in front, so that hyper reads the request
//! the connection loop looked at before handing the connection over.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct PrefixedIo<Io> {
    /// What was read already and is read again first; empty (and freed) once it has been.
    prefix: Bytes,
    io: Io,
}

impl<Io> PrefixedIo<Io> {
    pub fn new(prefix: Bytes, io: Io) -> Self {
        PrefixedIo { prefix, io }
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for PrefixedIo<Io> {
    fn poll_read(self: Pin<&mut Self>, context: &mut Context<'_>, buffer: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.prefix.is_empty() {
            return Pin::new(&mut this.io).poll_read(context, buffer);
        }
        let taken = this.prefix.len().min(buffer.remaining());
        buffer.put_slice(&this.prefix[..taken]);
        this.prefix.advance(taken);
        if this.prefix.is_empty() {
            this.prefix = Bytes::new();
        }
        Poll::Ready(Ok(()))
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for PrefixedIo<Io> {
    fn poll_write(self: Pin<&mut Self>, context: &mut Context<'_>, bytes: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(context, bytes)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(context, buffers)
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
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn the_prefix_is_read_before_the_stream_and_writes_go_through() {
        let (mut client, server) = tokio::io::duplex(64);
        let mut prefixed = PrefixedIo::new(Bytes::from_static(b"GET / HT"), server);
        client.write_all(b"TP/1.1\r\n").await.unwrap();
        let mut small = [0u8; 5];
        prefixed.read_exact(&mut small).await.unwrap();
        assert_eq!(&small, b"GET /");
        let mut rest = [0u8; 11];
        prefixed.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b" HTTP/1.1\r\n");
        prefixed.write_all(b"ok").await.unwrap();
        let mut answer = [0u8; 2];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"ok");
    }
}
