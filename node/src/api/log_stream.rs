//! The share log as an HTTP body: exported on a blocking thread in 64 KiB
//! chunks over a bounded channel, so that serving the log holds a few
//! chunks in memory, never the whole log, and a slow auditor slows only
//! its own export. A failure after the first bytes ends the body with an
//! error (the connection is cut): the reader sees a truncated log, which
//! the log format reports, never a silently short one.

use std::io::{self, Write};

use axum::body::{Body, Bytes};
use tokio::sync::mpsc;

use crate::store::Store;

/// Bytes per chunk sent.
const CHUNK: usize = 64 * 1024;
/// Chunks buffered between the exporting thread and the connection.
const IN_FLIGHT: usize = 4;

/// An `io::Write` that sends full chunks down the channel.
struct ChunkWriter {
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
    buf: Vec<u8>,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The whole share log of `store`, streamed.
pub fn body(store: Store) -> Body {
    let (tx, rx) = mpsc::channel(IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut writer = ChunkWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        match store.export_log(&mut writer) {
            Ok(records) => tracing::debug!(records, "share log served"),
            Err(e) => {
                tracing::warn!(error = %e, "share log export failed mid-stream");
                let _ = tx.blocking_send(Err(io::Error::other(e)));
            }
        }
    });
    Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    }))
}
