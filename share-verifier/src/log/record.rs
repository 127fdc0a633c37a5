//! The share log's records and their byte encoding (see `docs/share-log.md`).
//!
//! Every record is framed as `kind (u8) | payload length (u32 LE) | payload |
//! CRC-32 (u32 LE) of kind, length and payload`. Integers are little-endian;
//! hashes are in Bitcoin's internal byte order; targets are big-endian.

use bitcoin::block::Version;
use bitcoin::hashes::Hash;
use bitcoin::pow::CompactTarget;
use bitcoin::{BlockHash, TxMerkleNode};

use crate::address::Address;
use crate::job::{Job, JobId};
use crate::log::LogError;
use crate::share::{Checked, Share};
use crate::target::ShareTarget;

/// Record kind byte of a [`JobRecord`].
pub const KIND_JOB: u8 = 1;
/// Record kind byte of a [`ShareRecord`].
pub const KIND_SHARE: u8 = 2;
/// Record kind byte of a [`BlockRecord`].
pub const KIND_BLOCK: u8 = 3;
/// The largest payload a record may have (a job with a long coinbase and branch).
pub const MAX_PAYLOAD: u32 = 1 << 20;
/// Bytes of framing around a payload: kind, length, CRC.
pub const FRAME_OVERHEAD: usize = 1 + 4 + 4;

/// The number of framed records (`kind | len (u32 LE) | payload | crc`)
/// back to back in `bytes`, `None` if the last one is cut short. Counts
/// frames without decoding them (their CRCs are checked by the reader).
pub fn count_frames(bytes: &[u8]) -> Option<u64> {
    let mut at = 0usize;
    let mut n = 0;
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes.get(at + 1..at + 5)?.try_into().ok()?) as usize;
        at = at.checked_add(FRAME_OVERHEAD + len)?;
        if at > bytes.len() {
            return None;
        }
        n += 1;
    }
    Some(n)
}

/// One record of the share log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A job the pool sent to miners.
    Job(JobRecord),
    /// A share the pool accepted.
    Share(ShareRecord),
    /// A share that was also a block, as submitted to the network.
    Block(BlockRecord),
}

/// A job, written before any share on it, with the window position its
/// coinbase commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// The job as sent in `mining.notify`.
    pub job: Job,
    /// The number of shares accepted before the job's window root was taken:
    /// the coinbase commits to the window at this sequence number. Equals the
    /// number of share records before this record.
    pub window_seq: u64,
    /// extranonce1's size in bytes.
    pub extranonce1_size: u8,
    /// extranonce2's size in bytes.
    pub extranonce2_size: u8,
}

/// An accepted share: everything needed to rebuild its header and slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRecord {
    /// The share's sequence number: 0, 1, 2, … in log order.
    pub seq: u64,
    /// The job it was built on.
    pub job_id: JobId,
    /// The connection's extranonce1.
    pub extranonce1: Vec<u8>,
    /// The miner's extranonce2.
    pub extranonce2: Vec<u8>,
    /// The header's time.
    pub ntime: u32,
    /// The header's nonce.
    pub nonce: u32,
    /// The header's version after rolling.
    pub version: Version,
    /// Who the share pays.
    pub address: Address,
    /// The target the share was assigned (its job's difficulty for that miner).
    pub target: ShareTarget,
}

impl ShareRecord {
    /// The record of a validated share at `seq`, paying `address`: the
    /// submission's fields, the rolled version and the assigned target.
    pub fn of_share(share: Share<Checked>, seq: u64, address: Address) -> ShareRecord {
        let version = share.checked().version;
        let sub = share.submission;
        ShareRecord {
            seq,
            job_id: sub.job_id,
            extranonce1: sub.extranonce1,
            extranonce2: sub.extranonce2,
            ntime: sub.ntime,
            nonce: sub.nonce,
            version,
            address,
            target: share.target,
        }
    }
}

/// A share whose hash met the network target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRecord {
    /// The share that found the block.
    pub seq: u64,
    /// The block's hash.
    pub block_hash: BlockHash,
    /// The job the block was built on.
    pub job_id: JobId,
}

impl Record {
    /// The record's kind byte.
    pub fn kind(&self) -> u8 {
        match self {
            Record::Job(_) => KIND_JOB,
            Record::Share(_) => KIND_SHARE,
            Record::Block(_) => KIND_BLOCK,
        }
    }

    /// Appends the framed record (kind, length, payload, CRC) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.push(self.kind());
        out.extend_from_slice(&[0; 4]);
        match self {
            Record::Job(r) => encode_job(r, out),
            Record::Share(r) => encode_share(r, out),
            Record::Block(r) => {
                out.extend_from_slice(&r.seq.to_le_bytes());
                out.extend_from_slice(r.block_hash.as_byte_array());
                out.extend_from_slice(&r.job_id.0.to_le_bytes());
            }
        }
        let len = (out.len() - start - 5) as u32;
        out[start + 1..start + 5].copy_from_slice(&len.to_le_bytes());
        let crc = crc32fast::hash(&out[start..]);
        out.extend_from_slice(&crc.to_le_bytes());
    }

    /// The framed record as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(128);
        self.encode(&mut out);
        out
    }

    /// Decodes one framed record that fills `bytes` exactly. `index` and
    /// `offset` only label errors.
    ///
    /// # Errors
    /// [`LogError`] naming the record, the field and what is wrong.
    pub fn decode(bytes: &[u8], index: u64, offset: u64) -> Result<Record, LogError> {
        if bytes.len() < FRAME_OVERHEAD {
            return Err(LogError::Truncated {
                record: index,
                offset,
            });
        }
        let kind = bytes[0];
        let len = u32::from_le_bytes(bytes[1..5].try_into().expect("4 bytes"));
        if len > MAX_PAYLOAD {
            return Err(LogError::TooLarge {
                record: index,
                offset,
                len,
            });
        }
        if bytes.len() != FRAME_OVERHEAD + len as usize {
            return Err(LogError::Truncated {
                record: index,
                offset,
            });
        }
        let body_end = 5 + len as usize;
        let crc = u32::from_le_bytes(bytes[body_end..].try_into().expect("4 bytes"));
        if crc32fast::hash(&bytes[..body_end]) != crc {
            return Err(LogError::Checksum {
                record: index,
                offset,
            });
        }
        let mut d = Decoder {
            buf: &bytes[5..body_end],
            pos: 0,
            record: index,
            offset,
        };
        let record = match kind {
            KIND_JOB => Record::Job(decode_job(&mut d)?),
            KIND_SHARE => Record::Share(decode_share(&mut d)?),
            KIND_BLOCK => Record::Block(BlockRecord {
                seq: d.u64("seq")?,
                block_hash: BlockHash::from_byte_array(d.array("block_hash")?),
                job_id: JobId(d.u64("job_id")?),
            }),
            kind => {
                return Err(LogError::UnknownKind {
                    record: index,
                    offset,
                    kind,
                })
            }
        };
        if d.pos != d.buf.len() {
            return Err(d.malformed("payload", format!("{} trailing bytes", d.buf.len() - d.pos)));
        }
        Ok(record)
    }
}

fn encode_job(r: &JobRecord, out: &mut Vec<u8>) {
    let job = &r.job;
    out.extend_from_slice(&job.id.0.to_le_bytes());
    out.extend_from_slice(&r.window_seq.to_le_bytes());
    out.extend_from_slice(job.prevhash.as_byte_array());
    out.extend_from_slice(&job.version.to_consensus().to_le_bytes());
    out.extend_from_slice(&job.nbits.to_consensus().to_le_bytes());
    out.extend_from_slice(&job.ntime.to_le_bytes());
    out.push(u8::from(job.clean_jobs));
    out.push(r.extranonce1_size);
    out.push(r.extranonce2_size);
    out.extend_from_slice(&(job.coinb1.len() as u32).to_le_bytes());
    out.extend_from_slice(&job.coinb1);
    out.extend_from_slice(&(job.coinb2.len() as u32).to_le_bytes());
    out.extend_from_slice(&job.coinb2);
    out.push(job.merkle_branch.len() as u8);
    for node in &job.merkle_branch {
        out.extend_from_slice(node.as_byte_array());
    }
}

fn decode_job(d: &mut Decoder<'_>) -> Result<JobRecord, LogError> {
    let id = JobId(d.u64("job_id")?);
    let window_seq = d.u64("window_seq")?;
    let prevhash = BlockHash::from_byte_array(d.array("prevhash")?);
    let version = Version::from_consensus(d.u32("version")? as i32);
    let nbits = CompactTarget::from_consensus(d.u32("nbits")?);
    let ntime = d.u32("ntime")?;
    let clean_jobs = match d.u8("clean_jobs")? {
        0 => false,
        1 => true,
        v => return Err(d.malformed("clean_jobs", format!("{v} is not 0 or 1"))),
    };
    let extranonce1_size = d.u8("extranonce1_size")?;
    let extranonce2_size = d.u8("extranonce2_size")?;
    let len = d.u32("coinb1 length")? as usize;
    let coinb1 = d.bytes(len, "coinb1")?.to_vec();
    let len = d.u32("coinb2 length")? as usize;
    let coinb2 = d.bytes(len, "coinb2")?.to_vec();
    let count = d.u8("merkle_branch length")?;
    let merkle_branch = (0..count)
        .map(|_| d.array("merkle_branch").map(TxMerkleNode::from_byte_array))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(JobRecord {
        job: Job {
            id,
            prevhash,
            coinb1,
            coinb2,
            merkle_branch,
            version,
            nbits,
            ntime,
            clean_jobs,
        },
        window_seq,
        extranonce1_size,
        extranonce2_size,
    })
}

fn encode_share(r: &ShareRecord, out: &mut Vec<u8>) {
    out.extend_from_slice(&r.seq.to_le_bytes());
    out.extend_from_slice(&r.job_id.0.to_le_bytes());
    out.push(r.extranonce1.len() as u8);
    out.extend_from_slice(&r.extranonce1);
    out.push(r.extranonce2.len() as u8);
    out.extend_from_slice(&r.extranonce2);
    out.extend_from_slice(&r.ntime.to_le_bytes());
    out.extend_from_slice(&r.nonce.to_le_bytes());
    out.extend_from_slice(&r.version.to_consensus().to_le_bytes());
    out.extend_from_slice(&r.address.0);
    out.extend_from_slice(&r.target.to_be_bytes());
}

fn decode_share(d: &mut Decoder<'_>) -> Result<ShareRecord, LogError> {
    let seq = d.u64("seq")?;
    let job_id = JobId(d.u64("job_id")?);
    let len = d.u8("extranonce1 length")? as usize;
    let extranonce1 = d.bytes(len, "extranonce1")?.to_vec();
    let len = d.u8("extranonce2 length")? as usize;
    let extranonce2 = d.bytes(len, "extranonce2")?.to_vec();
    let ntime = d.u32("ntime")?;
    let nonce = d.u32("nonce")?;
    let version = Version::from_consensus(d.u32("version")? as i32);
    let address = Address(d.array("address")?);
    let target = ShareTarget::from_be_bytes(d.array("target")?)
        .map_err(|e| d.malformed("target", e.to_string()))?;
    Ok(ShareRecord {
        seq,
        job_id,
        extranonce1,
        extranonce2,
        ntime,
        nonce,
        version,
        address,
        target,
    })
}

/// Reads a payload field by field, naming the record and field in errors.
struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    record: u64,
    offset: u64,
}

impl<'a> Decoder<'a> {
    fn malformed(&self, field: &'static str, reason: String) -> LogError {
        LogError::Malformed {
            record: self.record,
            offset: self.offset,
            field,
            reason,
        }
    }

    fn bytes(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], LogError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.buf.len())
            .ok_or_else(|| {
                self.malformed(
                    field,
                    format!(
                        "needs {n} bytes, {} left in the payload",
                        self.buf.len() - self.pos
                    ),
                )
            })?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], LogError> {
        Ok(self.bytes(N, field)?.try_into().expect("length checked"))
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, LogError> {
        Ok(self.bytes(1, field)?[0])
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, LogError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, LogError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }
}
