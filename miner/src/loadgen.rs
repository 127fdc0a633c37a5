//! The load generator (`shareproof loadgen`): opens C Stratum connections,
//! submits shares at R per second in total for D seconds — shares it mines
//! to be valid at the difficulty the pool set (suggest a tiny one and every
//! hash is a share), plus a configurable fraction of invalid ones
//! (duplicates) — and reports accepted/rejected counts and submit latency
//! percentiles. It can write every acknowledged share to a file, which the
//! crash-safety test compares with the node's log after a SIGKILL.
//!
//! It speaks Stratum V1 (`stratum+tcp://`) or V2 (`stratum2+tcp://`, with
//! the pool's authority key; [`loadgen_v2`](crate::loadgen_v2)), and counts
//! the bytes each way so the two protocols' wire costs compare.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use share_verifier::{PreparedJob, Submission};
use shareproof_stratum::{Call, Notification, ServerMessage};
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use crate::client::{self, Client, ClientError};
pub use crate::load::LoadgenConfig;
use crate::load::{en2_bytes, is_invalid, mine, CurrentJob, Totals};
use crate::pool::Endpoint;

/// Results of a run.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct LoadgenReport {
    /// Connections that completed the handshake.
    pub connected: u64,
    /// Shares sent.
    pub sent: u64,
    /// Shares accepted.
    pub accepted: u64,
    /// Shares rejected, by error code.
    pub rejected: BTreeMap<i64, u64>,
    /// Shares rejected, by the node's reason (its message up to the first `:`).
    pub rejected_reasons: BTreeMap<String, u64>,
    /// The highest difficulty the pool set on any connection.
    pub max_difficulty: f64,
    /// Shares that could not be mined before the run ended (the pool's
    /// difficulty made them too costly for this machine at this rate).
    pub unmined: u64,
    /// Connections the pool closed before the run ended (a ban, a limit).
    pub closed_by_pool: u64,
    /// Submit → answer latency percentiles, microseconds: p50, p90, p99, p99.9, max.
    pub latency_us: BTreeMap<String, u64>,
    /// Seconds submitting.
    pub seconds: f64,
    /// Accepted shares per second.
    pub accepted_per_second: f64,
    /// Idle runs: connections that received the most-received job's notify.
    pub notified_connections: u64,
    /// Idle runs: first to last receipt of that notify, microseconds (client side).
    pub notify_spread_us: u64,
    /// Bytes written to the pool after the handshakes, all connections.
    pub bytes_sent: u64,
    /// Bytes read from the pool, all connections.
    pub bytes_received: u64,
    /// `bytes_sent / sent`: what one share costs on the wire.
    pub bytes_per_share: f64,
    /// Idle runs: jobs received, all connections.
    pub jobs_received: u64,
    /// Idle runs: `bytes_received / jobs_received`: what one job costs on
    /// the wire (with the target and tip messages that come with it).
    pub bytes_per_job: f64,
}

/// Runs the load and returns the report.
///
/// # Errors
/// [`ClientError::Url`] for a bad URL; connection failures are counted, not returned.
pub async fn run(
    config: LoadgenConfig,
    shutdown: CancellationToken,
) -> Result<LoadgenReport, ClientError> {
    let endpoint = Endpoint::parse(&config.url, config.authority_key.as_deref())?;
    let totals = Arc::new(Totals::default());
    let per_conn = config.rate / config.connections.max(1) as f64;
    let started = Instant::now();
    let stop = shutdown.child_token();
    let mut tasks = Vec::new();
    // Handshakes in flight at once (the listen backlog is finite).
    let handshakes = Arc::new(tokio::sync::Semaphore::new(256));
    for i in 0..config.connections {
        let endpoint = endpoint.clone();
        let totals = totals.clone();
        let stop = stop.clone();
        let config = config.clone();
        let handshakes = handshakes.clone();
        tasks.push(tokio::spawn(async move {
            let ended = match &endpoint {
                Endpoint::V1(addr) => {
                    connection(i, addr, per_conn, &config, &totals, stop, handshakes).await
                }
                Endpoint::V2(addr, key) => {
                    crate::loadgen_v2::connection(
                        i, addr, *key, per_conn, &config, &totals, stop, handshakes,
                    )
                    .await
                }
            };
            if let Err(e) = ended {
                tracing::debug!(connection = i, error = %e, "loadgen connection ended");
            }
        }));
    }
    tokio::select! {
        _ = tokio::time::sleep(config.duration) => {}
        _ = shutdown.cancelled() => {}
    }
    stop.cancel();
    for t in tasks {
        let _ = t.await;
    }
    let seconds = started.elapsed().as_secs_f64();
    let mut latencies = std::mem::take(&mut *totals.latencies.lock().expect("lock"));
    latencies.sort_unstable();
    let pct = |p: f64| -> u64 {
        if latencies.is_empty() {
            0
        } else {
            u64::from(latencies[((latencies.len() - 1) as f64 * p).round() as usize])
        }
    };
    let mut latency_us = BTreeMap::new();
    for (name, p) in [
        ("p50", 0.5),
        ("p90", 0.9),
        ("p99", 0.99),
        ("p99.9", 0.999),
        ("max", 1.0),
    ] {
        latency_us.insert(name.to_owned(), pct(p));
    }
    if let Some(path) = &config.acked_file {
        let acked = totals.acked.lock().expect("lock");
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for line in acked.iter() {
            writeln!(f, "{line}")?;
        }
        f.flush()?;
    }
    let accepted = totals.accepted.load(Ordering::Relaxed);
    let rejected = totals.rejected.lock().expect("lock").clone();
    let rejected_reasons = totals.rejected_reasons.lock().expect("lock").clone();
    let (notified_connections, notify_spread_us) = totals
        .notifies
        .lock()
        .expect("lock")
        .values()
        .max_by_key(|(_, _, n)| *n)
        .map_or((0, 0), |(first, last, n)| {
            (*n, last.duration_since(*first).as_micros() as u64)
        });
    let sent = totals.sent.load(Ordering::Relaxed);
    let bytes_sent = totals.bytes_sent.load(Ordering::Relaxed);
    let bytes_received = totals.bytes_received.load(Ordering::Relaxed);
    let jobs_received: u64 = totals
        .notifies
        .lock()
        .expect("lock")
        .values()
        .map(|(_, _, n)| n)
        .sum();
    Ok(LoadgenReport {
        connected: totals.connected.load(Ordering::Relaxed),
        sent,
        accepted,
        rejected,
        rejected_reasons,
        max_difficulty: f64::from_bits(totals.max_difficulty.load(Ordering::Relaxed)),
        unmined: totals.unmined.load(Ordering::Relaxed),
        closed_by_pool: totals.closed_by_pool.load(Ordering::Relaxed),
        latency_us,
        seconds,
        accepted_per_second: accepted as f64 / seconds,
        notified_connections,
        notify_spread_us,
        bytes_sent,
        bytes_received,
        bytes_per_share: bytes_sent as f64 / sent.max(1) as f64,
        jobs_received,
        bytes_per_job: bytes_received as f64 / jobs_received.max(1) as f64,
    })
}

async fn connection(
    index: usize,
    addr: &str,
    rate: f64,
    config: &LoadgenConfig,
    totals: &Totals,
    stop: CancellationToken,
    handshakes: Arc<tokio::sync::Semaphore>,
) -> Result<(), ClientError> {
    let permit = handshakes.acquire_owned().await.expect("never closed");
    let source =
        (!config.source_ips.is_empty()).then(|| config.source_ips[index % config.source_ips.len()]);
    let mut c = Client::connect_from(addr, source).await?;
    // A distinct payout address per connection (never zero).
    let user = format!("0x{:040x}.lg{index}", index as u128 + 1);
    let session = c
        .handshake(
            &user,
            "shareproof-loadgen/0.1",
            false,
            Some(config.difficulty),
        )
        .await?;
    drop(permit);
    totals.connected.fetch_add(1, Ordering::Relaxed);
    if config.idle {
        return idle(c, totals, stop).await;
    }
    let (mut lines, mut write, queued) = c.into_parts();
    let job: Arc<Mutex<Option<Arc<CurrentJob>>>> = Arc::new(Mutex::new(None));
    let difficulty = Arc::new(Mutex::new(1.0f64));
    // id -> (sent at, the share's description for the acked file)
    let inflight: Arc<Mutex<HashMap<u64, (Instant, String)>>> =
        Arc::new(Mutex::new(HashMap::new()));
    let on_msg = |msg: ServerMessage| match msg {
        ServerMessage::Notification(Notification::SetDifficulty(d)) => {
            *difficulty.lock().expect("lock") = d;
            totals
                .max_difficulty
                .fetch_max(d.to_bits(), Ordering::Relaxed);
        }
        ServerMessage::Notification(Notification::Notify(j)) => {
            let target = client::target_of(*difficulty.lock().expect("lock"));
            *job.lock().expect("lock") = Some(Arc::new(CurrentJob {
                prepared: PreparedJob::new(&j),
                job: j,
                target,
            }));
        }
        ServerMessage::Response(answer) => {
            if let Some((sent, desc)) = inflight.lock().expect("lock").remove(&answer.id) {
                let micros = sent.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                totals.latencies.lock().expect("lock").push(micros);
                if answer.is_true() {
                    totals.accepted.fetch_add(1, Ordering::Relaxed);
                    if config.acked_file.is_some() {
                        totals.acked.lock().expect("lock").push(desc);
                    }
                } else {
                    let code = answer.error.as_ref().map_or(-1, |e| e.code);
                    *totals
                        .rejected
                        .lock()
                        .expect("lock")
                        .entry(code)
                        .or_default() += 1;
                    let reason = answer.error.as_ref().map_or("no reason given", |e| {
                        e.message.split(':').next().unwrap_or(&e.message)
                    });
                    *totals
                        .rejected_reasons
                        .lock()
                        .expect("lock")
                        .entry(reason.to_owned())
                        .or_default() += 1;
                }
            }
        }
        ServerMessage::Notification(_) => {}
    };
    for m in queued {
        on_msg(m);
    }
    let reader = async {
        while let Ok(Some(line)) = lines.next_line().await {
            totals
                .bytes_received
                .fetch_add(line.len() as u64 + 1, Ordering::Relaxed);
            if let Ok(m) = ServerMessage::parse(line.as_bytes()) {
                on_msg(m);
            }
        }
    };
    // Mining stops here even when a share is too costly to finish.
    let deadline = Instant::now() + config.duration;
    let writer = async {
        let start = Instant::now();
        let mut sent = 0u64;
        let mut next_id = 1_000_000u64;
        let mut counter = 0u64;
        let mut last: Option<Submission> = None;
        let mut out = Vec::with_capacity(64 * 1024);
        loop {
            // Sleep until the next share is due (the timer's resolution, 1 ms,
            // batches shares when they are due faster than that): a connection
            // wakes only when it has something to send.
            let next = start + Duration::from_secs_f64(((sent + 1) as f64 / rate).min(1e9));
            tokio::select! {
                _ = stop.cancelled() => return Ok::<(), ClientError>(()),
                _ = tokio::time::sleep_until(next.into()) => {}
            }
            let Some(current) = job.lock().expect("lock").clone() else {
                // No job yet: the shares due are sent once one arrives.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            };
            // At most a tenth of a second's shares per write: a connection
            // that fell behind (a slow pool, a costly difficulty) catches up
            // in bounded writes instead of one burst on an old job.
            let due = ((start.elapsed().as_secs_f64() * rate) as u64)
                .min(sent + (rate / 10.0).ceil() as u64);
            out.clear();
            let now = Instant::now();
            let mut batch = Vec::new();
            while sent < due {
                sent += 1;
                next_id += 1;
                let invalid = is_invalid(sent, config.invalid_fraction, last.is_some());
                let share = if invalid {
                    last.clone().expect("checked above")
                } else {
                    counter += 1;
                    let en2 = en2_bytes(counter, session.extranonce2_size);
                    let Some(nonce) = mine(&current, &session.extranonce1, &en2, deadline, &stop)
                    else {
                        totals.unmined.fetch_add(due - sent + 1, Ordering::Relaxed);
                        sent = due;
                        break;
                    };
                    let share = Submission {
                        job_id: current.job.id,
                        extranonce1: Vec::new(),
                        extranonce2: en2,
                        ntime: current.job.ntime,
                        nonce,
                        version_bits: None,
                    };
                    last = Some(share.clone());
                    share
                };
                Call::Submit {
                    worker: &user,
                    share: &share,
                }
                .write(&mut out, next_id);
                let desc = format!(
                    "{} {} {:08x}",
                    hex::encode(&session.extranonce1),
                    hex::encode(&share.extranonce2),
                    share.nonce
                );
                batch.push((next_id, desc));
            }
            if batch.is_empty() {
                continue;
            }
            totals.sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
            totals
                .bytes_sent
                .fetch_add(out.len() as u64, Ordering::Relaxed);
            {
                let mut inflight = inflight.lock().expect("lock");
                for (id, desc) in batch {
                    inflight.insert(id, (now, desc));
                }
            }
            write.write_all(&out).await?;
        }
    };
    tokio::select! {
        r = writer => r?,
        _ = reader => {
            if !stop.is_cancelled() {
                totals.closed_by_pool.fetch_add(1, Ordering::Relaxed);
            }
        }
        // A write blocked on a pool that stopped reading ends with the run.
        _ = stop.cancelled() => {}
    }
    // Let in-flight answers arrive.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while !inflight.lock().expect("lock").is_empty() {
            match lines.next_line().await {
                Ok(Some(line)) => {
                    if let Ok(m) = ServerMessage::parse(line.as_bytes()) {
                        on_msg(m);
                    }
                }
                _ => break,
            }
        }
    })
    .await;
    Ok(())
}

/// Holds a connection, noting when each job's notify arrives.
async fn idle(mut c: Client, totals: &Totals, stop: CancellationToken) -> Result<(), ClientError> {
    loop {
        let msg = tokio::select! {
            _ = stop.cancelled() => {
                totals.bytes_received.fetch_add(c.bytes_read(), Ordering::Relaxed);
                return Ok(());
            }
            m = c.next() => m?,
        };
        if let ServerMessage::Notification(Notification::Notify(job)) = msg {
            let now = Instant::now();
            let mut n = totals.notifies.lock().expect("lock");
            let e = n.entry(job.id.0).or_insert((now, now, 0));
            e.1 = now;
            e.2 += 1;
        }
    }
}

impl LoadgenReport {
    /// Plain words on what went wrong, for the person running the load:
    /// why shares were rejected, and what to change.
    pub fn diagnosis(&self, suggested: f64) -> Vec<String> {
        let mut notes = Vec::new();
        for (reason, count) in &self.rejected_reasons {
            notes.push(format!("{count} shares rejected: {reason}"));
        }
        // Below about 2.3e-10 every hash is a share; above it each share
        // costs difficulty * 2^32 hashes on average.
        let hashes_per_share = self.max_difficulty * 4_294_967_296.0;
        if self.max_difficulty > suggested * 1.5 && hashes_per_share > 1.0 {
            notes.push(format!(
                "the pool raised the difficulty to {:.3e} (about {:.0} hashes per share) above the \
                 suggested {suggested:.1e}: its minimum difficulty or vardiff does not allow a load \
                 test at this rate; start the node with --min-difficulty 1e-12 \
                 --start-difficulty 1e-12 --target-share-secs 0.001",
                self.max_difficulty, hashes_per_share
            ));
        }
        if self.unmined > 0 {
            notes.push(format!(
                "{} shares were still being mined when the run ended (difficulty too high for \
                 this rate on this machine)",
                self.unmined
            ));
        }
        if self.closed_by_pool > 0 {
            notes.push(format!(
                "the pool closed {} connections before the end (a ban for invalid shares, or its \
                 connection limit)",
                self.closed_by_pool
            ));
        }
        if self.connected == 0 {
            notes.push("no connection completed the Stratum handshake".to_owned());
        }
        notes
    }
}
