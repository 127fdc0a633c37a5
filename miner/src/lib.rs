//! Shareproof's miners: the built-in CPU miner ([`cpu`], `shareproof mine`)
//! and the Stratum load generator ([`loadgen`], `shareproof loadgen`), with
//! the Stratum V1 [`client`] and the Stratum V2 [`v2`] client they share.
//!
//! The crate builds without the pool: no EVM client, no proving, no
//! database and no HTTP server. Its nonce search is share-verifier's
//! [`scan`](share_verifier::header::scan), and every Stratum line goes
//! through `shareproof-stratum`. [`command`] holds the command-line
//! arguments of both subcommands, shared by the `shareproof` binary and
//! this crate's own `shareproof-miner`.

pub mod client;
pub mod command;
pub mod cpu;
pub mod load;
pub mod loadgen;
pub mod loadgen_v2;
pub mod pool;
pub mod v2;

pub use client::{Client, ClientError, Handshake};
