//! A Stratum V1 client, as the built-in miner and the load generator speak
//! it: connect, `mining.configure` (optional version rolling),
//! `mining.subscribe`, `mining.authorize`, optional
//! `mining.suggest_difficulty`, then jobs, difficulties and submits.

use std::collections::VecDeque;

use serde_json::{json, Value};
use share_verifier::{Difficulty, Job, ShareTarget};
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
    /// The pool answered something unexpected.
    #[error("pool protocol: {0}")]
    Protocol(String),
    /// The pool refused a request.
    #[error("pool refused {method}: {error}")]
    Refused {
        /// The request.
        method: &'static str,
        /// The pool's error.
        error: String,
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

/// A message from the pool.
#[derive(Debug, Clone)]
pub enum ServerMsg {
    /// An answer to request `id`.
    Response {
        /// The request id.
        id: u64,
        /// `result`.
        result: Value,
        /// `error` (null when none).
        error: Value,
    },
    /// A new job.
    Notify(Job),
    /// A new difficulty for the next jobs.
    SetDifficulty(f64),
    /// A new extranonce.
    SetExtranonce(Vec<u8>, usize),
    /// Reconnect.
    Reconnect,
    /// Anything else.
    Other(Value),
}

/// What the handshake established.
#[derive(Debug, Clone)]
pub struct Session {
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
    queued: VecDeque<ServerMsg>,
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
        })
    }

    /// Sends a request; returns its id.
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub async fn request(&mut self, method: &str, params: Value) -> Result<u64, ClientError> {
        let id = self.next_id;
        self.next_id += 1;
        let line = format!(
            "{}\n",
            json!({"id": id, "method": method, "params": params})
        );
        self.write.write_all(line.as_bytes()).await?;
        Ok(id)
    }

    /// Writes raw bytes (pre-formatted requests).
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.write.write_all(bytes).await?;
        Ok(())
    }

    /// Reserves `n` request ids; returns the first.
    pub fn reserve_ids(&mut self, n: u64) -> u64 {
        let id = self.next_id;
        self.next_id += n;
        id
    }

    /// Splits into the line reader, the writer and messages already read.
    pub fn into_parts(
        self,
    ) -> (
        Lines<BufReader<OwnedReadHalf>>,
        OwnedWriteHalf,
        VecDeque<ServerMsg>,
    ) {
        (self.lines, self.write, self.queued)
    }

    /// The next message from the pool.
    ///
    /// # Errors
    /// [`ClientError::Closed`] at end of stream, [`ClientError::Protocol`] for bad JSON.
    pub async fn next(&mut self) -> Result<ServerMsg, ClientError> {
        if let Some(m) = self.queued.pop_front() {
            return Ok(m);
        }
        let line = self.lines.next_line().await?.ok_or(ClientError::Closed)?;
        parse_server_line(&line)
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
    ) -> Result<Session, ClientError> {
        let configure = if version_rolling {
            Some(
                self.request(
                    "mining.configure",
                    json!([["version-rolling"], {"version-rolling.mask": "ffffffff", "version-rolling.min-bit-count": 2}]),
                )
                .await?,
            )
        } else {
            None
        };
        let subscribe = self.request("mining.subscribe", json!([agent])).await?;
        let authorize = self.request("mining.authorize", json!([user, "x"])).await?;
        let suggest = match suggest {
            Some(d) => Some(
                self.request("mining.suggest_difficulty", json!([d]))
                    .await?,
            ),
            None => None,
        };
        let mut session = Session {
            extranonce1: Vec::new(),
            extranonce2_size: 0,
            version_mask: 0,
        };
        let mut waiting = 2 + usize::from(configure.is_some()) + usize::from(suggest.is_some());
        let mut deferred = VecDeque::new();
        while waiting > 0 {
            let msg = self.next().await?;
            let ServerMsg::Response { id, result, error } = &msg else {
                deferred.push_back(msg);
                continue;
            };
            let refused = |method| ClientError::Refused {
                method,
                error: error.to_string(),
            };
            if Some(*id) == configure {
                session.version_mask = result
                    .get("version-rolling.mask")
                    .and_then(Value::as_str)
                    .and_then(|m| u32::from_str_radix(m, 16).ok())
                    .unwrap_or(0);
            } else if *id == subscribe {
                if !error.is_null() {
                    return Err(refused("mining.subscribe"));
                }
                session.extranonce1 = result
                    .get(1)
                    .and_then(Value::as_str)
                    .and_then(|s| hex::decode(s).ok())
                    .ok_or_else(|| ClientError::Protocol(format!("subscribe result {result}")))?;
                session.extranonce2_size =
                    result.get(2).and_then(Value::as_u64).ok_or_else(|| {
                        ClientError::Protocol(format!("subscribe result {result}"))
                    })? as usize;
            } else if *id == authorize {
                if result != &Value::Bool(true) {
                    return Err(refused("mining.authorize"));
                }
            } else if Some(*id) != suggest {
                deferred.push_back(msg);
                continue;
            }
            waiting -= 1;
        }
        self.queued = deferred;
        Ok(session)
    }
}

/// Parses one line from the pool.
///
/// # Errors
/// [`ClientError::Protocol`] for lines that are not JSON objects.
pub fn parse_server_line(line: &str) -> Result<ServerMsg, ClientError> {
    let v: Value =
        serde_json::from_str(line).map_err(|e| ClientError::Protocol(format!("{e}: {line}")))?;
    let method = v.get("method").and_then(Value::as_str);
    let params = v.get("params").cloned().unwrap_or(Value::Null);
    Ok(match method {
        Some("mining.notify") => ServerMsg::Notify(
            Job::from_notify_params(&params).map_err(|e| ClientError::Protocol(e.to_string()))?,
        ),
        Some("mining.set_difficulty") => ServerMsg::SetDifficulty(
            params
                .get(0)
                .and_then(Value::as_f64)
                .ok_or_else(|| ClientError::Protocol(format!("set_difficulty {params}")))?,
        ),
        Some("mining.set_extranonce") => ServerMsg::SetExtranonce(
            params
                .get(0)
                .and_then(Value::as_str)
                .and_then(|s| hex::decode(s).ok())
                .unwrap_or_default(),
            params.get(1).and_then(Value::as_u64).unwrap_or(0) as usize,
        ),
        Some("client.reconnect") => ServerMsg::Reconnect,
        Some(_) => ServerMsg::Other(v),
        None => match v.get("id").and_then(Value::as_u64) {
            Some(id) => ServerMsg::Response {
                id,
                result: v.get("result").cloned().unwrap_or(Value::Null),
                error: v.get("error").cloned().unwrap_or(Value::Null),
            },
            None => ServerMsg::Other(v),
        },
    })
}

/// The share target a pool difficulty means.
pub fn target_of(difficulty: f64) -> ShareTarget {
    Difficulty::new(difficulty).map_or(ShareTarget::MAX, Difficulty::to_target)
}

/// A `mining.submit` line.
#[allow(clippy::too_many_arguments)]
pub fn submit_line(
    out: &mut Vec<u8>,
    id: u64,
    user: &str,
    job_id: &str,
    extranonce2: &[u8],
    ntime: u32,
    nonce: u32,
    version_bits: Option<u32>,
) {
    use std::io::Write;
    let _ = write!(
        out,
        "{{\"id\":{id},\"method\":\"mining.submit\",\"params\":[\"{user}\",\"{job_id}\",\"{}\",\"{ntime:08x}\",\"{nonce:08x}\"",
        hex::encode(extranonce2)
    );
    if let Some(bits) = version_bits {
        let _ = write!(out, ",\"{bits:08x}\"");
    }
    out.extend_from_slice(b"]}\n");
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

    #[test]
    fn submit_lines_are_stratum_json() {
        let mut out = Vec::new();
        submit_line(
            &mut out,
            7,
            "0xab.w",
            "0000000000000001",
            &[0, 1],
            0x10,
            0x20,
            Some(0x2000),
        );
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            v["params"],
            json!([
                "0xab.w",
                "0000000000000001",
                "0001",
                "00000010",
                "00000020",
                "00002000"
            ])
        );
    }
}
