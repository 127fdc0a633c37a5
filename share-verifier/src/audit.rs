//! Replaying a share log the way an auditor does: every share's proof of
//! work against its assigned target, every job's coinbase against the
//! settlement script and against the window root recomputed at the job's
//! sequence number, every block against its share.
//!
//! [`Auditor`] consumes records one at a time, so the CLI can show progress
//! and stop at any sequence number; it stops at the first bad record.

use std::collections::HashMap;
use std::io::Read;

use bitcoin::block::Version;
use bitcoin::{ScriptBuf, Transaction};

use crate::commitment::{self, CommitmentError};
use crate::header::PreparedJob;
use crate::job::{Job, JobId, Submission, VersionMask};
use crate::log::{BlockRecord, JobRecord, LogError, LogHeader, LogReader, Record, ShareRecord};
use crate::share::{Share, ShareError, ShareRules};
use crate::target::ShareTarget;
use crate::window::{Window, WindowEntry, WindowError, WindowRoot};

/// Why an audit failed: the first bad record and what is wrong with it.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The log could not be read (corrupt, truncated, i/o).
    #[error(transparent)]
    Log(#[from] LogError),
    /// A record was read but contradicts the rules or earlier records.
    #[error("record {record} ({kind}): {fault}")]
    Record {
        record: u64,
        kind: &'static str,
        fault: AuditFault,
    },
    /// The window could not be built (bad window size).
    #[error(transparent)]
    Window(#[from] WindowError),
}

/// What is wrong with one record.
#[derive(Debug, thiserror::Error)]
pub enum AuditFault {
    /// A share or block names a job the log never announced.
    #[error("job {0} does not appear earlier in the log")]
    UnknownJob(JobId),
    /// A job id announced twice.
    #[error("job {0} appears twice")]
    DuplicateJob(JobId),
    /// A job's window position is not where the log puts it.
    #[error("job commits to the window at share {window_seq}, but {shares} shares precede it in the log")]
    JobWindowSeq { window_seq: u64, shares: u64 },
    /// A job's coinbase does not parse as a transaction.
    #[error("coinbase does not parse: {0}")]
    Coinbase(#[source] bitcoin::consensus::encode::Error),
    /// A job's coinbase has no valid commitment.
    #[error("coinbase commitment: {0}")]
    Commitment(#[from] CommitmentError),
    /// A job commits to another root than the log's window at its position.
    #[error("coinbase commits to root {committed} but the window at share {window_seq} has root {recomputed}")]
    RootMismatch {
        committed: WindowRoot,
        recomputed: WindowRoot,
        window_seq: u64,
    },
    /// A job's coinbase pays nothing to the settlement script.
    #[error("coinbase pays nothing to the settlement script {0}")]
    NoReward(String),
    /// Share sequence numbers must count 0, 1, 2, …
    #[error("share sequence number {got}, expected {expected}")]
    SeqGap { expected: u64, got: u64 },
    /// A share's version differs from its job's outside the BIP320 bits.
    #[error(
        "version {version:08x} differs from the job's {job:08x} outside the rollable bits 1fffe000"
    )]
    Version { version: u32, job: u32 },
    /// A share breaks a rule or misses its target.
    #[error(transparent)]
    Share(#[from] ShareError),
    /// A block names a share that is not in the window.
    #[error("block names share {0}, which is not in the window")]
    BlockShare(u64),
    /// A block's hash is not its share's hash.
    #[error("block hash {block} is not share {seq}'s hash {share}")]
    BlockHash {
        seq: u64,
        block: String,
        share: String,
    },
    /// A block's share does not meet the network target.
    #[error("share {0} does not meet its job's network target")]
    BlockTarget(u64),
}

/// A job as the auditor keeps it.
struct AuditedJob {
    job: Job,
    prepared: PreparedJob,
    rules: ShareRules,
}

/// What an audit saw, for the report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditSummary {
    /// Records read.
    pub records: u64,
    /// Job records.
    pub jobs: u64,
    /// Share records (= the next sequence number).
    pub shares: u64,
    /// Block records.
    pub blocks: u64,
    /// The window root after the last share.
    pub root: WindowRoot,
}

/// Replays a share log record by record and checks each one.
pub struct Auditor {
    window: Window,
    jobs: HashMap<JobId, AuditedJob>,
    settlement_script: Option<ScriptBuf>,
    records: u64,
    job_count: u64,
    blocks: u64,
}

impl Auditor {
    /// An auditor for a log with `header`, checking that every coinbase pays
    /// `settlement_script` when one is given.
    ///
    /// # Errors
    /// [`AuditError::Window`] for a window size outside 2^1..=2^24.
    pub fn new(
        header: LogHeader,
        settlement_script: Option<ScriptBuf>,
    ) -> Result<Self, AuditError> {
        Ok(Auditor {
            window: Window::new(header.log2_slots)?,
            jobs: HashMap::new(),
            settlement_script,
            records: 0,
            job_count: 0,
            blocks: 0,
        })
    }

    /// The window as replayed so far.
    pub fn window(&mut self) -> &mut Window {
        &mut self.window
    }

    /// Shares replayed so far (the next sequence number).
    pub fn shares(&self) -> u64 {
        self.window.next_seq()
    }

    /// Checks one record and applies it to the window.
    ///
    /// # Errors
    /// [`AuditError::Record`] naming the record and the fault.
    pub fn check(&mut self, record: &Record) -> Result<(), AuditError> {
        let index = self.records;
        let (kind, result) = match record {
            Record::Job(job) => ("job", self.check_job(job)),
            Record::Share(share) => ("share", self.check_share(share)),
            Record::Block(block) => ("block", self.check_block(block)),
        };
        result.map_err(|fault| AuditError::Record {
            record: index,
            kind,
            fault,
        })?;
        self.records += 1;
        Ok(())
    }

    fn check_job(&mut self, r: &JobRecord) -> Result<(), AuditFault> {
        let job = &r.job;
        if self.jobs.contains_key(&job.id) {
            return Err(AuditFault::DuplicateJob(job.id));
        }
        let shares = self.window.next_seq();
        if r.window_seq != shares {
            return Err(AuditFault::JobWindowSeq {
                window_seq: r.window_seq,
                shares,
            });
        }
        let coinbase = job.coinbase(
            &vec![0; r.extranonce1_size.into()],
            &vec![0; r.extranonce2_size.into()],
        );
        let tx: Transaction =
            bitcoin::consensus::deserialize(&coinbase).map_err(AuditFault::Coinbase)?;
        let (_, committed) = commitment::find_commitment(&tx)?;
        let recomputed = self.window.root();
        if committed != recomputed {
            return Err(AuditFault::RootMismatch {
                committed,
                recomputed,
                window_seq: r.window_seq,
            });
        }
        if let Some(script) = &self.settlement_script {
            if commitment::reward_to(&tx, script) == bitcoin::Amount::ZERO {
                return Err(AuditFault::NoReward(script.to_hex_string()));
            }
        }
        let rules = ShareRules {
            extranonce1_size: r.extranonce1_size.into(),
            extranonce2_size: r.extranonce2_size.into(),
            version_mask: VersionMask::BIP320,
        };
        self.jobs.insert(
            job.id,
            AuditedJob {
                prepared: PreparedJob::new(job),
                job: job.clone(),
                rules,
            },
        );
        self.job_count += 1;
        Ok(())
    }

    fn check_share(&mut self, r: &ShareRecord) -> Result<(), AuditFault> {
        let expected = self.window.next_seq();
        if r.seq != expected {
            return Err(AuditFault::SeqGap {
                expected,
                got: r.seq,
            });
        }
        let audited = self
            .jobs
            .get(&r.job_id)
            .ok_or(AuditFault::UnknownJob(r.job_id))?;
        let job_version = audited.job.version.to_consensus() as u32;
        let version = r.version.to_consensus() as u32;
        let mask = audited.rules.version_mask.0;
        if (version ^ job_version) & !mask != 0 {
            return Err(AuditFault::Version {
                version,
                job: job_version,
            });
        }
        let submission = Submission {
            job_id: r.job_id,
            extranonce1: r.extranonce1.clone(),
            extranonce2: r.extranonce2.clone(),
            ntime: r.ntime,
            nonce: r.nonce,
            version_bits: Some(version & mask),
        };
        let share = Share::new(submission, r.target).validate(
            &audited.job,
            &audited.prepared,
            &audited.rules,
        )?;
        debug_assert_eq!(
            share.checked().version,
            Version::from_consensus(version as i32)
        );
        self.window
            .push(WindowEntry::of_share(r.seq, r.address, share.checked()))
            .expect("sequence number checked above");
        Ok(())
    }

    fn check_block(&mut self, r: &BlockRecord) -> Result<(), AuditFault> {
        let audited = self
            .jobs
            .get(&r.job_id)
            .ok_or(AuditFault::UnknownJob(r.job_id))?;
        let entry = self
            .window
            .entry(r.seq % self.window.slots())
            .filter(|e| e.seq == r.seq)
            .ok_or(AuditFault::BlockShare(r.seq))?;
        if entry.share_hash.to_block_hash() != r.block_hash {
            return Err(AuditFault::BlockHash {
                seq: r.seq,
                block: r.block_hash.to_string(),
                share: entry.share_hash.to_string(),
            });
        }
        let network = ShareTarget::from_compact(audited.job.nbits)
            .map_err(|_| AuditFault::BlockTarget(r.seq))?;
        if !network.is_met_by(&entry.share_hash) {
            return Err(AuditFault::BlockTarget(r.seq));
        }
        self.blocks += 1;
        Ok(())
    }

    /// Reads and checks records until the log ends or, with `stop_at`, until
    /// exactly `stop_at` shares have been replayed. Calls `progress` with the
    /// reader's byte offset after every record. Returns whether the log ended.
    ///
    /// # Errors
    /// The first [`AuditError`]: a corrupt log or a bad record.
    pub fn replay<R: Read>(
        &mut self,
        reader: &mut LogReader<R>,
        stop_at: Option<u64>,
        mut progress: impl FnMut(u64),
    ) -> Result<bool, AuditError> {
        loop {
            if stop_at == Some(self.shares()) {
                return Ok(false);
            }
            let Some(record) = reader.next_record()? else {
                return Ok(true);
            };
            self.check(&record)?;
            progress(reader.offset());
        }
    }

    /// What the audit saw so far, with the current root.
    pub fn summary(&mut self) -> AuditSummary {
        AuditSummary {
            records: self.records,
            jobs: self.job_count,
            shares: self.window.next_seq(),
            blocks: self.blocks,
            root: self.window.root(),
        }
    }
}
