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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bitcoin::BlockHash;
use bytes::Bytes;
use share_verifier::log::{BlockRecord, JobRecord, Record, ShareRecord};
use share_verifier::{
    Address, Job, JobId, PreparedJob, ShareHash, ShareTarget, Weight, Window, WindowEntry,
    WindowRoot,
};
use tokio::sync::{mpsc, oneshot, watch};

use crate::api::metrics::Metrics;
use crate::store::{BlockInfo, BlockStatus, LedgerBatch, Store, StoreError};
use crate::stratum::message;
use crate::template::{CoinbaseBuilder, Template};

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
    /// The template it was built from.
    pub template: Arc<Template>,
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
    fn new(job: Job, template: Arc<Template>, window_seq: u64, root: WindowRoot) -> Self {
        let mut clean = job.clone();
        clean.clean_jobs = true;
        let mut keep = job.clone();
        keep.clean_jobs = false;
        JobEntry {
            prepared: PreparedJob::new(&job),
            network_target: ShareTarget::from_compact(job.nbits).unwrap_or(ShareTarget::MAX),
            notify_clean: Bytes::from(message::notify(&clean.to_notify_params())),
            notify_keep: Bytes::from(message::notify(&keep.to_notify_params())),
            job,
            template,
            window_seq,
            root,
            created: Instant::now(),
        }
    }
}

/// A share that passed validation, on its way to the log.
#[derive(Debug)]
pub struct AcceptedShare {
    /// The job it was built on.
    pub job: Arc<JobEntry>,
    /// The record to log (its `seq` is assigned by the ledger).
    pub record: ShareRecord,
    /// Its weight (the work of its assigned target).
    pub weight: Weight,
    /// Its header hash.
    pub hash: ShareHash,
    /// The worker name after the address.
    pub worker: Arc<str>,
    /// Set when the share is also a block (already submitted).
    pub block: Option<FoundBlock>,
    /// Receives the share's sequence number once it is durable.
    pub reply: oneshot::Sender<Result<u64, LedgerError>>,
}

/// A block found by a share, as submitted.
#[derive(Debug, Clone)]
pub struct FoundBlock {
    /// Block hash.
    pub hash: BlockHash,
    /// Height.
    pub height: u32,
    /// Reward to the settlement script, sats.
    pub reward_sats: u64,
}

/// Errors the ledger reports to sessions.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LedgerError {
    /// The store failed; the share was not recorded.
    #[error("share not recorded: {0}")]
    Store(String),
    /// The ledger is shutting down.
    #[error("the node is shutting down")]
    Closed,
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
}

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
    /// Per worker: shares since start and recent work.
    pub workers: HashMap<Arc<str>, (u64, RateMeter)>,
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
}

/// What the rest of the node holds of the ledger.
pub struct LedgerParts {
    /// Sends to the ledger.
    pub handle: LedgerHandle,
    /// The latest job, broadcast.
    pub jobs: watch::Receiver<Option<Arc<JobEntry>>>,
    /// Accounting for the API.
    pub accounts: Arc<Mutex<Accounts>>,
    /// The ledger thread; joins after every handle is dropped.
    pub thread: std::thread::JoinHandle<()>,
}

/// Unix time in seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
    ) -> Result<LedgerParts, StoreError> {
        let recovered = store.recover()?;
        let log2 = store.log_header().log2_slots;
        let first = recovered
            .entries
            .first()
            .map_or(recovered.next_seq, |e| e.seq);
        let mut window = Window::starting_at(log2, first).map_err(|e| StoreError::Corrupt {
            what: "window",
            reason: e.to_string(),
        })?;
        let mut accounts = Accounts::default();
        for entry in &recovered.entries {
            window.push(*entry).map_err(|e| StoreError::Corrupt {
                what: "window",
                reason: e.to_string(),
            })?;
            let m = accounts.miners.entry(entry.address).or_default();
            m.window_weight += entry.weight.get();
            m.window_shares += 1;
            accounts.window_weight += entry.weight.get();
            accounts.window_shares += 1;
        }
        accounts.shares_total = recovered.next_seq;
        let blocks = store.blocks()?;
        accounts.blocks_total = blocks.len() as u64;
        tracing::info!(
            shares = recovered.next_seq,
            records = recovered.next_index,
            blocks = blocks.len(),
            next_job = recovered.next_job,
            "ledger recovered"
        );
        let (tx, rx) = mpsc::channel(65_536);
        let (jobs_tx, jobs) = watch::channel(None);
        let accounts = Arc::new(Mutex::new(accounts));
        let ledger = Ledger {
            store,
            window,
            next_index: recovered.next_index,
            next_job: recovered.next_job,
            coinbase,
            template: None,
            latest: None,
            jobs_tx,
            accounts: accounts.clone(),
            metrics,
            early_status: HashMap::new(),
            blocks: blocks.into_iter().map(|b| (b.hash, b)).collect(),
        };
        let thread = std::thread::Builder::new()
            .name("ledger".to_owned())
            .spawn(move || ledger.run(rx))
            .expect("spawning the ledger thread");
        Ok(LedgerParts {
            handle: LedgerHandle { tx },
            jobs,
            accounts,
            thread,
        })
    }

    fn run(mut self, mut rx: mpsc::Receiver<LedgerMsg>) {
        let mut round = Vec::with_capacity(1024);
        let mut acks: Vec<(oneshot::Sender<Result<u64, LedgerError>>, u64)> =
            Vec::with_capacity(1024);
        let mut fresh: Vec<(JobId, oneshot::Sender<Arc<JobEntry>>)> = Vec::new();
        while let Some(first) = rx.blocking_recv() {
            round.push(first);
            while round.len() < MAX_ROUND {
                match rx.try_recv() {
                    Ok(m) => round.push(m),
                    Err(_) => break,
                }
            }
            let mut batch = LedgerBatch::default();
            let now = unix_now();
            let shared_accounts = self.accounts.clone();
            let mut accounts = shared_accounts
                .lock()
                .expect("accounts lock is never poisoned");
            for msg in round.drain(..) {
                match msg {
                    LedgerMsg::Share(share) => {
                        let seq = self.record_share(
                            share.job.as_ref(),
                            &share,
                            now,
                            &mut batch,
                            &mut accounts,
                        );
                        acks.push((share.reply, seq));
                    }
                    LedgerMsg::Template(t) => {
                        let clean = self
                            .template
                            .as_ref()
                            .is_none_or(|old| old.prevhash != t.prevhash);
                        self.template = Some(t.clone());
                        if let Some(job) = self.mint(&t, clean, &mut batch) {
                            accounts.committed = Some((job.job.id, job.window_seq, job.root));
                            self.latest = Some(job.clone());
                            self.jobs_tx.send_replace(Some(job));
                        }
                    }
                    LedgerMsg::FreshJob { newer_than, reply } => fresh.push((newer_than, reply)),
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
            drop(accounts);
            if !fresh.is_empty() {
                self.serve_fresh(&mut fresh, &mut batch);
            }
            batch.counters(self.next_index, self.window.next_seq(), self.next_job);
            let started = Instant::now();
            let result = self.store.commit(batch);
            self.metrics
                .flush_seconds
                .observe(started.elapsed().as_secs_f64());
            match result {
                Ok(()) => {
                    for (reply, seq) in acks.drain(..) {
                        let _ = reply.send(Ok(seq));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "share log commit failed");
                    let e = LedgerError::Store(e.to_string());
                    for (reply, _) in acks.drain(..) {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
        tracing::info!(
            shares = self.window.next_seq(),
            "ledger stopped; store flushed"
        );
    }

    /// Gives each waiting session a job newer than its own, minting one if needed.
    fn serve_fresh(
        &mut self,
        fresh: &mut Vec<(JobId, oneshot::Sender<Arc<JobEntry>>)>,
        batch: &mut LedgerBatch,
    ) {
        let Some(template) = self.template.clone() else {
            fresh.clear();
            return;
        };
        let needs_new = fresh
            .iter()
            .any(|(newer_than, _)| self.latest.as_ref().is_none_or(|j| j.job.id <= *newer_than));
        if needs_new {
            if let Some(job) = self.mint(&template, false, batch) {
                self.accounts.lock().expect("accounts lock").committed =
                    Some((job.job.id, job.window_seq, job.root));
                // Not broadcast: only the sessions that asked switch to it.
                self.latest = Some(job);
            }
        }
        if let Some(job) = &self.latest {
            for (_, reply) in fresh.drain(..) {
                let _ = reply.send(job.clone());
            }
        }
        fresh.clear();
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
            template.clone(),
            window_seq,
            root,
        )))
    }

    fn record_share(
        &mut self,
        job: &JobEntry,
        share: &AcceptedShare,
        now: u64,
        batch: &mut LedgerBatch,
        accounts: &mut Accounts,
    ) -> u64 {
        let seq = self.window.next_seq();
        let n = self.window.slots();
        if let Some(evicted) = self.window.entry(seq % n).copied() {
            let m = accounts.miners.entry(evicted.address).or_default();
            m.window_weight -= evicted.weight.get();
            m.window_shares -= 1;
            accounts.window_weight -= evicted.weight.get();
            accounts.window_shares -= 1;
        }
        let entry = WindowEntry {
            seq,
            address: share.record.address,
            weight: share.weight,
            share_hash: share.hash,
        };
        self.window.push(entry).expect("seq is the window's next");
        let mut record = share.record.clone();
        record.seq = seq;
        batch.record(self.next_index, &Record::Share(record));
        self.next_index += 1;
        batch.entry(&entry);

        let work = share.weight.get() as f64;
        let m = accounts.miners.entry(entry.address).or_default();
        m.window_weight += share.weight.get();
        m.window_shares += 1;
        m.shares += 1;
        m.rate.add(now, work);
        let w = m.workers.entry(share.worker.clone()).or_default();
        w.0 += 1;
        w.1.add(now, work);
        accounts.window_weight += share.weight.get();
        accounts.window_shares += 1;
        accounts.pool_rate.add(now, work);
        accounts.shares_total = seq + 1;

        if let Some(found) = &share.block {
            batch.record(
                self.next_index,
                &Record::Block(BlockRecord {
                    seq,
                    block_hash: found.hash,
                    job_id: job.job.id,
                }),
            );
            self.next_index += 1;
            let info = BlockInfo {
                hash: found.hash,
                height: found.height,
                job_id: job.job.id.0,
                share_seq: seq,
                window_seq: job.window_seq,
                root: job.root,
                reward_sats: found.reward_sats,
                finder: entry.address,
                found_at: now,
                status: self
                    .early_status
                    .remove(&found.hash)
                    .unwrap_or(BlockStatus::Submitted),
            };
            batch.block(&info);
            tracing::info!(hash = %found.hash, height = found.height, seq, window_seq = job.window_seq, root = %job.root, "block found");
            accounts.blocks_total += 1;
            self.metrics.blocks_found.inc();
            self.blocks.insert(found.hash, info);
        }
        seq
    }
}
