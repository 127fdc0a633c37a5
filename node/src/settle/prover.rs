//! The prover's keys and the proving job. Proving is CPU-bound (seconds to
//! minutes) and runs in `spawn_blocking`, never on the tasks that serve
//! Stratum. The key is either a directory from `circuits setup` (production:
//! a ceremony's output) or, on devnets, made once by the insecure seeded
//! setup and cached in the data dir.
//!
//! A seeded key (`key.json` says `"insecure": true`) proves only on a local
//! devnet (EVM chain id [`DEVNET_CHAIN_ID`]) unless the node runner sets
//! `allow_insecure_key` ([`Prover::check_chain`]): its seed is public, so
//! anyone can forge a proof that pays them the whole reward, and a pool
//! proving with it on a public chain would invite exactly that.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use circuits::keys::{self, KeyError, KeyHeader};
use circuits::{PplnsParams, ProveError, Settlement};
use share_verifier::WindowSnapshot;
use shareproof_evm::contracts::DEVNET_CHAIN_ID;

/// Where the proving key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key directory written by `circuits setup`.
    Dir(PathBuf),
    /// The INSECURE seeded setup for the window's N, made on first use
    /// under `<data dir>/keys/`. Devnets and tests only: anyone who knows
    /// the seed can forge payouts.
    InsecureSeed {
        /// The seed (`shareproof-devnet-16` gives the committed verifier's key).
        seed: String,
    },
}

/// Errors of preparing the prover.
#[derive(Debug, thiserror::Error)]
pub enum ProverError {
    /// The key is missing, malformed or for another circuit.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The key's N differs from the pool's window.
    #[error("the key at {dir} is for N = 2^{key}, the pool's window is 2^{window}")]
    WindowSize {
        /// The key directory.
        dir: PathBuf,
        /// The key's log2 N.
        key: u32,
        /// The configured log2 N.
        window: u32,
    },
    /// The circuit parameters are invalid.
    #[error("circuit parameters: {0}")]
    Params(#[from] circuits::pplns::PplnsError),
    /// A seeded key would prove on a chain that is not a local devnet.
    #[error(
        "the proving key at {dir} comes from an INSECURE seeded setup: anyone who knows the seed \
         can forge a proof paying them the whole reward. Refusing to prove on EVM chain {chain_id}; \
         only a local devnet (chain id {DEVNET_CHAIN_ID}) may use it. Use a ceremony's key \
         (proving_key_dir), or set allow_insecure_key (--allow-insecure-key, \
         SHAREPROOF_ALLOW_INSECURE_KEY=true) to take that risk on a test chain"
    )]
    InsecureKey {
        /// The key directory.
        dir: PathBuf,
        /// The RPC's chain id.
        chain_id: u64,
    },
}

/// A ready key directory and its header.
#[derive(Debug, Clone)]
pub struct Prover {
    /// The key directory.
    pub dir: PathBuf,
    /// Its header (N, circuit hash).
    pub header: KeyHeader,
}

/// What one proof cost.
#[derive(Debug, Clone)]
pub struct Proven {
    /// The proof with its paged payee list and public inputs.
    pub settlement: Settlement,
    /// Wall time of proving.
    pub elapsed: Duration,
    /// The process's peak resident set after proving, bytes (Linux; 0 elsewhere).
    pub peak_rss: u64,
}

impl Prover {
    /// Finds (or, for a seeded source, makes) the key for a 2^`log2_slots` window.
    ///
    /// # Errors
    /// [`ProverError`] for a missing key or one of another window size.
    pub fn prepare(
        source: &KeySource,
        log2_slots: u32,
        data_dir: &Path,
    ) -> Result<Self, ProverError> {
        let dir = match source {
            KeySource::Dir(dir) => dir.clone(),
            KeySource::InsecureSeed { seed } => {
                // The circuit version in the name: a key cached by an older
                // build is never picked up for a newer circuit.
                let dir = data_dir.join("keys").join(format!(
                    "{}-v{}-insecure-{seed}",
                    1u64 << log2_slots,
                    keys::CIRCUIT_VERSION
                ));
                if !dir.join("key.json").exists() {
                    let params = PplnsParams::new(log2_slots)?;
                    tracing::warn!(dir = %dir.display(), seed, "making an INSECURE seeded proving key (devnets only)");
                    keys::setup(params, Some(seed), &dir)?;
                }
                dir
            }
        };
        let header = keys::read_header(&dir)?;
        if header.log2_slots != log2_slots {
            return Err(ProverError::WindowSize {
                dir,
                key: header.log2_slots,
                window: log2_slots,
            });
        }
        Ok(Prover { dir, header })
    }

    /// Whether this key may prove for a pool on EVM chain `chain_id`: a
    /// ceremony's key anywhere, a seeded (insecure) one only on a local devnet
    /// or when `allow_insecure` says so (logged as a warning).
    ///
    /// # Errors
    /// [`ProverError::InsecureKey`] for a seeded key on another chain.
    pub fn check_chain(&self, chain_id: u64, allow_insecure: bool) -> Result<(), ProverError> {
        if !self.header.insecure || chain_id == DEVNET_CHAIN_ID {
            return Ok(());
        }
        if allow_insecure {
            tracing::warn!(
                dir = %self.dir.display(),
                chain_id,
                "proving with an INSECURE seeded key off a local devnet (allow_insecure_key): anyone who knows the seed can forge payouts"
            );
            return Ok(());
        }
        Err(ProverError::InsecureKey {
            dir: self.dir.clone(),
            chain_id,
        })
    }

    /// Proves the grouping of `snapshot` by address, its payee list cut in
    /// pages of `page_records` (blocking: call it from `spawn_blocking`).
    /// Every window of the key's N proves, whatever the number of distinct
    /// addresses.
    ///
    /// # Errors
    /// [`ProveError`] for a snapshot of another size or a broken key.
    pub fn prove(
        &self,
        snapshot: &WindowSnapshot,
        page_records: usize,
    ) -> Result<Proven, ProveError> {
        let start = Instant::now();
        let settlement = circuits::prove_from_dir(&self.dir, snapshot, page_records)?;
        Ok(Proven {
            settlement,
            elapsed: start.elapsed(),
            peak_rss: peak_rss(),
        })
    }
}

/// `VmHWM` of this process in bytes (0 where /proc is absent).
pub fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prover(insecure: bool) -> Prover {
        Prover {
            dir: PathBuf::from("/keys/16"),
            header: KeyHeader {
                format: "shareproof-groth16-key".to_owned(),
                circuit_version: keys::CIRCUIT_VERSION,
                log2_slots: 4,
                slots: 16,
                constraints: 0,
                public_inputs: 4,
                circuit_hash: String::new(),
                insecure,
                note: String::new(),
                reduction: circuits::groth16::Reduction::Libsnark,
                provenance: None,
            },
        }
    }

    #[test]
    fn a_seeded_key_proves_only_on_a_local_devnet_unless_allowed() {
        let seeded = prover(true);
        assert!(seeded.check_chain(DEVNET_CHAIN_ID, false).is_ok());
        for chain_id in [1, 11_155_111, 8453] {
            let err = seeded.check_chain(chain_id, false).unwrap_err();
            assert!(
                matches!(err, ProverError::InsecureKey { chain_id: c, .. } if c == chain_id),
                "{err}"
            );
            let message = err.to_string();
            assert!(message.contains("INSECURE") && message.contains("allow_insecure_key"));
            assert!(
                message.contains(&format!("EVM chain {chain_id}")),
                "{message}"
            );
            assert!(seeded.check_chain(chain_id, true).is_ok());
        }
    }

    /// The node's key and its window can never disagree: a key for another
    /// N is refused before the node starts, and a key for the window's N
    /// proves any number of addresses (there is no other parameter).
    #[test]
    fn a_key_for_another_window_size_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let header = prover(true).header;
        std::fs::write(
            dir.path().join("key.json"),
            serde_json::to_vec(&header).unwrap(),
        )
        .unwrap();
        let source = KeySource::Dir(dir.path().to_owned());
        let ok = Prover::prepare(&source, 4, dir.path()).unwrap();
        assert_eq!(ok.header.slots, 16);
        let err = Prover::prepare(&source, 6, dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                ProverError::WindowSize {
                    key: 4,
                    window: 6,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_ceremony_key_proves_on_any_chain() {
        let ceremony = prover(false);
        for chain_id in [DEVNET_CHAIN_ID, 1, 11_155_111] {
            assert!(ceremony.check_chain(chain_id, false).is_ok());
        }
    }
}
