//! The bus's errors, each keeping the NATS client's own error as its source.

use async_nats::jetstream::consumer::pull::MessagesError;
use async_nats::jetstream::consumer::StreamError;
use async_nats::jetstream::context::{CreateStreamError, PublishError};
use async_nats::jetstream::stream::ConsumerError;

use crate::job::JobMessageError;
use crate::message::MessageError;

/// Errors of the share bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// No NATS server of the configured ones accepted the connection.
    #[error("cannot connect to NATS at {urls}: {source}")]
    Connect {
        /// The URLs tried.
        urls: String,
        /// The client's error.
        source: async_nats::ConnectError,
    },
    /// The credentials file cannot be read.
    #[error("NATS credentials file {}: {source}", .path.display())]
    Credentials {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The share stream cannot be created or read.
    #[error("JetStream stream {stream}: {source}")]
    Stream {
        /// The stream's name.
        stream: String,
        /// The client's error.
        source: CreateStreamError,
    },
    /// A share was not stored: no acknowledgement from JetStream (the
    /// server is gone, the stream has no quorum, or the ack timed out).
    #[error("share not stored on the stream: {0}")]
    Publish(#[source] PublishError),
    /// The accounting node's consumer cannot be created.
    #[error("JetStream consumer {consumer}: {source}")]
    Consumer {
        /// The durable consumer's name.
        consumer: String,
        /// The client's error.
        source: ConsumerError,
    },
    /// The consumer's message stream cannot be opened.
    #[error("JetStream consumer {consumer}: cannot pull messages: {source}")]
    Pull {
        /// The durable consumer's name.
        consumer: String,
        /// The client's error.
        source: StreamError,
    },
    /// A pull failed (the server went away, heartbeats stopped).
    #[error("JetStream consumer: {0}")]
    Messages(#[source] MessagesError),
    /// A delivered message carries no JetStream metadata.
    #[error("JetStream message without metadata: {0}")]
    Metadata(#[source] async_nats::Error),
    /// An acknowledgement could not be sent.
    #[error("JetStream ack of stream sequence {seq}: {source}")]
    Ack {
        /// The stream sequence acknowledged.
        seq: u64,
        /// The client's error.
        source: async_nats::Error,
    },
    /// A message on the share stream is not a share message: the accounting
    /// node stops there rather than skip a share an edge acknowledged.
    #[error("stream sequence {seq} is not a share message: {source}")]
    Malformed {
        /// Its stream sequence.
        seq: u64,
        /// What is wrong with it.
        source: MessageError,
    },
    /// A share is missing from the stream (deleted by hand, or the stream
    /// was recreated): the accounting node stops rather than skip it.
    #[error("stream sequence {0} is gone from the share stream")]
    Missing(u64),
    /// The stream could not be asked whether a message exists.
    #[error("JetStream lookup of stream sequence {seq}: {source}")]
    Lookup {
        /// The sequence looked up.
        seq: u64,
        /// The client's error.
        source: async_nats::jetstream::stream::RawMessageError,
    },
    /// The consumer's message stream, or the job subscription, ended.
    #[error("the NATS subscription ended")]
    Ended,
    /// A job could not be announced to the edges and stored as the latest.
    #[error("cannot announce a job: {0}")]
    Announce(#[source] PublishError),
    /// The latest job could not be read from the jobs stream.
    #[error("cannot read the latest job: {0}")]
    Latest(#[source] async_nats::jetstream::stream::LastRawMessageError),
    /// The job subscription cannot be made.
    #[error("cannot subscribe to jobs: {0}")]
    Subscribe(#[source] async_nats::SubscribeError),
    /// A message on the jobs subject is not a job.
    #[error("not a job message: {0}")]
    Job(#[source] JobMessageError),
    /// A fresh-job request failed (no accounting node answers).
    #[error("fresh job request: {0}")]
    Request(#[source] async_nats::client::RequestError),
    /// No fresh job came back in time.
    #[error("no fresh job within {0:?}")]
    FreshTimeout(std::time::Duration),
}
