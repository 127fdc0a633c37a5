//! The ledger: the one task that owns the window and the order of the share
//! log. Every accepted share, every job and every found block passes
//! through it, so that a job record's `window_seq` is exactly the number of
//! share records before it and its coinbase commits to the window root at
//! that point.
//!
//! It runs on its own thread (the store's flush blocks) and works in rounds:
//! take every message that has arrived, apply them in order (shares get
//! sequence numbers and enter the window; templates become jobs), write all
//! of it in one sled batch, flush once, then acknowledge every share of the
//! round. One flush serves every share that arrived meanwhile (group commit),
//! and no share is acknowledged before it is durable.
//!
//! Nothing of a round leaves the ledger before its batch is durable: shares
//! are acknowledged, jobs broadcast (or handed to the sessions that asked)
//! and the API's accounts updated only after the commit. When a commit
//! fails, the round's shares get an error, and the ledger reloads its window,
//! counters and blocks from the store ([`Ledger::restore`]), so the next job
//! commits to exactly the shares in the log; a job minted in the failed
//! round was never sent, and the current template is minted again. If the
//! store cannot even be read back, the ledger stops and the node with it
//! ([`Fatal`]): no further share or job is recorded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bitcoin::{Amount, BlockHash};
use bytes::Bytes;
use share_verifier::log::{BlockRecord, JobRecord, Record, ShareRecord};
use share_verifier::{
    Address, Checked, Job, JobId, PreparedJob, ShareTarget, Window, WindowEntry, WindowRoot,
};
use shareproof_bus::JobMessage;
use tokio::sync::{mpsc, oneshot, watch};

use crate::fatal::Fatal;
use crate::history::{Recorder, Series};
use crate::metrics::Metrics;
use crate::store::{BlockInfo, BlockStatus, LedgerBatch, Store, StoreError};
use shareproof_sources::clock::unix_now;
use shareproof_sources::{CoinbaseBuilder, Template};
use shareproof_stratum::notification;

/// Most messages handled in one round (bounds a round's latency).
const MAX_ROUND: usize = 8192;

/// A job as sessions use it: the job, its hashing midstate, its template
/// (to assemble a block), the window position it commits to, and its
/// `mining.notify` lines serialised once.
#[derive(Debug)]
pub struct JobEntry {
    /// The job as sent.
    pub job: Job,
    /// Cached midstate for validation.
    pub prepared: PreparedJob,
    /// The template it was built from: on the node that minted it (an
    /// edge gets the job over the bus without it, and never assembles a
    /// block itself).
    pub template: Option<Arc<Template>>,
    /// Shares before the commitment.
    pub window_seq: u64,
    /// The committed root.
    pub root: WindowRoot,
    /// The network target.
    pub network_target: ShareTarget,
    /// `mining.notify` with `clean_jobs = true`.
    pub notify_clean: Bytes,
    /// `mining.notify` with `clean_jobs = false`.
    pub notify_keep: Bytes,
    /// When it was minted.
    pub created: Instant,
}

impl JobEntry {
    fn new(job: Job, template: Option<Arc<Template>>, window_seq: u64, root: WindowRoot) -> Self {
        let mut clean = job.clone();
        clean.clean_jobs = true;
        let mut keep = job.clone();
        keep.clean_jobs = false;
        JobEntry {
            prepared: PreparedJob::new(&job),
            network_target: ShareTarget::from_compact(job.nbits).unwrap_or(ShareTarget::MAX),
            notify_clean: Bytes::from(notification::notify(&clean)),
            notify_keep: Bytes::from(notification::notify(&keep)),
            job,
            template,
            window_seq,
            root,
            created: Instant::now(),
        }
    }

    /// A job an edge received from the accounting node.
    pub fn from_message(message: JobMessage) -> Self {
        JobEntry::new(
            message.record.job,
            None,
            message.record.window_seq,
            message.root,
        )
    }

    /// The job as the accounting node announces it to edges.
    pub fn to_message(&self, extranonce1_size: u8, extranonce2_size: u8) -> JobMessage {
        JobMessage {
            record: JobRecord {
                job: self.job.clone(),
                window_seq: self.window_seq,
                extranonce1_size,
                extranonce2_size,
            },
            root: self.root,
        }
    }
}

/// The jobs a node minted recently, by id: the accounting node finds the
/// job of a share that arrives over the bus here (to submit it as a block
/// and record its commitment). The newest [`JobBook::CAPACITY`] are kept.
#[derive(Debug, Default)]
pub struct JobBook {
    jobs: std::collections::BTreeMap<JobId, Arc<JobEntry>>,
}

impl JobBook {
    /// Jobs kept: at one job per 30-second template and a fresh job per
    /// vardiff retarget, hours of jobs, far more than any stale grace.
    pub const CAPACITY: usize = 65_536;

    /// Keeps `job`, forgetting the oldest beyond the capacity.
    pub fn insert(&mut self, job: Arc<JobEntry>) {
        self.jobs.insert(job.job.id, job);
        while self.jobs.len() > Self::CAPACITY {
            self.jobs.pop_first();
        }
    }

    /// The job `id`, if it is still kept.
    pub fn get(&self, id: JobId) -> Option<Arc<JobEntry>> {
        self.jobs.get(&id).cloned()
    }
}

/// A share that passed validation, on its way to the log.
#[derive(Debug)]
pub struct AcceptedShare {
    /// The record to log (its `seq` is assigned by the ledger).
    pub record: ShareRecord,
    /// What validation found: its weight (the work of its assigned
    /// target), header hash and rolled version.
    pub checked: Checked,
    /// The worker name after the address.
    pub worker: Arc<str>,
    /// Its sequence on the share stream when it came from an edge through
    /// the bus (stored with it as the accounting node's resume point);
    /// `None` when this node's own Stratum server accepted it.
    pub stream_seq: Option<u64>,
    /// Set when the share is also a block (already submitted).
    pub block: Option<FoundBlock>,
    /// Receives the share's sequence number once it is durable.
    pub reply: oneshot::Sender<Result<u64, LedgerError>>,
}

/// A block found by a share, as submitted, with the commitment of the job
/// it was found on.
#[derive(Debug, Clone)]
pub struct FoundBlock {
    /// Block hash.
    pub hash: BlockHash,
    /// Height.
    pub height: u32,
    /// Reward to the settlement script.
    pub reward: Amount,
    /// The shares before the job's commitment.
    pub window_seq: u64,
    /// The window root its coinbase commits to.
    pub root: WindowRoot,
}

/// Errors the ledger reports to sessions.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LedgerError {
    /// The store failed; the share was not recorded (shared by every
    /// share of the failed round).
    #[error("share not recorded: {0}")]
    Store(#[source] Arc<StoreError>),
    /// The ledger is shutting down.
    #[error("the node is shutting down")]
    Closed,
    /// An edge's share was not stored on the share stream (NATS is away or
    /// has no quorum): the miner hears an error, never a silent loss.
    #[error("share not stored on the share stream: {0}")]
    Bus(#[source] Arc<shareproof_bus::BusError>),
    /// A share from the stream is not the one after the last applied: an
    /// earlier one was refused, so this one waits until the consumer goes
    /// back to the stored position (nothing is applied out of order).
    #[error("stream sequence {got} arrived; the ledger applies {expected} next")]
    OutOfOrder {
        /// The stream sequence that arrived.
        got: u64,
        /// The one the ledger takes next.
        expected: u64,
    },
}

/// Messages to the ledger.
// Shares are nearly all the traffic: boxing them would add an allocation per share.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum LedgerMsg {
    /// Record an accepted share.
    Share(AcceptedShare),
    /// A new template: mint and broadcast a job.
    Template(Arc<Template>),
    /// A session retargeted and needs a job it has not been sent yet.
    FreshJob {
        /// The newest job id the session knows.
        newer_than: JobId,
        /// Where to send it.
        reply: oneshot::Sender<Arc<JobEntry>>,
    },
    /// A submitted block's result.
    BlockStatus {
        /// Block hash.
        hash: BlockHash,
        /// What the source said.
        status: BlockStatus,
    },
    /// A second passed: write the time series' changed chunks even when no
    /// share arrives (sent by `wiring`).
    Tick,
}

/// Seconds between writes of the time series' changed chunks: each write
/// rewrites an active series' open chunks (672 bytes), so a shorter
/// interval multiplies sled's write traffic for charts drawn per minute.
pub const HISTORY_WRITE_SECS: u64 = 5;

/// Per-address accounting read by the API.
#[derive(Debug, Default)]
pub struct Accounts {
    /// Per payout address.
    pub miners: HashMap<Address, MinerAccount>,
    /// Total weight in the window.
    pub window_weight: u128,
    /// Shares in the window.
    pub window_shares: u64,
    /// Work of recent shares, pool-wide.
    pub pool_rate: RateMeter,
    /// Shares recorded since the log began.
    pub shares_total: u64,
    /// Blocks found since the log began (this run's count plus the store's).
    pub blocks_total: u64,
    /// The latest job's window position and root.
    pub committed: Option<(JobId, u64, WindowRoot)>,
}

/// One payout address's numbers.
#[derive(Debug, Default)]
pub struct MinerAccount {
    /// Its weight in the current window.
    pub window_weight: u128,
    /// Its shares in the current window.
    pub window_shares: u64,
    /// Shares accepted since the node started.
    pub shares: u64,
    /// Work of recent shares.
    pub rate: RateMeter,
    /// Per worker: shares since start, recent work and the Unix time of its
    /// last share.
    pub workers: HashMap<Arc<str>, (u64, RateMeter, u64)>,
}

/// Work per 10-second bucket over the last 10 minutes: a hash rate estimate.
#[derive(Debug, Clone)]
pub struct RateMeter {
    buckets: [(u64, f64); 60],
}

impl Default for RateMeter {
    fn default() -> Self {
        RateMeter {
            buckets: [(0, 0.0); 60],
        }
    }
}

impl RateMeter {
    const BUCKET_SECS: u64 = 10;

    /// Adds `work` (expected hashes) at Unix time `now`.
    pub fn add(&mut self, now: u64, work: f64) {
        let slot = now / Self::BUCKET_SECS;
        let b = &mut self.buckets[(slot % 60) as usize];
        if b.0 != slot {
            *b = (slot, 0.0);
        }
        b.1 += work;
    }

    /// Hashes per second over the last 10 minutes (or since `since`, if later).
    pub fn hashrate(&self, now: u64, since: u64) -> f64 {
        let slot = now / Self::BUCKET_SECS;
        let work: f64 = self
            .buckets
            .iter()
            .filter(|(s, _)| *s + 60 > slot && *s <= slot)
            .map(|(_, w)| w)
            .sum();
        let span = (now.saturating_sub(since)).clamp(Self::BUCKET_SECS, 600);
        work / span as f64
    }
}

/// A handle to send to the ledger (cheap to clone).
#[derive(Debug, Clone)]
pub struct LedgerHandle {
    tx: mpsc::Sender<LedgerMsg>,
}

impl LedgerHandle {
    /// A handle and the receiving end of its channel: for a part that
    /// stands where the ledger stands (an edge forwards what its sessions
    /// send to the share bus).
    pub fn channel(capacity: usize) -> (LedgerHandle, mpsc::Receiver<LedgerMsg>) {
        let (tx, rx) = mpsc::channel(capacity);
        (LedgerHandle { tx }, rx)
    }

    /// Sends a message; `Err` when the ledger has stopped.
    pub async fn send(&self, msg: LedgerMsg) -> Result<(), LedgerError> {
        self.tx.send(msg).await.map_err(|_| LedgerError::Closed)
    }
}

/// The ledger's state (owned by its thread).
pub struct Ledger {
    store: Store,
    window: Window,
    next_index: u64,
    next_job: u64,
    coinbase: CoinbaseBuilder,
    template: Option<Arc<Template>>,
    latest: Option<Arc<JobEntry>>,
    jobs_tx: watch::Sender<Option<Arc<JobEntry>>>,
    accounts: Arc<Mutex<Accounts>>,
    metrics: Arc<Metrics>,
    /// Block results that arrived before their share.
    early_status: HashMap<BlockHash, BlockStatus>,
    /// Blocks of this run, to update their status.
    blocks: HashMap<BlockHash, BlockInfo>,
    /// A failed round minted a job that was never sent: mint the current
    /// template again in the next round.
    remint: bool,
    /// Stops the node when the store can no longer be written or read.
    fatal: Fatal,
    /// The last stream sequence applied (0: none), as the store holds it
    /// once the round commits.
    stream_seq: u64,
    /// The jobs minted recently, for shares that arrive over the bus.
    book: Arc<Mutex<JobBook>>,
    /// The charts' time series of durable shares, written at most every
    /// [`HISTORY_WRITE_SECS`] (`history_written`: when last).
    history: Recorder,
    history_written: u64,
}

/// What a round hands out once its batch is durable, and drops when the
/// commit fails.
#[derive(Default)]
struct Round {
    /// Each recorded share's reply and sequence number.
    acks: Vec<(oneshot::Sender<Result<u64, LedgerError>>, u64)>,
    /// Sessions waiting for a job newer than theirs.
    fresh: Vec<(JobId, oneshot::Sender<Arc<JobEntry>>)>,
    /// The newest job minted from a template, to broadcast.
    broadcast: Option<Arc<JobEntry>>,
    /// Every job the round minted, in order.
    minted: Vec<Arc<JobEntry>>,
    /// The accounts' changes, one per recorded share, in order.
    shares: Vec<RecordedShare>,
}

/// One recorded share as the accounts see it.
struct RecordedShare {
    /// The share it evicted from the window.
    evicted: Option<WindowEntry>,
    /// The share itself.
    entry: WindowEntry,
    /// Its worker name.
    worker: Arc<str>,
    /// The block it found.
    block: Option<BlockHash>,
}

/// The ledger's state as the store holds it.
struct Durable {
    window: Window,
    next_index: u64,
    next_job: u64,
    blocks: Vec<BlockInfo>,
    stream_seq: u64,
}

impl Durable {
    /// Reads the counters, rebuilds the window from the last N entries and
    /// reads the blocks.
    fn load(store: &Store) -> Result<Self, StoreError> {
        let recovered = store.recover()?;
        let log2 = store.log_header().log2_slots;
        let first = recovered
            .entries
            .first()
            .map_or(recovered.next_seq, |e| e.seq);
        let mut window = Window::starting_at(log2, first)?;
        for entry in &recovered.entries {
            window.push(*entry)?;
        }
        Ok(Durable {
            window,
            next_index: recovered.next_index,
            next_job: recovered.next_job,
            blocks: store.blocks()?,
            stream_seq: recovered.stream_seq,
        })
    }
}

/// What the rest of the node holds of the ledger.
pub struct LedgerParts {
    /// Sends to the ledger.
    pub handle: LedgerHandle,
    /// The latest job, broadcast.
    pub jobs: watch::Receiver<Option<Arc<JobEntry>>>,
    /// Accounting for the API.
    pub accounts: Arc<Mutex<Accounts>>,
    /// The ledger thread; joins after every handle is dropped (taken by
    /// whoever waits for it).
    pub thread: Option<std::thread::JoinHandle<()>>,
    /// The jobs minted recently (the accounting node's shares from the bus
    /// find theirs here).
    pub book: Arc<Mutex<JobBook>>,
    /// The last stream sequence the store holds applied (0: none): where
    /// the accounting node's consumer resumes.
    pub stream_seq: u64,
}

impl Ledger {
    /// Recovers the window from `store` and starts the ledger thread.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    pub fn start(
        store: Store,
        coinbase: CoinbaseBuilder,
        metrics: Arc<Metrics>,
        fatal: Fatal,
    ) -> Result<LedgerParts, StoreError> {
        let ledger = Self::recover(store, coinbase, metrics, fatal)?;
        let jobs = ledger.jobs_tx.subscribe();
        let accounts = ledger.accounts.clone();
        let (book, stream_seq) = (ledger.book.clone(), ledger.stream_seq);
        let (tx, rx) = mpsc::channel(65_536);
        let thread = std::thread::Builder::new()
            .name("ledger".to_owned())
            .spawn(move || ledger.run(rx))
            .expect("spawning the ledger thread");
        Ok(LedgerParts {
            handle: LedgerHandle { tx },
            jobs,
            accounts,
            thread: Some(thread),
            book,
            stream_seq,
        })
    }

    /// The ledger as `store` left it (its jobs: `jobs_tx.subscribe()`; its
    /// accounts for the API: `accounts`).
    fn recover(
        store: Store,
        coinbase: CoinbaseBuilder,
        metrics: Arc<Metrics>,
        fatal: Fatal,
    ) -> Result<Ledger, StoreError> {
        let durable = Durable::load(&store)?;
        let mut accounts = Accounts::default();
        for entry in durable.window.entries() {
            let m = accounts.miners.entry(entry.address).or_default();
            m.window_weight += entry.weight.get();
            m.window_shares += 1;
            accounts.window_weight += entry.weight.get();
            accounts.window_shares += 1;
        }
        accounts.shares_total = durable.window.next_seq();
        accounts.blocks_total = durable.blocks.len() as u64;
        tracing::info!(
            shares = durable.window.next_seq(),
            records = durable.next_index,
            blocks = durable.blocks.len(),
            next_job = durable.next_job,
            "ledger recovered"
        );
        let (jobs_tx, _) = watch::channel(None);
        Ok(Ledger {
            store,
            window: durable.window,
            next_index: durable.next_index,
            next_job: durable.next_job,
            coinbase,
            template: None,
            latest: None,
            jobs_tx,
            accounts: Arc::new(Mutex::new(accounts)),
            metrics,
            early_status: HashMap::new(),
            blocks: durable.blocks.into_iter().map(|b| (b.hash, b)).collect(),
            remint: false,
            fatal,
            stream_seq: durable.stream_seq,
            book: Arc::default(),
            history: Recorder::default(),
            history_written: 0,
        })
    }

    fn run(mut self, mut rx: mpsc::Receiver<LedgerMsg>) {
        let mut msgs = Vec::with_capacity(1024);
        while let Some(first) = rx.blocking_recv() {
            msgs.push(first);
            while msgs.len() < MAX_ROUND {
                match rx.try_recv() {
                    Ok(m) => msgs.push(m),
                    Err(_) => break,
                }
            }
            if let Err(e) = self.round(&mut msgs) {
                // Dropping the receiver answers every later share with `Closed`.
                // A share log commit failed and the store cannot be read back.
                self.fatal.fail("ledger", e);
                return;
            }
        }
        self.write_history(unix_now(), true);
        tracing::info!(
            shares = self.window.next_seq(),
            "ledger stopped; store flushed"
        );
    }

    /// Applies `msgs` in order, commits them in one batch and, once it is
    /// durable, acknowledges the shares, sends the jobs and updates the
    /// accounts. When the commit fails, the shares get an error and the
    /// ledger goes back to what the store holds.
    ///
    /// # Errors
    /// [`StoreError`] when a commit failed and the store cannot be read back:
    /// the ledger must stop.
    fn round(&mut self, msgs: &mut Vec<LedgerMsg>) -> Result<(), StoreError> {
        let mut round = Round {
            acks: Vec::with_capacity(msgs.len()),
            shares: Vec::with_capacity(msgs.len()),
            ..Round::default()
        };
        let latest_before = self.latest.clone();
        let mut batch = LedgerBatch::default();
        let now = unix_now();
        if std::mem::take(&mut self.remint) {
            if let Some(template) = self.template.clone() {
                let clean = latest_before
                    .as_ref()
                    .is_none_or(|j| j.job.prevhash != template.prevhash);
                self.mint_latest(&template, clean, true, &mut batch, &mut round);
            }
        }
        for msg in msgs.drain(..) {
            match msg {
                LedgerMsg::Share(share) => {
                    if let Some(got) = share.stream_seq {
                        let expected = self.stream_seq + 1;
                        if got != expected {
                            let _ = share
                                .reply
                                .send(Err(LedgerError::OutOfOrder { got, expected }));
                            continue;
                        }
                        self.stream_seq = got;
                    }
                    let seq = self.record_share(&share, now, &mut batch, &mut round);
                    round.acks.push((share.reply, seq));
                }
                LedgerMsg::Template(t) => {
                    let clean = self
                        .template
                        .as_ref()
                        .is_none_or(|old| old.prevhash != t.prevhash);
                    self.template = Some(t.clone());
                    self.mint_latest(&t, clean, true, &mut batch, &mut round);
                }
                LedgerMsg::FreshJob { newer_than, reply } => round.fresh.push((newer_than, reply)),
                LedgerMsg::Tick => {}
                LedgerMsg::BlockStatus { hash, status } => match self.blocks.get_mut(&hash) {
                    Some(info) => {
                        info.status = status;
                        batch.block(info);
                    }
                    None => {
                        self.early_status.insert(hash, status);
                    }
                },
            }
        }
        if !round.fresh.is_empty() {
            self.serve_fresh(&mut batch, &mut round);
        }
        batch.counters(self.next_index, self.window.next_seq(), self.next_job);
        let started = Instant::now();
        let writes = batch.ops > 0;
        let result = self.store.commit(batch);
        if writes {
            self.metrics
                .flush_seconds
                .observe(started.elapsed().as_secs_f64());
        }
        match result {
            Ok(()) => {
                self.publish(round, now);
                Ok(())
            }
            Err(e) => {
                tracing::error!(error = %e, shares = round.acks.len(), "share log commit failed; the round's shares are refused");
                let error = LedgerError::Store(Arc::new(e));
                for (reply, _) in round.acks.drain(..) {
                    let _ = reply.send(Err(error.clone()));
                }
                for share in &round.shares {
                    if let Some(hash) = share.block {
                        tracing::error!(%hash, "a found block's record was not committed: it is not in the share log and will not be settled");
                    }
                }
                self.latest = latest_before;
                self.remint = !round.minted.is_empty();
                self.restore()
            }
        }
    }

    /// Goes back to the state the store holds after a failed commit: the
    /// window, the record and job counters and the blocks. The accounts and
    /// the latest job never saw the round; the job counter may go back too,
    /// as no job of the round was sent.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    fn restore(&mut self) -> Result<(), StoreError> {
        let durable = Durable::load(&self.store)?;
        tracing::warn!(
            shares = durable.window.next_seq(),
            records = durable.next_index,
            next_job = durable.next_job,
            "ledger rolled back to the store"
        );
        self.window = durable.window;
        self.next_index = durable.next_index;
        self.next_job = durable.next_job;
        self.blocks = durable.blocks.into_iter().map(|b| (b.hash, b)).collect();
        self.stream_seq = durable.stream_seq;
        Ok(())
    }

    /// Writes the time series' changed chunks when [`HISTORY_WRITE_SECS`]
    /// have passed since the last write (or `force`). The series are
    /// derived data: a failed write is logged, and the chunks, still held,
    /// are written again with their next change.
    fn write_history(&mut self, now: u64, force: bool) {
        if !force && now < self.history_written + HISTORY_WRITE_SECS {
            return;
        }
        self.history_written = now;
        let chunks = self.history.take_dirty(now);
        if let Err(e) = self.store.write_history(chunks, force) {
            tracing::warn!(error = %e, "time series not written");
        }
    }

    /// A durable round's effects: the accounts, the time series, the
    /// broadcast job, the fresh jobs asked for and the shares'
    /// acknowledgements.
    fn publish(&mut self, round: Round, now: u64) {
        {
            let store = &self.store;
            let mut load = |res, series, index| match store.history_chunk(res, series, index) {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "time series chunk unreadable; restarted empty");
                    None
                }
            };
            for share in &round.shares {
                let work = share.entry.weight.get() as f64;
                self.history.add(Series::Pool, now, work, &mut load);
                self.history
                    .add(Series::Address(share.entry.address), now, work, &mut load);
            }
        }
        self.write_history(now, false);
        {
            let mut accounts = self
                .accounts
                .lock()
                .expect("accounts lock is never poisoned");
            for share in &round.shares {
                account_share(&mut accounts, share, now);
            }
            if !round.minted.is_empty() {
                if let Some(job) = &self.latest {
                    accounts.committed = Some((job.job.id, job.window_seq, job.root));
                }
            }
        }
        if !round.minted.is_empty() {
            let mut book = self.book.lock().expect("job book lock is never poisoned");
            for job in round.minted {
                book.insert(job);
            }
        }
        if let Some(job) = round.broadcast {
            self.jobs_tx.send_replace(Some(job));
        }
        for (reply, seq) in round.acks {
            let _ = reply.send(Ok(seq));
        }
        if let Some(job) = &self.latest {
            for (_, reply) in round.fresh {
                let _ = reply.send(job.clone());
            }
        }
    }

    /// Mints a job from `template` that becomes the latest; `broadcast`
    /// sends it to every session once the round is durable.
    fn mint_latest(
        &mut self,
        template: &Arc<Template>,
        clean: bool,
        broadcast: bool,
        batch: &mut LedgerBatch,
        round: &mut Round,
    ) {
        if let Some(job) = self.mint(template, clean, batch) {
            round.minted.push(job.clone());
            if broadcast {
                round.broadcast = Some(job.clone());
            }
            self.latest = Some(job);
        }
    }

    /// Makes sure a job newer than every waiting session's exists, minting
    /// one (not broadcast: only the sessions that asked switch to it) if
    /// needed; the replies go out once the round is durable.
    fn serve_fresh(&mut self, batch: &mut LedgerBatch, round: &mut Round) {
        let Some(template) = self.template.clone() else {
            round.fresh.clear();
            return;
        };
        let needs_new = round
            .fresh
            .iter()
            .any(|(newer_than, _)| self.latest.as_ref().is_none_or(|j| j.job.id <= *newer_than));
        if needs_new {
            self.mint_latest(&template, false, false, batch, round);
        }
    }

    /// Mints a job from `template` at the current window position and logs it.
    fn mint(
        &mut self,
        template: &Arc<Template>,
        clean: bool,
        batch: &mut LedgerBatch,
    ) -> Option<Arc<JobEntry>> {
        let root = self.window.root();
        let parts = match self.coinbase.build(template, &root) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, height = template.height, "cannot build a coinbase");
                return None;
            }
        };
        let id = JobId(self.next_job);
        self.next_job += 1;
        let ntime = (unix_now() as u32).max(template.time);
        let job = Job {
            id,
            prevhash: template.prevhash,
            coinb1: parts.coinb1,
            coinb2: parts.coinb2,
            merkle_branch: template.merkle_branch.clone(),
            version: template.version,
            nbits: template.nbits,
            ntime,
            clean_jobs: clean,
        };
        let window_seq = self.window.next_seq();
        let record = Record::Job(JobRecord {
            job: job.clone(),
            window_seq,
            extranonce1_size: self.coinbase.extranonce1_size as u8,
            extranonce2_size: self.coinbase.extranonce2_size as u8,
        });
        batch.record(self.next_index, &record);
        self.next_index += 1;
        self.metrics.jobs.inc();
        self.metrics.template_created.set(unix_now() as i64);
        tracing::debug!(job = %id, height = template.height, window_seq, %root, clean, "job minted");
        Some(Arc::new(JobEntry::new(
            job,
            Some(template.clone()),
            window_seq,
            root,
        )))
    }

    fn record_share(
        &mut self,
        share: &AcceptedShare,
        now: u64,
        batch: &mut LedgerBatch,
        round: &mut Round,
    ) -> u64 {
        let seq = self.window.next_seq();
        let n = self.window.slots();
        let evicted = self.window.entry(seq % n).copied();
        let entry = WindowEntry::of_share(seq, share.record.address, &share.checked);
        self.window.push(entry).expect("seq is the window's next");
        let mut record = share.record.clone();
        record.seq = seq;
        batch.record(self.next_index, &Record::Share(record));
        self.next_index += 1;
        batch.entry(&entry);
        if let Some(stream_seq) = share.stream_seq {
            batch.stream_position(stream_seq);
        }

        if let Some(found) = &share.block {
            batch.record(
                self.next_index,
                &Record::Block(BlockRecord {
                    seq,
                    block_hash: found.hash,
                    job_id: share.record.job_id,
                }),
            );
            self.next_index += 1;
            let info = BlockInfo {
                hash: found.hash,
                height: found.height,
                job_id: share.record.job_id,
                share_seq: seq,
                window_seq: found.window_seq,
                root: found.root,
                reward: found.reward,
                finder: entry.address,
                found_at: now,
                status: self
                    .early_status
                    .remove(&found.hash)
                    .unwrap_or(BlockStatus::Submitted),
            };
            batch.block(&info);
            tracing::info!(hash = %found.hash, height = found.height, seq, window_seq = found.window_seq, root = %found.root, "block found");
            self.metrics.blocks_found.inc();
            self.blocks.insert(found.hash, info);
        }
        round.shares.push(RecordedShare {
            evicted,
            entry,
            worker: share.worker.clone(),
            block: share.block.as_ref().map(|b| b.hash),
        });
        seq
    }
}

/// Counts a durable share in the accounts: it leaves the evicted share's
/// miner and enters its own.
fn account_share(accounts: &mut Accounts, share: &RecordedShare, now: u64) {
    if let Some(evicted) = &share.evicted {
        let m = accounts.miners.entry(evicted.address).or_default();
        m.window_weight -= evicted.weight.get();
        m.window_shares -= 1;
        accounts.window_weight -= evicted.weight.get();
        accounts.window_shares -= 1;
    }
    let entry = &share.entry;
    let work = entry.weight.get() as f64;
    let m = accounts.miners.entry(entry.address).or_default();
    m.window_weight += entry.weight.get();
    m.window_shares += 1;
    m.shares += 1;
    m.rate.add(now, work);
    let w = m.workers.entry(share.worker.clone()).or_default();
    w.0 += 1;
    w.1.add(now, work);
    w.2 = now;
    accounts.window_weight += entry.weight.get();
    accounts.window_shares += 1;
    accounts.pool_rate.add(now, work);
    accounts.shares_total = entry.seq + 1;
    if share.block.is_some() {
        accounts.blocks_total += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::block::Version;
    use bitcoin::hashes::Hash;
    use bitcoin::pow::CompactTarget;
    use bitcoin::{Amount, ScriptBuf};
    use share_verifier::log::LogReader;
    use share_verifier::{ShareHash, Weight};
    use tokio_util::sync::CancellationToken;

    fn template(prev: u8) -> Arc<Template> {
        Arc::new(Template {
            height: 1,
            prevhash: BlockHash::from_byte_array([prev; 32]),
            version: Version::from_consensus(0x2000_0000),
            nbits: CompactTarget::from_consensus(0x207f_ffff),
            time: 1_700_000_000,
            min_time: 1_700_000_000,
            coinbase_value: Amount::from_sat(5_000_000_000),
            transactions: vec![],
            witness_commitment: None,
            merkle_branch: vec![],
        })
    }

    fn coinbase() -> CoinbaseBuilder {
        CoinbaseBuilder {
            settlement_script: ScriptBuf::from_hex(
                shareproof_sources::coinbase::DEVNET_SETTLEMENT_SCRIPT,
            )
            .unwrap(),
            pool_tag: b"/shareproof/".to_vec(),
            extranonce1_size: 4,
            extranonce2_size: 8,
        }
    }

    type Reply = oneshot::Receiver<Result<u64, LedgerError>>;

    /// An accepted share of miner `n` on `job` (the ledger does not look at its proof of work).
    fn share(job: &Arc<JobEntry>, n: u8) -> (LedgerMsg, Reply) {
        let (reply, rx) = oneshot::channel();
        let msg = LedgerMsg::Share(AcceptedShare {
            record: ShareRecord {
                seq: 0,
                job_id: job.job.id,
                extranonce1: vec![0; 4],
                extranonce2: vec![n; 8],
                ntime: job.job.ntime,
                nonce: n.into(),
                version: job.job.version,
                address: Address([n; 20]),
                target: ShareTarget::MAX,
            },
            checked: Checked {
                hash: ShareHash::from_byte_array([n; 32]),
                version: job.job.version,
                weight: Weight::new(1000 + u128::from(n)).unwrap(),
                is_block: false,
            },
            worker: Arc::from("rig"),
            stream_seq: None,
            block: None,
            reply,
        });
        (msg, rx)
    }

    fn latest(jobs: &watch::Receiver<Option<Arc<JobEntry>>>) -> Arc<JobEntry> {
        jobs.borrow().clone().expect("a job was broadcast")
    }

    /// The store's log, record by record.
    fn log(store: &Store) -> Vec<Record> {
        let mut file = Vec::new();
        store.export_log(&mut file).unwrap();
        LogReader::new(&file[..])
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn after_a_failed_commit_the_next_job_commits_to_the_shares_in_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), 2).unwrap();
        let fatal = Fatal::new(CancellationToken::new());
        let mut ledger = Ledger::recover(
            store.clone(),
            coinbase(),
            Arc::new(Metrics::new()),
            fatal.clone(),
        )
        .unwrap();
        let jobs = ledger.jobs_tx.subscribe();
        let accounts = ledger.accounts.clone();
        ledger
            .round(&mut vec![LedgerMsg::Template(template(1))])
            .unwrap();
        let first = latest(&jobs);
        assert_eq!(first.window_seq, 0);

        // Two shares are durable.
        let (a, a_reply) = share(&first, 1);
        let (b, b_reply) = share(&first, 2);
        ledger.round(&mut vec![a, b]).unwrap();
        assert_eq!(a_reply.blocking_recv().unwrap().unwrap(), 0);
        assert_eq!(b_reply.blocking_recv().unwrap().unwrap(), 1);

        // The next commit fails: its three shares and the job of its new template.
        store.fail_next_commits(1);
        let (c, c_reply) = share(&first, 3);
        let (d, d_reply) = share(&first, 4);
        let (e, e_reply) = share(&first, 5);
        ledger
            .round(&mut vec![c, LedgerMsg::Template(template(2)), d, e])
            .unwrap();
        for reply in [c_reply, d_reply, e_reply] {
            assert!(matches!(
                reply.blocking_recv().unwrap(),
                Err(LedgerError::Store(_))
            ));
        }
        assert_eq!(
            latest(&jobs).job.id,
            first.job.id,
            "the failed round's job was never sent"
        );
        assert_eq!(accounts.lock().unwrap().shares_total, 2);

        // The next round mints the new template at the window the store holds, and the next
        // share takes the sequence number after the durable ones.
        let (f, f_reply) = share(&first, 6);
        ledger.round(&mut vec![f]).unwrap();
        assert_eq!(f_reply.blocking_recv().unwrap().unwrap(), 2);
        let second = latest(&jobs);
        assert_eq!(second.job.prevhash, template(2).prevhash);
        assert!(second.job.clean_jobs);
        assert_eq!(second.window_seq, 2);
        let mut stored = Window::new(2).unwrap();
        for entry in store.entries(0, 2).unwrap() {
            stored.push(entry).unwrap();
        }
        assert_eq!(second.root, stored.root());

        // The log holds exactly what was acknowledged, and the jobs at their positions.
        let records = log(&store);
        let summary: Vec<(&str, u64)> = records
            .iter()
            .map(|r| match r {
                Record::Job(j) => ("job", j.window_seq),
                Record::Share(s) => ("share", s.seq),
                Record::Block(b) => ("block", b.seq),
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("job", 0),
                ("share", 0),
                ("share", 1),
                ("job", 2),
                ("share", 2)
            ]
        );
        let Record::Share(last) = &records[4] else {
            unreachable!()
        };
        assert_eq!(last.address, Address([6; 20]));

        let accounts = accounts.lock().unwrap();
        assert_eq!((accounts.shares_total, accounts.window_shares), (3, 3));
        assert!(!accounts.miners.contains_key(&Address([3; 20])));
        assert_eq!(accounts.committed, Some((second.job.id, 2, second.root)));
        assert_eq!(store.recover().unwrap().next_seq, 3);
        assert!(fatal.error().is_none());
    }

    /// A share from the bus, at `stream_seq` on the share stream.
    fn streamed(job: &Arc<JobEntry>, n: u8, stream_seq: u64) -> (LedgerMsg, Reply) {
        let (mut msg, rx) = share(job, n);
        if let LedgerMsg::Share(s) = &mut msg {
            s.stream_seq = Some(stream_seq);
        }
        (msg, rx)
    }

    #[test]
    fn the_stream_position_is_durable_with_its_shares_and_shares_apply_in_stream_order_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), 2).unwrap();
        let fatal = Fatal::new(CancellationToken::new());
        let mut ledger =
            Ledger::recover(store.clone(), coinbase(), Arc::new(Metrics::new()), fatal).unwrap();
        let jobs = ledger.jobs_tx.subscribe();
        ledger
            .round(&mut vec![LedgerMsg::Template(template(1))])
            .unwrap();
        let job = latest(&jobs);
        assert_eq!(store.recover().unwrap().stream_seq, 0);

        let (a, _) = streamed(&job, 1, 1);
        let (b, _) = streamed(&job, 2, 2);
        ledger.round(&mut vec![a, b]).unwrap();
        let recovered = store.recover().unwrap();
        assert_eq!((recovered.stream_seq, recovered.next_seq), (2, 2));

        // A failed commit moves neither the shares nor the resume point.
        store.fail_next_commits(1);
        let (c, c_reply) = streamed(&job, 3, 3);
        ledger.round(&mut vec![c]).unwrap();
        assert!(c_reply.blocking_recv().unwrap().is_err());
        let recovered = store.recover().unwrap();
        assert_eq!((recovered.stream_seq, recovered.next_seq), (2, 2));

        // The share after the refused one arrives next: it is refused too,
        // never applied over the gap.
        let (d, d_reply) = streamed(&job, 4, 4);
        ledger.round(&mut vec![d]).unwrap();
        assert!(matches!(
            d_reply.blocking_recv().unwrap(),
            Err(LedgerError::OutOfOrder {
                got: 4,
                expected: 3
            })
        ));
        assert_eq!(store.recover().unwrap().next_seq, 2);

        // Applied again from the stored position: stored once each, in order;
        // a redelivery of an applied one is refused.
        let (c, c_reply) = streamed(&job, 3, 3);
        let (d, d_reply) = streamed(&job, 4, 4);
        let (again, again_reply) = streamed(&job, 4, 4);
        ledger.round(&mut vec![c, d, again]).unwrap();
        assert_eq!(c_reply.blocking_recv().unwrap().unwrap(), 2);
        assert_eq!(d_reply.blocking_recv().unwrap().unwrap(), 3);
        assert!(matches!(
            again_reply.blocking_recv().unwrap(),
            Err(LedgerError::OutOfOrder {
                got: 4,
                expected: 5
            })
        ));
        let recovered = store.recover().unwrap();
        assert_eq!((recovered.stream_seq, recovered.next_seq), (4, 4));
    }

    #[test]
    fn the_job_book_keeps_the_newest_jobs_and_a_job_round_trips_through_its_message() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), 2).unwrap();
        let fatal = Fatal::new(CancellationToken::new());
        let mut ledger =
            Ledger::recover(store, coinbase(), Arc::new(Metrics::new()), fatal).unwrap();
        let jobs = ledger.jobs_tx.subscribe();
        ledger
            .round(&mut vec![LedgerMsg::Template(template(1))])
            .unwrap();
        let job = latest(&jobs);
        // Every minted job is in the book once its round is durable.
        assert!(Arc::ptr_eq(
            &ledger.book.lock().unwrap().get(job.job.id).unwrap(),
            &job
        ));
        let edge = JobEntry::from_message(job.to_message(4, 8));
        assert_eq!(edge.job, job.job);
        assert_eq!((edge.window_seq, edge.root), (job.window_seq, job.root));
        assert_eq!(edge.notify_clean, job.notify_clean);
        assert!(edge.template.is_none());

        let mut book = JobBook::default();
        for id in 0..JobBook::CAPACITY as u64 + 10 {
            let mut entry = JobEntry::from_message(job.to_message(4, 8));
            entry.job.id = JobId(id);
            book.insert(Arc::new(entry));
        }
        assert!(book.get(JobId(9)).is_none());
        assert!(book.get(JobId(10)).is_some());
        assert!(book.get(JobId(JobBook::CAPACITY as u64 + 9)).is_some());
    }

    #[test]
    fn the_ledger_thread_refuses_a_failed_rounds_shares_and_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("db"), 2).unwrap();
        let fatal = Fatal::new(CancellationToken::new());
        let parts = Ledger::start(
            store.clone(),
            coinbase(),
            Arc::new(Metrics::new()),
            fatal.clone(),
        )
        .unwrap();
        let send = |msg| parts.handle.tx.blocking_send(msg).unwrap();
        send(LedgerMsg::Template(template(1)));
        let started = Instant::now();
        while parts.jobs.borrow().is_none() {
            assert!(started.elapsed().as_secs() < 10, "no job");
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        let job = latest(&parts.jobs);

        store.fail_next_commits(1);
        let (a, a_reply) = share(&job, 1);
        send(a);
        assert!(matches!(
            a_reply.blocking_recv().unwrap(),
            Err(LedgerError::Store(_))
        ));
        let (b, b_reply) = share(&job, 2);
        send(b);
        assert_eq!(b_reply.blocking_recv().unwrap().unwrap(), 0);

        drop(parts.handle);
        parts.thread.unwrap().join().unwrap();
        assert!(fatal.error().is_none());
        assert_eq!(store.recover().unwrap().next_seq, 1);
    }
}
