//! The load generator's Stratum V2 connection: the handshake with the
//! authority key pinned, one extended channel opened at the run's
//! difficulty, then shares mined and submitted at the connection's rate in
//! batched writes, answers matched by sequence number (`SubmitShares.Success`
//! acknowledges every share up to its `last_sequence_number`). One task
//! reads and writes: reading is cancel-safe, writes happen between reads.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use share_verifier::{Difficulty, PreparedJob, ShareTarget};
use shareproof_stratum::v2::codes;
use shareproof_stratum::v2::AuthorityPublicKey;
use tokio_util::sync::CancellationToken;

use crate::client::ClientError;
use crate::load::{en2_bytes, is_invalid, mine, CurrentJob, LoadgenConfig, Totals};
use crate::v2::{Event, V2Client};

/// The V1 error code a V2 error code corresponds to (the report counts
/// rejects by V1 code for both protocols).
fn v1_code(code: &str) -> i64 {
    match code {
        codes::STALE_SHARE | codes::INVALID_JOB_ID => 21,
        codes::DUPLICATE_SHARE => 22,
        codes::DIFFICULTY_TOO_LOW => 23,
        _ => 20,
    }
}

/// One loaded V2 connection until `stop`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn connection(
    index: usize,
    addr: &str,
    key: AuthorityPublicKey,
    rate: f64,
    config: &LoadgenConfig,
    totals: &Totals,
    stop: CancellationToken,
    handshakes: Arc<tokio::sync::Semaphore>,
) -> Result<(), ClientError> {
    let permit = handshakes.acquire_owned().await.expect("never closed");
    let mut c = V2Client::connect(addr, key).await?;
    c.setup(0, "shareproof-loadgen/0.1").await?;
    let user = format!("0x{:040x}.lg{index}", index as u128 + 1);
    // The maximum target holds the pool's difficulty at (or above) the
    // run's; a hash rate that small asks it for nothing harder.
    let max_target =
        Difficulty::new(config.difficulty).map_or(ShareTarget::MAX, Difficulty::to_target);
    let channel = c.open_extended_at(&user, 0.0, max_target, 4).await?;
    drop(permit);
    totals.connected.fetch_add(1, Ordering::Relaxed);
    let mut target = channel.target;
    note_difficulty(totals, target);
    let mut current: Option<Arc<CurrentJob>> = None;
    // sequence number → (sent at, description for the acked file)
    let mut inflight: BTreeMap<u32, (Instant, String)> = BTreeMap::new();
    let deadline = Instant::now() + config.duration;
    let start = Instant::now();
    let mut sent = 0u64;
    let mut counter = 0u64;
    let mut last: Option<(u32, Vec<u8>, u32)> = None;
    let on_event = |event: Event,
                    current: &mut Option<Arc<CurrentJob>>,
                    target: &mut ShareTarget,
                    inflight: &mut BTreeMap<u32, (Instant, String)>| {
        match event {
            Event::Job(job) => {
                if config.idle {
                    note_job(totals, &job);
                }
                *current = Some(Arc::new(CurrentJob {
                    prepared: PreparedJob::new(&job),
                    job,
                    target: *target,
                }));
            }
            Event::Target(t) => {
                *target = t;
                note_difficulty(totals, t);
            }
            Event::Accepted(n) => {
                totals.accepted.fetch_add(n.into(), Ordering::Relaxed);
                // Successes come in order: the oldest shares in flight are the ones acknowledged.
                for _ in 0..n {
                    if let Some((_, (at, desc))) = inflight.pop_first() {
                        let micros = at.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                        totals.latencies.lock().expect("lock").push(micros);
                        if config.acked_file.is_some() {
                            totals.acked.lock().expect("lock").push(desc);
                        }
                    }
                }
            }
            Event::Rejected {
                sequence_number,
                code,
            } => {
                inflight.remove(&sequence_number);
                *totals
                    .rejected
                    .lock()
                    .expect("lock")
                    .entry(v1_code(&code))
                    .or_default() += 1;
                *totals
                    .rejected_reasons
                    .lock()
                    .expect("lock")
                    .entry(code)
                    .or_default() += 1;
            }
            Event::Reconnect | Event::Other => {}
        }
    };
    let result = loop {
        let next = start + Duration::from_secs_f64(((sent + 1) as f64 / rate).min(1e9));
        let due_at = if config.idle {
            tokio::time::Instant::now() + Duration::from_secs(3600)
        } else {
            next.into()
        };
        tokio::select! {
            _ = stop.cancelled() => break Ok(()),
            event = c.event() => match event {
                Ok(e) => {
                    on_event(e, &mut current, &mut target, &mut inflight);
                    continue;
                }
                Err(e) => {
                    if !stop.is_cancelled() {
                        totals.closed_by_pool.fetch_add(1, Ordering::Relaxed);
                    }
                    break Err(e);
                }
            },
            _ = tokio::time::sleep_until(due_at) => {}
        }
        let Some(job) = current.clone() else {
            continue;
        };
        let due =
            ((start.elapsed().as_secs_f64() * rate) as u64).min(sent + (rate / 10.0).ceil() as u64);
        let now = Instant::now();
        let mut batch = 0u64;
        while sent < due {
            sent += 1;
            let invalid = is_invalid(sent, config.invalid_fraction, last.is_some());
            let (job_id, en, nonce) = if invalid {
                last.clone().expect("checked above")
            } else {
                counter += 1;
                let en = en2_bytes(counter, channel.extranonce_size);
                let Some(nonce) = mine(&job, &channel.extranonce_prefix, &en, deadline, &stop)
                else {
                    totals.unmined.fetch_add(due - sent + 1, Ordering::Relaxed);
                    sent = due;
                    break;
                };
                let job_id = u32::try_from(job.job.id.0).unwrap_or(u32::MAX);
                last = Some((job_id, en.clone(), nonce));
                (job_id, en, nonce)
            };
            let version = job.job.version.to_consensus() as u32;
            let seq = c.queue_submit(channel.id, job_id, &en, job.job.ntime, nonce, version)?;
            let desc = format!(
                "{} {} {:08x}",
                hex::encode(&channel.extranonce_prefix),
                hex::encode(&en),
                nonce
            );
            inflight.insert(seq, (now, desc));
            batch += 1;
        }
        if batch > 0 {
            totals.sent.fetch_add(batch, Ordering::Relaxed);
            let bytes = c.flush().await?;
            totals.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
        }
    };
    // Let in-flight answers arrive.
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while !inflight.is_empty() {
            match c.event().await {
                Ok(e) => on_event(e, &mut current, &mut target, &mut inflight),
                Err(_) => break,
            }
        }
    })
    .await;
    totals
        .bytes_received
        .fetch_add(c.bytes_read(), Ordering::Relaxed);
    result
}

fn note_difficulty(totals: &Totals, target: ShareTarget) {
    totals
        .max_difficulty
        .fetch_max(target.difficulty_lossy().to_bits(), Ordering::Relaxed);
}

/// Idle runs: notes a job's arrival (keyed by its tip and time: every
/// channel numbers its jobs itself).
fn note_job(totals: &Totals, job: &share_verifier::Job) {
    use bitcoin::hashes::Hash;
    let tip = u64::from_le_bytes(
        job.prevhash.as_byte_array()[..8]
            .try_into()
            .expect("8 bytes"),
    );
    let key = tip ^ u64::from(job.ntime);
    let now = Instant::now();
    let mut n = totals.notifies.lock().expect("lock");
    let e = n.entry(key).or_insert((now, now, 0));
    e.1 = now;
    e.2 += 1;
}
