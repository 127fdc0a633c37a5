//! Share validation as a typestate: a [`Share<Unchecked>`] is what a miner
//! sent; [`Share::validate`] turns it into a [`Share<Checked>`] only if it
//! follows the job's rules and its hash meets the assigned target.
//!
//! The node validates every submission this way before it is credited; the
//! auditor re-validates every logged share the same way.

use bitcoin::block::Version;

use crate::header::PreparedJob;
use crate::job::{Job, JobError, Submission, VersionMask};
use crate::target::{ShareHash, ShareTarget, TargetError, Weight};

/// The per-connection rules a share is validated under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareRules {
    /// extranonce1's size for this connection, in bytes.
    pub extranonce1_size: usize,
    /// extranonce2's size announced at subscribe, in bytes.
    pub extranonce2_size: usize,
    /// The version bits the miner may roll.
    pub version_mask: VersionMask,
}

/// Why a share is not valid, with the offending values.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShareError {
    /// A malformed field or a rule of the job broken (sizes, version bits, ntime).
    #[error(transparent)]
    Job(#[from] JobError),
    /// The hash does not meet the assigned target.
    #[error("share difficulty {achieved:.6} is below the assigned difficulty {assigned:.6} (hash {hash})")]
    LowDifficulty {
        hash: ShareHash,
        achieved: f64,
        assigned: f64,
    },
    /// The assigned target has no valid weight.
    #[error(transparent)]
    Target(#[from] TargetError),
}

/// A share not yet validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unchecked;

/// What validation established about a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    /// The header's double-SHA256.
    pub hash: ShareHash,
    /// The header version after rolling.
    pub version: Version,
    /// The weight credited: the work of the assigned target.
    pub weight: Weight,
    /// Whether the hash also meets the network target (a block).
    pub is_block: bool,
}

/// A share in state `S` ([`Unchecked`] or [`Checked`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share<S> {
    /// The miner's submission.
    pub submission: Submission,
    /// The assigned target the share is held to (the job's, not the current one).
    pub target: ShareTarget,
    state: S,
}

impl Share<Unchecked> {
    /// A submission held to `target`, not yet validated.
    pub fn new(submission: Submission, target: ShareTarget) -> Self {
        Share {
            submission,
            target,
            state: Unchecked,
        }
    }

    /// Checks sizes, version bits and ntime against `job`, hashes the header
    /// and compares it with the assigned target.
    ///
    /// # Errors
    /// [`ShareError`] naming the first rule the share breaks.
    pub fn validate(
        self,
        job: &Job,
        prepared: &PreparedJob,
        rules: &ShareRules,
    ) -> Result<Share<Checked>, ShareError> {
        let sub = &self.submission;
        if sub.extranonce1.len() != rules.extranonce1_size {
            return Err(JobError::Length {
                field: "extranonce1",
                expected: rules.extranonce1_size,
                got: sub.extranonce1.len(),
            }
            .into());
        }
        if sub.extranonce2.len() != rules.extranonce2_size {
            return Err(JobError::Extranonce2Size {
                expected: rules.extranonce2_size,
                got: sub.extranonce2.len(),
            }
            .into());
        }
        let version = rules.version_mask.roll(job.version, sub.version_bits)?;
        job.check_ntime(sub.ntime)?;
        let weight = self.target.weight()?;
        let hash = prepared.hash(
            &sub.extranonce1,
            &sub.extranonce2,
            sub.ntime,
            sub.nonce,
            version,
        );
        if !self.target.is_met_by(&hash) {
            return Err(ShareError::LowDifficulty {
                hash,
                achieved: hash.difficulty_lossy(),
                assigned: self.target.difficulty_lossy(),
            });
        }
        let is_block =
            ShareTarget::from_compact(job.nbits).is_ok_and(|network| network.is_met_by(&hash));
        Ok(Share {
            submission: self.submission,
            target: self.target,
            state: Checked {
                hash,
                version,
                weight,
                is_block,
            },
        })
    }
}

impl Share<Checked> {
    /// What validation established.
    pub fn checked(&self) -> &Checked {
        &self.state
    }

    /// The header's double-SHA256.
    pub fn hash(&self) -> ShareHash {
        self.state.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobId;
    use crate::target::Difficulty;
    use bitcoin::hashes::Hash;
    use bitcoin::pow::CompactTarget;
    use bitcoin::{BlockHash, TxMerkleNode};

    fn job() -> Job {
        Job {
            id: JobId(9),
            prevhash: BlockHash::from_byte_array([3; 32]),
            coinb1: vec![1; 50],
            coinb2: vec![2; 60],
            merkle_branch: vec![TxMerkleNode::from_byte_array([4; 32])],
            version: Version::from_consensus(0x2000_0000),
            nbits: CompactTarget::from_consensus(0x1d00ffff),
            ntime: 1_700_000_000,
            clean_jobs: false,
        }
    }

    const RULES: ShareRules = ShareRules {
        extranonce1_size: 4,
        extranonce2_size: 8,
        version_mask: VersionMask(0x1fff_e000),
    };

    fn submission(nonce: u32) -> Submission {
        Submission {
            job_id: JobId(9),
            extranonce1: vec![0xaa; 4],
            extranonce2: vec![0; 8],
            ntime: 1_700_000_000,
            nonce,
            version_bits: Some(0x0000_2000),
        }
    }

    /// About 256 hashes per share.
    const EASY: f64 = 1.0 / 16_777_216.0;

    /// Finds a nonce meeting `target` (a few hundred tries at [`EASY`]).
    fn mine(job: &Job, p: &PreparedJob, target: ShareTarget) -> u32 {
        (0u32..)
            .find(|&n| {
                let v = RULES.version_mask.roll(job.version, Some(0x2000)).unwrap();
                target.is_met_by(&p.hash(&[0xaa; 4], &[0; 8], 1_700_000_000, n, v))
            })
            .unwrap()
    }

    #[test]
    fn a_share_meeting_its_target_validates_with_its_weight() {
        let job = job();
        let p = PreparedJob::new(&job);
        let target = Difficulty::new(EASY).unwrap().to_target();
        let nonce = mine(&job, &p, target);
        let share = Share::new(submission(nonce), target)
            .validate(&job, &p, &RULES)
            .unwrap();
        assert_eq!(share.checked().weight, target.weight().unwrap());
        assert_eq!(share.checked().version.to_consensus(), 0x2000_2000);
        assert!(!share.checked().is_block);
    }

    #[test]
    fn low_difficulty_is_reported_with_both_difficulties() {
        let job = job();
        let p = PreparedJob::new(&job);
        let easy = Difficulty::new(EASY).unwrap().to_target();
        let nonce = mine(&job, &p, easy);
        let hard = Difficulty::new(1e9).unwrap().to_target();
        match Share::new(submission(nonce), hard).validate(&job, &p, &RULES) {
            Err(ShareError::LowDifficulty { assigned, .. }) => {
                assert!((assigned - 1e9).abs() < 1.0)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wrong_sizes_version_bits_and_ntime_are_rejected() {
        let job = job();
        let p = PreparedJob::new(&job);
        let t = ShareTarget::MAX;
        let mut s = submission(0);
        s.extranonce2 = vec![0; 4];
        assert_eq!(
            Share::new(s, t).validate(&job, &p, &RULES),
            Err(ShareError::Job(JobError::Extranonce2Size {
                expected: 8,
                got: 4
            }))
        );
        let mut s = submission(0);
        s.version_bits = Some(0x4000_0000);
        assert!(matches!(
            Share::new(s, t).validate(&job, &p, &RULES),
            Err(ShareError::Job(JobError::VersionBitsOutsideMask { .. }))
        ));
        let mut s = submission(0);
        s.ntime = job.ntime - 1;
        assert!(matches!(
            Share::new(s, t).validate(&job, &p, &RULES),
            Err(ShareError::Job(JobError::NtimeOutOfRange { .. }))
        ));
    }
}
