//! One socket: reads lines through the codec, writes bytes.
//!
//! The read buffer is allocated only while bytes are waiting and released
//! when it drains, so an idle connection holds no buffer at all (the
//! 50,000-idle-connections budget is 8 KB each, and a default 8 KB
//! `BufReader` alone would spend it).

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use shareproof_stratum::codec::{self, CodecError};

/// Bytes reserved for one read.
const READ_CHUNK: usize = 2048;

/// Errors of a connection.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
    /// Framing failed (line too long).
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// A Stratum connection.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    buf: BytesMut,
    max_line: usize,
    peer: SocketAddr,
}

impl Connection {
    /// Wraps an accepted socket.
    pub fn new(stream: TcpStream, peer: SocketAddr, max_line: usize) -> Self {
        let _ = stream.set_nodelay(true);
        Connection {
            stream,
            buf: BytesMut::new(),
            max_line,
            peer,
        }
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Returns a buffered complete line without reading, if there is one.
    ///
    /// # Errors
    /// [`CodecError::LineTooLong`].
    pub fn buffered_line(&mut self) -> Result<Option<BytesMut>, ConnectionError> {
        let line = codec::next_line(&mut self.buf, self.max_line)?;
        if self.buf.is_empty() && self.buf.capacity() > 0 && line.is_none() {
            // Nothing pending: give the memory back while the miner is quiet.
            self.buf = BytesMut::new();
        }
        Ok(line)
    }

    /// The next line, reading as needed; `None` when the peer closed.
    /// Cancel-safe: bytes read stay in the buffer for the next call.
    ///
    /// # Errors
    /// [`ConnectionError`] for socket failures and oversize lines.
    pub async fn read_line(&mut self) -> Result<Option<BytesMut>, ConnectionError> {
        loop {
            if let Some(line) = codec::next_line(&mut self.buf, self.max_line)? {
                return Ok(Some(line));
            }
            if !read_some(&self.stream, &mut self.buf).await? {
                return Ok(None);
            }
        }
    }

    /// Writes all of `bytes`.
    ///
    /// # Errors
    /// [`io::Error`] from the socket, or a timeout after [`WRITE_TIMEOUT`].
    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        write_timed(&mut self.stream, bytes).await
    }
}

/// How long a write may wait for a miner that does not read.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads what the socket has into `buf`, growing it by a chunk when it is
/// nearly full; `false` when the peer closed. Cancel-safe: it waits for
/// readiness, then reads without waiting (both protocols' connections).
///
/// # Errors
/// [`io::Error`] from the socket.
pub async fn read_some(stream: &TcpStream, buf: &mut BytesMut) -> io::Result<bool> {
    stream.readable().await?;
    if buf.capacity() - buf.len() < READ_CHUNK / 2 {
        buf.reserve(READ_CHUNK);
    }
    match stream.try_read_buf(buf) {
        Ok(0) => Ok(false),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(true),
        Err(e) => Err(e),
    }
}

/// Writes all of `bytes`, giving up after [`WRITE_TIMEOUT`] (a miner that
/// stops reading must not hold its session's task for ever).
///
/// # Errors
/// [`io::Error`] from the socket, or [`io::ErrorKind::TimedOut`].
pub async fn write_timed(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    match tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(bytes)).await {
        Ok(r) => r,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "miner does not read",
        )),
    }
}
