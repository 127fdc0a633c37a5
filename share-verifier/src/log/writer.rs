//! Writing a share log: the header once, then records in order.

use std::io::Write;

use crate::log::{LogError, LogHeader, Record};

/// Appends records to a share log. Buffer the inner writer yourself (or
/// batch with [`LogWriter::append_all`]); call [`LogWriter::flush`] to make
/// what was appended durable as far as the writer allows.
#[derive(Debug)]
pub struct LogWriter<W: Write> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> LogWriter<W> {
    /// Starts a new log: writes the header.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn create(mut inner: W, header: LogHeader) -> Result<Self, LogError> {
        inner.write_all(&header.to_bytes())?;
        Ok(LogWriter {
            inner,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Continues an existing log (the header is already written).
    pub fn append_to(inner: W) -> Self {
        LogWriter {
            inner,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Appends one record.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn append(&mut self, record: &Record) -> Result<(), LogError> {
        self.append_all(std::slice::from_ref(record))
    }

    /// Appends several records with one write.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn append_all(&mut self, records: &[Record]) -> Result<(), LogError> {
        self.buf.clear();
        for r in records {
            r.encode(&mut self.buf);
        }
        self.inner.write_all(&self.buf)?;
        Ok(())
    }

    /// Appends already framed record bytes (from [`Record::encode`]), as a
    /// store that kept them exports them.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn append_raw(&mut self, framed: &[u8]) -> Result<(), LogError> {
        self.inner.write_all(framed)?;
        Ok(())
    }

    /// Flushes the inner writer.
    ///
    /// # Errors
    /// [`LogError::Io`].
    pub fn flush(&mut self) -> Result<(), LogError> {
        self.inner.flush()?;
        Ok(())
    }

    /// The inner writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}
