//! One V2 mining channel's state, pure (time and the spent tip are
//! arguments): who mines on it, its extranonce prefix, its vardiff, and the
//! jobs it was sent with the target each was sent at. It decides; the
//! session writes.
//!
//! A V2 share becomes the same [`Submission`] as a V1 share: the channel's
//! 4-byte prefix is extranonce1, and extranonce2 is the miner's extranonce
//! on an extended channel or zeros on a standard one (whose prefix alone
//! makes its work unique). So the share log, the window and the auditor see
//! no difference between the protocols.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bitcoin::BlockHash;
use share_verifier::job::JobError;
use share_verifier::{
    Address, Checked, Difficulty, Share, ShareRules, ShareTarget, Submission, VersionMask,
};
use shareproof_stratum::Reject;

use crate::ledger::JobEntry;
use crate::stratum::accept::Seen;
use crate::vardiff::Vardiff;

/// Jobs of the current tip remembered per channel.
const MAX_JOBS: usize = 8;

/// Standard (header-only: the pool computes the Merkle root) or extended
/// (the miner builds the coinbase and rolls its extranonce).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `OpenStandardMiningChannel`.
    Standard,
    /// `OpenExtendedMiningChannel`.
    Extended,
}

/// A job as sent on this channel.
#[derive(Debug)]
struct SentJob {
    id: u32,
    entry: Arc<JobEntry>,
    target: ShareTarget,
    seen: Seen,
    stale_since: Option<Instant>,
}

/// What to write for a job: a `SetTarget` first when the target changed,
/// the job under `job_id`, and `SetNewPrevHash` after it on a new tip.
#[derive(Debug)]
pub struct Sending {
    /// The channel's id for the job.
    pub job_id: u32,
    /// The new target, when it changed.
    pub set_target: Option<ShareTarget>,
    /// Whether the job starts a new tip (sent as a future job, then
    /// activated by `SetNewPrevHash`).
    pub new_tip: bool,
}

/// The fields of a V2 submit, standard or extended.
#[derive(Debug, Clone, Copy)]
pub struct Work<'a> {
    /// The channel's job id.
    pub job_id: u32,
    /// Header nonce.
    pub nonce: u32,
    /// Header time.
    pub ntime: u32,
    /// The full header version.
    pub version: u32,
    /// The miner's extranonce (extended channels).
    pub extranonce: Option<&'a [u8]>,
}

/// One mining channel.
#[derive(Debug)]
pub struct Channel {
    /// Its id on the connection.
    pub id: u32,
    /// Standard or extended.
    pub kind: Kind,
    /// Its extranonce prefix: unique across V1 connections and V2 channels.
    pub prefix: [u8; 4],
    /// The payout address.
    pub address: Address,
    /// The worker name after the address.
    pub worker: Arc<str>,
    vardiff: Vardiff,
    sent_target: Option<ShareTarget>,
    jobs: VecDeque<SentJob>,
    next_job_id: u32,
}

impl Channel {
    /// A channel with its vardiff.
    pub fn new(
        id: u32,
        kind: Kind,
        prefix: [u8; 4],
        address: Address,
        worker: Arc<str>,
        vardiff: Vardiff,
    ) -> Self {
        Channel {
            id,
            kind,
            prefix,
            address,
            worker,
            vardiff,
            sent_target: None,
            jobs: VecDeque::new(),
            next_job_id: 1,
        }
    }

    /// The vardiff (the session feeds it shares, ticks and `UpdateChannel`).
    pub fn vardiff(&mut self) -> &mut Vardiff {
        &mut self.vardiff
    }

    /// The vardiff's difficulty now.
    pub fn difficulty(&self) -> Difficulty {
        self.vardiff.difficulty()
    }

    /// The newest job sent.
    pub fn newest(&self) -> Option<&Arc<JobEntry>> {
        self.jobs.back().map(|j| &j.entry)
    }

    /// The share target for `entry` now: the vardiff difficulty, never
    /// harder than the network's (a hash that makes a block is always a share).
    pub fn target_for(&self, entry: &JobEntry) -> ShareTarget {
        let network = entry.network_target.difficulty_lossy();
        let d = self.vardiff.difficulty().as_f64().min(network);
        Difficulty::new(d)
            .expect("difficulties are positive")
            .to_target()
    }

    /// Records `entry` as sent (under a new job id) and says what to write.
    /// A new tip makes every earlier job stale; stale jobs are forgotten
    /// after `grace`, and at most [`MAX_JOBS`] of the tip are kept.
    pub fn send(&mut self, entry: Arc<JobEntry>, now: Instant, grace: Duration) -> Sending {
        let new_tip = self
            .jobs
            .back()
            .is_none_or(|j| j.entry.job.prevhash != entry.job.prevhash);
        let target = self.target_for(&entry);
        let set_target = (self.sent_target != Some(target)).then_some(target);
        self.sent_target = Some(target);
        if new_tip {
            for j in &mut self.jobs {
                j.stale_since.get_or_insert(now);
            }
        }
        self.jobs
            .retain(|j| j.stale_since.is_none_or(|t| now.duration_since(t) < grace));
        while self.jobs.iter().filter(|j| j.stale_since.is_none()).count() >= MAX_JOBS {
            if let Some(pos) = self.jobs.iter().position(|j| j.stale_since.is_none()) {
                self.jobs.remove(pos);
            }
        }
        let job_id = self.next_job_id;
        self.next_job_id = self.next_job_id.wrapping_add(1).max(1);
        self.jobs.push_back(SentJob {
            id: job_id,
            entry,
            target,
            seen: Seen::default(),
            stale_since: None,
        });
        Sending {
            job_id,
            set_target,
            new_tip,
        }
    }

    /// Validates a submit through the share-verifier path: the job as this
    /// channel was sent it, held to the target it was sent with, version
    /// bits within BIP320's, no duplicate. `spent` says whether the pool
    /// already found a block on a tip.
    ///
    /// # Errors
    /// The [`Reject`] to answer with (its V2 code by [`Reject::sv2_code`]).
    pub fn check(
        &mut self,
        work: &Work<'_>,
        extranonce2_size: usize,
        spent: impl Fn(&BlockHash) -> bool,
    ) -> Result<(Share<Checked>, Arc<JobEntry>), Reject> {
        let sent = self
            .jobs
            .iter_mut()
            .rev()
            .find(|j| j.id == work.job_id)
            .ok_or(Reject::JobNotFound)?;
        if sent.stale_since.is_some() || spent(&sent.entry.job.prevhash) {
            return Err(Reject::Stale);
        }
        let job = &sent.entry.job;
        // V2 sends the whole version: the bits outside BIP320's must be the job's.
        let mask = VersionMask::BIP320;
        let bits = work.version & mask.0;
        let rolled = mask
            .roll(job.version, Some(bits))
            .map_err(Reject::BadVersionBits)?;
        if rolled.to_consensus() as u32 != work.version {
            return Err(Reject::BadVersionBits(JobError::VersionBitsOutsideMask {
                bits: work.version,
                mask: mask.0,
            }));
        }
        let extranonce2 = match (self.kind, work.extranonce) {
            (Kind::Extended, Some(e)) => e.to_vec(),
            _ => vec![0; extranonce2_size],
        };
        let submission = Submission {
            job_id: job.id,
            extranonce1: self.prefix.to_vec(),
            extranonce2,
            ntime: work.ntime,
            nonce: work.nonce,
            version_bits: Some(bits),
        };
        let rules = ShareRules {
            extranonce1_size: self.prefix.len(),
            extranonce2_size,
            version_mask: mask,
        };
        let share = Share::new(submission, sent.target)
            .validate(job, &sent.entry.prepared, &rules)
            .map_err(Reject::from)?;
        if !sent.seen.insert(&share) {
            return Err(Reject::Duplicate);
        }
        Ok((share, sent.entry.clone()))
    }
}
