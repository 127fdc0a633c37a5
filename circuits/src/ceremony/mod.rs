//! The trusted-setup ceremony in the formats real ceremonies use: a public
//! phase-1 powers of tau in snarkjs's `.ptau` format, and a multi-party
//! phase 2 over snarkjs's `.zkey` format, so that snarkjs and this crate
//! check each other's files (docs/ceremony.md).
//!
//! Modules, in data-flow order:
//! - [`binfile`]: iden3's section container under all these files.
//! - [`encoding`]: snarkjs's layouts of scalars and points.
//! - [`r1cs_file`]: the circuit in circom's `.r1cs` format.
//! - [`ptau`]: reading phase 1.
//! - [`ptau_verify`]: checking phase 1's powers and Lagrange sections
//!   for the domain a circuit uses, and listing its contributions.
//! - [`ptau_chain`]: checking phase 1's chain of contributions (proofs of
//!   knowledge, challenge chain, beacon, last response) as snarkjs does.
//! - [`zkey`]: phase-2 keys, and the initial key from a circuit and a ptau.
//! - [`rng`]: snarkjs's contribution randomness (its ChaCha, scalar and
//!   point sampling, `hashToG2`, entropy and beacon seeds), bit for bit.
//! - [`phase2`]: contributions, the beacon and the check of a chain.
//! - [`snarkjs_json`]: snarkjs's JSON verification key, proof and inputs.
//! - [`finalize`]: from a final key to the node's key directory and exports.

pub mod binfile;
pub mod encoding;
pub mod finalize;
pub mod phase2;
pub mod ptau;
pub mod ptau_chain;
pub mod ptau_verify;
pub mod r1cs_file;
pub mod rng;
pub mod snarkjs_json;
pub mod zkey;
