//! The built-in CPU miner (`shareproof mine`): speaks Stratum like a real
//! miner and hashes with every core, so the quick start finds blocks on the
//! embedded chain with nothing else installed.
//!
//! The hot loop hashes the 80-byte header from a midstate of its first 64
//! bytes: two SHA-256 compressions per nonce (SHA-NI where the CPU has it).
//! Worker threads take work from a [`WorkBoard`] and poll its generation
//! between nonce chunks, so a new job reaches them within a few milliseconds.
//!
//! A share that meets the network target is a block: once one is found the
//! job's tip is spent (the pool extends it), so the threads drop that work
//! at once and wait for the pool's next job instead of sending shares the
//! pool can only answer as stale. At regtest difficulty, where half of all
//! hashes are blocks, this is what keeps a found block from becoming
//! thousands of stale shares.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bitcoin::block::Version;
use share_verifier::header::scan;
use share_verifier::{Job, JobId, PreparedJob, ShareTarget};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::client::ClientError;
use crate::pool::{Endpoint, FoundShare, Pool, PoolEvent};
/// Nonces hashed between checks for new work.
const CHUNK: u32 = 1 << 16;

/// Miner settings.
#[derive(Debug, Clone)]
pub struct MinerConfig {
    /// `stratum+tcp://host:port` or `stratum2+tcp://host:port`.
    pub url: String,
    /// The pool's Stratum V2 authority key (for `stratum2+tcp://`).
    pub authority_key: Option<String>,
    /// `0x<address>[.<worker>]`.
    pub user: String,
    /// Hashing threads.
    pub threads: usize,
    /// Negotiate version rolling and roll the version bits.
    pub version_rolling: bool,
    /// Stop after this long (None: until shutdown).
    pub duration: Option<Duration>,
    /// Difficulty to suggest to the pool.
    pub suggest_difficulty: Option<f64>,
}

/// What a mining run did.
#[derive(Debug, Clone, Default)]
pub struct MinerReport {
    /// Hashes computed.
    pub hashes: u64,
    /// Shares the pool accepted.
    pub accepted: u64,
    /// Shares the pool rejected.
    pub rejected: u64,
    /// Wall time mined.
    pub elapsed: Duration,
}

/// Work for the hashing threads.
#[derive(Debug)]
pub struct Work {
    job: Job,
    prepared: PreparedJob,
    target: ShareTarget,
    /// The job's network target: a share meeting it is a block (none when
    /// the job's nbits is not a valid target).
    network_target: Option<ShareTarget>,
    extranonce1: Vec<u8>,
    extranonce2_size: usize,
    version_mask: u32,
    generation: u64,
}

/// A share found by a thread.
#[derive(Debug)]
pub struct Found {
    generation: u64,
    job_id: JobId,
    extranonce2: Vec<u8>,
    ntime: u32,
    nonce: u32,
    version_bits: Option<u32>,
    /// The whole header version hashed.
    version: u32,
    /// The share meets the network target.
    block: bool,
}

/// The current work, shared with the threads.
#[derive(Debug, Default)]
pub struct WorkBoard {
    /// A std mutex: threads take a clone of the Arc between chunks.
    work: Mutex<Option<Arc<Work>>>,
    /// Wakes idle threads when work is published (after a found block the
    /// next job is hashed at once, not at the next poll).
    ready: Condvar,
    generation: AtomicU64,
    stop: AtomicBool,
    hashes: AtomicU64,
}

impl WorkBoard {
    fn publish(&self, work: Option<Work>) {
        // The generation moves under the work lock, so that a work and the
        // generation threads compare it with never disagree.
        let mut slot = self.work.lock().expect("work lock");
        let g = self.generation.fetch_add(1, Ordering::AcqRel) + 1;
        *slot = work.map(|mut w| {
            w.generation = g;
            Arc::new(w)
        });
        drop(slot);
        self.ready.notify_all();
    }

    /// The current work, waiting up to `timeout` for some when there is none.
    fn wait_for_work(&self, timeout: Duration) -> Option<Arc<Work>> {
        let slot = self.work.lock().expect("work lock");
        let (slot, _) = self
            .ready
            .wait_timeout_while(slot, timeout, |w| w.is_none())
            .expect("work lock");
        slot.clone()
    }

    /// Drops the work of `generation` (a block was found on it) unless a
    /// newer job already replaced it; threads then wait for the next job.
    fn retire(&self, generation: u64) {
        let mut slot = self.work.lock().expect("work lock");
        if slot.as_ref().is_some_and(|w| w.generation == generation) {
            *slot = None;
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
    }

    #[cfg(test)]
    fn current(&self) -> Option<Arc<Work>> {
        self.work.lock().expect("work lock").clone()
    }
}

fn hash_thread(index: usize, board: Arc<WorkBoard>, found: mpsc::UnboundedSender<Found>) {
    let mut counter: u64 = 0;
    while !board.stop.load(Ordering::Relaxed) {
        // The timeout only bounds how late a thread sees `stop`.
        let Some(work) = board.wait_for_work(Duration::from_millis(100)) else {
            continue;
        };
        // extranonce2: the thread's index in the top byte, a counter below.
        counter += 1;
        let mut en2 = vec![0u8; work.extranonce2_size];
        let value = ((index as u64) << 56) | (counter & ((1 << 56) - 1));
        let bytes = value.to_be_bytes();
        let n = en2.len().min(8);
        let len = en2.len();
        en2[len - n..].copy_from_slice(&bytes[8 - n..]);
        // With version rolling, roll the lowest mask bits as more nonce space.
        let rolls: u32 = if work.version_mask != 0 { 4 } else { 1 };
        for roll in 0..rolls {
            let bits = spread(roll, work.version_mask);
            let version = Version::from_consensus(
                ((work.job.version.to_consensus() as u32 & !work.version_mask) | bits) as i32,
            );
            let prefix =
                work.prepared
                    .header_prefix(&work.extranonce1, &en2, work.job.ntime, version);
            let mut start = 0u32;
            loop {
                let tried = scan(&prefix, &work.target, start, CHUNK, |nonce, hash| {
                    let block = work.network_target.is_some_and(|t| t.is_met_by(&hash));
                    let _ = found.send(Found {
                        generation: work.generation,
                        job_id: work.job.id,
                        extranonce2: en2.clone(),
                        ntime: work.job.ntime,
                        nonce,
                        version_bits: (work.version_mask != 0).then_some(bits),
                        version: version.to_consensus() as u32,
                        block,
                    });
                    if block {
                        // The tip is spent: nothing more to find on it.
                        board.retire(work.generation);
                        return false;
                    }
                    board.generation.load(Ordering::Acquire) == work.generation
                });
                board.hashes.fetch_add(u64::from(tried), Ordering::Relaxed);
                if board.generation.load(Ordering::Acquire) != work.generation
                    || board.stop.load(Ordering::Relaxed)
                {
                    break;
                }
                match start.checked_add(CHUNK) {
                    Some(s) if s != 0 => start = s,
                    _ => break,
                }
            }
            if board.generation.load(Ordering::Acquire) != work.generation {
                break;
            }
        }
    }
}

/// Places the bits of `value` into the set bits of `mask`, lowest first.
fn spread(mut value: u32, mask: u32) -> u32 {
    let mut out = 0;
    for bit in 0..32 {
        if mask & (1 << bit) != 0 {
            if value & 1 != 0 {
                out |= 1 << bit;
            }
            value >>= 1;
        }
    }
    out
}

/// Mines until `shutdown` (or the configured duration), reconnecting when
/// the pool goes away.
///
/// # Errors
/// [`ClientError`] for a bad URL or a pool that refuses the handshake.
pub async fn run(
    config: MinerConfig,
    shutdown: CancellationToken,
) -> Result<MinerReport, ClientError> {
    let endpoint = Endpoint::parse(&config.url, config.authority_key.as_deref())?;
    let board = Arc::new(WorkBoard::default());
    let (found_tx, mut found_rx) = mpsc::unbounded_channel();
    let threads: Vec<_> = (0..config.threads.max(1))
        .map(|i| {
            let board = board.clone();
            let tx = found_tx.clone();
            std::thread::Builder::new()
                .name(format!("miner-{i}"))
                .spawn(move || hash_thread(i, board, tx))
                .expect("spawning a miner thread")
        })
        .collect();
    drop(found_tx);
    let started = Instant::now();
    let deadline = config.duration.map(|d| tokio::time::Instant::now() + d);
    let mut report = MinerReport::default();
    let mut backoff = Duration::from_millis(200);
    let result = 'outer: loop {
        let connected = Pool::connect(
            &endpoint,
            &config.user,
            "shareproof-miner/0.1",
            config.version_rolling,
            config.suggest_difficulty,
        );
        let mut pool = tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            _ = sleep_until_opt(deadline) => break Ok(()),
            c = connected => match c {
                Ok(c) => c,
                Err(
                    e @ (ClientError::Refused { .. }
                    | ClientError::RefusedV2 { .. }
                    | ClientError::Url(_)
                    | ClientError::V2(shareproof_stratum::v2::V2Error::Handshake(_))),
                ) => break Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, ?backoff, "cannot reach the pool; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            },
        };
        tracing::info!(pool = %endpoint.addr(), extranonce1 = hex::encode(pool.extranonce1()), "mining");
        backoff = Duration::from_millis(200);
        let mut report_tick = tokio::time::interval(Duration::from_secs(10));
        let mut last_hashes = 0u64;
        let mut last_tick = Instant::now();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break 'outer Ok(()),
                _ = sleep_until_opt(deadline) => break 'outer Ok(()),
                event = pool.next() => match event {
                    Ok(PoolEvent::Work(a)) => {
                        board.publish(Some(Work {
                            prepared: PreparedJob::new(&a.job),
                            network_target: ShareTarget::from_compact(a.job.nbits).ok(),
                            job: a.job,
                            target: a.target,
                            extranonce1: a.extranonce1,
                            extranonce2_size: a.extranonce2_size,
                            version_mask: a.version_mask,
                            generation: 0,
                        }));
                    }
                    Ok(PoolEvent::Accepted(n)) => report.accepted += n,
                    Ok(PoolEvent::Rejected(why)) => {
                        report.rejected += 1;
                        tracing::debug!(error = %why, "share rejected");
                    }
                    Ok(PoolEvent::Reconnect) => {
                        board.publish(None);
                        tracing::warn!("pool asked to reconnect");
                        continue 'outer;
                    }
                    Ok(PoolEvent::Nothing) => {}
                    Err(ClientError::Protocol(e)) => tracing::warn!(error = %e, "unreadable line from the pool; ignored"),
                    Err(e) => {
                        board.publish(None);
                        tracing::warn!(error = %e, "pool connection lost; reconnecting");
                        continue 'outer;
                    }
                },
                Some(share) = found_rx.recv() => {
                    // A block is sent even though finding it retired its work.
                    if share.generation != board.generation.load(Ordering::Acquire) && !share.block {
                        continue;
                    }
                    let found = FoundShare {
                        job_id: share.job_id,
                        extranonce2: share.extranonce2,
                        ntime: share.ntime,
                        nonce: share.nonce,
                        version_bits: share.version_bits,
                        version: share.version,
                    };
                    if pool.submit(found).await.is_err() {
                        continue 'outer;
                    }
                }
                _ = report_tick.tick() => {
                    let h = board.hashes.load(Ordering::Relaxed);
                    let rate = (h - last_hashes) as f64 / last_tick.elapsed().as_secs_f64().max(1e-3);
                    if last_hashes > 0 {
                        tracing::info!(hashrate_mhs = format!("{:.2}", rate / 1e6), accepted = report.accepted, rejected = report.rejected, "miner");
                    }
                    last_hashes = h;
                    last_tick = Instant::now();
                }
            }
        }
    };
    board.stop.store(true, Ordering::Relaxed);
    board.publish(None);
    for t in threads {
        let _ = tokio::task::spawn_blocking(move || t.join()).await;
    }
    report.hashes = board.hashes.load(Ordering::Relaxed);
    report.elapsed = started.elapsed();
    result.map(|()| report)
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Hashes for `duration` on the calling thread and returns hashes per second
/// (`shareproof mine --benchmark`).
pub fn benchmark(duration: Duration) -> f64 {
    let prefix = [7u8; 76];
    let target = ShareTarget::DIFFICULTY_1;
    let started = Instant::now();
    let mut hashes = 0u64;
    let mut start = 0u32;
    while started.elapsed() < duration {
        hashes += u64::from(scan(&prefix, &target, start, 1 << 20, |_, _| true));
        start = start.wrapping_add(1 << 20);
    }
    hashes as f64 / started.elapsed().as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retired_work_is_gone_but_a_newer_job_is_kept() {
        let job = Job::from_notify_params(&serde_json::json!([
            "01",
            "00".repeat(32),
            "0200",
            "ffff",
            [],
            "20000000",
            "207fffff",
            "6849afec",
            true
        ]))
        .unwrap();
        let work = || Work {
            prepared: PreparedJob::new(&job),
            job: job.clone(),
            target: ShareTarget::MAX,
            network_target: ShareTarget::from_compact(job.nbits).ok(),
            extranonce1: vec![0; 4],
            extranonce2_size: 4,
            version_mask: 0,
            generation: 0,
        };
        let board = WorkBoard::default();
        board.publish(Some(work()));
        let first = board.current().unwrap().generation;
        board.retire(first);
        assert!(board.current().is_none(), "a block spent the tip");
        assert_ne!(board.generation.load(Ordering::Acquire), first);
        // A retire that comes after a newer job leaves the newer job alone.
        board.publish(Some(work()));
        let second = board.current().unwrap().generation;
        board.retire(first);
        assert_eq!(board.current().unwrap().generation, second);
        assert_eq!(board.generation.load(Ordering::Acquire), second);
    }

    #[test]
    fn spread_fills_mask_bits_from_the_lowest() {
        assert_eq!(spread(0b11, 0x1fff_e000), 0x6000);
        assert_eq!(spread(0, 0x1fff_e000), 0);
    }
}
