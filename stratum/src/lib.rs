//! Stratum V1 and V2, one definition for both ends: the pool's server, the
//! built-in miner, the load generator, the end-to-end tests and the fuzz
//! targets all read and write the protocol through this crate (the way the
//! Stratum V2 reference keeps one protocol crate for client and server).
//!
//! - [`codec`]: bytes ↔ lines (newline-delimited, length-capped).
//! - [`request`]: client → server requests: [`Request`] as the server reads
//!   it (params in structs with named fields), [`Call`] as a client writes it.
//! - [`reject`]: every way a request fails and its Stratum error code.
//! - [`response`]: answers to requests: written by the server, read by the client.
//! - [`notification`]: server → client notifications (`mining.notify`,
//!   difficulty, extranonce, version mask, reconnect), written and read.
//! - [`server_message`]: any line a server sends, as a client reads it,
//!   and [`error`]: what can go wrong reading it.
//!
//! - [`v2`]: Stratum V2 on the reference implementation's crates (Noise,
//!   framing, messages), its authority key and its codes.
//!
//! The job and share fields themselves (hex, byte orders, `prevhash`'s word
//! swap) are parsed by `share-verifier`'s [`Job`](share_verifier::Job) and
//! [`Submission`](share_verifier::Submission), so that the node, the miner
//! and the auditor CLI cannot disagree on a malformed nonce.

pub mod codec;
pub mod error;
pub mod notification;
pub mod reject;
pub mod request;
pub mod response;
pub mod server_message;
pub mod v2;

pub use error::ProtocolError;
pub use notification::Notification;
pub use reject::Reject;
pub use request::{Call, Request, Submit};
pub use response::Response;
pub use server_message::ServerMessage;
