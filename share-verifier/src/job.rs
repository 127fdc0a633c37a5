//! Stratum V1 jobs and submissions as they travel on the wire.
//!
//! A [`Job`] is what `mining.notify` carries; a [`Submission`] is what a
//! miner's `mining.submit` carries plus the connection's extranonce1. Both
//! parse from and print to Stratum's JSON shapes, so the node, the auditor
//! CLI and the captured sessions in the test vectors share one parser.
//! Version rolling (BIP310) is a [`VersionMask`].

use std::fmt;
use std::str::FromStr;

use bitcoin::block::Version;
use bitcoin::hashes::Hash;
use bitcoin::pow::CompactTarget;
use bitcoin::{BlockHash, TxMerkleNode};
use serde_json::{json, Value};

/// How far a miner may roll `ntime` past the job's, in seconds (ckpool's
/// bound; Bitcoin Core accepts headers up to two hours in the future).
pub const MAX_NTIME_ROLL: u32 = 7000;

/// Errors of job and submission parsing and of the per-share rules, each
/// naming the field and the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// A field that must be hex is not.
    #[error("{field} {input:?} is not valid hex")]
    Hex { field: &'static str, input: String },
    /// A field has the wrong length in bytes.
    #[error("{field} must be {expected} bytes, got {got}")]
    Length {
        field: &'static str,
        expected: usize,
        got: usize,
    },
    /// A field has the wrong JSON type.
    #[error("{field} must be {expected}")]
    Type {
        field: &'static str,
        expected: &'static str,
    },
    /// The params array has too few entries.
    #[error("{method} needs at least {expected} params, got {got}")]
    ParamCount {
        method: &'static str,
        expected: usize,
        got: usize,
    },
    /// The miner's extranonce2 is not the size the pool announced at subscribe.
    #[error("extranonce2 must be {expected} bytes, got {got}")]
    Extranonce2Size { expected: usize, got: usize },
    /// The miner rolled version bits outside the negotiated mask (BIP310).
    #[error("version bits {bits:08x} are outside the negotiated mask {mask:08x}")]
    VersionBitsOutsideMask { bits: u32, mask: u32 },
    /// The miner's ntime is before the job's or too far after it.
    #[error("ntime {ntime:08x} is outside {min:08x}..={max:08x}")]
    NtimeOutOfRange { ntime: u32, min: u32, max: u32 },
}

/// A job identifier, sent as 16 hex digits in `mining.notify` (stored and
/// served as its number).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl FromStr for JobId {
    type Err = JobError;
    /// 1 to 16 hex digits.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 16 {
            return Err(JobError::Hex {
                field: "job_id",
                input: s.to_owned(),
            });
        }
        u64::from_str_radix(s, 16)
            .map(JobId)
            .map_err(|_| JobError::Hex {
                field: "job_id",
                input: s.to_owned(),
            })
    }
}

/// A Stratum V1 job: everything a miner needs to build headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Identifies the job in submissions.
    pub id: JobId,
    /// The previous block's hash (on the wire: Stratum's word-swapped hex).
    pub prevhash: BlockHash,
    /// Coinbase bytes before the extranonces.
    pub coinb1: Vec<u8>,
    /// Coinbase bytes after the extranonces.
    pub coinb2: Vec<u8>,
    /// Hashes that fold the coinbase txid into the Merkle root, bottom first.
    pub merkle_branch: Vec<TxMerkleNode>,
    /// Block version before any rolling.
    pub version: Version,
    /// The network target in compact form.
    pub nbits: CompactTarget,
    /// The template's time; miners may roll it forward.
    pub ntime: u32,
    /// Whether miners must drop all earlier jobs.
    pub clean_jobs: bool,
}

impl Job {
    /// Parses the params array of a `mining.notify`:
    /// `[job_id, prevhash, coinb1, coinb2, merkle_branch, version, nbits, ntime, clean_jobs]`.
    ///
    /// # Errors
    /// A [`JobError`] naming the first malformed field.
    pub fn from_notify_params(params: &Value) -> Result<Job, JobError> {
        let params = params.as_array().ok_or(JobError::Type {
            field: "params",
            expected: "an array",
        })?;
        if params.len() < 9 {
            return Err(JobError::ParamCount {
                method: "mining.notify",
                expected: 9,
                got: params.len(),
            });
        }
        let id = str_param(&params[0], "job_id")?.parse()?;
        let prevhash = prevhash_from_stratum(str_param(&params[1], "prevhash")?)?;
        let coinb1 = hex_param(&params[2], "coinb1")?;
        let coinb2 = hex_param(&params[3], "coinb2")?;
        let branch = params[4].as_array().ok_or(JobError::Type {
            field: "merkle_branch",
            expected: "an array of hex strings",
        })?;
        let merkle_branch = branch
            .iter()
            .map(|node| {
                let bytes = fixed_hex::<32>(str_param(node, "merkle_branch")?, "merkle_branch")?;
                Ok(TxMerkleNode::from_byte_array(bytes))
            })
            .collect::<Result<Vec<_>, JobError>>()?;
        let version =
            Version::from_consensus(u32_hex(str_param(&params[5], "version")?, "version")? as i32);
        let nbits =
            CompactTarget::from_consensus(u32_hex(str_param(&params[6], "nbits")?, "nbits")?);
        let ntime = u32_hex(str_param(&params[7], "ntime")?, "ntime")?;
        let clean_jobs = params[8].as_bool().ok_or(JobError::Type {
            field: "clean_jobs",
            expected: "a boolean",
        })?;
        Ok(Job {
            id,
            prevhash,
            coinb1,
            coinb2,
            merkle_branch,
            version,
            nbits,
            ntime,
            clean_jobs,
        })
    }

    /// The params array of the `mining.notify` announcing this job.
    pub fn to_notify_params(&self) -> Value {
        json!([
            self.id.to_string(),
            prevhash_to_stratum(&self.prevhash),
            hex::encode(&self.coinb1),
            hex::encode(&self.coinb2),
            self.merkle_branch
                .iter()
                .map(|n| hex::encode(n.as_byte_array()))
                .collect::<Vec<_>>(),
            format!("{:08x}", self.version.to_consensus() as u32),
            format!("{:08x}", self.nbits.to_consensus()),
            format!("{:08x}", self.ntime),
            self.clean_jobs,
        ])
    }

    /// The serialized coinbase transaction: coinb1 || extranonce1 || extranonce2 || coinb2.
    pub fn coinbase(&self, extranonce1: &[u8], extranonce2: &[u8]) -> Vec<u8> {
        let mut tx = Vec::with_capacity(
            self.coinb1.len() + extranonce1.len() + extranonce2.len() + self.coinb2.len(),
        );
        tx.extend_from_slice(&self.coinb1);
        tx.extend_from_slice(extranonce1);
        tx.extend_from_slice(extranonce2);
        tx.extend_from_slice(&self.coinb2);
        tx
    }

    /// Checks a submitted ntime against this job: not before the job's time
    /// and at most [`MAX_NTIME_ROLL`] seconds after it.
    ///
    /// # Errors
    /// [`JobError::NtimeOutOfRange`].
    pub fn check_ntime(&self, ntime: u32) -> Result<(), JobError> {
        let max = self.ntime.saturating_add(MAX_NTIME_ROLL);
        if ntime < self.ntime || ntime > max {
            return Err(JobError::NtimeOutOfRange {
                ntime,
                min: self.ntime,
                max,
            });
        }
        Ok(())
    }
}

/// One share as a miner submitted it, with its connection's extranonce1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The job the share was built on.
    pub job_id: JobId,
    /// The connection's extranonce1 (assigned by the pool at subscribe).
    pub extranonce1: Vec<u8>,
    /// The miner's extranonce2 (its size fixed by the pool at subscribe).
    pub extranonce2: Vec<u8>,
    /// The header's time.
    pub ntime: u32,
    /// The header's nonce.
    pub nonce: u32,
    /// Rolled version bits (BIP310), when the miner rolls versions.
    pub version_bits: Option<u32>,
}

impl Submission {
    /// Parses a submit's text fields (job id, extranonce2, ntime, nonce and
    /// optional version bits, as Stratum writes them): the one parser of
    /// these fields, behind the node's `mining.submit`, the auditor CLI's
    /// captured sessions and [`Submission::from_submit_params`].
    ///
    /// # Errors
    /// A [`JobError`] naming the first malformed field.
    pub fn from_fields(
        job_id: &str,
        extranonce2: &str,
        ntime: &str,
        nonce: &str,
        version_bits: Option<&str>,
        extranonce1: &[u8],
    ) -> Result<Submission, JobError> {
        Ok(Submission {
            job_id: job_id.parse()?,
            extranonce1: extranonce1.to_vec(),
            extranonce2: hex::decode(extranonce2).map_err(|_| JobError::Hex {
                field: "extranonce2",
                input: extranonce2.to_owned(),
            })?,
            ntime: u32_hex(ntime, "ntime")?,
            nonce: u32_hex(nonce, "nonce")?,
            version_bits: version_bits
                .map(|v| u32_hex(v, "version_bits"))
                .transpose()?,
        })
    }

    /// Parses the params array of a `mining.submit`:
    /// `[worker, job_id, extranonce2, ntime, nonce, version_bits?]`.
    /// Returns the worker name and the submission.
    ///
    /// # Errors
    /// A [`JobError`] naming the first malformed field.
    pub fn from_submit_params(
        params: &Value,
        extranonce1: &[u8],
    ) -> Result<(String, Submission), JobError> {
        let params = params.as_array().ok_or(JobError::Type {
            field: "params",
            expected: "an array",
        })?;
        if params.len() < 5 {
            return Err(JobError::ParamCount {
                method: "mining.submit",
                expected: 5,
                got: params.len(),
            });
        }
        let worker = str_param(&params[0], "worker")?.to_owned();
        let version_bits = match params.get(5) {
            None | Some(Value::Null) => None,
            Some(v) => Some(str_param(v, "version_bits")?),
        };
        let submission = Submission::from_fields(
            str_param(&params[1], "job_id")?,
            str_param(&params[2], "extranonce2")?,
            str_param(&params[3], "ntime")?,
            str_param(&params[4], "nonce")?,
            version_bits,
            extranonce1,
        )?;
        Ok((worker, submission))
    }
}

/// The version bits a miner may roll, negotiated with `mining.configure` (BIP310).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct VersionMask(pub u32);

impl VersionMask {
    /// No rolling allowed.
    pub const NONE: VersionMask = VersionMask(0);
    /// The bits BIP320 frees for rolling, `0x1fffe000`: what a pool offers.
    pub const BIP320: VersionMask = VersionMask(0x1fff_e000);

    /// The mask granted to a miner that asked for `requested`: the bits both
    /// sides allow.
    pub fn negotiate(self, requested: u32) -> VersionMask {
        VersionMask(self.0 & requested)
    }

    /// The header version a share hashes with: the job's version with the
    /// masked bits replaced by the miner's (`(version & !mask) | bits`).
    ///
    /// # Errors
    /// [`JobError::VersionBitsOutsideMask`] when the miner set bits outside the mask.
    pub fn roll(self, version: Version, bits: Option<u32>) -> Result<Version, JobError> {
        let base = version.to_consensus() as u32;
        match bits {
            None => Ok(version),
            Some(bits) if bits & !self.0 != 0 => {
                Err(JobError::VersionBitsOutsideMask { bits, mask: self.0 })
            }
            Some(bits) => Ok(Version::from_consensus(((base & !self.0) | bits) as i32)),
        }
    }
}

/// Parses Stratum's `prevhash`: the 32 bytes of the hash in internal order,
/// each 4-byte word byte-swapped, as 64 hex digits.
///
/// # Errors
/// [`JobError::Hex`] or [`JobError::Length`].
pub fn prevhash_from_stratum(input: &str) -> Result<BlockHash, JobError> {
    let mut bytes = fixed_hex::<32>(input, "prevhash")?;
    for word in bytes.chunks_exact_mut(4) {
        word.reverse();
    }
    Ok(BlockHash::from_byte_array(bytes))
}

/// Prints a block hash in Stratum's word-swapped `prevhash` form.
pub fn prevhash_to_stratum(hash: &BlockHash) -> String {
    let mut bytes = hash.to_byte_array();
    for word in bytes.chunks_exact_mut(4) {
        word.reverse();
    }
    hex::encode(bytes)
}

fn str_param<'a>(value: &'a Value, field: &'static str) -> Result<&'a str, JobError> {
    value.as_str().ok_or(JobError::Type {
        field,
        expected: "a hex string",
    })
}

fn hex_param(value: &Value, field: &'static str) -> Result<Vec<u8>, JobError> {
    let s = str_param(value, field)?;
    hex::decode(s).map_err(|_| JobError::Hex {
        field,
        input: s.to_owned(),
    })
}

fn fixed_hex<const N: usize>(input: &str, field: &'static str) -> Result<[u8; N], JobError> {
    if input.len() != 2 * N {
        return Err(JobError::Length {
            field,
            expected: N,
            got: input.len() / 2,
        });
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(input, &mut out).map_err(|_| JobError::Hex {
        field,
        input: input.to_owned(),
    })?;
    Ok(out)
}

/// A big-endian u32 written as exactly 8 hex digits (nonce, ntime, nbits, version).
fn u32_hex(input: &str, field: &'static str) -> Result<u32, JobError> {
    Ok(u32::from_be_bytes(fixed_hex::<4>(input, field)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notify() -> Value {
        json!([
            "184809ff85923e7d",
            "f5304c7c535061f870374354668bb7087dc26fc39c45ffd0cbdd48c600000000",
            "0200",
            "ffff",
            [],
            "20000000",
            "1e0377ae",
            "6849afec",
            false
        ])
    }

    #[test]
    fn prevhash_word_swap_matches_getblocktemplate() {
        // From the captured session a/: template previousblockhash vs notify prevhash.
        let h = prevhash_from_stratum(
            "f5304c7c535061f870374354668bb7087dc26fc39c45ffd0cbdd48c600000000",
        )
        .unwrap();
        assert_eq!(
            h.to_string(),
            "00000000cbdd48c69c45ffd07dc26fc3668bb70870374354535061f8f5304c7c"
        );
        assert_eq!(
            prevhash_to_stratum(&h),
            "f5304c7c535061f870374354668bb7087dc26fc39c45ffd0cbdd48c600000000"
        );
    }

    #[test]
    fn notify_params_round_trip() {
        let job = Job::from_notify_params(&notify()).unwrap();
        assert_eq!(job.id, JobId(0x184809ff85923e7d));
        assert_eq!(job.nbits.to_consensus(), 0x1e0377ae);
        assert_eq!(job.version.to_consensus(), 0x2000_0000);
        assert_eq!(job.to_notify_params(), notify());
    }

    #[test]
    fn malformed_notify_fields_are_named() {
        let mut n = notify();
        n[6] = json!("1e0377");
        assert_eq!(
            Job::from_notify_params(&n),
            Err(JobError::Length {
                field: "nbits",
                expected: 4,
                got: 3
            })
        );
        let mut n = notify();
        n[2] = json!("0g");
        assert!(matches!(
            Job::from_notify_params(&n),
            Err(JobError::Hex {
                field: "coinb1",
                ..
            })
        ));
        let mut n = notify();
        n[4] = json!(["00"]);
        assert!(matches!(
            Job::from_notify_params(&n),
            Err(JobError::Length {
                field: "merkle_branch",
                ..
            })
        ));
        assert!(matches!(
            Job::from_notify_params(&json!([1])),
            Err(JobError::ParamCount { got: 1, .. })
        ));
        assert!(matches!(
            Job::from_notify_params(&json!({})),
            Err(JobError::Type { .. })
        ));
    }

    #[test]
    fn submit_params_parse_with_and_without_version_bits() {
        let p = json!([
            "w",
            "6878b60200000001",
            "0000000000000000",
            "6878b602",
            "58f90070",
            "083ac000"
        ]);
        let (worker, s) = Submission::from_submit_params(&p, &[1, 2, 3, 4]).unwrap();
        assert_eq!(worker, "w");
        assert_eq!(s.version_bits, Some(0x083a_c000));
        assert_eq!(s.nonce, 0x58f9_0070);
        let p = json!(["w", "01", "00", "6878b602", "58f90070"]);
        assert_eq!(
            Submission::from_submit_params(&p, &[])
                .unwrap()
                .1
                .version_bits,
            None
        );
        let p = json!(["w", "01", "00", "6878b602", "58f900"]);
        assert_eq!(
            Submission::from_submit_params(&p, &[]),
            Err(JobError::Length {
                field: "nonce",
                expected: 4,
                got: 3
            })
        );
    }

    #[test]
    fn version_bits_outside_the_mask_are_rejected() {
        let mask = VersionMask::BIP320.negotiate(0xffff_ffff);
        assert_eq!(mask, VersionMask(0x1fff_e000));
        let v = Version::from_consensus(0x2000_0000);
        assert_eq!(
            mask.roll(v, Some(0x083a_c000)).unwrap().to_consensus(),
            0x283a_c000
        );
        assert_eq!(
            mask.roll(v, Some(0x2000_0001)),
            Err(JobError::VersionBitsOutsideMask {
                bits: 0x2000_0001,
                mask: 0x1fff_e000
            })
        );
        assert!(VersionMask::NONE.roll(v, Some(0x2000)).is_err());
        assert_eq!(VersionMask::NONE.roll(v, None).unwrap(), v);
    }

    #[test]
    fn ntime_must_stay_within_the_roll_window() {
        let job = Job::from_notify_params(&notify()).unwrap();
        assert!(job.check_ntime(job.ntime).is_ok());
        assert!(job.check_ntime(job.ntime + MAX_NTIME_ROLL).is_ok());
        assert!(job.check_ntime(job.ntime - 1).is_err());
        assert!(job.check_ntime(job.ntime + MAX_NTIME_ROLL + 1).is_err());
    }
}
