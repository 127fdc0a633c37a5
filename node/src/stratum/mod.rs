//! The Stratum servers: V1, in mini-redis's layers (the wire format itself is
//! `shareproof-stratum`'s, shared with the miner and the tests):
//! - [`connection`]: one socket with a lazily allocated read buffer;
//! - [`session`]: per-miner state (subscription, workers, version mask,
//!   vardiff, jobs sent) and share validation;
//! - [`accept`]: a validated share, de-duplicated and handed to the
//!   ledger (a block submitted first), for both protocols;
//! - [`block`]: a share that is a block, submitted to the source at once;
//! - [`shared`]: what every session shares (limits, bans, ledger, registry);
//! - [`server`]: the accept loop and the connection limit, for both protocols;
//! - [`v2`]: Stratum V2's connection, channels and session.
//!
//! Dependencies point one way: server → session → connection, and both
//! server and session → shared; nothing imports the server.

pub mod accept;
pub mod block;
pub mod connection;
pub mod server;
pub mod session;
pub mod shared;
pub mod v2;

pub use server::{Listener, Protocol};
pub use shared::{Registry, Shared, StratumConfig};
