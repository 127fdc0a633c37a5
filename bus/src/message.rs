//! The share stream's message: one accepted share as a Stratum edge
//! publishes it and the accounting node applies it. One definition for both
//! ends; the share itself travels as the share log's own record frame
//! (`docs/share-log.md`), so the bytes an auditor reads and the bytes on the
//! stream are the same encoding.
//!
//! Layout (little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format version (1) |
//! | 9 + len | the share log record frame of a `Share` record (its `seq` is 0: the accounting node assigns sequence numbers in stream order) |
//! | 32 | the share's header hash |
//! | 1 | flags: bit 0 set when the hash meets the network target (a block: the accounting node, which holds the job's template, submits it as it applies the share) |
//! | 2 + len | the worker name after the payout address, UTF-8 |

use bitcoin::hashes::Hash;
use share_verifier::log::{LogError, Record, ShareRecord, FRAME_OVERHEAD};
use share_verifier::ShareHash;

/// The format version this build writes and reads.
pub const MESSAGE_VERSION: u8 = 1;

/// The longest worker name a message carries, in bytes.
pub const MAX_WORKER_LEN: usize = 1024;

const FLAG_BLOCK: u8 = 1;

/// One accepted share on the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareMessage {
    /// The share as the log records it (`seq` 0 until the accounting node
    /// assigns it).
    pub record: ShareRecord,
    /// The header's double-SHA256, as the edge computed it when it
    /// validated the share.
    pub hash: ShareHash,
    /// Whether the hash meets the network target: a block, which the
    /// accounting node submits as it applies the share.
    pub is_block: bool,
    /// The worker name after the address (`rig1` in `0xabc….rig1`).
    pub worker: String,
}

/// Why bytes from the stream are not a share message.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// The message ends before a field.
    #[error("share message is truncated at byte {at} ({what})")]
    Truncated {
        /// Where it ends.
        at: usize,
        /// The field that was expected there.
        what: &'static str,
    },
    /// A format version this build does not read.
    #[error("share message format version {0} is not supported (this build reads version {MESSAGE_VERSION})")]
    Version(u8),
    /// The embedded record frame does not decode.
    #[error("share message record: {0}")]
    Record(#[from] LogError),
    /// The embedded record is not a share.
    #[error("share message holds a record of kind {0}, not a share")]
    NotAShare(u8),
    /// Flag bits this build does not know.
    #[error("share message has unknown flags {0:#04x}")]
    Flags(u8),
    /// The worker name is not UTF-8 or too long.
    #[error("share message worker name is not UTF-8 or over {MAX_WORKER_LEN} bytes")]
    Worker,
    /// Bytes after the last field.
    #[error("share message has {0} trailing bytes")]
    Trailing(usize),
}

impl ShareMessage {
    /// The JetStream message id: the share's hash in hex. A re-send of the
    /// same share (after a reconnect, before its acknowledgement arrived) has
    /// the same id, so the stream stores it once.
    pub fn message_id(&self) -> String {
        // The hash as Bitcoin displays it (byte-reversed), written directly:
        // `Display` through the formatter costs several times more per share.
        let mut bytes = self.hash.to_byte_array();
        bytes.reverse();
        hex::encode(bytes)
    }

    /// Appends the encoded message to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(MESSAGE_VERSION);
        Record::Share(self.record.clone()).encode(out);
        out.extend_from_slice(self.hash.as_byte_array());
        out.push(if self.is_block { FLAG_BLOCK } else { 0 });
        let worker = truncated(&self.worker);
        out.extend_from_slice(&(worker.len() as u16).to_le_bytes());
        out.extend_from_slice(worker.as_bytes());
    }

    /// The encoded message.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160 + self.worker.len());
        self.encode(&mut out);
        out
    }

    /// Decodes one message that fills `bytes` exactly.
    ///
    /// # Errors
    /// [`MessageError`] naming what is wrong.
    pub fn decode(bytes: &[u8]) -> Result<ShareMessage, MessageError> {
        let mut c = Cursor { bytes, at: 0 };
        let version = c.take(1, "version")?[0];
        if version != MESSAGE_VERSION {
            return Err(MessageError::Version(version));
        }
        let head = c.take(5, "record frame header")?;
        let len = u32::from_le_bytes(head[1..5].try_into().expect("4 bytes")) as usize;
        // The rest of the frame: the payload and its CRC.
        c.take(len.saturating_add(FRAME_OVERHEAD - 5), "record frame")?;
        let record = match Record::decode(&bytes[1..c.at], 0, 1)? {
            Record::Share(r) => r,
            other => return Err(MessageError::NotAShare(other.kind())),
        };
        let hash = ShareHash::from_byte_array(c.take(32, "hash")?.try_into().expect("32 bytes"));
        let flags = c.take(1, "flags")?[0];
        if flags & !FLAG_BLOCK != 0 {
            return Err(MessageError::Flags(flags));
        }
        let len = u16::from_le_bytes(c.take(2, "worker length")?.try_into().expect("2 bytes"));
        if usize::from(len) > MAX_WORKER_LEN {
            return Err(MessageError::Worker);
        }
        let worker = std::str::from_utf8(c.take(len.into(), "worker")?)
            .map_err(|_| MessageError::Worker)?
            .to_owned();
        if c.at != bytes.len() {
            return Err(MessageError::Trailing(bytes.len() - c.at));
        }
        Ok(ShareMessage {
            record,
            hash,
            is_block: flags & FLAG_BLOCK != 0,
            worker,
        })
    }
}

/// Reads a message field by field.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], MessageError> {
        let field = self
            .bytes
            .get(self.at..self.at.saturating_add(n))
            .ok_or(MessageError::Truncated { at: self.at, what })?;
        self.at += n;
        Ok(field)
    }
}

/// `worker` cut to at most [`MAX_WORKER_LEN`] bytes on a character boundary.
fn truncated(worker: &str) -> &str {
    if worker.len() <= MAX_WORKER_LEN {
        return worker;
    }
    let mut end = MAX_WORKER_LEN;
    while !worker.is_char_boundary(end) {
        end -= 1;
    }
    &worker[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::block::Version;
    use proptest::prelude::*;
    use share_verifier::{Address, JobId, ShareTarget};

    fn message(en2: Vec<u8>, worker: String, is_block: bool, nonce: u32) -> ShareMessage {
        ShareMessage {
            record: ShareRecord {
                seq: 0,
                job_id: JobId(7),
                extranonce1: vec![1, 2, 3, 4],
                extranonce2: en2,
                ntime: 1_700_000_000,
                nonce,
                version: Version::from_consensus(0x2000_0000),
                address: Address([9; 20]),
                target: ShareTarget::MAX,
            },
            hash: ShareHash::from_byte_array([nonce as u8; 32]),
            is_block,
            worker,
        }
    }

    proptest! {
        #[test]
        fn round_trips(
            en2 in proptest::collection::vec(any::<u8>(), 0..16),
            worker in "\\PC{0,40}",
            is_block: bool,
            nonce: u32,
        ) {
            let m = message(en2, worker, is_block, nonce);
            prop_assert_eq!(ShareMessage::decode(&m.to_bytes()).unwrap(), m);
        }

        #[test]
        fn any_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = ShareMessage::decode(&bytes);
        }
    }

    #[test]
    fn every_prefix_is_truncated_and_every_flip_is_caught() {
        let m = message(vec![5; 8], "rig1".into(), true, 42);
        let bytes = m.to_bytes();
        for n in 0..bytes.len() {
            assert!(ShareMessage::decode(&bytes[..n]).is_err(), "prefix {n}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            ShareMessage::decode(&long),
            Err(MessageError::Trailing(1))
        ));
        let mut v2 = bytes.clone();
        v2[0] = 2;
        assert!(matches!(
            ShareMessage::decode(&v2),
            Err(MessageError::Version(2))
        ));
        // A flipped bit inside the record frame fails its CRC.
        let mut flipped = bytes.clone();
        flipped[20] ^= 1;
        assert!(matches!(
            ShareMessage::decode(&flipped),
            Err(MessageError::Record(_))
        ));
        let flags_at = bytes.len() - 2 - 4 - 1;
        let mut flags = bytes;
        flags[flags_at] = 0x80;
        assert!(matches!(
            ShareMessage::decode(&flags),
            Err(MessageError::Flags(0x80))
        ));
    }

    #[test]
    fn a_long_worker_is_cut_on_a_character_boundary() {
        let m = message(vec![1; 8], "é".repeat(MAX_WORKER_LEN), false, 1);
        let back = ShareMessage::decode(&m.to_bytes()).unwrap();
        assert!(back.worker.len() <= MAX_WORKER_LEN);
        assert!(m.worker.starts_with(&back.worker));
    }

    #[test]
    fn the_message_id_is_the_share_hash() {
        let m = message(vec![1; 8], String::new(), false, 3);
        assert_eq!(m.message_id(), m.hash.to_string());
        assert_eq!(m.message_id().len(), 64);
    }
}
