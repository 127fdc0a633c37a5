//! Groth16 keys for one statement of N slots on disk, and the setup that makes
//! them (DESIGN item 11).
//!
//! A key directory holds:
//! - `key.json`: the header — N, the circuit version, the circuit hash
//!   (SHA-256 of the constraint matrices), the constraint count, whether
//!   the setup was seeded (insecure), and the QAP reduction the proving key
//!   is for ([`Reduction`]; absent in older headers, which are libsnark's);
//! - `matrices.bin`: the compact R1CS matrices ([`R1csMatrices`]);
//! - `proving_key.bin`, `verifying_key.bin`: ark-groth16's keys, serialized
//!   uncompressed with ark-serialize.
//!
//! Loading checks the header against the statement asked for and the
//! matrices against the header's circuit hash, so a key for another N
//! or another circuit is refused with an error naming both.
//!
//! Whoever knows a setup's randomness can forge proofs. A seeded setup
//! (`--insecure-seed`) is deterministic, for devnets and tests only;
//! production keys need a multi-party ceremony.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use ark_bn254::Bn254;
use ark_groth16::{ProvingKey, VerifyingKey};
use ark_relations::gr1cs::SynthesisError;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize, SerializationError};
use ark_std::rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::info_span;

use crate::groth16::{self, Reduction};
use crate::matrices::{MatricesError, MatrixBuilder, R1csMatrices};
use crate::pplns::{PplnsCircuit, PplnsError, PplnsParams};
use crate::r1cs::Synthesize;

/// Bumped whenever the circuit's constraints change: keys of another
/// version are refused.
pub const CIRCUIT_VERSION: u32 = 2;

const HEADER: &str = "key.json";
const MATRICES: &str = "matrices.bin";
const PROVING_KEY: &str = "proving_key.bin";
const VERIFYING_KEY: &str = "verifying_key.bin";
const FORMAT: &str = "shareproof-groth16-key";

/// Errors of key generation and loading.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The header is not valid JSON of the expected shape.
    #[error("{path}: invalid key header: {source}")]
    Header {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    /// The header is for another format or circuit version.
    #[error("{path}: key format {format:?} version {version}, this build needs {FORMAT:?} version {CIRCUIT_VERSION}")]
    Version {
        path: PathBuf,
        format: String,
        version: u32,
    },
    /// The key proves another window size N.
    #[error("the key in {path} is for N = {key_slots} slots, not N = {slots}")]
    Shape {
        path: PathBuf,
        key_slots: usize,
        slots: usize,
    },
    /// The matrices do not hash to the header's circuit hash.
    #[error("{path}: circuit hash {found} does not match the header's {expected}")]
    CircuitHash {
        path: PathBuf,
        expected: String,
        found: String,
    },
    /// The stored matrices are malformed.
    #[error("{path}: {source}")]
    Matrices {
        path: PathBuf,
        #[source]
        source: MatricesError,
    },
    /// A key file failed to (de)serialize.
    #[error("{path}: {source}")]
    Serialization {
        path: PathBuf,
        #[source]
        source: SerializationError,
    },
    /// The statement's parameters are invalid.
    #[error(transparent)]
    Params(#[from] PplnsError),
    /// Synthesis or key generation failed.
    #[error("setup failed: {0}")]
    Synthesis(#[from] SynthesisError),
    /// The synthesized circuit does not have the size the code predicts.
    #[error("the circuit has {got} constraints, {expected} were expected")]
    Count { expected: usize, got: usize },
}

/// `key.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyHeader {
    /// Always `shareproof-groth16-key`.
    pub format: String,
    /// [`CIRCUIT_VERSION`] of the build that made the key.
    pub circuit_version: u32,
    /// log2 N.
    pub log2_slots: u32,
    /// N.
    pub slots: usize,
    /// Constraints of the circuit.
    pub constraints: usize,
    /// Public inputs (4).
    pub public_inputs: usize,
    /// SHA-256 of `matrices.bin`, hex: the circuit's identity.
    pub circuit_hash: String,
    /// `true` for a seeded, deterministic and therefore insecure setup.
    pub insecure: bool,
    /// Human-readable warning repeated in the file itself.
    pub note: String,
    /// The QAP the proving key's H query is for, so the prover computes the
    /// matching h: `libsnark` for our own setups (the default, for headers
    /// written before the field existed), `circom` for keys from a snarkjs
    /// ceremony.
    #[serde(default)]
    pub reduction: Reduction,
    /// Where the randomness came from (absent in keys from before it was
    /// recorded: see [`KeyHeader::provenance`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// Where a key's toxic randomness came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Provenance {
    /// A seeded setup (`--insecure-seed`): anyone who knows the seed forges
    /// proofs. Devnets and tests only.
    Seeded,
    /// One party's setup from OS randomness: that party could have kept it.
    SingleParty,
    /// A multi-party phase 2 over a public phase 1 (docs/ceremony.md).
    Ceremony(CeremonyRecord),
}

/// What a ceremony key records of its ceremony, for anyone to check with
/// `circuits ceremony verify` against the published files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CeremonyRecord {
    /// The phase-1 file's power.
    pub ptau_power: u32,
    /// BLAKE2b-512 of the initial phase-2 key (snarkjs's circuit hash), hex.
    pub initial_hash: String,
    /// Every contribution, oldest first.
    pub contributions: Vec<ContributionRecord>,
}

/// One contribution of a ceremony.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContributionRecord {
    /// The name the contributor gave.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The contribution hash the contributor published, hex.
    pub hash: String,
    /// For the final beacon: its value, hex, and log2 of its iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beacon: Option<(String, u8)>,
}

impl KeyHeader {
    /// The statement's parameters.
    ///
    /// # Errors
    /// [`PplnsError`] if the header holds invalid values.
    pub fn params(&self) -> Result<PplnsParams, PplnsError> {
        PplnsParams::new(self.log2_slots)
    }
}

/// A loaded key: header, matrices and both Groth16 keys.
pub struct Key {
    /// `key.json`.
    pub header: KeyHeader,
    /// The constraint matrices.
    pub matrices: R1csMatrices,
    /// The proving key.
    pub pk: ProvingKey<Bn254>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("header", &self.header).finish()
    }
}

/// The constraint matrices of the statement `params`.
///
/// # Errors
/// [`KeyError::Synthesis`] or [`KeyError::Count`].
pub fn build_matrices(params: PplnsParams) -> Result<R1csMatrices, KeyError> {
    let _span = info_span!("matrices", slots = params.slots()).entered();
    let circuit = PplnsCircuit::new(params)?;
    let mut builder = MatrixBuilder::new();
    circuit.synthesize(&mut builder)?;
    let matrices = builder.finish();
    let expected = circuit.constraint_count();
    if matrices.num_constraints() != expected {
        return Err(KeyError::Count {
            expected,
            got: matrices.num_constraints(),
        });
    }
    Ok(matrices)
}

/// The deterministic RNG of a seeded setup: ChaCha20 keyed by
/// SHA-256("shareproof insecure setup" || seed).
pub fn seeded_rng(seed: &str) -> ChaCha20Rng {
    let mut h = Sha256::new();
    h.update(b"shareproof insecure setup\0");
    h.update(seed.as_bytes());
    ChaCha20Rng::from_seed(h.finalize().into())
}

/// Runs the setup for `params` and writes the key directory `out`.
/// `insecure_seed` selects the deterministic, insecure variant; without it
/// the randomness comes from the operating system and is dropped afterwards.
///
/// # Errors
/// [`KeyError`] for synthesis or file errors.
pub fn setup(
    params: PplnsParams,
    insecure_seed: Option<&str>,
    out: &Path,
) -> Result<KeyHeader, KeyError> {
    let matrices = build_matrices(params)?;
    let pk = match insecure_seed {
        Some(seed) => groth16::generate_parameters(&matrices, &mut seeded_rng(seed))?,
        None => groth16::generate_parameters(&matrices, &mut rand::rngs::OsRng)?,
    };
    let provenance = match insecure_seed {
        Some(_) => Provenance::Seeded,
        None => Provenance::SingleParty,
    };
    let header = KeyHeader::new(params, &matrices, Reduction::Libsnark, provenance);
    write_dir(out, &header, &matrices, &pk)?;
    Ok(header)
}

impl KeyHeader {
    /// The header of a key for `params` with `matrices`, made by
    /// `provenance`, proving with `reduction`.
    pub fn new(
        params: PplnsParams,
        matrices: &R1csMatrices,
        reduction: Reduction,
        provenance: Provenance,
    ) -> KeyHeader {
        let insecure = provenance == Provenance::Seeded;
        KeyHeader {
            format: FORMAT.to_owned(),
            circuit_version: CIRCUIT_VERSION,
            log2_slots: params.log2_slots(),
            slots: params.slots(),
            constraints: matrices.num_constraints(),
            public_inputs: matrices.num_instance - 1,
            circuit_hash: hex::encode(matrices.digest()),
            insecure,
            note: match &provenance {
                Provenance::Seeded => "INSECURE: seeded setup, anyone who knows the seed can forge proofs; devnets and tests only".to_owned(),
                Provenance::SingleParty => "single-party setup: whoever ran it could have kept its randomness; production keys need a multi-party ceremony".to_owned(),
                Provenance::Ceremony(c) => format!(
                    "multi-party ceremony of {} contributions over a phase 1 of power {}: sound if one contributor destroyed their secret (docs/ceremony.md)",
                    c.contributions.len(),
                    c.ptau_power
                ),
            },
            reduction,
            provenance: Some(provenance),
        }
    }

    /// Where the key's randomness came from; keys written before the field
    /// existed are seeded or single-party by their `insecure` flag.
    pub fn provenance(&self) -> Provenance {
        match (&self.provenance, self.insecure) {
            (Some(p), _) => p.clone(),
            (None, true) => Provenance::Seeded,
            (None, false) => Provenance::SingleParty,
        }
    }
}

/// Writes a key directory: matrices, both keys and the header last, so a
/// directory with a header is complete.
///
/// # Errors
/// [`KeyError`] for file errors.
pub fn write_dir(
    out: &Path,
    header: &KeyHeader,
    matrices: &R1csMatrices,
    pk: &ProvingKey<Bn254>,
) -> Result<(), KeyError> {
    let _span = info_span!("write key").entered();
    std::fs::create_dir_all(out).map_err(|source| KeyError::Io {
        path: out.to_owned(),
        source,
    })?;
    write_file(&out.join(MATRICES), |w| {
        matrices.write(w).map_err(|e| match e {
            MatricesError::Io(e) => e,
            other => std::io::Error::other(other.to_string()),
        })
    })?;
    write_ark(&out.join(PROVING_KEY), pk)?;
    write_ark(&out.join(VERIFYING_KEY), &pk.vk)?;
    let json = serde_json::to_vec_pretty(header).map_err(|source| KeyError::Header {
        path: out.join(HEADER),
        source,
    })?;
    write_file(&out.join(HEADER), |w| w.write_all(&json))
}

fn write_file(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    let mut w = BufWriter::new(File::create(path).map_err(io)?);
    f(&mut w).map_err(io)?;
    w.flush().map_err(io)
}

fn write_ark<T: CanonicalSerialize>(path: &Path, value: &T) -> Result<(), KeyError> {
    let file = File::create(path).map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut w = BufWriter::new(file);
    value
        .serialize_uncompressed(&mut w)
        .map_err(|source| KeyError::Serialization {
            path: path.to_owned(),
            source,
        })?;
    w.flush().map_err(|source| KeyError::Io {
        path: path.to_owned(),
        source,
    })
}

fn open(path: &Path) -> Result<BufReader<File>, KeyError> {
    File::open(path)
        .map(|f| BufReader::with_capacity(1 << 20, f))
        .map_err(|source| KeyError::Io {
            path: path.to_owned(),
            source,
        })
}

/// Reads and checks `key.json` in `dir`.
///
/// # Errors
/// [`KeyError`] for a missing or malformed header or another version.
pub fn read_header(dir: &Path) -> Result<KeyHeader, KeyError> {
    let path = dir.join(HEADER);
    let header: KeyHeader =
        serde_json::from_reader(open(&path)?).map_err(|source| KeyError::Header {
            path: path.clone(),
            source,
        })?;
    if header.format != FORMAT || header.circuit_version != CIRCUIT_VERSION {
        return Err(KeyError::Version {
            path,
            format: header.format,
            version: header.circuit_version,
        });
    }
    Ok(header)
}

/// Refuses a header for another N than `params`.
///
/// # Errors
/// [`KeyError::Shape`].
pub fn check_shape(dir: &Path, header: &KeyHeader, params: &PplnsParams) -> Result<(), KeyError> {
    if header.log2_slots != params.log2_slots() {
        return Err(KeyError::Shape {
            path: dir.to_owned(),
            key_slots: header.slots,
            slots: params.slots(),
        });
    }
    Ok(())
}

/// Reads the verifying key of `dir`.
///
/// # Errors
/// [`KeyError`] for a bad header or key file.
pub fn load_verifying_key(dir: &Path) -> Result<(KeyHeader, VerifyingKey<Bn254>), KeyError> {
    let header = read_header(dir)?;
    let path = dir.join(VERIFYING_KEY);
    let vk = VerifyingKey::deserialize_uncompressed(open(&path)?)
        .map_err(|source| KeyError::Serialization { path, source })?;
    Ok((header, vk))
}

/// Reads the matrices of `dir` and checks them against the header.
///
/// # Errors
/// [`KeyError::CircuitHash`] when they do not match.
pub fn load_matrices(dir: &Path, header: &KeyHeader) -> Result<R1csMatrices, KeyError> {
    let path = dir.join(MATRICES);
    let matrices = R1csMatrices::read(open(&path)?).map_err(|source| KeyError::Matrices {
        path: path.clone(),
        source,
    })?;
    let found = hex::encode(matrices.digest());
    if found != header.circuit_hash {
        return Err(KeyError::CircuitHash {
            path,
            expected: header.circuit_hash.clone(),
            found,
        });
    }
    Ok(matrices)
}

/// Reads the proving key of `dir`. Points are not re-checked for subgroup
/// membership (the prover verifies every proof it makes).
///
/// # Errors
/// [`KeyError::Serialization`] for a malformed file.
pub fn load_proving_key(dir: &Path) -> Result<ProvingKey<Bn254>, KeyError> {
    let path = dir.join(PROVING_KEY);
    ProvingKey::deserialize_uncompressed_unchecked(open(&path)?)
        .map_err(|source| KeyError::Serialization { path, source })
}

/// Loads the whole key of `dir` for `params`.
///
/// # Errors
/// [`KeyError`] for a key of another N, another circuit or bad files.
pub fn load(dir: &Path, params: &PplnsParams) -> Result<Key, KeyError> {
    let _span = info_span!("load key").entered();
    let header = read_header(dir)?;
    check_shape(dir, &header, params)?;
    let matrices = load_matrices(dir, &header)?;
    let pk = load_proving_key(dir)?;
    Ok(Key {
        header,
        matrices,
        pk,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `key.json` written before the reduction field loads as libsnark's;
    /// a new one names its reduction.
    #[test]
    fn headers_without_a_reduction_are_libsnark() {
        let old = r#"{
  "format": "shareproof-groth16-key",
  "circuitVersion": 2,
  "log2Slots": 4,
  "slots": 16,
  "constraints": 1700,
  "publicInputs": 4,
  "circuitHash": "00",
  "insecure": true,
  "note": "INSECURE"
}"#;
        let header: KeyHeader = serde_json::from_str(old).unwrap();
        assert_eq!(header.reduction, Reduction::Libsnark);
        let mut json = serde_json::to_value(&header).unwrap();
        assert_eq!(json["reduction"], "libsnark");
        json["reduction"] = "circom".into();
        let header: KeyHeader = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(header.reduction, Reduction::Circom);
        json["reduction"] = "groth".into();
        assert!(serde_json::from_value::<KeyHeader>(json).is_err());
    }
}
