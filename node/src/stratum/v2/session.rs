//! One V2 connection after its handshake: `SetupConnection`, then its
//! channels, in one `select!` loop over frames, share acknowledgements from
//! the ledger, new jobs and shutdown (the V1 session's shape).
//!
//! Shares are validated on the session's task by the channel they name and
//! handed to the ledger; `SubmitShares.Success` is written only once the
//! ledger says they are durable, batched per channel over the shares that
//! became durable together (the spec's `new_submits_accepted_count`).
//! Rejects are answered at once with `SubmitShares.Error` and the spec's
//! code. A frame that cannot be decoded closes the connection (the stream
//! cannot be resynchronised); an unknown message type is skipped.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use share_verifier::{ShareTarget, Username};
use shareproof_stratum::v2::binary_sv2::{Seq0255, Sv2Option, B064K, U256};
use shareproof_stratum::v2::common_messages_sv2::{
    Protocol, Reconnect, SetupConnection, SetupConnectionError, SetupConnectionSuccess,
};
use shareproof_stratum::v2::mining_sv2::{
    NewExtendedMiningJob, NewMiningJob, OpenExtendedMiningChannel,
    OpenExtendedMiningChannelSuccess, OpenMiningChannelError, OpenStandardMiningChannel,
    OpenStandardMiningChannelSuccess, SetNewPrevHash, SetTarget, SubmitSharesError,
    SubmitSharesSuccess, UpdateChannel, UpdateChannelError,
};
use shareproof_stratum::v2::parsers_sv2::{AnyMessage, CommonMessages, Mining, ParserError};
use shareproof_stratum::v2::{codes, str0255, target_from_le, target_to_le, text, Frame, V2Error};
use shareproof_stratum::Reject;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::ledger::{JobEntry, LedgerError, LedgerMsg};
use crate::stratum::accept::{self, Durable};
use crate::stratum::shared::Shared;
use crate::stratum::v2::channel::{Channel, Kind, Work};
use crate::stratum::v2::connection::{Connection, ConnectionError};
use crate::stratum::v2::V2Server;
use crate::vardiff::Vardiff;

/// Messages of unknown types tolerated per minute before the connection is closed.
const MAX_UNKNOWN_PER_MINUTE: u32 = 100;

/// A share waiting for durability.
struct Ack {
    channel_id: u32,
    sequence_number: u32,
    /// The share's difficulty, for `new_shares_sum`.
    difficulty: f64,
    rx: Durable,
    started: Instant,
}

/// Successes gathered for one channel, written as one `SubmitShares.Success`.
#[derive(Default)]
struct Batch {
    last_sequence_number: u32,
    count: u32,
    difficulty: f64,
}

/// A V2 miner's (or proxy's) session.
pub struct Session {
    shared: Arc<Shared>,
    server: Arc<V2Server>,
    conn: Connection,
    jobs_rx: watch::Receiver<Option<Arc<JobEntry>>>,
    shutdown: CancellationToken,
    /// Set by `SetupConnection`: whether the device wants standard jobs only.
    setup: Option<bool>,
    channels: HashMap<u32, Channel>,
    next_channel_id: u32,
    pending: VecDeque<Ack>,
    batches: Vec<(u32, Batch)>,
    out: Vec<u8>,
    invalid_since: Instant,
    invalid_count: u32,
    unknown_count: u32,
    deadline: Instant,
    close: bool,
    /// A broadcast job written in this round: reported once flushed.
    broadcast: Option<(u64, Instant, u64)>,
}

impl Session {
    /// A session for a connection whose handshake is done.
    pub fn new(
        shared: Arc<Shared>,
        server: Arc<V2Server>,
        conn: Connection,
        shutdown: CancellationToken,
    ) -> Self {
        let now = Instant::now();
        Session {
            jobs_rx: shared.jobs.clone(),
            deadline: now + shared.config.subscribe_timeout,
            shared,
            server,
            conn,
            shutdown,
            setup: None,
            channels: HashMap::new(),
            next_channel_id: 1,
            pending: VecDeque::new(),
            batches: Vec::new(),
            out: Vec::new(),
            invalid_since: now,
            invalid_count: 0,
            unknown_count: 0,
            close: false,
            broadcast: None,
        }
    }

    /// Runs until the miner leaves, misbehaves or the node shuts down.
    pub async fn run(mut self) {
        let peer = self.conn.peer();
        if let Err(e) = self.serve().await {
            tracing::debug!(%peer, error = %e, "V2 session ended");
        }
        for channel in self.channels.values() {
            self.shared.registry.leave(channel.address, &channel.worker);
        }
        self.shared
            .metrics
            .v2_channels
            .sub(self.channels.len() as i64);
    }

    async fn serve(&mut self) -> Result<(), ConnectionError> {
        let timeout = tokio::time::sleep_until(self.deadline.into());
        tokio::pin!(timeout);
        loop {
            let has_ack = !self.pending.is_empty();
            let mining = !self.channels.is_empty();
            tokio::select! {
                _ = self.shutdown.cancelled() => {
                    while let Some(ack) = self.pending.pop_front() {
                        let result = ack.rx.await.unwrap_or(Err(LedgerError::Closed));
                        self.on_durable(ack.channel_id, ack.sequence_number, ack.difficulty, result, ack.started);
                    }
                    self.write_batches();
                    let port = self.server.port;
                    let host = str0255("").expect("empty fits");
                    self.send(AnyMessage::Common(CommonMessages::Reconnect(Reconnect {
                        new_host: host,
                        new_port: port,
                    })));
                    self.flush().await?;
                    return Ok(());
                }
                result = front_ack(&mut self.pending), if has_ack => {
                    if let Some(ack) = self.pending.pop_front() {
                        self.on_durable(ack.channel_id, ack.sequence_number, ack.difficulty, result, ack.started);
                    }
                    // Others already durable join the same batch.
                    while let Some(front) = self.pending.front_mut() {
                        match front.rx.try_recv() {
                            Ok(result) => {
                                let ack = self.pending.pop_front().expect("front exists");
                                self.on_durable(ack.channel_id, ack.sequence_number, ack.difficulty, result, ack.started);
                            }
                            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => break,
                            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => {
                                let ack = self.pending.pop_front().expect("front exists");
                                self.on_durable(ack.channel_id, ack.sequence_number, ack.difficulty, Err(LedgerError::Closed), ack.started);
                            }
                        }
                    }
                    self.write_batches();
                }
                frame = self.conn.read_frame() => {
                    let Some(frame) = frame? else { return Ok(()) };
                    if self.setup.is_some() {
                        self.deadline = Instant::now() + self.shared.config.idle_timeout;
                    }
                    self.handle_frame(frame).await;
                    while !self.close {
                        match self.conn.buffered_frame()? {
                            Some(frame) => self.handle_frame(frame).await,
                            None => break,
                        }
                    }
                }
                changed = self.jobs_rx.changed(), if mining => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    let job = self.jobs_rx.borrow_and_update().clone();
                    if let Some(job) = job {
                        self.on_new_job(job);
                    }
                }
                () = &mut timeout => {
                    if self.deadline > Instant::now() {
                        timeout.as_mut().reset(self.deadline.into());
                        continue;
                    }
                    tracing::debug!(peer = %self.conn.peer(), "V2 connection timed out");
                    return Ok(());
                }
            }
            if self.deadline < timeout.deadline().into_std() {
                timeout.as_mut().reset(self.deadline.into());
            }
            self.flush().await?;
            if let Some((job, minted, channels)) = self.broadcast.take() {
                let micros = minted.elapsed().as_micros() as u64;
                self.shared
                    .metrics
                    .v2_fanout
                    .note_writes(job, micros, channels);
            }
            if self.close {
                return Ok(());
            }
        }
    }

    async fn flush(&mut self) -> Result<(), ConnectionError> {
        if !self.out.is_empty() {
            self.conn.write_all(&self.out).await?;
            self.out = Vec::new();
        }
        Ok(())
    }

    /// Encrypts a message into the output.
    fn send(&mut self, message: AnyMessage<'_>) {
        if let Err(e) = self.conn.encode(message, &mut self.out) {
            // Only a field over its protocol limit gets here: a bug, not the miner's doing.
            tracing::error!(error = %e, "cannot encode a Stratum V2 message");
        }
    }

    async fn handle_frame(&mut self, mut frame: Frame) {
        let msg_type = frame.msg_type();
        let message = match frame.message() {
            Ok(m) => m,
            Err(V2Error::Message(ParserError::UnexpectedMessage(t))) => {
                self.count_unknown(t);
                return;
            }
            Err(e) => {
                tracing::debug!(peer = %self.conn.peer(), msg_type, error = %e, "malformed V2 message; closing");
                self.count_reject("malformed");
                self.close = true;
                return;
            }
        };
        let shared = self.shared.clone();
        match message {
            AnyMessage::Common(CommonMessages::SetupConnection(m)) => self.setup_connection(&m),
            _ if self.setup.is_none() => {
                tracing::debug!(peer = %self.conn.peer(), msg_type, "message before SetupConnection; closing");
                self.count_reject("not_set_up");
                self.close = true;
            }
            AnyMessage::Mining(Mining::OpenStandardMiningChannel(m)) => {
                self.open_standard(&m);
            }
            AnyMessage::Mining(Mining::OpenExtendedMiningChannel(m)) => {
                self.open_extended(&m);
            }
            AnyMessage::Mining(Mining::SubmitSharesStandard(m)) => {
                let work = Work {
                    job_id: m.job_id,
                    nonce: m.nonce,
                    ntime: m.ntime,
                    version: m.version,
                    extranonce: None,
                };
                self.submit(&shared, m.channel_id, m.sequence_number, &work)
                    .await;
            }
            AnyMessage::Mining(Mining::SubmitSharesExtended(m)) => {
                let work = Work {
                    job_id: m.job_id,
                    nonce: m.nonce,
                    ntime: m.ntime,
                    version: m.version,
                    extranonce: Some(m.extranonce.as_bytes()),
                };
                self.submit(&shared, m.channel_id, m.sequence_number, &work)
                    .await;
            }
            AnyMessage::Mining(Mining::UpdateChannel(m)) => self.update_channel(&m),
            AnyMessage::Mining(Mining::CloseChannel(m)) => {
                if let Some(channel) = self.channels.remove(&m.channel_id) {
                    tracing::debug!(peer = %self.conn.peer(), channel = m.channel_id, reason = %text(&m.reason_code), "channel closed");
                    self.shared.registry.leave(channel.address, &channel.worker);
                    self.shared.metrics.v2_channels.dec();
                }
            }
            _ => self.count_unknown(msg_type),
        }
    }

    /// A message this pool does not take from a miner: skipped, counted,
    /// and the connection closed if they flood.
    fn count_unknown(&mut self, msg_type: u8) {
        tracing::debug!(peer = %self.conn.peer(), msg_type, "unexpected V2 message skipped");
        self.count_reject("unknown_message");
        self.roll_minute();
        self.unknown_count += 1;
        if self.unknown_count > MAX_UNKNOWN_PER_MINUTE {
            self.close = true;
        }
    }

    fn count_reject(&self, label: &str) {
        self.shared
            .metrics
            .shares_rejected
            .with_label_values(&[label])
            .inc();
    }

    fn setup_connection(&mut self, m: &SetupConnection<'_>) {
        let error = if m.protocol != Protocol::MiningProtocol {
            Some((0, codes::UNSUPPORTED_PROTOCOL))
        } else if !(m.min_version..=m.max_version).contains(&codes::PROTOCOL_VERSION) {
            Some((0, codes::PROTOCOL_VERSION_MISMATCH))
        } else if m.flags & !codes::SUPPORTED_FLAGS != 0 {
            Some((
                m.flags & !codes::SUPPORTED_FLAGS,
                codes::UNSUPPORTED_FEATURE_FLAGS,
            ))
        } else {
            None
        };
        if let Some((flags, code)) = error {
            tracing::debug!(peer = %self.conn.peer(), code, "SetupConnection refused");
            self.send(AnyMessage::Common(CommonMessages::SetupConnectionError(
                SetupConnectionError {
                    flags,
                    error_code: str0255(code).expect("codes are short"),
                },
            )));
            self.close = true;
            return;
        }
        tracing::debug!(
            peer = %self.conn.peer(),
            vendor = %text(&m.vendor),
            firmware = %text(&m.firmware),
            device = %text(&m.device_id),
            flags = m.flags,
            "V2 connection set up"
        );
        self.setup = Some(m.flags & codes::REQUIRES_STANDARD_JOBS != 0);
        self.deadline = Instant::now() + self.shared.config.idle_timeout;
        // Version rolling is allowed (REQUIRES_FIXED_VERSION unset) and
        // standard channels are welcome (REQUIRES_EXTENDED_CHANNELS unset).
        self.send(AnyMessage::Common(CommonMessages::SetupConnectionSuccess(
            SetupConnectionSuccess {
                used_version: codes::PROTOCOL_VERSION,
                flags: 0,
            },
        )));
    }

    /// Checks what opening a channel needs; the payout identity and the
    /// starting vardiff, or the error code.
    fn open_common(
        &mut self,
        user_identity: &str,
        nominal_hash_rate: f32,
        max_target: &[u8; 32],
    ) -> Result<(Username, Vardiff), &'static str> {
        if self.channels.len() >= self.server.max_channels {
            return Err(codes::TOO_MANY_CHANNELS);
        }
        let user: Username = user_identity.parse().map_err(|e| {
            tracing::debug!(peer = %self.conn.peer(), user_identity, error = %e, "channel refused: not a payout address");
            codes::UNKNOWN_USER
        })?;
        let now = Instant::now();
        let mut vardiff = Vardiff::new(self.shared.vardiff, now);
        // The device's maximum target must leave room for the pool's hardest
        // (compared as targets: difficulties below 2^-32 have none).
        let max_target = target_from_le(max_target);
        if max_target < self.shared.vardiff.max.to_target() {
            return Err(codes::MAX_TARGET_OUT_OF_RANGE);
        }
        let floor = max_target.difficulty_lossy();
        if let Some(d) =
            hash_rate_difficulty(nominal_hash_rate, self.shared.vardiff.target_share_secs)
        {
            vardiff.suggest(d, now);
        }
        vardiff.set_floor(floor, now);
        Ok((user, vardiff))
    }

    fn open_error(&mut self, request_id: u32, code: &str) {
        self.count_reject("channel_refused");
        self.send(AnyMessage::Mining(Mining::OpenMiningChannelError(
            OpenMiningChannelError {
                request_id,
                error_code: str0255(code).expect("codes are short"),
            },
        )));
    }

    /// Registers a new channel; returns its id.
    fn add_channel(&mut self, kind: Kind, user: Username, vardiff: Vardiff) -> u32 {
        let id = self.next_channel_id;
        self.next_channel_id += 1;
        let worker: Arc<str> = Arc::from(user.worker.as_deref().unwrap_or(""));
        self.shared.registry.join(user.address, &worker);
        self.shared.metrics.v2_channels.inc();
        tracing::info!(peer = %self.conn.peer(), channel = id, ?kind, address = %user.address, worker = %worker, "V2 channel opened");
        let prefix = self.shared.next_extranonce1();
        self.channels.insert(
            id,
            Channel::new(id, kind, prefix, user.address, worker, vardiff),
        );
        id
    }

    fn open_standard(&mut self, m: &OpenStandardMiningChannel<'_>) {
        let (user, vardiff) = match self.open_common(
            &text(&m.user_identity),
            m.nominal_hash_rate,
            m.max_target.as_array(),
        ) {
            Ok(ok) => ok,
            Err(code) => return self.open_error(m.request_id, code),
        };
        let id = self.add_channel(Kind::Standard, user, vardiff);
        let channel = &self.channels[&id];
        let prefix = channel.prefix;
        let target = self.current_target(id);
        let target = target_to_le(target);
        self.send(AnyMessage::Mining(
            Mining::OpenStandardMiningChannelSuccess(OpenStandardMiningChannelSuccess {
                request_id: m.request_id,
                channel_id: id,
                target: U256::from(&target),
                extranonce_prefix: (&prefix[..]).try_into().expect("4 bytes fit B032"),
                // No group jobs are sent: standard channels always get standard jobs.
                group_channel_id: 0,
            }),
        ));
        self.first_job(id);
    }

    fn open_extended(&mut self, m: &OpenExtendedMiningChannel<'_>) {
        if self.setup == Some(true) {
            return self.open_error(m.request_id, codes::UNSUPPORTED_CHANNEL);
        }
        let size = self.shared.config.extranonce2_size;
        if usize::from(m.min_extranonce_size) > size {
            return self.open_error(m.request_id, codes::MIN_EXTRANONCE_SIZE_TOO_LARGE);
        }
        let (user, vardiff) = match self.open_common(
            &text(&m.user_identity),
            m.nominal_hash_rate,
            m.max_target.as_array(),
        ) {
            Ok(ok) => ok,
            Err(code) => return self.open_error(m.request_id, code),
        };
        let id = self.add_channel(Kind::Extended, user, vardiff);
        let prefix = self.channels[&id].prefix;
        let target = target_to_le(self.current_target(id));
        self.send(AnyMessage::Mining(
            Mining::OpenExtendedMiningChannelSuccess(OpenExtendedMiningChannelSuccess {
                request_id: m.request_id,
                channel_id: id,
                target: U256::from(&target),
                extranonce_size: size as u16,
                extranonce_prefix: (&prefix[..]).try_into().expect("4 bytes fit B032"),
                group_channel_id: 0,
            }),
        ));
        self.first_job(id);
    }

    /// The target a channel's next job will carry (before any job exists:
    /// against the network target of the latest job, if there is one).
    fn current_target(&self, id: u32) -> ShareTarget {
        let channel = &self.channels[&id];
        match self.jobs_rx.borrow().as_ref() {
            Some(entry) => channel.target_for(entry),
            None => channel.difficulty().to_target(),
        }
    }

    /// A new channel's first job: sent as a future job and activated by
    /// `SetNewPrevHash` (what devices expect before they mine).
    fn first_job(&mut self, id: u32) {
        let job = self.jobs_rx.borrow().clone();
        if let Some(entry) = job {
            self.send_job(id, entry);
        }
    }

    fn on_new_job(&mut self, entry: Arc<JobEntry>) {
        let now = Instant::now();
        let ids: Vec<u32> = self.channels.keys().copied().collect();
        let mut written = 0;
        for id in ids {
            let channel = self.channels.get_mut(&id).expect("listed");
            if channel.newest().is_some_and(|j| j.job.id >= entry.job.id) {
                continue;
            }
            channel.vardiff().on_tick(now);
            self.send_job(id, entry.clone());
            written += 1;
        }
        if written > 0 {
            self.broadcast = Some((entry.job.id.0, entry.created, written));
        }
    }

    /// Writes `entry` to channel `id`: `SetTarget` if the target changed,
    /// the job (future on a new tip), then `SetNewPrevHash` on a new tip.
    fn send_job(&mut self, id: u32, entry: Arc<JobEntry>) {
        let grace = self.shared.config.stale_grace;
        let size = self.shared.config.extranonce2_size;
        let Some(channel) = self.channels.get_mut(&id) else {
            return;
        };
        let sending = channel.send(entry.clone(), Instant::now(), grace);
        let (kind, prefix) = (channel.kind, channel.prefix);
        if let Some(target) = sending.set_target {
            let target = target_to_le(target);
            self.send(AnyMessage::Mining(Mining::SetTarget(SetTarget {
                channel_id: id,
                maximum_target: U256::from(&target),
            })));
        }
        let job = &entry.job;
        let min_ntime = Sv2Option::new((!sending.new_tip).then_some(job.ntime));
        let version = job.version.to_consensus() as u32;
        match kind {
            Kind::Standard => {
                let root = entry.prepared.merkle_root(&prefix, &vec![0; size]);
                let root = bitcoin::hashes::Hash::to_byte_array(root);
                self.send(AnyMessage::Mining(Mining::NewMiningJob(NewMiningJob {
                    channel_id: id,
                    job_id: sending.job_id,
                    min_ntime,
                    version,
                    merkle_root: U256::from(&root),
                })));
            }
            Kind::Extended => {
                let path: Vec<[u8; 32]> = job
                    .merkle_branch
                    .iter()
                    .map(|h| bitcoin::hashes::Hash::to_byte_array(*h))
                    .collect();
                let path = Seq0255::new(path.iter().map(U256::from).collect())
                    .expect("a Merkle branch has under 255 hashes");
                let prefix_bytes: B064K<'_> = job
                    .coinb1
                    .as_slice()
                    .try_into()
                    .expect("coinbase under 64 KB");
                let suffix_bytes: B064K<'_> = job
                    .coinb2
                    .as_slice()
                    .try_into()
                    .expect("coinbase under 64 KB");
                self.send(AnyMessage::Mining(Mining::NewExtendedMiningJob(
                    NewExtendedMiningJob {
                        channel_id: id,
                        job_id: sending.job_id,
                        min_ntime,
                        version,
                        version_rolling_allowed: true,
                        merkle_path: path,
                        coinbase_tx_prefix: prefix_bytes,
                        coinbase_tx_suffix: suffix_bytes,
                    },
                )));
            }
        }
        if sending.new_tip {
            let prev = bitcoin::hashes::Hash::to_byte_array(job.prevhash);
            self.send(AnyMessage::Mining(Mining::SetNewPrevHash(SetNewPrevHash {
                channel_id: id,
                job_id: sending.job_id,
                prev_hash: U256::from(&prev),
                min_ntime: job.ntime,
                nbits: job.nbits.to_consensus(),
            })));
        }
    }

    async fn submit(
        &mut self,
        shared: &Shared,
        channel_id: u32,
        sequence_number: u32,
        work: &Work<'_>,
    ) {
        let started = Instant::now();
        let size = shared.config.extranonce2_size;
        let checked = match self.channels.get_mut(&channel_id) {
            None => Err(Reject::UnknownChannel(channel_id)),
            Some(channel) => channel
                .check(work, size, |tip| shared.is_spent(tip))
                .map(|(share, entry)| (share, entry, channel.address, channel.worker.clone())),
        };
        let (share, entry, address, worker) = match checked {
            Ok(ok) => ok,
            Err(reject) => return self.reject(channel_id, sequence_number, &reject),
        };
        let difficulty = share.target.difficulty_lossy();
        let (accepted, rx) = accept::accept(shared, &entry, share, address, worker);
        self.pending.push_back(Ack {
            channel_id,
            sequence_number,
            difficulty,
            rx,
            started,
        });
        if shared
            .ledger
            .send(LedgerMsg::Share(accepted))
            .await
            .is_err()
        {
            tracing::warn!("ledger closed; share not recorded");
        }
        let retarget = self
            .channels
            .get_mut(&channel_id)
            .and_then(|c| c.vardiff().on_share(started));
        if let Some(d) = retarget {
            tracing::debug!(peer = %self.conn.peer(), channel = channel_id, difficulty = d.as_f64(), "vardiff retarget");
            self.resend_newest(channel_id);
        }
    }

    /// After a difficulty change: the newest job again under a new id,
    /// carrying the new target (shares on earlier ids keep theirs).
    fn resend_newest(&mut self, id: u32) {
        let newest = self.channels.get(&id).and_then(|c| c.newest().cloned());
        if let Some(entry) = newest {
            self.send_job(id, entry);
        }
    }

    fn reject(&mut self, channel_id: u32, sequence_number: u32, reject: &Reject) {
        tracing::debug!(peer = %self.conn.peer(), channel = channel_id, sequence_number, reason = %reject, "V2 share rejected");
        self.count_reject(reject.label());
        self.send(AnyMessage::Mining(Mining::SubmitSharesError(
            SubmitSharesError {
                channel_id,
                sequence_number,
                error_code: str0255(reject.sv2_code()).expect("codes are short"),
            },
        )));
        if reject.is_invalid_share() {
            self.roll_minute();
            self.invalid_count += 1;
            if self.invalid_count > self.shared.config.max_invalid_per_minute {
                self.count_reject(Reject::Banned.label());
                self.shared.ban(self.conn.peer().ip());
                self.close = true;
            }
        }
    }

    /// Starts a new minute for the flood counters when the last one is over.
    fn roll_minute(&mut self) {
        let now = Instant::now();
        if now.duration_since(self.invalid_since) > Duration::from_secs(60) {
            self.invalid_since = now;
            self.invalid_count = 0;
            self.unknown_count = 0;
        }
    }

    fn on_durable(
        &mut self,
        channel_id: u32,
        sequence_number: u32,
        difficulty: f64,
        result: Result<u64, LedgerError>,
        started: Instant,
    ) {
        self.shared
            .metrics
            .submit_latency
            .observe(started.elapsed().as_secs_f64());
        match result {
            Ok(_) => {
                self.shared.metrics.shares_accepted.inc();
                self.shared
                    .metrics
                    .shares_by_protocol
                    .with_label_values(&["v2"])
                    .inc();
                let pos = match self.batches.iter().position(|(id, _)| *id == channel_id) {
                    Some(pos) => pos,
                    None => {
                        self.batches.push((channel_id, Batch::default()));
                        self.batches.len() - 1
                    }
                };
                let batch = &mut self.batches[pos].1;
                batch.last_sequence_number = sequence_number;
                batch.count += 1;
                batch.difficulty += difficulty;
            }
            Err(e) => {
                // Successes gathered so far go first, then this error.
                self.write_batches();
                let reject = Reject::Internal(Arc::new(e));
                self.reject(channel_id, sequence_number, &reject);
            }
        }
    }

    /// Writes one `SubmitShares.Success` per channel with durable shares.
    fn write_batches(&mut self) {
        for (channel_id, batch) in std::mem::take(&mut self.batches) {
            if !self.channels.contains_key(&channel_id) {
                continue;
            }
            self.send(AnyMessage::Mining(Mining::SubmitSharesSuccess(
                SubmitSharesSuccess {
                    channel_id,
                    last_sequence_number: batch.last_sequence_number,
                    new_submits_accepted_count: batch.count,
                    new_shares_sum: batch.difficulty.round() as u64,
                },
            )));
        }
    }

    fn update_channel(&mut self, m: &UpdateChannel<'_>) {
        let target_secs = self.shared.vardiff.target_share_secs;
        let hardest = self.shared.vardiff.max.to_target();
        let Some(channel) = self.channels.get_mut(&m.channel_id) else {
            self.count_reject("unknown_channel");
            self.send(AnyMessage::Mining(Mining::UpdateChannelError(
                UpdateChannelError {
                    channel_id: m.channel_id,
                    error_code: str0255(codes::INVALID_CHANNEL_ID).expect("codes are short"),
                },
            )));
            return;
        };
        let max_target = target_from_le(m.maximum_target.as_array());
        let floor = max_target.difficulty_lossy();
        if max_target < hardest {
            self.send(AnyMessage::Mining(Mining::UpdateChannelError(
                UpdateChannelError {
                    channel_id: m.channel_id,
                    error_code: str0255(codes::MAX_TARGET_OUT_OF_RANGE).expect("codes are short"),
                },
            )));
            return;
        }
        let now = Instant::now();
        let before = channel.vardiff().difficulty();
        if let Some(d) = hash_rate_difficulty(m.nominal_hash_rate, target_secs) {
            channel.vardiff().suggest(d, now);
        }
        channel.vardiff().set_floor(floor, now);
        if channel.vardiff().difficulty() != before {
            self.resend_newest(m.channel_id);
        }
    }
}

/// The difficulty a miner of `hash_rate` H/s needs for one share every
/// `secs` (difficulty 1 is 2^32 hashes); `None` for a rate of 0 or less.
fn hash_rate_difficulty(hash_rate: f32, secs: f64) -> Option<f64> {
    (hash_rate.is_finite() && hash_rate > 0.0)
        .then(|| f64::from(hash_rate) * secs / 4_294_967_296.0)
}

/// The front share's durability (the caller checks there is one).
async fn front_ack(pending: &mut VecDeque<Ack>) -> Result<u64, LedgerError> {
    match pending.front_mut() {
        Some(ack) => (&mut ack.rx).await.unwrap_or(Err(LedgerError::Closed)),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_rate_gives_the_difficulty_for_the_share_interval() {
        assert_eq!(hash_rate_difficulty(0.0, 10.0), None);
        assert_eq!(hash_rate_difficulty(f32::NAN, 10.0), None);
        let d = hash_rate_difficulty(4_294_967_296.0, 10.0).unwrap();
        assert!((d - 10.0).abs() < 1e-9);
    }
}
