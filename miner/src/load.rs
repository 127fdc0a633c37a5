//! What every load-generator connection shares, whichever protocol it
//! speaks: the run's settings, the counters the report is made of, and
//! the share mining (a job with its target, the first nonce that meets it).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use share_verifier::header::first_nonce;
use share_verifier::{Job, PreparedJob, ShareTarget};
use tokio_util::sync::CancellationToken;

/// Load generator settings.
#[derive(Debug, Clone)]
pub struct LoadgenConfig {
    /// `stratum+tcp://host:port` or `stratum2+tcp://host:port`.
    pub url: String,
    /// The pool's Stratum V2 authority key (for `stratum2+tcp://`).
    pub authority_key: Option<String>,
    /// Connections to open.
    pub connections: usize,
    /// Shares per second, all connections together.
    pub rate: f64,
    /// How long to submit.
    pub duration: Duration,
    /// Fraction of shares sent invalid (duplicates), 0..=1.
    pub invalid_fraction: f64,
    /// Difficulty to suggest (the pool's minimum must allow it).
    pub difficulty: f64,
    /// Where to write acknowledged shares (`<extranonce1> <extranonce2> <nonce>` per line).
    pub acked_file: Option<PathBuf>,
    /// Hold connections open without submitting (memory and fan-out runs).
    pub idle: bool,
    /// Local addresses to connect from, round robin (each gives ~28k ports).
    pub source_ips: Vec<std::net::IpAddr>,
}

/// Counters every connection adds to.
#[derive(Default)]
pub(crate) struct Totals {
    pub(crate) connected: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) accepted: AtomicU64,
    pub(crate) rejected: Mutex<BTreeMap<i64, u64>>,
    pub(crate) rejected_reasons: Mutex<BTreeMap<String, u64>>,
    /// f64 bits of the highest difficulty set.
    pub(crate) max_difficulty: AtomicU64,
    pub(crate) unmined: AtomicU64,
    pub(crate) closed_by_pool: AtomicU64,
    pub(crate) latencies: Mutex<Vec<u32>>,
    pub(crate) acked: Mutex<Vec<String>>,
    /// Per job: first and last receipt of it, and how many connections got it.
    pub(crate) notifies: Mutex<HashMap<u64, (Instant, Instant, u64)>>,
    /// Bytes written to the pool after the handshake.
    pub(crate) bytes_sent: AtomicU64,
    /// Bytes read from the pool.
    pub(crate) bytes_received: AtomicU64,
}

/// The job a connection mines on, with the target it was sent at.
pub(crate) struct CurrentJob {
    pub(crate) job: Job,
    pub(crate) prepared: PreparedJob,
    pub(crate) target: ShareTarget,
}

/// An extranonce of `size` bytes holding `counter` (big-endian, low bytes).
pub(crate) fn en2_bytes(counter: u64, size: usize) -> Vec<u8> {
    let mut en2 = vec![0u8; size];
    let bytes = counter.to_be_bytes();
    let n = size.min(8);
    en2[size - n..].copy_from_slice(&bytes[8 - n..]);
    en2
}

/// Nonces hashed between looks at the clock while mining one share.
const MINE_CHUNK: u32 = 1 << 14;

/// The first nonce whose share meets the job's target; `None` when the run
/// ends (`deadline` or `stop`) first: a share at a high difficulty can take
/// far longer than the run, and the run still ends on time.
pub(crate) fn mine(
    job: &CurrentJob,
    extranonce1: &[u8],
    extranonce2: &[u8],
    deadline: Instant,
    stop: &CancellationToken,
) -> Option<u32> {
    let prefix =
        job.prepared
            .header_prefix(extranonce1, extranonce2, job.job.ntime, job.job.version);
    let mut start = 0u32;
    loop {
        let count = MINE_CHUNK.min(u32::MAX - start);
        if let Some(nonce) = first_nonce(&prefix, &job.target, start, count) {
            return Some(nonce);
        }
        start += count;
        if start == u32::MAX || stop.is_cancelled() || Instant::now() >= deadline {
            return None;
        }
    }
}

/// Whether share number `sent` (from 1) is one of the invalid fraction
/// `fraction` (a duplicate of the previous share), spread evenly; never
/// before there is a previous share.
pub(crate) fn is_invalid(sent: u64, fraction: f64, has_previous: bool) -> bool {
    fraction > 0.0
        && has_previous
        && (sent as f64 * fraction).floor() > ((sent - 1) as f64 * fraction).floor()
}
