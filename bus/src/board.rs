//! Jobs from the accounting node to the Stratum edges: the board the
//! accounting node announces jobs on, the feed an edge reads them from,
//! and the request an edge makes for a job it has not sent yet (after a
//! vardiff retarget).
//!
//! Only the accounting node mints jobs (their coinbase commits to the
//! window root, which only it knows), so an edge never makes one up. Each
//! job announced is published once on `<stream>.jobs`: every edge
//! subscribed gets it at once, and the JetStream stream `<stream>_JOBS`,
//! which keeps one message per subject, stores it as the latest, so that
//! an edge starting, or back from a lost connection, serves work without
//! waiting for the next template. That stream is a key-value bucket with
//! one key, built on the stream API itself: async-nats 0.46's key-value API
//! asks the server for its account info first, and cannot read the answer
//! of Debian's nats-server 2.9 (the server this project installs).

use std::time::Duration;

use async_nats::jetstream::stream::{
    Config, DiscardPolicy, LastRawMessageErrorKind, StorageType, Stream,
};
use async_nats::jetstream::Context;
use async_nats::{Client, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;
use share_verifier::JobId;

use crate::error::BusError;
use crate::job::JobMessage;
use crate::stream::ShareStream;

/// How long an edge waits for the accounting node's answer to a fresh-job
/// request before it keeps the miner on its current job.
pub const FRESH_TIMEOUT: Duration = Duration::from_secs(2);

impl ShareStream {
    /// The subject jobs are announced on: `<name>.jobs`.
    pub fn jobs_subject(&self) -> String {
        format!("{}.jobs", self.name)
    }

    /// The subject edges ask for a fresh job on: `<name>.fresh`.
    pub fn fresh_subject(&self) -> String {
        format!("{}.fresh", self.name)
    }

    /// The stream that keeps the latest job: `<name>_JOBS`.
    pub fn jobs_stream(&self) -> String {
        format!("{}_JOBS", self.name)
    }

    /// Creates the jobs stream (the last job kept, as many replicas as the
    /// share stream), or opens it when it exists.
    ///
    /// # Errors
    /// [`BusError::Stream`] when JetStream refuses.
    pub async fn jobs_store(&self, js: &Context) -> Result<Stream, BusError> {
        let name = self.jobs_stream();
        js.get_or_create_stream(Config {
            name: name.clone(),
            description: Some("the latest Shareproof job, for edges that start".to_owned()),
            subjects: vec![self.jobs_subject()],
            max_messages_per_subject: 1,
            discard: DiscardPolicy::Old,
            storage: StorageType::File,
            num_replicas: self.replicas,
            ..Config::default()
        })
        .await
        .map_err(|source| BusError::Stream {
            stream: name,
            source,
        })
    }
}

/// The accounting node's side: announces each job it broadcasts.
pub struct JobBoard {
    js: Context,
    subject: String,
}

impl JobBoard {
    /// A board for `stream`'s edges.
    ///
    /// # Errors
    /// [`BusError::Stream`] when the jobs stream cannot be opened.
    pub async fn open(js: &Context, stream: &ShareStream) -> Result<Self, BusError> {
        stream.jobs_store(js).await?;
        Ok(JobBoard {
            js: js.clone(),
            subject: stream.jobs_subject(),
        })
    }

    /// Publishes `job` to every edge and, once JetStream stored it, keeps
    /// it as the latest.
    ///
    /// # Errors
    /// [`BusError::Announce`] when NATS is unreachable or does not store it.
    pub async fn announce(&self, job: &JobMessage) -> Result<(), BusError> {
        self.js
            .publish(self.subject.clone(), Bytes::from(job.to_bytes()))
            .await
            .map_err(BusError::Announce)?
            .await
            .map_err(BusError::Announce)?;
        Ok(())
    }
}

/// The edge's side: every job announced, starting with the latest kept.
pub struct JobFeed {
    subscriber: Subscriber,
    latest: Option<JobMessage>,
}

impl JobFeed {
    /// Subscribes to `stream`'s jobs, then reads the latest kept (in that
    /// order, so that no job announced in between is missed).
    ///
    /// # Errors
    /// [`BusError`] when the subscription or the jobs stream fails.
    pub async fn open(
        client: &Client,
        js: &Context,
        stream: &ShareStream,
    ) -> Result<Self, BusError> {
        let subscriber = client
            .subscribe(stream.jobs_subject())
            .await
            .map_err(BusError::Subscribe)?;
        let store = stream.jobs_store(js).await?;
        let latest = match store
            .get_last_raw_message_by_subject(&stream.jobs_subject())
            .await
        {
            Ok(stored) => Some(JobMessage::decode(&stored.payload).map_err(BusError::Job)?),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => None,
            Err(source) => return Err(BusError::Latest(source)),
        };
        Ok(JobFeed { subscriber, latest })
    }

    /// The next job: the latest kept first, then each announced.
    ///
    /// # Errors
    /// [`BusError::Job`] for a message that is not a job (the caller logs
    /// it and reads on); [`BusError::Ended`] when the subscription ended.
    pub async fn next(&mut self) -> Result<JobMessage, BusError> {
        if let Some(job) = self.latest.take() {
            return Ok(job);
        }
        let message = self.subscriber.next().await.ok_or(BusError::Ended)?;
        JobMessage::decode(&message.payload).map_err(BusError::Job)
    }
}

/// Asks the accounting node for a job newer than `newer_than` (an edge's
/// session retargeted and must not send its new difficulty on work the
/// miner already has).
///
/// # Errors
/// [`BusError::Request`] when no answer comes within [`FRESH_TIMEOUT`];
/// [`BusError::Job`] for an answer that is not a job.
pub async fn request_fresh(
    client: &Client,
    stream: &ShareStream,
    newer_than: JobId,
) -> Result<JobMessage, BusError> {
    let ask = client.request(
        stream.fresh_subject(),
        Bytes::copy_from_slice(&newer_than.0.to_le_bytes()),
    );
    let answer = tokio::time::timeout(FRESH_TIMEOUT, ask)
        .await
        .map_err(|_| BusError::FreshTimeout(FRESH_TIMEOUT))?
        .map_err(BusError::Request)?;
    JobMessage::decode(&answer.payload).map_err(BusError::Job)
}
