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
use bitcoin::hashes::Hash;
use sha2::block_api::compress256;
use share_verifier::{Job, PreparedJob, ShareHash, ShareTarget};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::client::{self, Client, ClientError, ServerMsg};

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
/// Nonces hashed between checks for new work.
const CHUNK: u32 = 1 << 16;

/// Miner settings.
#[derive(Debug, Clone)]
pub struct MinerConfig {
    /// `stratum+tcp://host:port`.
    pub url: String,
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
    job_id: String,
    extranonce2: Vec<u8>,
    ntime: u32,
    nonce: u32,
    version_bits: Option<u32>,
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

/// Hashes `count` nonces from `start` of one header prefix; calls `found`
/// for each nonce whose hash meets `target`, and stops early when it
/// returns `false`. Returns the nonces tried.
pub fn scan(
    header_prefix: &[u8; 76],
    target: &ShareTarget,
    start: u32,
    count: u32,
    mut found: impl FnMut(u32, ShareHash) -> bool,
) -> u32 {
    let mut first = [0u8; 64];
    first.copy_from_slice(&header_prefix[..64]);
    let mut midstate = IV;
    compress256(&mut midstate, &[first]);
    let mut tail = [0u8; 64];
    tail[..12].copy_from_slice(&header_prefix[64..76]);
    tail[16] = 0x80;
    tail[62..].copy_from_slice(&(80u16 * 8).to_be_bytes());
    let mut second = [0u8; 64];
    second[32] = 0x80;
    second[62] = 0x01;
    let top = target.to_be_bytes()[..4]
        .iter()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    let end = start.saturating_add(count);
    for nonce in start..end {
        tail[12..16].copy_from_slice(&nonce.to_le_bytes());
        let mut state = midstate;
        compress256(&mut state, &[tail]);
        for (chunk, word) in second[..32].chunks_exact_mut(4).zip(&state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        let mut out = IV;
        compress256(&mut out, &[second]);
        // The hash's most significant 32 bits (it is read little-endian).
        let high = out[7].swap_bytes();
        if high > top {
            continue;
        }
        let mut bytes = [0u8; 32];
        for (chunk, word) in bytes.chunks_exact_mut(4).zip(&out) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        let hash = ShareHash::from_byte_array(bytes);
        if target.is_met_by(&hash) && !found(nonce, hash) {
            return nonce - start + 1;
        }
    }
    end - start
}

fn header_prefix(work: &Work, extranonce2: &[u8], version: Version) -> [u8; 76] {
    let root = work.prepared.merkle_root(&work.extranonce1, extranonce2);
    let mut p = [0u8; 76];
    p[..4].copy_from_slice(&version.to_consensus().to_le_bytes());
    p[4..36].copy_from_slice(work.job.prevhash.as_byte_array());
    p[36..68].copy_from_slice(root.as_byte_array());
    p[68..72].copy_from_slice(&work.job.ntime.to_le_bytes());
    p[72..76].copy_from_slice(&work.job.nbits.to_consensus().to_le_bytes());
    p
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
            let prefix = header_prefix(&work, &en2, version);
            let mut start = 0u32;
            loop {
                let tried = scan(&prefix, &work.target, start, CHUNK, |nonce, hash| {
                    let block = work.network_target.is_some_and(|t| t.is_met_by(&hash));
                    let _ = found.send(Found {
                        generation: work.generation,
                        job_id: work.job.id.to_string(),
                        extranonce2: en2.clone(),
                        ntime: work.job.ntime,
                        nonce,
                        version_bits: (work.version_mask != 0).then_some(bits),
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
    let addr = client::parse_url(&config.url)?;
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
        let connected = async {
            let mut c = Client::connect(&addr).await?;
            let s = c
                .handshake(
                    &config.user,
                    "shareproof-miner/0.1",
                    config.version_rolling,
                    config.suggest_difficulty,
                )
                .await?;
            Ok::<_, ClientError>((c, s))
        };
        let (mut conn, session) = tokio::select! {
            _ = shutdown.cancelled() => break Ok(()),
            _ = sleep_until_opt(deadline) => break Ok(()),
            c = connected => match c {
                Ok(c) => c,
                Err(e @ ClientError::Refused { .. }) | Err(e @ ClientError::Url(_)) => break Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, ?backoff, "cannot reach the pool; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    continue;
                }
            },
        };
        tracing::info!(pool = %addr, extranonce1 = hex::encode(&session.extranonce1), version_mask = format!("{:08x}", session.version_mask), "mining");
        backoff = Duration::from_millis(200);
        let mut difficulty = 1.0;
        let mut submits = std::collections::HashSet::new();
        let mut report_tick = tokio::time::interval(Duration::from_secs(10));
        let mut last_hashes = 0u64;
        let mut last_tick = Instant::now();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break 'outer Ok(()),
                _ = sleep_until_opt(deadline) => break 'outer Ok(()),
                msg = conn.next() => match msg {
                    Ok(ServerMsg::Notify(job)) => {
                        board.publish(Some(Work {
                            prepared: PreparedJob::new(&job),
                            network_target: ShareTarget::from_compact(job.nbits).ok(),
                            job,
                            target: client::target_of(difficulty),
                            extranonce1: session.extranonce1.clone(),
                            extranonce2_size: session.extranonce2_size,
                            version_mask: session.version_mask,
                            generation: 0,
                        }));
                    }
                    Ok(ServerMsg::SetDifficulty(d)) => difficulty = d,
                    Ok(ServerMsg::Response { id, result, error }) => {
                        if submits.remove(&id) {
                            if result == serde_json::Value::Bool(true) {
                                report.accepted += 1;
                            } else {
                                report.rejected += 1;
                                tracing::debug!(%error, "share rejected");
                            }
                        }
                    }
                    Ok(ServerMsg::Reconnect) | Err(_) => {
                        board.publish(None);
                        tracing::warn!("pool connection lost; reconnecting");
                        continue 'outer;
                    }
                    Ok(_) => {}
                },
                Some(share) = found_rx.recv() => {
                    // A block is sent even though finding it retired its work.
                    if share.generation != board.generation.load(Ordering::Acquire) && !share.block {
                        continue;
                    }
                    let id = conn.reserve_ids(1);
                    let mut line = Vec::with_capacity(200);
                    client::submit_line(&mut line, id, &config.user, &share.job_id, &share.extranonce2, share.ntime, share.nonce, share.version_bits);
                    submits.insert(id);
                    if conn.write_raw(&line).await.is_err() {
                        continue 'outer;
                    }
                }
                _ = report_tick.tick() => {
                    let h = board.hashes.load(Ordering::Relaxed);
                    let rate = (h - last_hashes) as f64 / last_tick.elapsed().as_secs_f64().max(1e-3);
                    if last_hashes > 0 {
                        tracing::info!(hashrate_mhs = format!("{:.2}", rate / 1e6), accepted = report.accepted, rejected = report.rejected, difficulty, "miner");
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
    use share_verifier::header::header_hash;

    #[test]
    fn scan_finds_exactly_the_nonces_the_reference_hash_accepts() {
        let job = Job::from_notify_params(&serde_json::json!([
            "01",
            "f5304c7c535061f870374354668bb7087dc26fc39c45ffd0cbdd48c600000000",
            "0200",
            "ffff",
            [],
            "20000000",
            "1e0377ae",
            "6849afec",
            true
        ]))
        .unwrap();
        let work = Work {
            prepared: PreparedJob::new(&job),
            job,
            target: client::target_of(1.0 / 256.0 / 4_294_967_296.0 * 4096.0),
            network_target: None,
            extranonce1: vec![1, 2, 3, 4],
            extranonce2_size: 4,
            version_mask: 0,
            generation: 1,
        };
        let v = work.job.version;
        let prefix = header_prefix(&work, &[0, 0, 0, 1], v);
        let mut found = Vec::new();
        scan(&prefix, &work.target, 0, 4096, |n, h| {
            found.push((n, h));
            true
        });
        let expected: Vec<u32> = (0..4096)
            .filter(|&n| {
                let h = header_hash(&work.prepared.header(
                    &[1, 2, 3, 4],
                    &[0, 0, 0, 1],
                    work.job.ntime,
                    n,
                    v,
                ));
                work.target.is_met_by(&h)
            })
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(found.iter().map(|f| f.0).collect::<Vec<_>>(), expected);
    }

    #[test]
    fn scan_stops_when_told_and_counts_the_nonces_tried() {
        let prefix = [3u8; 76];
        let mut seen = 0;
        let tried = scan(&prefix, &ShareTarget::MAX, 100, 1000, |_, _| {
            seen += 1;
            seen < 3
        });
        assert_eq!((seen, tried), (3, 3), "every hash meets the easiest target");
    }

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
