//! A Stratum V1 client, as the built-in miner and the load generator speak
//! it: connect, `mining.configure` (optional version rolling),
//! `mining.subscribe`, `mining.authorize`, optional
//! `mining.suggest_difficulty`, then jobs, difficulties and submits. Every
//! line is written and read through `shareproof-stratum`.

use std::collections::VecDeque;

use share_verifier::{Difficulty, ShareTarget};
use shareproof_stratum::response::{StratumError, Subscribed};
use shareproof_stratum::{Call, Notification, ProtocolError, ServerMessage};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// Errors of the client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL is not `stratum+tcp://host:port`.
    #[error("pool URL {0:?} must look like stratum+tcp://host:port")]
    Url(String),
    /// The socket failed.
    #[error("pool connection: {0}")]
    Io(#[from] std::io::Error),
    /// The pool closed the connection.
    #[error("the pool closed the connection")]
    Closed,
    /// The pool sent a line this client cannot read.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The Stratum V2 wire failed: the handshake (a pool whose certificate
    /// is not signed by the pinned authority key), a frame or a message.
    #[error("Stratum V2: {0}")]
    V2(#[from] shareproof_stratum::v2::V2Error),
    /// The V2 pool refused a request with one of the spec's codes.
    #[error("pool refused {what}: {code}")]
    RefusedV2 {
        /// The request.
        what: &'static str,
        /// The pool's error code.
        code: String,
    },
    /// A `stratum2+tcp://` URL without the pool's authority key.
    #[error("{0} is a Stratum V2 pool: pass its authority key (--authority-key), printed by the node at start")]
    NoAuthorityKey(String),
    /// The authority key does not parse.
    #[error("bad authority key: {0}")]
    AuthorityKey(#[source] shareproof_stratum::v2::AuthorityKeyError),
    /// The pool answered with a message this client did not expect.
    #[error("pool sent something other than {0}")]
    Unexpected(&'static str),
    /// The pool refused a request.
    #[error("pool refused {method}: {}", error.as_ref().map_or_else(|| "no reason given".to_owned(), ToString::to_string))]
    Refused {
        /// The request.
        method: &'static str,
        /// The pool's error, when it gave one (`mining.authorize` may just answer `false`).
        #[source]
        error: Option<StratumError>,
    },
}

/// `host:port` from `stratum+tcp://host:port` (or a bare `host:port`).
///
/// # Errors
/// [`ClientError::Url`].
pub fn parse_url(url: &str) -> Result<String, ClientError> {
    let rest = url
        .strip_prefix("stratum+tcp://")
        .or_else(|| url.strip_prefix("tcp://"))
        .unwrap_or(url);
    let rest = rest.trim_end_matches('/');
    match rest.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(rest.to_owned())
        }
        _ => Err(ClientError::Url(url.to_owned())),
    }
}

/// What the handshake established.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The connection's extranonce1.
    pub extranonce1: Vec<u8>,
    /// extranonce2's size.
    pub extranonce2_size: usize,
    /// The granted version-rolling mask (0: none).
    pub version_mask: u32,
}

/// One connection to a pool.
pub struct Client {
    lines: Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
    next_id: u64,
    /// Messages read during the handshake, not yet consumed.
    queued: VecDeque<ServerMessage>,
    /// Bytes read by [`Client::next`].
    bytes_read: u64,
}

impl Client {
    /// Connects to `host:port`.
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub async fn connect(addr: &str) -> Result<Self, ClientError> {
        Self::connect_from(addr, None).await
    }

    /// Connects from a given local address (to spread many connections over
    /// several loopback source addresses).
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub async fn connect_from(
        addr: &str,
        source: Option<std::net::IpAddr>,
    ) -> Result<Self, ClientError> {
        let stream = match source {
            None => TcpStream::connect(addr).await?,
            Some(ip) => {
                let target = tokio::net::lookup_host(addr)
                    .await?
                    .next()
                    .ok_or_else(|| ClientError::Url(addr.to_owned()))?;
                let socket = if ip.is_ipv4() {
                    tokio::net::TcpSocket::new_v4()?
                } else {
                    tokio::net::TcpSocket::new_v6()?
                };
                socket.bind(std::net::SocketAddr::new(ip, 0))?;
                socket.connect(target).await?
            }
        };
        stream.set_nodelay(true)?;
        let (read, write) = stream.into_split();
        Ok(Client {
            lines: BufReader::new(read).lines(),
            write,
            next_id: 1,
            queued: VecDeque::new(),
            bytes_read: 0,
        })
    }

    /// Sends a request; returns its id.
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub async fn call(&mut self, call: Call<'_>) -> Result<u64, ClientError> {
        let id = self.reserve_ids(1);
        let mut line = Vec::with_capacity(160);
        call.write(&mut line, id);
        self.write.write_all(&line).await?;
        Ok(id)
    }

    /// Reserves `n` request ids; returns the first.
    pub fn reserve_ids(&mut self, n: u64) -> u64 {
        let id = self.next_id;
        self.next_id += n;
        id
    }

    /// Bytes read by [`Client::next`] so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Splits into the line reader, the writer and messages already read.
    pub fn into_parts(
        self,
    ) -> (
        Lines<BufReader<OwnedReadHalf>>,
        OwnedWriteHalf,
        VecDeque<ServerMessage>,
    ) {
        (self.lines, self.write, self.queued)
    }

    /// The next message from the pool.
    ///
    /// # Errors
    /// [`ClientError::Closed`] at end of stream, [`ClientError::Protocol`]
    /// for a line that does not parse (the connection is still usable).
    pub async fn next(&mut self) -> Result<ServerMessage, ClientError> {
        if let Some(m) = self.queued.pop_front() {
            return Ok(m);
        }
        let line = self.lines.next_line().await?.ok_or(ClientError::Closed)?;
        self.bytes_read += line.len() as u64 + 1;
        Ok(ServerMessage::parse(line.as_bytes())?)
    }

    /// configure (when `version_rolling`), subscribe, authorize and
    /// optionally suggest a difficulty; waits for every answer.
    ///
    /// # Errors
    /// [`ClientError::Refused`] naming the request the pool refused.
    pub async fn handshake(
        &mut self,
        user: &str,
        agent: &str,
        version_rolling: bool,
        suggest: Option<f64>,
    ) -> Result<Handshake, ClientError> {
        let configure = if version_rolling {
            Some(
                self.call(Call::ConfigureVersionRolling {
                    mask: 0xffff_ffff,
                    min_bit_count: 2,
                })
                .await?,
            )
        } else {
            None
        };
        let subscribe = self.call(Call::Subscribe { agent }).await?;
        let authorize = self
            .call(Call::Authorize {
                user,
                password: "x",
            })
            .await?;
        let suggest = match suggest {
            Some(d) => Some(self.call(Call::SuggestDifficulty(d)).await?),
            None => None,
        };
        let mut handshake = Handshake {
            extranonce1: Vec::new(),
            extranonce2_size: 0,
            version_mask: 0,
        };
        let mut waiting = 2 + usize::from(configure.is_some()) + usize::from(suggest.is_some());
        let mut deferred = VecDeque::new();
        while waiting > 0 {
            let msg = self.next().await?;
            let ServerMessage::Response(answer) = &msg else {
                deferred.push_back(msg);
                continue;
            };
            let refused = |method| ClientError::Refused {
                method,
                error: answer.error.clone(),
            };
            if Some(answer.id) == configure {
                handshake.version_mask = answer
                    .result
                    .get("version-rolling.mask")
                    .and_then(serde_json::Value::as_str)
                    .and_then(|m| u32::from_str_radix(m, 16).ok())
                    .unwrap_or(0);
            } else if answer.id == subscribe {
                if answer.error.is_some() {
                    return Err(refused("mining.subscribe"));
                }
                let Subscribed {
                    extranonce1,
                    extranonce2_size,
                } = Subscribed::from_result(&answer.result)?;
                handshake.extranonce1 = extranonce1;
                handshake.extranonce2_size = extranonce2_size;
            } else if answer.id == authorize {
                if !answer.is_true() {
                    return Err(refused("mining.authorize"));
                }
            } else if Some(answer.id) != suggest {
                deferred.push_back(msg);
                continue;
            }
            waiting -= 1;
        }
        self.queued = deferred;
        Ok(handshake)
    }
}

/// The share target a pool difficulty means.
pub fn target_of(difficulty: f64) -> ShareTarget {
    Difficulty::new(difficulty).map_or(ShareTarget::MAX, Difficulty::to_target)
}

/// Whether a message tells the client to go away and come back.
pub fn is_reconnect(msg: &ServerMessage) -> bool {
    matches!(msg, ServerMessage::Notification(Notification::Reconnect))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        assert_eq!(
            parse_url("stratum+tcp://127.0.0.1:3333").unwrap(),
            "127.0.0.1:3333"
        );
        assert_eq!(parse_url("localhost:3333").unwrap(), "localhost:3333");
        assert!(parse_url("stratum+tcp://host").is_err());
    }
}
