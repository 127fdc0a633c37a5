//! Shareproof's coordinator node: the program node runners start and miners
//! connect to (binary `shareproof`).
//!
//! Data flow: a [`template`] source (the embedded regtest [`chain`] or
//! bitcoind) produces templates; the [`ledger`] — the one task that owns
//! the window and the share log's order — turns each into a job whose
//! coinbase commits to the window root; the [`stratum`] server sends jobs
//! to miners, validates their shares (with [`vardiff`] per connection),
//! submits blocks at once and hands accepted shares to the ledger, which
//! writes them durably to the [`store`] before they are acknowledged. The
//! [`api`] serves statistics, receipts, blocks, the log and metrics.
//!
//! Modules:
//! - [`config`]: TOML/env/flags → validated configuration.
//! - [`node`]: wiring and ordered shutdown.
//! - [`stratum`]: the server: connection, session, shared state, accept loop.
//! - [`vardiff`]: per-connection difficulty as a pure state machine.
//! - [`template`]: the source trait, bitcoind RPC, embedded adapter, coinbase builder.
//! - [`chain`]: the embedded regtest chain and its difficulty rule.
//! - [`ledger`]: window, job minting, group commit.
//! - [`store`]: sled trees for the log, window entries, blocks, chain.
//! - [`api`]: axum handlers and Prometheus metrics.
//!
//! The Stratum V1 wire format is `shareproof-stratum`'s; the CPU miner and
//! the load generator are `shareproof-miner`'s.
//!
//! - [`settle`]: settlement on the EVM chain: header relay, confirmations,
//!   proving in a blocking task, `settle`, the miners' balance and claim.

pub mod api;
pub mod config;
pub mod fatal;
pub mod ledger;
pub mod metrics;
pub mod node;
pub mod settle;
pub mod store;
pub mod stratum;
pub mod vardiff;

pub use config::{Config, RawConfig};
pub use node::{start, RunningNode};
