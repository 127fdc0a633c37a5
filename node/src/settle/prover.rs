//! The prover's keys and the proving job. Proving is CPU-bound (seconds to
//! minutes) and runs in `spawn_blocking`, never on the tasks that serve
//! Stratum. The key is either a directory from `circuits setup` (production:
//! a ceremony's output) or, on devnets, made once by the insecure seeded
//! setup and cached in the data dir.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bitcoin::Amount;
use circuits::keys::{self, KeyError, KeyHeader};
use circuits::{PplnsParams, ProveError, Settlement};
use share_verifier::allocation::FeeBps;
use share_verifier::WindowSnapshot;

/// Where the proving key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key directory written by `circuits setup`.
    Dir(PathBuf),
    /// The INSECURE seeded setup for `payouts` entries (and the window's N),
    /// made on first use under `<data dir>/keys/`. Devnets and tests only:
    /// anyone who knows the seed can forge payouts.
    InsecureSeed {
        /// The seed (`shareproof-fixture-16x4` gives the committed verifier's key).
        seed: String,
        /// M.
        payouts: usize,
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
    Params(String),
}

/// A ready key directory and its header.
#[derive(Debug, Clone)]
pub struct Prover {
    /// The key directory.
    pub dir: PathBuf,
    /// Its header (N, M, circuit hash).
    pub header: KeyHeader,
}

/// What one proof cost.
#[derive(Debug, Clone)]
pub struct Proven {
    /// The proof with its allocation and public inputs.
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
            KeySource::InsecureSeed { seed, payouts } => {
                let dir = data_dir
                    .join("keys")
                    .join(format!("{}x{payouts}-insecure-{seed}", 1u64 << log2_slots));
                if !dir.join("key.json").exists() {
                    let params = PplnsParams::new(log2_slots, *payouts)
                        .map_err(|e| ProverError::Params(e.to_string()))?;
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

    /// Proves the allocation of `reward` over `snapshot` (blocking: call it
    /// from `spawn_blocking`).
    ///
    /// # Errors
    /// [`ProveError`] for a window the key cannot prove (e.g. more than M
    /// addresses) or a broken key.
    pub fn prove(
        &self,
        snapshot: &WindowSnapshot,
        reward: Amount,
        fee_bps: FeeBps,
    ) -> Result<Proven, ProveError> {
        let start = Instant::now();
        let settlement = circuits::prove_from_dir(&self.dir, snapshot, reward, fee_bps, None)?;
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
