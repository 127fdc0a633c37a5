//! The Stratum V2 server, beside V1's and in the same layers (the wire
//! itself is `shareproof-stratum`'s `v2`, on the reference crates):
//! - [`authority`]: the authority key file, created on first start;
//! - [`connection`]: one socket, its Noise handshake and frames;
//! - [`channel`]: one mining channel's state and share checks, pure;
//! - [`session`]: `SetupConnection`, channels, jobs, submits and acks.
//!
//! V2 sessions share V1's [`Shared`](crate::stratum::Shared) (ledger,
//! jobs, bans, extranonce prefixes, registry) and its
//! [`accept`](crate::stratum::accept) path, so both protocols feed one
//! window. Dependencies point one way: session → channel, connection;
//! nothing here imports the listener.

pub mod authority;
pub mod channel;
pub mod connection;
pub mod session;

use std::time::Duration;

use shareproof_stratum::v2::AuthorityKeypair;

/// What every V2 session shares beyond V1's state.
#[derive(Debug)]
pub struct V2Server {
    /// The authority key that signs each connection's certificate.
    pub key: AuthorityKeypair,
    /// How long each certificate is valid.
    pub certificate_validity: Duration,
    /// Channels one connection may open.
    pub max_channels: usize,
    /// The listener's port (sent in `Reconnect` at shutdown).
    pub port: u16,
}
