//! Shareproof's verification core: everything needed to check a share, a
//! window and an allocation, with no I/O but files.
//!
//! The coordinator node validates shares and keeps its window with this
//! crate, the circuits crate uses it as the native reference of what it
//! proves, and auditors run its CLI (`share-verifier`) over the published
//! share log. The formats are fixed in `docs/ARCHITECTURE.md` (mirroring the
//! team's DESIGN.md).
//!
//! Without the default `window` feature the crate is only the Bitcoin side
//! (jobs, headers, targets, share checks, addresses, allocation): what a
//! miner needs, with no arkworks to compile.
//!
//! Modules, in data-flow order:
//! - [`job`]: Stratum jobs and submissions, version rolling (BIP310).
//! - [`header`]: coinbase → Merkle root → header → double-SHA256, with a
//!   midstate-cached hot path.
//! - [`target`]: pool difficulty, share targets and share weight.
//! - [`share`]: share validation as a typestate.
//! - [`address`]: payout addresses from Stratum usernames (EIP-55).
//! - [`commitment`]: the coinbase's window commitment and reward.
//! - [`poseidon`], [`field`]: circomlib Poseidon over BN254 and scalar encodings.
//! - [`window`]: the PPLNS window, its 8-ary Poseidon tree and share receipts.
//! - [`allocation`]: PPLNS allocation of a block reward.
//! - [`binding`]: the payee list's binding to a proof (pages, list hash, beta, T, public inputs).
//! - [`log`]: the share log format, reader and writer.
//! - [`audit`]: replaying a share log and checking every record.

pub mod address;
pub mod allocation;
#[cfg(feature = "window")]
pub mod audit;
#[cfg(feature = "window")]
pub mod binding;
#[cfg(feature = "window")]
pub mod commitment;
#[cfg(feature = "window")]
pub mod field;
pub mod header;
pub mod job;
#[cfg(feature = "window")]
pub mod log;
#[cfg(feature = "window")]
pub mod poseidon;
pub mod share;
pub mod target;
#[cfg(feature = "window")]
pub mod window;

pub use address::{Address, Username};
pub use allocation::{allocate, group, Allocation, FeeBps, Payee, Payout};
#[cfg(feature = "window")]
pub use audit::{AuditError, Auditor};
pub use header::PreparedJob;
pub use job::{Job, JobId, Submission, VersionMask};
pub use share::{Checked, Share, ShareError, ShareRules, Unchecked};
pub use target::{Difficulty, ShareHash, ShareTarget, Weight};
#[cfg(feature = "window")]
pub use window::{EntryError, ShareReceipt, Slot, Window, WindowEntry, WindowRoot, WindowSnapshot};

/// The BN254 scalar field every window hash and public input lives in.
#[cfg(feature = "window")]
pub use ark_bn254::Fr;
