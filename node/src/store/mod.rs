//! The sled store: the share log, the window's entries, found blocks and the
//! embedded chain, durable across crashes.
//!
//! The `ledger` tree holds everything the ledger writes, so that one
//! [`LedgerBatch`] is applied atomically and one flush makes it durable
//! (group commit). Keys are prefixed:
//! - `L` + index (u64 BE): a run of consecutive share log records starting
//!   at that index, exactly [`Record::encode`]'s frames back to back;
//!   exporting them in key order after a [`LogHeader`] gives the auditors'
//!   file.
//! - `E` + seq (u64 BE): the window entries (address, weight, hash: 68
//!   bytes each) of consecutive shares starting at `seq`, to rebuild the
//!   window and any past snapshot without rehashing.
//!
//! One group commit writes its records and entries as a few such runs
//! (at most [`CHUNK_BYTES`] each) rather than one key per share: sled's
//! cost is per key, and per-share keys held the ledger to about 40,000
//! shares/s on two cores.
//! - `B` + block hash: a [`BlockInfo`] (JSON).
//! - `M` + name: counters and the log header.
//!
//! The `history` tree holds the charts' time series (`series.rs`).
//!
//! The `chain` tree belongs to the embedded chain. The `settlement` tree
//! holds a [`SettlementRecord`] per found block (key: block hash), written by
//! the settlement task alone.

mod series;

use std::io::Write;
use std::path::Path;

use alloy::primitives::B256;
use bitcoin::hashes::Hash;
use bitcoin::{Amount, BlockHash};
use serde::{Deserialize, Serialize};
use share_verifier::log::{count_frames, LogHeader, LogWriter, Record};
use share_verifier::{Address, JobId, WindowEntry, WindowRoot, WindowSnapshot};
use shareproof_sources::StoreFailure;

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled failed.
    #[error("store: {0}")]
    Sled(#[from] StoreFailure),
    /// The data dir was made for another window size.
    #[error("the store at {path} holds a log for a 2^{stored}-slot window, the config says 2^{configured}")]
    WindowSize {
        path: String,
        stored: u32,
        configured: u32,
    },
    /// A stored JSON value does not decode.
    #[error("store: corrupt {what}: {source}")]
    Json {
        /// What it holds (`block`, `settlement record`).
        what: &'static str,
        /// Why it does not decode.
        source: serde_json::Error,
    },
    /// A stored time-series chunk of the wrong length.
    #[error("store: corrupt history: {0}")]
    History(#[from] crate::history::ChunkError),
    /// A counter that is not 8 bytes.
    #[error("store: corrupt counter {0:?}")]
    Counter(String),
    /// A run of window entries whose length is not a whole number of entries.
    #[error("store: corrupt window entries: the run at share {first} is {len} bytes, not a multiple of {}", WindowEntry::ENCODED_LEN)]
    EntryRun {
        /// The run's first share.
        first: u64,
        /// Its length in bytes.
        len: usize,
    },
    /// Window entries asked for that the store does not hold.
    #[error("store: corrupt window entries: {present} of shares {from}..{to} present")]
    MissingEntries {
        /// The first share asked for.
        from: u64,
        /// One past the last.
        to: u64,
        /// How many are there.
        present: u64,
    },
    /// A stored share log chunk that ends inside a record.
    #[error("store: corrupt share log: the records from {0} are cut short")]
    LogCut(u64),
    /// The stored entries do not rebuild a window.
    #[error("store: corrupt window: {0}")]
    Window(#[from] share_verifier::window::WindowError),
    /// A stored window entry does not decode.
    #[error("store: corrupt window entry: {0}")]
    Entry(#[from] share_verifier::EntryError),
    /// Writing an export failed.
    #[error("export: {0}")]
    Export(#[from] share_verifier::log::LogError),
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError::Sled(e.into())
    }
}

/// What became of a found block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum BlockStatus {
    /// Submitted, no answer yet.
    Submitted,
    /// The source accepted it.
    Accepted,
    /// Valid, but another block at its height was first (bitcoind's
    /// `inconclusive`): kept on a side branch; settlement follows the best
    /// chain and marks it orphaned unless its branch wins.
    LostRace(String),
    /// The source refused it.
    Rejected(String),
}

/// Everything the node keeps about a found block; what settlement will need.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockInfo {
    /// Block hash (display order in JSON).
    pub hash: BlockHash,
    /// Height.
    pub height: u32,
    /// The job it was built on.
    pub job_id: JobId,
    /// The share that found it.
    pub share_seq: u64,
    /// The window position its coinbase commits to.
    pub window_seq: u64,
    /// The committed window root.
    pub root: WindowRoot,
    /// What the coinbase pays the settlement script (JSON: `reward_sats`).
    #[serde(rename = "reward_sats", with = "bitcoin::amount::serde::as_sat")]
    pub reward: Amount,
    /// The finder's payout address.
    pub finder: Address,
    /// Unix time found.
    pub found_at: u64,
    /// Submission result.
    pub status: BlockStatus,
}

/// Where a found block stands in settlement: found → confirmed → proving →
/// sent → settled, or orphaned / before the checkpoint (never settled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SettlementStatus {
    /// Found, not yet confirmed enough in the light client.
    #[default]
    Found,
    /// Confirmed enough; waiting for funds or for the prover.
    Confirmed,
    /// The proof is being computed.
    Proving,
    /// `settle` was sent (its hash recorded), not yet mined.
    Sent,
    /// Settled on chain.
    Settled,
    /// Left the best chain (or was refused by the source): never settled.
    Orphaned,
    /// At or below the light client's checkpoint: cannot be proven by SPV.
    BeforeCheckpoint,
    /// No proof exists for the block's statement: the contract's
    /// challenge equals an address of the window (probability below
    /// 2N / 2^253, docs/circuit.md). Never settled. (Under statement v1 a
    /// window with more addresses than the key's M; every window proves now.)
    Unprovable,
}

impl SettlementStatus {
    /// Whether nothing more will happen to the block.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            SettlementStatus::Settled
                | SettlementStatus::Orphaned
                | SettlementStatus::BeforeCheckpoint
        )
    }
}

/// The settlement task's record of one found block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SettlementRecord {
    /// Where it stands.
    pub status: SettlementStatus,
    /// Confirmations in the light client at the last check.
    pub confirmations: u64,
    /// The `settle` transaction, once sent (JSON: `0x` hex).
    pub tx_hash: Option<B256>,
    /// Unix time `settle` was sent (for the resend timeout).
    pub sent_at: Option<u64>,
    /// Gas used by `settle`.
    pub gas_used: Option<u64>,
    /// Milliseconds the proof took.
    pub prove_ms: Option<u64>,
    /// Unix time it was settled (as seen by the node).
    pub settled_at: Option<u64>,
    /// The last error, e.g. the contract's revert reason; cleared on success.
    pub error: Option<String>,
}

/// What the ledger needs to resume after a restart.
#[derive(Debug)]
pub struct Recovered {
    /// Records in the log.
    pub next_index: u64,
    /// Shares in the log.
    pub next_seq: u64,
    /// The next job id.
    pub next_job: u64,
    /// The last N window entries, oldest first.
    pub entries: Vec<WindowEntry>,
    /// The share stream's sequence of the last share applied from it (an
    /// accounting node's resume point; 0 when none was).
    pub stream_seq: u64,
}

const META_LOG2: &[u8] = b"Mlog2_slots";
const META_INDEX: &[u8] = b"Mnext_index";
const META_SEQ: &[u8] = b"Mnext_seq";
const META_JOB: &[u8] = b"Mnext_job";
const META_STREAM: &[u8] = b"Mstream_seq";

/// The store's handles (cheap to clone).
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    ledger: sled::Tree,
    settlement: sled::Tree,
    /// The charts' time series (`history.rs`): derived from the shares,
    /// written by the ledger after their commit.
    history: sled::Tree,
    log2_slots: u32,
    /// Tests only: the number of coming commits that fail before writing
    /// anything, as a failing disk would ([`Store::fail_next_commits`]).
    #[cfg(test)]
    failing_commits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// Largest run of records or entries stored under one key: small enough
/// that sled keeps it inline in its pages rather than as a separate blob.
pub const CHUNK_BYTES: usize = 16 * 1024;

/// Writes the ledger makes in one group commit.
#[derive(Debug, Default)]
pub struct LedgerBatch {
    batch: sled::Batch,
    records: Option<Run>,
    entries: Option<Run>,
    /// The last share stream position applied in the batch, written once.
    stream_seq: Option<u64>,
    /// Operations in the batch (0: nothing to commit).
    pub ops: usize,
}

/// Consecutive items (log records or window entries) bound for one key.
#[derive(Debug)]
struct Run {
    first: u64,
    next: u64,
    bytes: Vec<u8>,
}

impl Run {
    /// Makes room for item `at`: closes the run into `batch` when `at` does
    /// not follow it or it is full.
    fn open(slot: &mut Option<Run>, batch: &mut sled::Batch, prefix: u8, at: u64) {
        if slot
            .as_ref()
            .is_some_and(|r| r.next != at || r.bytes.len() >= CHUNK_BYTES)
        {
            Run::close(slot, batch, prefix);
        }
        let run = slot.get_or_insert_with(|| Run {
            first: at,
            next: at,
            bytes: Vec::with_capacity(CHUNK_BYTES + 256),
        });
        run.next += 1;
    }

    fn close(slot: &mut Option<Run>, batch: &mut sled::Batch, prefix: u8) {
        if let Some(run) = slot.take() {
            batch.insert(&key(prefix, run.first)[..], run.bytes);
        }
    }
}

impl LedgerBatch {
    /// Appends a log record at `index`.
    pub fn record(&mut self, index: u64, record: &Record) {
        Run::open(&mut self.records, &mut self.batch, b'L', index);
        record.encode(&mut self.records.as_mut().expect("opened").bytes);
        self.ops += 1;
    }

    /// Stores a window entry.
    pub fn entry(&mut self, entry: &WindowEntry) {
        Run::open(&mut self.entries, &mut self.batch, b'E', entry.seq);
        let run = self.entries.as_mut().expect("opened");
        run.bytes.extend_from_slice(&entry.to_bytes());
        self.ops += 1;
    }

    /// Stores (or updates) a block.
    pub fn block(&mut self, info: &BlockInfo) {
        let mut k = vec![b'B'];
        k.extend_from_slice(info.hash.as_byte_array());
        let v = serde_json::to_vec(info).expect("block info serialises");
        self.batch.insert(k, v);
        self.ops += 1;
    }

    /// Records the counters after this batch.
    pub fn counters(&mut self, next_index: u64, next_seq: u64, next_job: u64) {
        self.batch.insert(META_INDEX, &next_index.to_be_bytes()[..]);
        self.batch.insert(META_SEQ, &next_seq.to_be_bytes()[..]);
        self.batch.insert(META_JOB, &next_job.to_be_bytes()[..]);
    }

    /// Records that the shares of this batch were applied from the share
    /// stream up to stream sequence `seq`: stored in the same batch, so the
    /// resume point and the shares are durable together.
    /// Called per share; the batch keeps the last and writes it once.
    pub fn stream_position(&mut self, seq: u64) {
        if self.stream_seq.is_none() {
            self.ops += 1;
        }
        self.stream_seq = Some(seq);
    }

    /// The sled batch with every open run written.
    fn finish(mut self) -> sled::Batch {
        Run::close(&mut self.records, &mut self.batch, b'L');
        Run::close(&mut self.entries, &mut self.batch, b'E');
        if let Some(seq) = self.stream_seq {
            self.batch.insert(META_STREAM, &seq.to_be_bytes()[..]);
        }
        self.batch
    }
}

fn key(prefix: u8, n: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = prefix;
    k[1..].copy_from_slice(&n.to_be_bytes());
    k
}

fn read_u64(tree: &sled::Tree, k: &[u8]) -> Result<u64, StoreError> {
    match tree.get(k)? {
        None => Ok(0),
        Some(v) => Ok(u64::from_be_bytes(v.as_ref().try_into().map_err(|_| {
            StoreError::Counter(String::from_utf8_lossy(k).into_owned())
        })?)),
    }
}

impl Store {
    /// Opens (or creates) the store in `dir` for a 2^`log2_slots` window.
    ///
    /// # Errors
    /// [`StoreError`] if sled fails or the store was made for another window size.
    pub fn open(dir: &Path, log2_slots: u32) -> Result<Self, StoreError> {
        let db = sled::Config::new()
            .path(dir)
            // The ledger flushes explicitly (group commit); no background timer.
            .flush_every_ms(None)
            .open()?;
        let ledger = db.open_tree("ledger")?;
        match ledger.get(META_LOG2)? {
            Some(v) => {
                let stored = u32::from(v.first().copied().unwrap_or(0));
                if stored != log2_slots {
                    return Err(StoreError::WindowSize {
                        path: dir.display().to_string(),
                        stored,
                        configured: log2_slots,
                    });
                }
            }
            None => {
                ledger.insert(META_LOG2, &[log2_slots as u8])?;
                ledger.flush()?;
            }
        }
        let settlement = db.open_tree("settlement")?;
        let history = db.open_tree("history")?;
        Ok(Store {
            db,
            ledger,
            settlement,
            history,
            log2_slots,
            #[cfg(test)]
            failing_commits: Default::default(),
        })
    }

    /// The last share-stream sequence applied (0: none): where the
    /// accounting node's consumer resumes.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read.
    pub fn stream_seq(&self) -> Result<u64, StoreError> {
        read_u64(&self.ledger, META_STREAM)
    }

    /// The embedded chain's tree.
    ///
    /// # Errors
    /// [`StoreError::Sled`].
    pub fn chain_tree(&self) -> Result<sled::Tree, StoreError> {
        Ok(self.db.open_tree("chain")?)
    }

    /// The share log's header.
    pub fn log_header(&self) -> LogHeader {
        LogHeader {
            log2_slots: self.log2_slots,
        }
    }

    /// Reads the counters and the last N window entries.
    ///
    /// # Errors
    /// [`StoreError`] for sled failures or corrupt values.
    pub fn recover(&self) -> Result<Recovered, StoreError> {
        let next_index = read_u64(&self.ledger, META_INDEX)?;
        let next_seq = read_u64(&self.ledger, META_SEQ)?;
        let next_job = read_u64(&self.ledger, META_JOB)?.max(1);
        let stream_seq = read_u64(&self.ledger, META_STREAM)?;
        let from = next_seq.saturating_sub(1 << self.log2_slots);
        let entries = self.entries(from, next_seq)?;
        Ok(Recovered {
            next_index,
            next_seq,
            next_job,
            entries,
            stream_seq,
        })
    }

    /// Window entries of shares `from..to`, in order.
    ///
    /// # Errors
    /// [`StoreError`] for sled failures, corrupt or missing entries.
    pub fn entries(&self, from: u64, to: u64) -> Result<Vec<WindowEntry>, StoreError> {
        let mut out = Vec::with_capacity(to.saturating_sub(from) as usize);
        if from >= to {
            return Ok(out);
        }
        let missing = |present: usize| StoreError::MissingEntries {
            from,
            to,
            present: present as u64,
        };
        // The run holding `from` starts at or before it.
        let start = match self
            .ledger
            .range(key(b'E', 0)..=key(b'E', from))
            .next_back()
        {
            Some(item) => item?.0,
            None => key(b'E', from)[..].into(),
        };
        let end: sled::IVec = key(b'E', to)[..].into();
        for item in self.ledger.range(start..end) {
            let (k, v) = item?;
            let first = u64::from_be_bytes(k[1..].try_into().expect("9-byte key"));
            if v.len() % WindowEntry::ENCODED_LEN != 0 {
                return Err(StoreError::EntryRun {
                    first,
                    len: v.len(),
                });
            }
            for (seq, bytes) in (first..).zip(v.chunks_exact(WindowEntry::ENCODED_LEN)) {
                if seq < from || seq >= to {
                    continue;
                }
                let expected = from + out.len() as u64;
                if seq != expected {
                    return Err(missing(out.len()));
                }
                out.push(WindowEntry::from_bytes(seq, bytes)?);
            }
        }
        if out.len() as u64 != to - from {
            return Err(missing(out.len()));
        }
        Ok(out)
    }

    /// The window as it was after `window_seq` shares, with its root.
    ///
    /// # Errors
    /// [`StoreError`] if entries are missing or corrupt.
    pub fn snapshot_at(
        &self,
        window_seq: u64,
        root: WindowRoot,
    ) -> Result<WindowSnapshot, StoreError> {
        let n = 1u64 << self.log2_slots;
        let mut entries = self.entries(window_seq.saturating_sub(n), window_seq)?;
        entries.sort_by_key(|e| e.seq % n);
        Ok(WindowSnapshot {
            log2_slots: self.log2_slots,
            next_seq: window_seq,
            root,
            entries,
        })
    }

    /// Applies a batch and makes it durable.
    ///
    /// # Errors
    /// [`StoreError::Sled`].
    pub fn commit(&self, batch: LedgerBatch) -> Result<(), StoreError> {
        if batch.ops == 0 {
            return Ok(());
        }
        #[cfg(test)]
        {
            use std::sync::atomic::Ordering;
            let failing = &self.failing_commits;
            if failing
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Err(
                    sled::Error::Io(std::io::Error::other("injected commit failure")).into(),
                );
            }
        }
        self.ledger.apply_batch(batch.finish())?;
        self.db.flush()?;
        Ok(())
    }

    /// Tests only: the next `count` commits (with something to write) fail
    /// before anything is written.
    #[cfg(test)]
    pub(crate) fn fail_next_commits(&self, count: usize) {
        self.failing_commits
            .store(count, std::sync::atomic::Ordering::SeqCst);
    }

    /// Writes the share log (header and every record) to `out`; returns the
    /// number of records.
    ///
    /// # Errors
    /// [`StoreError`] for sled or write failures.
    pub fn export_log(&self, out: impl Write) -> Result<u64, StoreError> {
        let mut writer = LogWriter::create(out, self.log_header())?;
        let mut n = 0;
        for item in self.ledger.range(key(b'L', 0)..=key(b'L', u64::MAX)) {
            let (k, v) = item?;
            let first = u64::from_be_bytes(k[1..].try_into().expect("9-byte key"));
            n += count_frames(&v).ok_or(StoreError::LogCut(first))?;
            writer.append_raw(&v)?;
        }
        writer.flush()?;
        Ok(n)
    }

    /// Every found block, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] for sled failures or corrupt values.
    pub fn blocks(&self) -> Result<Vec<BlockInfo>, StoreError> {
        let mut out = Vec::new();
        for item in self.ledger.scan_prefix(b"B") {
            let (_, v) = item?;
            out.push(serde_json::from_slice::<BlockInfo>(&v).map_err(|source| {
                StoreError::Json {
                    what: "block",
                    source,
                }
            })?);
        }
        out.sort_by_key(|b| (b.share_seq, b.height));
        Ok(out)
    }

    /// One found block.
    ///
    /// # Errors
    /// [`StoreError`] for sled failures or corrupt values.
    pub fn block(&self, hash: &BlockHash) -> Result<Option<BlockInfo>, StoreError> {
        let mut k = vec![b'B'];
        k.extend_from_slice(hash.as_byte_array());
        match self.ledger.get(k)? {
            None => Ok(None),
            Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(|source| {
                StoreError::Json {
                    what: "block",
                    source,
                }
            })?)),
        }
    }

    /// The settlement record of block `hash` (default: found, nothing done).
    ///
    /// # Errors
    /// [`StoreError`] for sled failures or corrupt values.
    pub fn settlement(&self, hash: &BlockHash) -> Result<SettlementRecord, StoreError> {
        Ok(self.settlement_record(hash)?.unwrap_or_default())
    }

    /// The settlement record of block `hash`, `None` when the settlement
    /// task has not looked at it (or settlement is off).
    ///
    /// # Errors
    /// [`StoreError`] for sled failures or corrupt values.
    pub fn settlement_record(
        &self,
        hash: &BlockHash,
    ) -> Result<Option<SettlementRecord>, StoreError> {
        match self.settlement.get(hash.as_byte_array())? {
            None => Ok(None),
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|source| StoreError::Json {
                    what: "settlement record",
                    source,
                }),
        }
    }

    /// Stores block `hash`'s settlement record durably (flushed before it
    /// returns: a recorded transaction hash must survive a crash).
    ///
    /// # Errors
    /// [`StoreError::Sled`].
    pub fn put_settlement(
        &self,
        hash: &BlockHash,
        record: &SettlementRecord,
    ) -> Result<(), StoreError> {
        let v = serde_json::to_vec(record).expect("a settlement record serialises");
        self.settlement.insert(hash.as_byte_array(), v)?;
        self.settlement.flush()?;
        Ok(())
    }

    /// The window snapshot a found block's coinbase committed to: what the
    /// prover proves for that block.
    ///
    /// # Errors
    /// [`StoreError`] for missing or corrupt data.
    pub fn block_snapshot(&self, hash: &BlockHash) -> Result<Option<WindowSnapshot>, StoreError> {
        match self.block(hash)? {
            None => Ok(None),
            Some(b) => self.snapshot_at(b.window_seq, b.root).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use share_verifier::{ShareHash, Weight, Window};

    fn entry(seq: u64) -> WindowEntry {
        WindowEntry {
            seq,
            address: Address([(seq % 250) as u8 + 1; 20]),
            weight: Weight::new(1000 + u128::from(seq)).unwrap(),
            share_hash: ShareHash::from_byte_array([seq as u8; 32]),
        }
    }

    #[test]
    fn batches_survive_reopening_and_snapshots_rebuild_the_window() {
        let dir = tempfile::tempdir().unwrap();
        let mut window = Window::new(2).unwrap();
        let mut roots = Vec::new();
        {
            let store = Store::open(dir.path(), 2).unwrap();
            let mut batch = LedgerBatch::default();
            for seq in 0..7 {
                roots.push(window.root());
                window.push(entry(seq)).unwrap();
                batch.entry(&entry(seq));
            }
            batch.counters(0, 7, 3);
            store.commit(batch).unwrap();
        }
        assert!(matches!(
            Store::open(dir.path(), 3),
            Err(StoreError::WindowSize { stored: 2, .. })
        ));
        let store = Store::open(dir.path(), 2).unwrap();
        let r = store.recover().unwrap();
        assert_eq!((r.next_seq, r.next_job), (7, 3));
        assert_eq!(
            r.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [3, 4, 5, 6]
        );
        // The window after 5 shares, rebuilt from the store, has the root it had then.
        let snap = store.snapshot_at(5, roots[5]).unwrap();
        assert_eq!(snap.to_window().unwrap().root(), roots[5]);
    }

    fn share(seq: u64) -> Record {
        Record::Share(share_verifier::log::ShareRecord {
            seq,
            job_id: JobId(1),
            extranonce1: vec![1, 2, 3, 4],
            extranonce2: seq.to_le_bytes().to_vec(),
            ntime: 1_700_000_000,
            nonce: seq as u32,
            version: bitcoin::block::Version::from_consensus(0x2000_0000),
            address: Address([7; 20]),
            target: share_verifier::ShareTarget::MAX,
        })
    }

    #[test]
    fn runs_over_many_commits_read_back_in_order_from_any_share() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 4).unwrap();
        // Commits of 1, 700 (several runs: 700 * 68 bytes > CHUNK_BYTES) and 33 shares.
        let mut seq = 0;
        for size in [1u64, 700, 33] {
            let mut batch = LedgerBatch::default();
            for _ in 0..size {
                batch.record(seq, &share(seq));
                batch.entry(&entry(seq));
                seq += 1;
            }
            batch.counters(seq, seq, 2);
            store.commit(batch).unwrap();
        }
        for (from, to) in [
            (0, 734),
            (0, 1),
            (1, 2),
            (250, 251),
            (240, 260),
            (700, 734),
            (733, 734),
        ] {
            let got = store.entries(from, to).unwrap();
            assert_eq!(
                got,
                (from..to).map(entry).collect::<Vec<_>>(),
                "{from}..{to}"
            );
        }
        assert!(store.entries(5, 5).unwrap().is_empty());
        assert!(matches!(
            store.entries(700, 735),
            Err(StoreError::MissingEntries {
                from: 700,
                to: 735,
                present: 34
            })
        ));

        let mut file = Vec::new();
        assert_eq!(store.export_log(&mut file).unwrap(), 734);
        let records: Vec<Record> = share_verifier::log::LogReader::new(&file[..])
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(records, (0..734).map(share).collect::<Vec<_>>());
    }
}
