//! One V2 socket: the Noise handshake, then frames decoded from a read
//! buffer that is allocated only while bytes wait (as V1's connection
//! does), and encrypted bytes written.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use shareproof_stratum::v2::noise::{CLIENT_HELLO_LEN, MAX_CLIENT_FRAME};
use shareproof_stratum::v2::parsers_sv2::AnyMessage;
use shareproof_stratum::v2::{Frame, ServerHandshake, Transport, V2Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::stratum::connection::{read_some, write_timed};

/// Errors of a V2 connection.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The socket failed.
    #[error("socket: {0}")]
    Io(#[from] io::Error),
    /// The handshake did not finish in time.
    #[error("no Noise handshake within {0:?}")]
    HandshakeTimeout(Duration),
    /// The wire failed: a handshake, a frame or a message.
    #[error(transparent)]
    Wire(#[from] V2Error),
}

/// A Stratum V2 connection after its handshake.
pub struct Connection {
    stream: TcpStream,
    buf: BytesMut,
    transport: Transport,
    peer: SocketAddr,
}

impl Connection {
    /// Runs the pool's side of the handshake on an accepted socket.
    ///
    /// # Errors
    /// [`ConnectionError`]: a timeout, a socket error or a bad hello.
    pub async fn handshake(
        mut stream: TcpStream,
        peer: SocketAddr,
        handshake: ServerHandshake,
        timeout: Duration,
    ) -> Result<Self, ConnectionError> {
        let _ = stream.set_nodelay(true);
        let mut hello = [0u8; CLIENT_HELLO_LEN];
        tokio::time::timeout(timeout, stream.read_exact(&mut hello))
            .await
            .map_err(|_| ConnectionError::HandshakeTimeout(timeout))??;
        let (answer, transport) = handshake.respond(hello, MAX_CLIENT_FRAME)?;
        stream.write_all(&answer).await?;
        Ok(Connection {
            stream,
            buf: BytesMut::new(),
            transport,
            peer,
        })
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// A complete frame already read, without reading.
    ///
    /// # Errors
    /// [`ConnectionError::Wire`] for a frame that cannot be decoded.
    pub fn buffered_frame(&mut self) -> Result<Option<Frame>, ConnectionError> {
        let frame = self.transport.decode(&mut self.buf)?;
        if frame.is_none() && self.buf.is_empty() && self.buf.capacity() > 0 {
            self.buf = BytesMut::new();
        }
        Ok(frame)
    }

    /// The next frame, reading as needed; `None` when the peer closed.
    /// Cancel-safe: bytes read stay buffered for the next call.
    ///
    /// # Errors
    /// [`ConnectionError`] for socket failures and bad frames.
    pub async fn read_frame(&mut self) -> Result<Option<Frame>, ConnectionError> {
        loop {
            if let Some(frame) = self.transport.decode(&mut self.buf)? {
                return Ok(Some(frame));
            }
            if !read_some(&self.stream, &mut self.buf).await? {
                return Ok(None);
            }
        }
    }

    /// Encrypts `message` into `out`.
    ///
    /// # Errors
    /// [`V2Error`] when the message does not serialise.
    pub fn encode(&mut self, message: AnyMessage<'_>, out: &mut Vec<u8>) -> Result<(), V2Error> {
        self.transport.encode(message, out)
    }

    /// Writes all of `bytes`.
    ///
    /// # Errors
    /// [`io::Error`] from the socket, or a timeout.
    pub async fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        write_timed(&mut self.stream, bytes).await
    }
}
