//! The `mine` and `loadgen` subcommands' arguments and what they run:
//! shared by the `shareproof` binary and `shareproof-miner`, so that both
//! spell every flag the same way.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::client::ClientError;
use crate::cpu::{self, MinerConfig, MinerReport};
use crate::loadgen::{self, LoadgenConfig, LoadgenReport};

/// Errors of the arguments, before anything connects.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// `mine` without `--user`.
    #[error("--user is required: your EVM payout address, e.g. --user 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed.rig1")]
    MissingUser,
    /// `--invalid` outside 0..=1.
    #[error("--invalid {0} must be between 0 and 1")]
    InvalidFraction(f64),
    /// `--protocol` that the URL's scheme contradicts.
    #[error("--protocol does not match the URL {0:?} (V1: stratum+tcp://, V2: stratum2+tcp://)")]
    Protocol(String),
    /// `--rate` not a positive number.
    #[error("--rate {0} must be a positive number of shares per second")]
    Rate(f64),
}

/// `mine`: hash on a pool with this machine's CPU.
#[derive(Debug, Clone, Args)]
pub struct MineArgs {
    /// Pool URL: stratum+tcp://host:port (V1) or stratum2+tcp://host:port (V2, with --authority-key).
    #[arg(long, default_value = "stratum+tcp://127.0.0.1:3333")]
    pub url: String,
    /// The pool's Stratum V2 authority key (the node prints it at start): the handshake fails against any other pool.
    #[arg(long)]
    pub authority_key: Option<String>,
    /// Username: your EVM payout address, optionally .worker.
    #[arg(long)]
    pub user: Option<String>,
    /// Hashing threads [default: all cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Negotiate BIP310 version rolling and roll version bits.
    #[arg(long)]
    pub version_rolling: bool,
    /// Stop after this many seconds.
    #[arg(long)]
    pub duration: Option<u64>,
    /// Difficulty to suggest to the pool.
    #[arg(long)]
    pub suggest_difficulty: Option<f64>,
    /// Measure the hash rate of one core for 5 s and exit.
    #[arg(long)]
    pub benchmark: bool,
}

/// What `mine` did.
#[derive(Debug, Clone)]
pub enum MineOutcome {
    /// `--benchmark`: hashes per second on one core.
    Benchmark(f64),
    /// A mining run.
    Mined(MinerReport),
}

impl fmt::Display for MineOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MineOutcome::Benchmark(rate) => write!(f, "{:.2} MH/s on one core", rate / 1e6),
            MineOutcome::Mined(r) => write!(
                f,
                "mined {:.1} s: {:.2} MH/s, {} shares accepted, {} rejected",
                r.elapsed.as_secs_f64(),
                r.hashes as f64 / r.elapsed.as_secs_f64().max(1e-9) / 1e6,
                r.accepted,
                r.rejected
            ),
        }
    }
}

/// Errors of a subcommand.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Bad arguments.
    #[error(transparent)]
    Args(#[from] ArgsError),
    /// The pool, on `url`.
    #[error("on {url}")]
    Pool {
        /// The pool's URL.
        url: String,
        /// What failed.
        #[source]
        source: ClientError,
    },
}

impl MineArgs {
    /// Mines until `shutdown` or `--duration` (or benchmarks).
    ///
    /// # Errors
    /// [`CommandError`] for missing arguments or a pool that refuses us.
    pub async fn run(self, shutdown: CancellationToken) -> Result<MineOutcome, CommandError> {
        if self.benchmark {
            let rate = tokio::task::spawn_blocking(|| cpu::benchmark(Duration::from_secs(5)))
                .await
                .expect("the benchmark does not panic");
            return Ok(MineOutcome::Benchmark(rate));
        }
        let user = self.user.ok_or(ArgsError::MissingUser)?;
        let threads = self
            .threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let config = MinerConfig {
            url: self.url.clone(),
            authority_key: self.authority_key.clone(),
            user,
            threads,
            version_rolling: self.version_rolling,
            duration: self.duration.map(Duration::from_secs),
            suggest_difficulty: self.suggest_difficulty,
        };
        cpu::run(config, shutdown)
            .await
            .map(MineOutcome::Mined)
            .map_err(|source| CommandError::Pool {
                url: self.url,
                source,
            })
    }
}

/// `loadgen`: many Stratum connections submitting shares at a fixed rate.
#[derive(Debug, Clone, Args)]
pub struct LoadgenArgs {
    /// Pool URL [default: stratum+tcp://127.0.0.1:3333, or stratum2+tcp://127.0.0.1:3336 with --protocol v2].
    #[arg(long)]
    pub url: Option<String>,
    /// Stratum protocol: v1 or v2 [default: the URL's scheme's].
    #[arg(long, value_parser = ["v1", "v2"])]
    pub protocol: Option<String>,
    /// The pool's Stratum V2 authority key (for V2; the node prints it at start).
    #[arg(long)]
    pub authority_key: Option<String>,
    /// Connections to open.
    #[arg(long, default_value_t = 100)]
    pub connections: usize,
    /// Shares per second, all connections together.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Fraction of shares sent invalid (duplicates), 0 to 1.
    #[arg(long, default_value_t = 0.0)]
    pub invalid: f64,
    /// Difficulty to suggest (the node's min difficulty must allow it; 1e-12 makes every hash a share).
    #[arg(long, default_value_t = 1e-12)]
    pub difficulty: f64,
    /// Write each acknowledged share (`extranonce1 extranonce2 nonce`) to this file.
    #[arg(long)]
    pub acked_file: Option<PathBuf>,
    /// Only hold the connections open (subscribed and authorized) for the duration; report notify fan-out.
    #[arg(long)]
    pub idle: bool,
    /// Local addresses to connect from, comma-separated (e.g. 127.0.0.1,127.0.0.2 for over 28k connections).
    #[arg(long, value_delimiter = ',')]
    pub source_ips: Vec<std::net::IpAddr>,
}

impl LoadgenArgs {
    /// Runs the load; the report and its diagnosis (plain-words notes).
    ///
    /// # Errors
    /// [`CommandError`] for bad arguments or a bad URL.
    pub async fn run(self) -> Result<(LoadgenReport, Vec<String>), CommandError> {
        if !(0.0..=1.0).contains(&self.invalid) {
            return Err(ArgsError::InvalidFraction(self.invalid).into());
        }
        let positive = self.rate.is_finite() && self.rate > 0.0;
        if !self.idle && !positive {
            return Err(ArgsError::Rate(self.rate).into());
        }
        let url = match (self.url, self.protocol.as_deref()) {
            (Some(url), Some("v2")) if !url.starts_with("stratum2+tcp://") => {
                return Err(ArgsError::Protocol(url).into())
            }
            (Some(url), Some("v1")) if url.starts_with("stratum2+tcp://") => {
                return Err(ArgsError::Protocol(url).into())
            }
            (Some(url), _) => url,
            (None, Some("v2")) => "stratum2+tcp://127.0.0.1:3336".to_owned(),
            (None, _) => "stratum+tcp://127.0.0.1:3333".to_owned(),
        };
        let config = LoadgenConfig {
            url: url.clone(),
            authority_key: self.authority_key,
            connections: self.connections,
            rate: self.rate,
            duration: Duration::from_secs(self.duration),
            invalid_fraction: self.invalid,
            difficulty: self.difficulty,
            acked_file: self.acked_file,
            idle: self.idle,
            source_ips: self.source_ips,
        };
        let report = loadgen::run(config, CancellationToken::new())
            .await
            .map_err(|source| CommandError::Pool { url, source })?;
        let notes = report.diagnosis(self.difficulty);
        Ok((report, notes))
    }
}
