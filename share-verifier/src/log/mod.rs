//! The share log: the versioned, append-only record of every job and every
//! accepted share, which auditors replay to recompute every window root
//! (format in `docs/share-log.md`).
//!
//! The node writes it through [`LogWriter`] (or [`Record::encode`] into its
//! own store, then exports the same bytes); auditors read it with
//! [`LogReader`]. A file starts with a 16-byte [`LogHeader`] and continues
//! with framed records until its end.

mod reader;
mod record;
mod writer;

pub use reader::LogReader;
pub use record::{
    count_frames, BlockRecord, JobRecord, Record, ShareRecord, FRAME_OVERHEAD, KIND_BLOCK,
    KIND_JOB, KIND_SHARE, MAX_PAYLOAD,
};
pub use writer::LogWriter;

use crate::window::MAX_LOG2_SLOTS;

/// The file's first 8 bytes.
pub const MAGIC: [u8; 8] = *b"SHPFLOG\0";
/// The format version this crate reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// The header's size in bytes.
pub const HEADER_LEN: usize = 16;

/// Errors of reading a share log, each naming the record (0-based index)
/// and byte offset where reading stopped.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The underlying reader or writer failed.
    #[error("share log i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The file does not start with the share log magic.
    #[error("not a share log: the file does not start with \"SHPFLOG\\0\"")]
    BadMagic,
    /// A format version this build does not know.
    #[error("share log format version {0} is not supported (this build reads version 1)")]
    UnsupportedVersion(u16),
    /// The file ends inside its 16-byte header.
    #[error("share log header is corrupt: the file is shorter than the 16-byte header")]
    ShortHeader,
    /// The header's checksum does not match its bytes.
    #[error("share log header is corrupt: checksum mismatch")]
    HeaderChecksum,
    /// The header's window size is out of range (or its padding byte is set).
    #[error("share log header is corrupt: window size 2^{0} is outside 2^1..=2^24")]
    HeaderWindow(u32),
    /// The file ends inside a record.
    #[error("record {record} at byte {offset} is truncated")]
    Truncated { record: u64, offset: u64 },
    /// A record's CRC does not match its bytes.
    #[error("record {record} at byte {offset} fails its checksum")]
    Checksum { record: u64, offset: u64 },
    /// A record's length is beyond any valid record.
    #[error("record {record} at byte {offset} claims a {len}-byte payload, above the 1 MiB limit")]
    TooLarge { record: u64, offset: u64, len: u32 },
    /// A record kind this build does not know.
    #[error("record {record} at byte {offset} has unknown kind {kind}")]
    UnknownKind { record: u64, offset: u64, kind: u8 },
    /// A field of a record is malformed.
    #[error("record {record} at byte {offset}: field {field}: {reason}")]
    Malformed {
        record: u64,
        offset: u64,
        field: &'static str,
        reason: String,
    },
}

/// The log's parameters, fixed for its whole life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHeader {
    /// log2 of the pool's window size N.
    pub log2_slots: u32,
}

impl LogHeader {
    /// The 16 header bytes: magic, version (u16 LE), log2 N (u8), a zero
    /// byte, CRC-32 of the first 12 bytes (u32 LE).
    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..8].copy_from_slice(&MAGIC);
        out[8..10].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        out[10] = self.log2_slots as u8;
        let crc = crc32fast::hash(&out[..12]);
        out[12..].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Parses the 16 header bytes.
    ///
    /// # Errors
    /// [`LogError::BadMagic`], [`LogError::UnsupportedVersion`],
    /// [`LogError::HeaderChecksum`] or [`LogError::HeaderWindow`].
    pub fn from_bytes(bytes: &[u8; HEADER_LEN]) -> Result<Self, LogError> {
        if bytes[..8] != MAGIC {
            return Err(LogError::BadMagic);
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != FORMAT_VERSION {
            return Err(LogError::UnsupportedVersion(version));
        }
        let crc = u32::from_le_bytes(bytes[12..].try_into().expect("4 bytes"));
        if crc32fast::hash(&bytes[..12]) != crc {
            return Err(LogError::HeaderChecksum);
        }
        let log2_slots = u32::from(bytes[10]);
        if !(1..=MAX_LOG2_SLOTS).contains(&log2_slots) || bytes[11] != 0 {
            return Err(LogError::HeaderWindow(log2_slots));
        }
        Ok(LogHeader { log2_slots })
    }
}

#[cfg(test)]
mod tests;
