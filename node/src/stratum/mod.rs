//! The Stratum V1 server, in mini-redis's layers:
//! - [`codec`]: bytes ↔ lines (newline-delimited, length-capped);
//! - [`message`]: lines ↔ typed `mining.*` requests, answers and the one
//!   reject → error code mapping;
//! - [`connection`]: one socket with a lazily allocated read buffer;
//! - [`session`]: per-miner state (subscription, workers, version mask,
//!   vardiff, jobs sent) and share validation;
//! - [`server`]: the accept loop, connection limit, bans, shared state.

pub mod codec;
pub mod connection;
pub mod message;
pub mod server;
pub mod session;

pub use server::{Listener, Registry, Shared};
