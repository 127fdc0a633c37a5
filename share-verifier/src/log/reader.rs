//! Reading a share log record by record, with every failure located.

use std::io::{ErrorKind, Read};

use crate::log::record::{FRAME_OVERHEAD, MAX_PAYLOAD};
use crate::log::{LogError, LogHeader, Record, HEADER_LEN};

/// Reads a share log from any byte stream.
#[derive(Debug)]
pub struct LogReader<R> {
    inner: R,
    header: LogHeader,
    /// Index of the next record.
    record: u64,
    /// Byte offset of the next record.
    offset: u64,
    /// Set after an error: a corrupt log is not read past its first fault.
    failed: bool,
    buf: Vec<u8>,
}

impl<R: Read> LogReader<R> {
    /// Reads and checks the header.
    ///
    /// # Errors
    /// [`LogError`] for a missing, foreign or corrupt header.
    pub fn new(mut inner: R) -> Result<Self, LogError> {
        let mut bytes = [0u8; HEADER_LEN];
        inner.read_exact(&mut bytes).map_err(|e| match e.kind() {
            ErrorKind::UnexpectedEof => LogError::ShortHeader,
            _ => LogError::Io(e),
        })?;
        let header = LogHeader::from_bytes(&bytes)?;
        Ok(LogReader {
            inner,
            header,
            record: 0,
            offset: HEADER_LEN as u64,
            failed: false,
            buf: Vec::new(),
        })
    }

    /// The log's header.
    pub fn header(&self) -> LogHeader {
        self.header
    }

    /// Bytes consumed so far (for progress reporting).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Index of the next record.
    pub fn record_index(&self) -> u64 {
        self.record
    }

    /// The next record, `Ok(None)` at a clean end of file.
    ///
    /// # Errors
    /// [`LogError`] naming the record and offset of the first fault; after
    /// one, every later call returns `Ok(None)`.
    pub fn next_record(&mut self) -> Result<Option<Record>, LogError> {
        if self.failed {
            return Ok(None);
        }
        let result = self.read_one();
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn read_one(&mut self) -> Result<Option<Record>, LogError> {
        let (record, offset) = (self.record, self.offset);
        let mut head = [0u8; 5];
        match read_full(&mut self.inner, &mut head)? {
            0 => return Ok(None),
            5 => {}
            _ => return Err(LogError::Truncated { record, offset }),
        }
        let len = u32::from_le_bytes(head[1..].try_into().expect("4 bytes"));
        if len > MAX_PAYLOAD {
            return Err(LogError::TooLarge {
                record,
                offset,
                len,
            });
        }
        let total = FRAME_OVERHEAD + len as usize;
        self.buf.clear();
        self.buf.extend_from_slice(&head);
        self.buf.resize(total, 0);
        if read_full(&mut self.inner, &mut self.buf[5..])? != total - 5 {
            return Err(LogError::Truncated { record, offset });
        }
        let decoded = Record::decode(&self.buf, record, offset)?;
        self.record += 1;
        self.offset += total as u64;
        Ok(Some(decoded))
    }
}

impl<R: Read> Iterator for LogReader<R> {
    type Item = Result<Record, LogError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> Result<usize, LogError> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(LogError::Io(e)),
        }
    }
    Ok(filled)
}
