//! The state every session shares: limits, the ledger's handle, the
//! latest job, bans, extranonce1 allocation and the connected-worker
//! registry. Sessions and the accept loop both read it; it imports neither.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bitcoin::BlockHash;
use share_verifier::Address;
use tokio::sync::watch;

use crate::ledger::{JobEntry, LedgerHandle};
use crate::metrics::Metrics;
use crate::stratum::block::{Blocks, SpentTip};
use crate::vardiff::VardiffConfig;

/// Stratum server limits.
#[derive(Debug, Clone)]
pub struct StratumConfig {
    /// Listen address.
    pub listen: SocketAddr,
    /// Most simultaneous connections.
    pub max_connections: usize,
    /// Longest accepted line in bytes.
    pub max_line_length: usize,
    /// How long a connection may stay without `mining.subscribe`.
    pub subscribe_timeout: Duration,
    /// How long a subscribed connection may stay silent.
    pub idle_timeout: Duration,
    /// extranonce2 size in bytes.
    pub extranonce2_size: usize,
    /// How long jobs of a previous tip are answered as stale rather than unknown.
    pub stale_grace: Duration,
    /// Invalid shares per minute tolerated before a ban.
    pub max_invalid_per_minute: u32,
    /// How long a banned IP is refused.
    pub ban: Duration,
    /// An edge's id: the first byte of every extranonce1 it hands out
    /// (edges of one pool never give two miners the same work).
    pub edge_id: Option<u8>,
}

/// What every session shares.
pub struct Shared {
    /// Limits and sizes.
    pub config: StratumConfig,
    /// Vardiff parameters.
    pub vardiff: VardiffConfig,
    /// Sends accepted shares and job requests to the ledger.
    pub ledger: LedgerHandle,
    /// The latest job, as broadcast by the ledger.
    pub jobs: watch::Receiver<Option<Arc<JobEntry>>>,
    /// Where found blocks go: `None` on an edge, whose shares reach the
    /// accounting node over the bus and are submitted there.
    pub blocks: Option<Blocks>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Connected workers per address (API).
    pub registry: Registry,
    /// Banned IPs and when their ban ends. A std mutex: held for a lookup only, never across `.await`.
    bans: Mutex<HashMap<IpAddr, Instant>>,
    /// The next extranonce1 (wrapping; 2^32 connections before reuse).
    next_extranonce1: AtomicU32,
    /// The last tip the pool found a block on: shares on it are stale even
    /// before the next job arrives.
    spent: SpentTip,
}

impl Shared {
    /// Shared state for a server.
    pub fn new(
        config: StratumConfig,
        vardiff: VardiffConfig,
        ledger: LedgerHandle,
        jobs: watch::Receiver<Option<Arc<JobEntry>>>,
        blocks: Option<Blocks>,
        metrics: Arc<Metrics>,
        registry: Registry,
    ) -> Self {
        // Start somewhere different on each run, so that restarts do not
        // hand out the same extranonce1 sequence.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos() ^ d.as_secs() as u32);
        Shared {
            config,
            vardiff,
            ledger,
            jobs,
            spent: blocks
                .as_ref()
                .map_or_else(SpentTip::default, |b| b.spent.clone()),
            blocks,
            metrics,
            registry,
            bans: Mutex::new(HashMap::new()),
            next_extranonce1: AtomicU32::new(seed),
        }
    }

    /// Whether the pool already found a block on `prevhash`.
    pub fn is_spent(&self, prevhash: &BlockHash) -> bool {
        self.spent.is_spent(prevhash)
    }

    /// Bans `ip` for the configured time.
    pub fn ban(&self, ip: IpAddr) {
        tracing::warn!(%ip, "banned for invalid shares");
        self.bans
            .lock()
            .expect("bans lock")
            .insert(ip, Instant::now() + self.config.ban);
    }

    /// Whether `ip` is banned now (an expired ban is forgotten here).
    pub fn is_banned(&self, ip: IpAddr) -> bool {
        let mut bans = self.bans.lock().expect("bans lock");
        match bans.get(&ip) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                bans.remove(&ip);
                false
            }
            None => false,
        }
    }

    /// A fresh extranonce1 for a new connection: on an edge its id then
    /// 24 counted bits (16.7 million connections before reuse), otherwise
    /// 32 counted bits.
    pub fn next_extranonce1(&self) -> [u8; 4] {
        let n = self.next_extranonce1.fetch_add(1, Ordering::Relaxed);
        match self.config.edge_id {
            Some(id) => (u32::from(id) << 24 | (n & 0x00ff_ffff)).to_be_bytes(),
            None => n.to_be_bytes(),
        }
    }
}

/// Connections per worker name.
type WorkerCounts = HashMap<Arc<str>, u32>;

/// Connected workers by payout address, for the API. A std mutex: short
/// critical sections, never held across `.await`.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    inner: Arc<Mutex<HashMap<Address, WorkerCounts>>>,
}

impl Registry {
    /// A worker's connection authorized.
    pub fn join(&self, address: Address, worker: &Arc<str>) {
        *self
            .inner
            .lock()
            .expect("registry lock")
            .entry(address)
            .or_default()
            .entry(worker.clone())
            .or_default() += 1;
    }

    /// A worker's connection closed.
    pub fn leave(&self, address: Address, worker: &Arc<str>) {
        let mut inner = self.inner.lock().expect("registry lock");
        if let Some(workers) = inner.get_mut(&address) {
            if let Some(n) = workers.get_mut(worker) {
                *n -= 1;
                if *n == 0 {
                    workers.remove(worker);
                }
            }
            if workers.is_empty() {
                inner.remove(&address);
            }
        }
    }

    /// Distinct connected addresses.
    pub fn miners(&self) -> usize {
        self.inner.lock().expect("registry lock").len()
    }

    /// An address's connected workers and their connection counts.
    pub fn workers(&self, address: &Address) -> Vec<(String, u32)> {
        let inner = self.inner.lock().expect("registry lock");
        let mut out: Vec<(String, u32)> = inner
            .get(address)
            .map(|w| w.iter().map(|(k, v)| (k.to_string(), *v)).collect())
            .unwrap_or_default();
        out.sort();
        out
    }
}
