//! The share stream's definition: its name, subject, replication and the
//! de-duplication window, created (or checked) by whichever role starts
//! first.

use std::time::Duration;

use async_nats::jetstream::stream::{Config, DiscardPolicy, RetentionPolicy, StorageType, Stream};
use async_nats::jetstream::Context;

use crate::error::BusError;

/// The share stream as both roles configure it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareStream {
    /// The stream's name (`SHAREPROOF`).
    pub name: String,
    /// Replicas: 3 in production (a quorum of 2 stores each share), 1 on a
    /// single test server.
    pub replicas: usize,
    /// How long JetStream remembers a message id: a share re-sent within it
    /// (an edge that reconnected before its acknowledgement arrived) is
    /// stored once.
    pub duplicate_window: Duration,
    /// How long the stream keeps a share (0: for ever). The share log is
    /// the record and the stream the way there, so this bounds the storage
    /// at rate × age; it must exceed the longest time the accounting node
    /// may be away, or shares it has not applied expire (its consumer then
    /// stops at the first missing one, never skipping it).
    pub max_age: Duration,
}

impl ShareStream {
    /// Shares are kept a week unless configured otherwise.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

    /// The stream `name`, R1, with a two-minute de-duplication window.
    pub fn new(name: impl Into<String>) -> Self {
        ShareStream {
            name: name.into(),
            replicas: 1,
            duplicate_window: Duration::from_secs(120),
            max_age: Self::DEFAULT_MAX_AGE,
        }
    }

    /// The subject edges publish shares on: `<name>.shares`.
    pub fn subject(&self) -> String {
        format!("{}.shares", self.name)
    }

    /// The JetStream configuration: file storage, shares kept for
    /// [`ShareStream::max_age`] (the accounting node's share log is the
    /// record; the stream is the way there), new messages refused rather
    /// than old ones dropped when a size limit is hit.
    pub fn config(&self) -> Config {
        Config {
            name: self.name.clone(),
            subjects: vec![self.subject()],
            storage: StorageType::File,
            retention: RetentionPolicy::Limits,
            discard: DiscardPolicy::New,
            num_replicas: self.replicas,
            duplicate_window: self.duplicate_window,
            max_age: self.max_age,
            ..Config::default()
        }
    }

    /// Creates the stream, or opens it when it exists.
    ///
    /// # Errors
    /// [`BusError::Stream`] when JetStream refuses (no JetStream, too few
    /// servers for the replicas, a stream of that name with another config).
    pub async fn ensure(&self, js: &Context) -> Result<Stream, BusError> {
        js.get_or_create_stream(self.config())
            .await
            .map_err(|source| BusError::Stream {
                stream: self.name.clone(),
                source,
            })
    }
}
