//! From a ceremony's final `.zkey` to everything a deployment uses: the
//! key directory the node proves with (recording the ceremony as its
//! provenance), the Solidity verifier and snarkjs's verification key.

use std::path::Path;

use ark_bn254::Bn254;
use ark_groth16::VerifyingKey;

use super::phase2::{self, ContributionSummary, Phase2Error};
use super::ptau::{Ptau, PtauError};
use super::ptau_chain::{self, ChainReport};
use super::ptau_verify::{self, PowersReport, PtauVerifyError};
use super::snarkjs_json;
use super::zkey::{self as zkey_file, Zkey, ZkeyError};
use crate::groth16::Reduction;
use crate::keys::{self, CeremonyRecord, ContributionRecord, KeyError, KeyHeader, Provenance};
use crate::matrices::R1csMatrices;
use crate::pplns::{PplnsCircuit, PplnsParams};

/// The Solidity verifier's file name in a finalized directory.
pub const VERIFIER_SOL: &str = "Groth16Verifier.sol";
/// snarkjs's verification key's file name in a finalized directory.
pub const VERIFICATION_KEY_JSON: &str = "verification_key.json";

/// Errors of finalizing a ceremony.
#[derive(Debug, thiserror::Error)]
pub enum FinalizeError {
    /// The final key could not be read.
    #[error(transparent)]
    Zkey(#[from] ZkeyError),
    /// The phase-1 file could not be read.
    #[error(transparent)]
    Ptau(#[from] PtauError),
    /// The phase-1 powers are inconsistent for the circuit's domain.
    #[error(transparent)]
    Powers(#[from] PtauVerifyError),
    /// The chain of contributions does not verify.
    #[error(transparent)]
    Phase2(#[from] Phase2Error),
    /// The key directory could not be written.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The key is for no window size of this circuit version.
    #[error(
        "the key has {constraints} constraints, which is no N of circuit version {}",
        keys::CIRCUIT_VERSION
    )]
    UnknownCircuit { constraints: usize },
    /// Writing an exported file failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// The window size a key was made for, from its constraint count (the
/// input rows follow the circuit's rows in the coefficient section).
///
/// # Errors
/// [`FinalizeError::UnknownCircuit`] when no N of this circuit has it.
pub fn params_of(zkey: &Zkey) -> Result<PplnsParams, FinalizeError> {
    let rows = zkey
        .coefs
        .iter()
        .map(|c| c.constraint as usize)
        .max()
        .map_or(0, |m| m + 1)
        .saturating_sub(zkey.n_public as usize + 1);
    (1..=24)
        .filter_map(|log| PplnsParams::new(log).ok())
        .find(|p| PplnsCircuit::new(*p).is_ok_and(|c| c.constraint_count() == rows))
        .ok_or(FinalizeError::UnknownCircuit { constraints: rows })
}

/// A final key checked by [`verify`]: its circuit, the phase-1 file's
/// check and the verified contributions.
#[derive(Debug)]
pub struct Verified {
    /// The window size the key is for.
    pub params: PplnsParams,
    /// The circuit's matrices.
    pub matrices: R1csMatrices,
    /// The check of the phase-1 powers the key is made from.
    pub powers: PowersReport,
    /// The check of the phase-1 file's chain of contributions.
    pub phase1_chain: ChainReport,
    /// The verified phase-2 contributions, oldest first.
    pub contributions: Vec<ContributionSummary>,
}

/// Verifies `zkey` against the circuit and `ptau`: first the phase-1
/// powers for the circuit's domain ([`ptau_verify::verify_powers`]) and
/// the phase-1 chain of contributions ([`ptau_chain::verify_chain`]), then
/// the phase-2 chain of contributions from the initial key they give.
///
/// # Errors
/// [`FinalizeError`] for an unknown circuit, a bad ptau or a chain that
/// does not verify.
pub fn verify(zkey: &Zkey, ptau: &mut Ptau) -> Result<Verified, FinalizeError> {
    let params = params_of(zkey)?;
    let matrices = keys::build_matrices(params)?;
    let log = zkey_file::domain_log2(matrices.num_constraints(), matrices.num_instance - 1);
    let powers = ptau_verify::verify_powers(ptau, log)?;
    let phase1_chain = ptau_chain::verify_chain(ptau)?;
    let initial = Zkey::new(&matrices, ptau)?;
    let contributions = phase2::verify(zkey, &initial)?;
    Ok(Verified {
        params,
        matrices,
        powers,
        phase1_chain,
        contributions,
    })
}

/// Writes the key directory `out` of a verified final key: the node's key
/// files with the ceremony as provenance, [`VERIFIER_SOL`] and
/// [`VERIFICATION_KEY_JSON`].
///
/// # Errors
/// [`FinalizeError`] for file errors.
pub fn write(
    zkey: &Zkey,
    params: PplnsParams,
    matrices: &R1csMatrices,
    summaries: &[ContributionSummary],
    ptau_power: u32,
    out: &Path,
) -> Result<KeyHeader, FinalizeError> {
    let record = CeremonyRecord {
        ptau_power,
        initial_hash: hex::encode(zkey.mpc.cs_hash),
        contributions: summaries
            .iter()
            .map(|s| ContributionRecord {
                name: s.name.clone(),
                hash: hex::encode(s.hash),
                beacon: s.beacon.as_ref().map(|(h, e)| (hex::encode(h), *e)),
            })
            .collect(),
    };
    let header = KeyHeader::new(
        params,
        matrices,
        Reduction::Circom,
        Provenance::Ceremony(record),
    );
    let pk = zkey.proving_key();
    keys::write_dir(out, &header, matrices, &pk)?;
    write_exports(&pk.vk, &header, out)?;
    Ok(header)
}

/// Writes [`VERIFIER_SOL`] and [`VERIFICATION_KEY_JSON`] for a key.
///
/// # Errors
/// [`FinalizeError::Io`].
pub fn write_exports(
    vk: &VerifyingKey<Bn254>,
    header: &KeyHeader,
    out: &Path,
) -> Result<(), FinalizeError> {
    let write = |name: &str, text: String| {
        let path = out.join(name);
        std::fs::write(&path, text).map_err(|source| FinalizeError::Io {
            path: path.display().to_string(),
            source,
        })
    };
    write(VERIFIER_SOL, crate::export::solidity_verifier(vk, header))?;
    let mut json = serde_json::to_string_pretty(&snarkjs_json::verification_key(vk))
        .expect("a JSON value serializes");
    json.push('\n');
    write(VERIFICATION_KEY_JSON, json)
}
