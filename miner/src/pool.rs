//! One pool connection as the CPU miner uses it, whichever protocol the
//! URL names: `stratum+tcp://` speaks V1 through [`Client`],
//! `stratum2+tcp://` speaks V2 through [`V2Client`] with the pool's
//! authority key pinned. The miner sees work to hash, answers and requests
//! to reconnect; how each protocol carries them stays here.

use std::collections::HashSet;

use share_verifier::{Job, ShareTarget, Submission, VersionMask};
use shareproof_stratum::v2::codes::REQUIRES_VERSION_ROLLING;
use shareproof_stratum::v2::AuthorityPublicKey;
use shareproof_stratum::{Call, Notification, ServerMessage};

use crate::client::{self, Client, ClientError};
use crate::v2::{self, Event, V2Client};

/// Where the pool is and how to talk to it.
#[derive(Debug, Clone)]
pub enum Endpoint {
    /// Stratum V1 at `host:port`.
    V1(String),
    /// Stratum V2 at `host:port`, with the key its certificate must carry.
    V2(String, AuthorityPublicKey),
}

impl Endpoint {
    /// Reads a pool URL: `stratum2+tcp://` needs `authority_key`.
    ///
    /// # Errors
    /// [`ClientError::Url`] or [`ClientError::NoAuthorityKey`].
    pub fn parse(url: &str, authority_key: Option<&str>) -> Result<Self, ClientError> {
        match v2::parse_url(url) {
            Some(addr) => {
                let key =
                    authority_key.ok_or_else(|| ClientError::NoAuthorityKey(url.to_owned()))?;
                let key = key.parse().map_err(ClientError::AuthorityKey)?;
                Ok(Endpoint::V2(addr?, key))
            }
            None => Ok(Endpoint::V1(client::parse_url(url)?)),
        }
    }

    /// `host:port`.
    pub fn addr(&self) -> &str {
        match self {
            Endpoint::V1(a) | Endpoint::V2(a, _) => a,
        }
    }
}

/// Work to hash: a job with the target and extranonce it is mined under.
#[derive(Debug)]
pub struct Assignment {
    /// The job.
    pub job: Job,
    /// The share target.
    pub target: ShareTarget,
    /// The pool's part of the extranonce (V1 extranonce1, V2 prefix).
    pub extranonce1: Vec<u8>,
    /// Bytes of extranonce the miner rolls.
    pub extranonce2_size: usize,
    /// Version bits the miner may roll.
    pub version_mask: u32,
}

/// What the pool said, as the miner acts on it.
#[derive(Debug)]
pub enum PoolEvent {
    /// New work.
    Work(Assignment),
    /// Shares accepted.
    Accepted(u64),
    /// A share rejected (the reason, for the log).
    Rejected(String),
    /// Reconnect.
    Reconnect,
    /// Nothing to act on.
    Nothing,
}

/// A share found, as the pool connection submits it.
#[derive(Debug)]
pub struct FoundShare {
    /// The job's id as the pool sent it.
    pub job_id: share_verifier::JobId,
    /// The miner's extranonce.
    pub extranonce2: Vec<u8>,
    /// Header time.
    pub ntime: u32,
    /// Header nonce.
    pub nonce: u32,
    /// The rolled bits (V1 sends them).
    pub version_bits: Option<u32>,
    /// The whole header version (V2 sends it).
    pub version: u32,
}

/// A connected pool.
pub enum Pool {
    /// Over Stratum V1.
    V1 {
        /// The connection.
        client: Client,
        /// What the handshake established.
        session: client::Handshake,
        /// The difficulty last set.
        difficulty: f64,
        /// Ids of submits not yet answered.
        submits: HashSet<u64>,
        /// The username submits carry.
        user: String,
    },
    /// Over Stratum V2, one extended channel.
    V2 {
        /// The connection (boxed: its Noise state is large).
        client: Box<V2Client>,
        /// The channel.
        channel: v2::Channel,
        /// Whether version rolling was asked for.
        version_rolling: bool,
    },
}

impl Pool {
    /// Connects and opens a session for `user`.
    ///
    /// # Errors
    /// [`ClientError`]: refusals are [`ClientError::Refused`] or
    /// [`ClientError::RefusedV2`].
    pub async fn connect(
        endpoint: &Endpoint,
        user: &str,
        agent: &str,
        version_rolling: bool,
        suggest_difficulty: Option<f64>,
    ) -> Result<Pool, ClientError> {
        match endpoint {
            Endpoint::V1(addr) => {
                let mut client = Client::connect(addr).await?;
                let session = client
                    .handshake(user, agent, version_rolling, suggest_difficulty)
                    .await?;
                Ok(Pool::V1 {
                    client,
                    session,
                    difficulty: 1.0,
                    submits: HashSet::new(),
                    user: user.to_owned(),
                })
            }
            Endpoint::V2(addr, key) => {
                let mut client = Box::new(V2Client::connect(addr, *key).await?);
                let flags = if version_rolling {
                    REQUIRES_VERSION_ROLLING
                } else {
                    0
                };
                client.setup(flags, agent).await?;
                // A hash rate for the suggested difficulty at one share per 10 s.
                let hash_rate = suggest_difficulty.map_or(0.0, |d| d * 4_294_967_296.0 / 10.0);
                let channel = client.open_extended(user, hash_rate as f32, 4).await?;
                Ok(Pool::V2 {
                    client,
                    channel,
                    version_rolling,
                })
            }
        }
    }

    /// The extranonce the pool assigned, for the log.
    pub fn extranonce1(&self) -> &[u8] {
        match self {
            Pool::V1 { session, .. } => &session.extranonce1,
            Pool::V2 { channel, .. } => &channel.extranonce_prefix,
        }
    }

    /// The next event.
    ///
    /// # Errors
    /// [`ClientError::Protocol`] for a V1 line that does not parse (the
    /// connection is still usable); anything else means reconnect.
    pub async fn next(&mut self) -> Result<PoolEvent, ClientError> {
        match self {
            Pool::V1 {
                client,
                session,
                difficulty,
                submits,
                ..
            } => Ok(match client.next().await? {
                ServerMessage::Notification(Notification::Notify(job)) => {
                    PoolEvent::Work(Assignment {
                        job,
                        target: client::target_of(*difficulty),
                        extranonce1: session.extranonce1.clone(),
                        extranonce2_size: session.extranonce2_size,
                        version_mask: session.version_mask,
                    })
                }
                ServerMessage::Notification(Notification::SetDifficulty(d)) => {
                    *difficulty = d;
                    PoolEvent::Nothing
                }
                ServerMessage::Response(answer) if submits.remove(&answer.id) => {
                    if answer.is_true() {
                        PoolEvent::Accepted(1)
                    } else {
                        PoolEvent::Rejected(format!("{:?}", answer.error))
                    }
                }
                msg if client::is_reconnect(&msg) => PoolEvent::Reconnect,
                _ => PoolEvent::Nothing,
            }),
            Pool::V2 {
                client,
                channel,
                version_rolling,
            } => Ok(match client.event().await? {
                Event::Job(job) => PoolEvent::Work(Assignment {
                    job,
                    target: channel.target,
                    extranonce1: channel.extranonce_prefix.clone(),
                    extranonce2_size: channel.extranonce_size,
                    version_mask: if *version_rolling {
                        VersionMask::BIP320.0
                    } else {
                        0
                    },
                }),
                Event::Target(t) => {
                    channel.target = t;
                    PoolEvent::Nothing
                }
                Event::Accepted(n) => PoolEvent::Accepted(n.into()),
                Event::Rejected {
                    sequence_number,
                    code,
                } => PoolEvent::Rejected(format!("share {sequence_number}: {code}")),
                Event::Reconnect => PoolEvent::Reconnect,
                Event::Other => PoolEvent::Nothing,
            }),
        }
    }

    /// Submits a share.
    ///
    /// # Errors
    /// [`ClientError`] when the connection failed.
    pub async fn submit(&mut self, share: FoundShare) -> Result<(), ClientError> {
        match self {
            Pool::V1 {
                client,
                submits,
                user,
                ..
            } => {
                let submission = Submission {
                    job_id: share.job_id,
                    extranonce1: Vec::new(),
                    extranonce2: share.extranonce2,
                    ntime: share.ntime,
                    nonce: share.nonce,
                    version_bits: share.version_bits,
                };
                let id = client
                    .call(Call::Submit {
                        worker: user,
                        share: &submission,
                    })
                    .await?;
                submits.insert(id);
            }
            Pool::V2 {
                client, channel, ..
            } => {
                let job_id = u32::try_from(share.job_id.0)
                    .map_err(|_| ClientError::Unexpected("a V2 job id over 32 bits"))?;
                client
                    .submit(
                        channel.id,
                        job_id,
                        &share.extranonce2,
                        share.ntime,
                        share.nonce,
                        share.version,
                    )
                    .await?;
            }
        }
        Ok(())
    }
}
