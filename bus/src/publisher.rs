//! The edge's side: publishing accepted shares and waiting for JetStream to
//! say they are stored before the miner hears "accepted".

use async_nats::jetstream::context::PublishAckFuture;
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::Context;

use crate::error::BusError;
use crate::message::ShareMessage;
use crate::stream::ShareStream;

/// Where a published share landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Published {
    /// Its sequence on the stream.
    pub stream_seq: u64,
    /// Whether the stream already held it (a re-send with the same message
    /// id): stored once, acknowledged again.
    pub duplicate: bool,
}

/// Publishes shares to the share stream.
#[derive(Clone)]
pub struct SharePublisher {
    js: Context,
    subject: String,
}

/// A share on its way to the stream: await [`Pending::stored`] for the
/// acknowledgement. Many can be in flight at once on one connection.
pub struct Pending(PublishAckFuture);

impl Pending {
    /// Waits for JetStream's acknowledgement (stored on a quorum of the
    /// stream's replicas).
    ///
    /// # Errors
    /// [`BusError::Publish`] when no acknowledgement comes: the share must
    /// not be acknowledged to the miner.
    pub async fn stored(self) -> Result<Published, BusError> {
        let ack = self.0.await.map_err(BusError::Publish)?;
        Ok(Published {
            stream_seq: ack.sequence,
            duplicate: ack.duplicate,
        })
    }
}

impl SharePublisher {
    /// A publisher to `stream` through `js`.
    pub fn new(js: Context, stream: &ShareStream) -> Self {
        SharePublisher {
            js,
            subject: stream.subject(),
        }
    }

    /// Sends `share` with its hash as the message id and returns the
    /// acknowledgement to wait for.
    ///
    /// # Errors
    /// [`BusError::Publish`] when it cannot be sent (the connection is gone
    /// or too many acknowledgements are pending).
    pub async fn send(&self, share: &ShareMessage) -> Result<Pending, BusError> {
        let message = PublishMessage::build()
            .payload(share.to_bytes().into())
            .message_id(share.message_id());
        self.js
            .send_publish(self.subject.clone(), message)
            .await
            .map(Pending)
            .map_err(BusError::Publish)
    }

    /// Sends `share` and waits until it is stored.
    ///
    /// # Errors
    /// [`BusError::Publish`] when it was not stored.
    pub async fn publish(&self, share: &ShareMessage) -> Result<Published, BusError> {
        self.send(share).await?.stored().await
    }
}
