//! Shareproof's coordinator node, the library behind `shareproof node`:
//! what node runners start and miners connect to.
//!
//! Data flow: a template source (`shareproof-sources`: the embedded
//! regtest chain or bitcoind) produces templates; the [`ledger`] — the one
//! task that owns the window and the share log's order — turns each into a
//! job whose coinbase commits to the window root; the [`stratum`] server
//! sends jobs to miners, validates their shares (with [`vardiff`] per
//! connection), submits blocks at once and hands accepted shares to the
//! ledger, which writes them durably to the [`store`] before they are
//! acknowledged. The [`api`] serves statistics, receipts, blocks, the log
//! and [`metrics`]; [`settle`] carries found blocks to the EVM chain.
//!
//! Modules:
//! - [`config`]: TOML/env/flags → the typed configurations of the modules.
//! - [`wiring`]: starting the parts in order and shutting them down in order;
//!   [`fatal`]: the first fatal error, which stops the node.
//! - [`stratum`]: the server: connection, session, shared state, accept loop.
//! - [`vardiff`]: per-connection difficulty as a pure state machine.
//! - [`ledger`]: window, job minting, group commit.
//! - [`store`]: sled trees for the log, window entries, blocks, settlements.
//! - [`api`]: axum handlers; [`metrics`]: the Prometheus registry.
//! - [`settle`]: settlement on the EVM chain: a pure decision step
//!   ([`settle::decide`]) and the loop that observes and acts (header relay,
//!   confirmations, proving in a blocking task, `settle`).
//!
//! The Stratum V1 wire format is `shareproof-stratum`'s; the CPU miner and
//! the load generator are `shareproof-miner`'s; the EVM client and the
//! settlement auditor are `shareproof-evm`'s.

pub mod accounting;
pub mod api;
pub mod config;
pub mod edge;
pub mod fatal;
pub mod history;
pub mod ledger;
pub mod metrics;
pub mod settle;
pub mod store;
pub mod stratum;
pub mod vardiff;
pub mod wiring;

pub use accounting::{start_accounting, RunningAccounting};
pub use config::{Config, RawConfig};
pub use edge::{start_edge, RunningEdge};
pub use wiring::{start, RunningNode, V2Endpoint};
