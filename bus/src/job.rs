//! The job message: one job as the accounting node minted it, the one
//! definition the accounting node writes and every edge reads (the share
//! log's own `Job` record frame inside), and the fresh-job request's
//! payload. Where jobs travel is [`crate::board`].
//!
//! Layout of a job message (little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format version (1) |
//! | 9 + len | the share log record frame of the job's `Job` record (job, window position, extranonce sizes) |
//! | 32 | the window root the coinbase commits to, big-endian |

use share_verifier::log::{JobRecord, LogError, Record, FRAME_OVERHEAD};
use share_verifier::{JobId, WindowRoot};

/// The format version this build writes and reads.
pub const JOB_MESSAGE_VERSION: u8 = 1;

/// One job as the accounting node minted it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobMessage {
    /// The job and the window position its coinbase commits to, as the
    /// share log records it.
    pub record: JobRecord,
    /// The window root at that position.
    pub root: WindowRoot,
}

/// Why bytes from the bus are not a job message.
#[derive(Debug, thiserror::Error)]
pub enum JobMessageError {
    /// The message ends before a field, or has bytes after the last.
    #[error("job message has {len} bytes; its fields need {need}")]
    Length {
        /// Its length.
        len: usize,
        /// The length its fields need.
        need: usize,
    },
    /// A format version this build does not read.
    #[error("job message format version {0} is not supported (this build reads version {JOB_MESSAGE_VERSION})")]
    Version(u8),
    /// The embedded record frame does not decode.
    #[error("job message record: {0}")]
    Record(#[from] LogError),
    /// The embedded record is not a job.
    #[error("job message holds a record of kind {0}, not a job")]
    NotAJob(u8),
    /// The root is not a field element.
    #[error("job message root: {0}")]
    Root(#[from] share_verifier::field::FieldError),
}

impl JobMessage {
    /// The encoded message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        out.push(JOB_MESSAGE_VERSION);
        Record::Job(self.record.clone()).encode(&mut out);
        out.extend_from_slice(&self.root.to_be_bytes());
        out
    }

    /// Decodes one message that fills `bytes` exactly.
    ///
    /// # Errors
    /// [`JobMessageError`] naming what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<JobMessage, JobMessageError> {
        let length = |need: usize| JobMessageError::Length {
            len: bytes.len(),
            need,
        };
        let version = *bytes.first().ok_or(length(1))?;
        if version != JOB_MESSAGE_VERSION {
            return Err(JobMessageError::Version(version));
        }
        let head = bytes.get(1..6).ok_or(length(6))?;
        let len = u32::from_le_bytes(head[1..5].try_into().expect("4 bytes")) as usize;
        let frame_end = 1usize.saturating_add(FRAME_OVERHEAD).saturating_add(len);
        let need = frame_end.saturating_add(32);
        if bytes.len() != need {
            return Err(length(need));
        }
        let record = match Record::decode(&bytes[1..frame_end], 0, 1)? {
            Record::Job(r) => r,
            other => return Err(JobMessageError::NotAJob(other.kind())),
        };
        let root = WindowRoot::from_be_bytes(bytes[frame_end..].try_into().expect("32 bytes"))?;
        Ok(JobMessage { record, root })
    }

    /// The job's id.
    pub fn id(&self) -> JobId {
        self.record.job.id
    }
}

/// The job id a fresh-job request carries.
///
/// # Errors
/// [`JobMessageError::Length`] when it is not 8 bytes.
pub fn fresh_request(payload: &[u8]) -> Result<JobId, JobMessageError> {
    let bytes: [u8; 8] = payload.try_into().map_err(|_| JobMessageError::Length {
        len: payload.len(),
        need: 8,
    })?;
    Ok(JobId(u64::from_le_bytes(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::block::Version;
    use bitcoin::hashes::Hash;
    use bitcoin::pow::CompactTarget;
    use share_verifier::Job;

    fn message(id: u64) -> JobMessage {
        JobMessage {
            record: JobRecord {
                job: Job {
                    id: JobId(id),
                    prevhash: bitcoin::BlockHash::from_byte_array([7; 32]),
                    coinb1: vec![1, 2, 3],
                    coinb2: vec![4, 5],
                    merkle_branch: vec![bitcoin::TxMerkleNode::from_byte_array([9; 32])],
                    version: Version::from_consensus(0x2000_0000),
                    nbits: CompactTarget::from_consensus(0x207f_ffff),
                    ntime: 1_700_000_000,
                    clean_jobs: true,
                },
                window_seq: 41,
                extranonce1_size: 4,
                extranonce2_size: 8,
            },
            root: WindowRoot::from_be_bytes([3; 32]).expect("below the modulus"),
        }
    }

    #[test]
    fn a_job_message_round_trips() {
        let m = message(12);
        assert_eq!(JobMessage::decode(&m.to_bytes()).expect("decodes"), m);
    }

    #[test]
    fn every_truncation_and_extension_of_a_job_message_is_refused() {
        let bytes = message(3).to_bytes();
        for cut in 0..bytes.len() {
            assert!(JobMessage::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            JobMessage::decode(&longer),
            Err(JobMessageError::Length { .. })
        ));
        let mut flipped = bytes;
        flipped[10] ^= 1;
        assert!(matches!(
            JobMessage::decode(&flipped),
            Err(JobMessageError::Record(_))
        ));
    }

    #[test]
    fn a_fresh_request_is_eight_bytes() {
        assert_eq!(
            fresh_request(&9u64.to_le_bytes()).expect("8 bytes"),
            JobId(9)
        );
        assert!(fresh_request(&[1, 2]).is_err());
    }
}
