//! The share bus of a scaled-out pool: Stratum edge nodes publish every
//! share they accept to a NATS JetStream stream, and one accounting node
//! applies the stream in order (`docs/scale-out.md`).
//!
//! - [`message`]: the one definition of a share on the stream, used by both
//!   ends (the share log's own record frame inside).
//! - [`stream`]: the stream's configuration (replicas, de-duplication).
//! - [`publisher`]: the edge's side; a miner hears "accepted" only after
//!   JetStream acknowledges the share ([`publisher::Pending::stored`]).
//! - [`consumer`]: the accounting node's side; every share once, in stream
//!   order, from the position it stored with its last applied share.
//! - [`job`]: the one definition of a job on the bus; [`board`]: jobs from
//!   the accounting node to the edges (announced, the latest kept on a
//!   stream, fresh ones on request).
//! - [`connect`]: servers, credentials and TLS.
//!
//! JetStream, not a home-made log: replicated streams give one total order
//! of shares, acknowledgements that mean "stored on a quorum", and
//! de-duplication of re-sends by message id (the share's hash).

pub mod board;
pub mod connect;
pub mod consumer;
pub mod error;
pub mod job;
pub mod message;
pub mod publisher;
pub mod stream;

pub use board::{JobBoard, JobFeed};
pub use connect::{BusAuth, BusConfig};
pub use consumer::{Delivery, ShareConsumer};
pub use error::BusError;
pub use job::{JobMessage, JobMessageError};
pub use message::{MessageError, ShareMessage};
pub use publisher::{Pending, Published, SharePublisher};
pub use stream::ShareStream;
