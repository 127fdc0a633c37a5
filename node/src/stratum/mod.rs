//! The Stratum V1 server, in mini-redis's layers (the wire format itself is
//! `shareproof-stratum`'s, shared with the miner and the tests):
//! - [`connection`]: one socket with a lazily allocated read buffer;
//! - [`session`]: per-miner state (subscription, workers, version mask,
//!   vardiff, jobs sent) and share validation;
//! - [`block`]: a share that is a block, submitted to the source at once;
//! - [`shared`]: what every session shares (limits, bans, ledger, registry);
//! - [`server`]: the accept loop and the connection limit.
//!
//! Dependencies point one way: server → session → connection, and both
//! server and session → shared; nothing imports the server.

pub mod block;
pub mod connection;
pub mod server;
pub mod session;
pub mod shared;

pub use server::Listener;
pub use shared::{Registry, Shared, StratumConfig};
