//! The accounting node's side: every share on the stream, once, in stream
//! order, from the position the node stored with its last applied share.
//!
//! The node's store is the truth about what it applied: the durable
//! consumer is recreated from it at every start (so a restored data dir, or
//! a consumer deleted by hand, resumes at the right message), messages at
//! or below the last one handed out are dropped (redeliveries), and a gap
//! recreates the consumer at the missing message.

use std::time::Duration;

use async_nats::jetstream::consumer::pull::{self, Stream as Messages};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::stream::{RawMessageError, RawMessageErrorKind, Stream};
use async_nats::jetstream::{Context, ErrorCode, Message};
use futures_util::StreamExt;

use crate::error::BusError;
use crate::message::ShareMessage;
use crate::stream::ShareStream;

/// How long the server waits for an acknowledgement before it redelivers.
/// Acknowledgements only bound redeliveries (the node's store decides what
/// was applied), so a long wait costs nothing.
const ACK_WAIT: Duration = Duration::from_secs(60);
/// Messages delivered and not yet acknowledged, at most.
const MAX_ACK_PENDING: i64 = 100_000;

/// One share from the stream.
pub struct Delivery {
    /// Its stream sequence: the position to store with it.
    pub stream_seq: u64,
    /// The share.
    pub share: ShareMessage,
    message: Message,
}

impl Delivery {
    /// Acknowledges this message and every one before it (call it once the
    /// share is durable; once per batch is enough).
    ///
    /// # Errors
    /// [`BusError::Ack`] when the acknowledgement cannot be sent (harmless:
    /// the messages come again and are dropped as already applied).
    pub async fn ack(&self) -> Result<(), BusError> {
        self.message.ack().await.map_err(|source| BusError::Ack {
            seq: self.stream_seq,
            source,
        })
    }
}

/// Reads the share stream in order for the accounting node.
pub struct ShareConsumer {
    stream: Stream,
    name: String,
    messages: Messages,
    /// The last stream sequence handed out (or applied before the start).
    delivered: u64,
}

impl ShareConsumer {
    /// Opens the durable consumer `name` on `stream`, delivering from the
    /// message after `applied` (0 when nothing was applied).
    ///
    /// # Errors
    /// [`BusError`] when the stream or the consumer cannot be opened.
    pub async fn open(
        js: &Context,
        stream: &ShareStream,
        name: &str,
        applied: u64,
    ) -> Result<Self, BusError> {
        let handle = stream.ensure(js).await?;
        let messages = start(&handle, name, applied + 1).await?;
        Ok(ShareConsumer {
            stream: handle,
            name: name.to_owned(),
            messages,
            delivered: applied,
        })
    }

    /// The last stream sequence handed out.
    pub fn delivered(&self) -> u64 {
        self.delivered
    }

    /// The next share in stream order, waiting for one to be published.
    ///
    /// # Errors
    /// [`BusError::Messages`] when the pull fails (the caller retries with
    /// a new consumer from its stored position), [`BusError::Malformed`]
    /// for a message that is not a share.
    pub async fn next(&mut self) -> Result<Delivery, BusError> {
        loop {
            let message = self
                .messages
                .next()
                .await
                .ok_or(BusError::Ended)?
                .map_err(BusError::Messages)?;
            let seq = message.info().map_err(BusError::Metadata)?.stream_sequence;
            if seq <= self.delivered {
                tracing::debug!(seq, delivered = self.delivered, "redelivered; dropped");
                continue;
            }
            if seq != self.delivered + 1 {
                let missing = self.delivered + 1;
                // Gone from the stream (deleted by hand): a share an edge
                // acknowledged cannot be applied. Stop, never skip it.
                match self.stream.get_raw_message(missing).await {
                    Ok(_) => {}
                    Err(e) if is_not_found(&e) => return Err(BusError::Missing(missing)),
                    Err(source) => {
                        return Err(BusError::Lookup {
                            seq: missing,
                            source,
                        })
                    }
                }
                tracing::warn!(
                    seq,
                    expected = missing,
                    consumer = %self.name,
                    "gap in the share stream's delivery; restarting the consumer there"
                );
                self.messages = start(&self.stream, &self.name, missing).await?;
                continue;
            }
            let share = ShareMessage::decode(&message.payload)
                .map_err(|source| BusError::Malformed { seq, source })?;
            self.delivered = seq;
            return Ok(Delivery {
                stream_seq: seq,
                share,
                message,
            });
        }
    }
}

fn is_not_found(e: &RawMessageError) -> bool {
    match e.kind() {
        RawMessageErrorKind::NoMessageFound => true,
        RawMessageErrorKind::JetStream(js) => js.error_code() == ErrorCode::NO_MESSAGE_FOUND,
        _ => false,
    }
}

/// (Re)creates the durable consumer `name` delivering from `from`.
async fn start(stream: &Stream, name: &str, from: u64) -> Result<Messages, BusError> {
    let consumer_error = |source| BusError::Consumer {
        consumer: name.to_owned(),
        source,
    };
    // A consumer's start cannot be moved: delete it (if any) and create it
    // again at `from`. Deleting one that does not exist is not an error.
    let _ = stream.delete_consumer(name).await;
    let consumer: PullConsumer = stream
        .create_consumer(pull::Config {
            durable_name: Some(name.to_owned()),
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: from,
            },
            ack_policy: AckPolicy::All,
            ack_wait: ACK_WAIT,
            max_ack_pending: MAX_ACK_PENDING,
            ..pull::Config::default()
        })
        .await
        .map_err(consumer_error)?;
    consumer.messages().await.map_err(|source| BusError::Pull {
        consumer: name.to_owned(),
        source,
    })
}
