//! A Stratum V2 client, as the built-in miner and the load generator speak
//! it: the Noise handshake with the pool's authority key pinned,
//! `SetupConnection`, one extended channel (so the CPU miner rolls its
//! extranonce exactly as over V1), then jobs, targets and submits. Every
//! frame goes through `shareproof-stratum`'s `v2` and the reference crates.

use std::time::Duration;

use bitcoin::block::Version;
use bitcoin::hashes::Hash;
use bitcoin::pow::CompactTarget;
use bitcoin::{BlockHash, TxMerkleNode};
use bytes::BytesMut;
use share_verifier::{Job, JobId, ShareTarget};
use shareproof_stratum::v2::binary_sv2::U256;
use shareproof_stratum::v2::codes;
use shareproof_stratum::v2::common_messages_sv2::{Protocol, SetupConnection};
use shareproof_stratum::v2::mining_sv2::{
    NewExtendedMiningJobOwned, OpenExtendedMiningChannel, SubmitSharesExtended,
};
use shareproof_stratum::v2::noise::SERVER_HELLO_LEN;
use shareproof_stratum::v2::parsers_sv2::{
    AnyMessage, AnyMessageOwned, CommonMessagesOwned, Mining, MiningOwned,
};
use shareproof_stratum::v2::{
    str0255, target_from_le, target_to_le, AuthorityPublicKey, ClientHandshake, Transport,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::ClientError;

/// How long the pool may take to answer the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// `host:port` from `stratum2+tcp://host:port`; `None` for another scheme.
pub fn parse_url(url: &str) -> Option<Result<String, ClientError>> {
    let rest = url.strip_prefix("stratum2+tcp://")?;
    Some(crate::client::parse_url(rest).map_err(|_| ClientError::Url(url.to_owned())))
}

/// An extended channel as the pool opened it.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Its id.
    pub id: u32,
    /// The prefix the pool put before our extranonce.
    pub extranonce_prefix: Vec<u8>,
    /// Bytes of extranonce we roll.
    pub extranonce_size: usize,
    /// The share target.
    pub target: ShareTarget,
}

/// What the pool sent, as the miner uses it.
#[derive(Debug)]
pub enum Event {
    /// A job to mine now: a job with a time, or a future job that a
    /// `SetNewPrevHash` activated. Its [`Job::id`] is the channel's job id.
    Job(Job),
    /// The channel's new target.
    Target(ShareTarget),
    /// Shares accepted (durable at the pool) since the last success.
    Accepted(u32),
    /// A share refused, with the spec's code.
    Rejected {
        /// The submit's sequence number.
        sequence_number: u32,
        /// The pool's error code.
        code: String,
    },
    /// The pool asks us to reconnect.
    Reconnect,
    /// Something this client does not act on.
    Other,
}

/// One V2 connection with its extended channel's jobs.
pub struct V2Client {
    stream: TcpStream,
    buf: BytesMut,
    transport: Transport,
    out: Vec<u8>,
    /// Future jobs waiting for their `SetNewPrevHash`.
    future: Vec<NewExtendedMiningJobOwned>,
    /// The tip the pool set last, with its time and bits.
    tip: Option<(BlockHash, u32, CompactTarget)>,
    next_sequence: u32,
    bytes_read: u64,
}

impl V2Client {
    /// Connects to `addr` and runs the handshake, accepting only a pool
    /// that holds `authority`'s secret.
    ///
    /// # Errors
    /// [`ClientError::Io`], or [`ClientError::V2`] when the pool's
    /// certificate is not signed by `authority`.
    pub async fn connect(addr: &str, authority: AuthorityPublicKey) -> Result<Self, ClientError> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (hello, handshake) = ClientHandshake::start(Some(authority))?;
        stream.write_all(&hello).await?;
        let mut answer = [0u8; SERVER_HELLO_LEN];
        tokio::time::timeout(HANDSHAKE_TIMEOUT, stream.read_exact(&mut answer))
            .await
            .map_err(|_| ClientError::Closed)??;
        let transport = handshake.finish(answer)?;
        Ok(V2Client {
            stream,
            buf: BytesMut::new(),
            transport,
            out: Vec::new(),
            future: Vec::new(),
            tip: None,
            next_sequence: 0,
            bytes_read: 0,
        })
    }

    /// Encrypts and writes one message.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn send(&mut self, message: AnyMessage<'_>) -> Result<(), ClientError> {
        self.transport.encode(message, &mut self.out)?;
        self.flush().await?;
        Ok(())
    }

    /// The next message from the pool.
    ///
    /// # Errors
    /// [`ClientError::Closed`] at end of stream, [`ClientError::V2`] for a
    /// frame that does not decode.
    pub async fn next(&mut self) -> Result<AnyMessageOwned, ClientError> {
        loop {
            if let Some(mut frame) = self.transport.decode(&mut self.buf)? {
                return Ok(frame.message()?.into_owned());
            }
            // Cancel-safe: bytes read stay in the buffer.
            match self.stream.read_buf(&mut self.buf).await? {
                0 => return Err(ClientError::Closed),
                n => self.bytes_read += n as u64,
            }
        }
    }

    /// `SetupConnection` for the mining protocol with `flags`.
    ///
    /// # Errors
    /// [`ClientError::RefusedV2`] with the pool's code.
    pub async fn setup(&mut self, flags: u32, agent: &str) -> Result<(), ClientError> {
        let setup = SetupConnection {
            protocol: Protocol::MiningProtocol,
            min_version: codes::PROTOCOL_VERSION,
            max_version: codes::PROTOCOL_VERSION,
            flags,
            endpoint_host: str0255("")?,
            endpoint_port: 0,
            vendor: str0255("shareproof")?,
            hardware_version: str0255("cpu")?,
            firmware: str0255(agent)?,
            device_id: str0255("")?,
        };
        self.send(AnyMessage::Common(setup.into())).await?;
        match self.next().await? {
            AnyMessageOwned::Common(CommonMessagesOwned::SetupConnectionSuccess(_)) => Ok(()),
            AnyMessageOwned::Common(CommonMessagesOwned::SetupConnectionError(e)) => {
                Err(ClientError::RefusedV2 {
                    what: "SetupConnection",
                    code: String::from_utf8_lossy(e.error_code.as_bytes()).into_owned(),
                })
            }
            _ => Err(ClientError::Unexpected("SetupConnection's answer")),
        }
    }

    /// Opens an extended channel for `user` (`0x<address>[.<worker>]`),
    /// announcing `hash_rate` H/s and accepting any target.
    ///
    /// # Errors
    /// [`ClientError::RefusedV2`] with the pool's code.
    pub async fn open_extended(
        &mut self,
        user: &str,
        hash_rate: f32,
        min_extranonce_size: u16,
    ) -> Result<Channel, ClientError> {
        self.open_extended_at(user, hash_rate, ShareTarget::MAX, min_extranonce_size)
            .await
    }

    /// [`V2Client::open_extended`] with a maximum target: the pool's
    /// difficulty stays at least `max_target`'s.
    ///
    /// # Errors
    /// [`ClientError::RefusedV2`] with the pool's code.
    pub async fn open_extended_at(
        &mut self,
        user: &str,
        hash_rate: f32,
        max_target: ShareTarget,
        min_extranonce_size: u16,
    ) -> Result<Channel, ClientError> {
        let max = target_to_le(max_target);
        let open = OpenExtendedMiningChannel {
            request_id: 1,
            user_identity: str0255(user)?,
            nominal_hash_rate: hash_rate,
            max_target: U256::from(&max),
            min_extranonce_size,
        };
        self.send(AnyMessage::Mining(Mining::OpenExtendedMiningChannel(open)))
            .await?;
        loop {
            match self.next().await? {
                AnyMessageOwned::Mining(MiningOwned::OpenExtendedMiningChannelSuccess(m)) => {
                    return Ok(Channel {
                        id: m.channel_id,
                        extranonce_prefix: m.extranonce_prefix.as_bytes().to_vec(),
                        extranonce_size: m.extranonce_size.into(),
                        target: target_from_le(m.target.as_array()),
                    })
                }
                AnyMessageOwned::Mining(MiningOwned::OpenMiningChannelError(e)) => {
                    return Err(ClientError::RefusedV2 {
                        what: "OpenExtendedMiningChannel",
                        code: String::from_utf8_lossy(e.error_code.as_bytes()).into_owned(),
                    })
                }
                _ => {}
            }
        }
    }

    /// Submits a share on `channel` at once; returns its sequence number.
    ///
    /// # Errors
    /// [`ClientError`].
    pub async fn submit(
        &mut self,
        channel: u32,
        job_id: u32,
        extranonce: &[u8],
        ntime: u32,
        nonce: u32,
        version: u32,
    ) -> Result<u32, ClientError> {
        let sequence_number =
            self.queue_submit(channel, job_id, extranonce, ntime, nonce, version)?;
        self.flush().await?;
        Ok(sequence_number)
    }

    /// Encodes a share for the next [`V2Client::flush`]; returns its
    /// sequence number (a load generator writes many shares at once).
    ///
    /// # Errors
    /// [`ClientError`] for an extranonce over 32 bytes.
    pub fn queue_submit(
        &mut self,
        channel: u32,
        job_id: u32,
        extranonce: &[u8],
        ntime: u32,
        nonce: u32,
        version: u32,
    ) -> Result<u32, ClientError> {
        let sequence_number = self.next_sequence;
        self.next_sequence = self.next_sequence.wrapping_add(1);
        let submit = SubmitSharesExtended {
            channel_id: channel,
            sequence_number,
            job_id,
            nonce,
            ntime,
            version,
            extranonce: extranonce
                .try_into()
                .map_err(|_| ClientError::Unexpected("an extranonce over 32 bytes"))?,
        };
        self.transport.encode(
            AnyMessage::Mining(Mining::SubmitSharesExtended(submit)),
            &mut self.out,
        )?;
        Ok(sequence_number)
    }

    /// Writes what was queued; returns the bytes written.
    ///
    /// # Errors
    /// [`ClientError::Io`].
    pub async fn flush(&mut self) -> Result<usize, ClientError> {
        let n = self.out.len();
        if n > 0 {
            self.stream.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(n)
    }

    /// Encrypted bytes read from the pool so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next event the miner acts on.
    ///
    /// # Errors
    /// [`ClientError`] as [`V2Client::next`].
    pub async fn event(&mut self) -> Result<Event, ClientError> {
        let message = self.next().await?;
        Ok(self.interpret(message))
    }

    /// Turns a message into an event, keeping future jobs until their tip.
    pub fn interpret(&mut self, message: AnyMessageOwned) -> Event {
        match message {
            AnyMessageOwned::Mining(MiningOwned::NewExtendedMiningJob(job)) => {
                match job.min_ntime.clone().into_inner() {
                    None => {
                        self.future.push(job);
                        Event::Other
                    }
                    Some(ntime) => match self.tip {
                        Some((prevhash, _, nbits)) => {
                            Event::Job(to_job(&job, prevhash, ntime, nbits, false))
                        }
                        None => Event::Other,
                    },
                }
            }
            AnyMessageOwned::Mining(MiningOwned::SetNewPrevHash(m)) => {
                let prevhash = BlockHash::from_byte_array(*m.prev_hash.as_array());
                let nbits = CompactTarget::from_consensus(m.nbits);
                self.tip = Some((prevhash, m.min_ntime, nbits));
                let job = self
                    .future
                    .iter()
                    .position(|j| j.job_id == m.job_id)
                    .map(|i| self.future.swap_remove(i));
                self.future.clear();
                match job {
                    Some(job) => Event::Job(to_job(&job, prevhash, m.min_ntime, nbits, true)),
                    None => Event::Other,
                }
            }
            AnyMessageOwned::Mining(MiningOwned::SetTarget(m)) => {
                Event::Target(target_from_le(m.maximum_target.as_array()))
            }
            AnyMessageOwned::Mining(MiningOwned::SubmitSharesSuccess(m)) => {
                Event::Accepted(m.new_submits_accepted_count)
            }
            AnyMessageOwned::Mining(MiningOwned::SubmitSharesError(m)) => Event::Rejected {
                sequence_number: m.sequence_number,
                code: String::from_utf8_lossy(m.error_code.as_bytes()).into_owned(),
            },
            AnyMessageOwned::Common(CommonMessagesOwned::Reconnect(_)) => Event::Reconnect,
            _ => Event::Other,
        }
    }
}

/// A V2 extended job on a tip as the [`Job`] the CPU miner hashes.
fn to_job(
    job: &NewExtendedMiningJobOwned,
    prevhash: BlockHash,
    ntime: u32,
    nbits: CompactTarget,
    clean: bool,
) -> Job {
    Job {
        id: JobId(job.job_id.into()),
        prevhash,
        coinb1: job.coinbase_tx_prefix.as_bytes().to_vec(),
        coinb2: job.coinbase_tx_suffix.as_bytes().to_vec(),
        merkle_branch: job
            .merkle_path
            .iter()
            .map(|h| TxMerkleNode::from_byte_array(*h.as_array()))
            .collect(),
        version: Version::from_consensus(job.version as i32),
        nbits,
        ntime,
        clean_jobs: clean,
    }
}
