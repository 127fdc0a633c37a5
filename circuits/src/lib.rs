//! Shareproof's circuits: the Groth16 proof that a payee list of (address,
//! weight) pairs is the exact grouping of a committed share window by
//! address (docs/circuit.md; DESIGN items 9 to 11 as changed there), its
//! keys, its prover and its Solidity verifier.
//!
//! The node calls [`prove`] (window snapshot, page size → proof and the
//! paged payee list; the contract computes the amounts); the CLI (`circuits`)
//! wraps setup, proving, verification, fixtures and the verifier export.
//!
//! Modules, in data-flow order:
//! - [`r1cs`]: the constraint-system interface shared by three back ends
//!   (arkworks, compact matrices, values only) and [`r1cs::FieldVar`].
//! - [`bits`]: range checks by bit decomposition.
//! - [`poseidon`]: circomlib's Poseidon as a gadget ([`PoseidonGadget`]).
//! - [`pplns`]: the statement, its witness and the circuit ([`PplnsCircuit`]).
//! - [`matrices`]: the compact R1CS matrices stored with the key.
//! - [`groth16`]: key generation and proving from those matrices.
//! - [`keys`]: key directories, their header and the setup.
//! - [`proof`]: the prover the node calls, and the proof JSON.
//! - [`export`]: the Solidity verifier.
//! - [`ceremony`]: the snarkjs-compatible trusted setup (circom `.r1cs` export).
//! - [`fixture`]: a deterministic sample settlement for the contracts' tests.
//!
//! `docs/circuit.md` states what the circuit proves and why it is sound.

pub mod bits;
pub mod ceremony;
pub mod export;
pub mod fixture;
pub mod groth16;
pub mod keys;
pub mod matrices;
pub mod poseidon;
pub mod pplns;
pub mod proof;
pub mod r1cs;

pub use keys::{Key, KeyError, KeyHeader};
pub use poseidon::PoseidonGadget;
pub use pplns::{PplnsCircuit, PplnsParams};
pub use proof::{prove, prove_from_dir, JsonFault, ProveError, Settlement, SettlementJson};
