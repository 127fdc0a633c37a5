//! The accounting node of a scaled-out pool (`shareproof accounting`): the
//! single node's ledger, window, share log, templates, block records,
//! settlement and HTTP API, with the share stream where its Stratum server
//! would be.
//!
//! - **Shares:** a durable consumer reads the stream in order from the
//!   position the store holds. Each share goes to the ledger with its
//!   stream sequence, which the ledger stores in the same batch as the
//!   share (and refuses when it is not the next one: after a failed commit
//!   nothing is applied out of order). Messages are acknowledged to
//!   JetStream once durable, every 4,096 shares or 100 ms. When anything fails, the apply loop waits for
//!   every share it handed over, reads the stored position again and
//!   reopens the consumer there: every stream message applied once.
//! - **Blocks:** a share an edge flagged as a block is submitted here as it
//!   is applied (only this node holds the job's template) and recorded
//!   with the job's commitment, exactly as the single node does.
//! - **Jobs:** every job the ledger broadcasts is announced to the edges
//!   and kept as the latest on the jobs stream; a fresh job is minted for
//!   an edge that asks (after a session's retarget).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::Context;
use async_nats::Client;
use futures_util::StreamExt;
use share_verifier::{Checked, Submission};
use shareproof_bus::job::fresh_request;
use shareproof_bus::{Delivery, JobBoard, ShareConsumer, ShareStream};
use shareproof_sources::embedded::EmbeddedSource;
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::ledger::{AcceptedShare, JobBook, JobEntry, LedgerError, LedgerHandle, LedgerMsg};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::stratum::block::{Blocks, SpentTip};
use crate::wiring::{Core, NodeError, Running, EXTRANONCE1_SIZE};

/// Shares handed to the ledger and not yet durable, at most.
const IN_FLIGHT: usize = 4096;

/// Durable shares between acknowledgements to JetStream, at most.
const ACK_EVERY: usize = 4096;

/// The longest a durable share waits for its acknowledgement to JetStream.
/// Acknowledgements only spare the server redeliveries (a restart resumes
/// from the stored position, whatever was acknowledged); one per share
/// would cost the server as much as the share itself.
const ACK_INTERVAL: Duration = Duration::from_millis(100);

/// How long to wait before reopening the consumer after a failure.
const RETRY: Duration = Duration::from_secs(1);

/// The durable consumer's name.
pub const CONSUMER: &str = "accounting";

/// A running accounting node.
pub struct RunningAccounting {
    /// Where the HTTP API listens.
    pub api_addr: SocketAddr,
    /// The store (for exports and inspection).
    pub store: Store,
    /// The embedded chain, when it is the source.
    pub embedded: Option<Arc<EmbeddedSource>>,
    /// Shutdown and the running parts.
    pub running: Running,
}

/// Starts an accounting node with `config`.
///
/// # Errors
/// [`NodeError`] when the store, the chain, the API's address or NATS
/// cannot be set up.
pub async fn start_accounting(config: Config) -> Result<RunningAccounting, NodeError> {
    let mut connect = config.bus.connect.clone();
    if connect.name.is_empty() {
        connect.name = "shareproof-accounting".to_owned();
    }
    // NATS first: an accounting node that cannot reach it fails at start.
    let client = connect.connect().await?;
    let js = async_nats::jetstream::new(client.clone());
    let stream = config.bus.stream.clone();
    stream.ensure(&js).await?;
    let board = JobBoard::open(&js, &stream).await?;

    let core = Core::start(&config).await?;
    let shutdown = core.running.shutdown_token();
    let tracker = core.running.tracker();
    let sizes = (
        EXTRANONCE1_SIZE as u8,
        config.stratum.extranonce2_size as u8,
    );
    tracker.spawn(announce(
        board,
        core.ledger.jobs.clone(),
        sizes,
        shutdown.clone(),
    ));
    tracker.spawn(serve_fresh(
        client,
        stream.clone(),
        core.ledger.handle.clone(),
        sizes,
        shutdown.clone(),
    ));
    let blocks = Blocks {
        source: core.source.clone(),
        ledger: core.ledger.handle.clone(),
        metrics: core.metrics.clone(),
        spent: SpentTip::default(),
    };
    tracker.spawn(apply(
        Apply {
            js,
            stream,
            store: core.store.clone(),
            ledger: core.ledger.handle.clone(),
            book: core.ledger.book.clone(),
            metrics: core.metrics.clone(),
            blocks,
        },
        shutdown,
    ));
    Ok(RunningAccounting {
        api_addr: core.api_addr,
        store: core.store,
        embedded: core.embedded,
        running: core.running,
    })
}

/// Announces each job the ledger broadcasts, retrying the latest while
/// NATS is away.
async fn announce(
    board: JobBoard,
    mut jobs: watch::Receiver<Option<Arc<JobEntry>>>,
    (e1, e2): (u8, u8),
    shutdown: CancellationToken,
) {
    let mut unsent: Option<Arc<JobEntry>> = None;
    loop {
        if let Some(job) = unsent.take() {
            if let Err(e) = board.announce(&job.to_message(e1, e2)).await {
                tracing::warn!(error = %e, job = %job.job.id, "cannot announce a job; retrying");
                unsent = Some(job);
            }
        }
        let wait = async {
            if unsent.is_some() {
                tokio::time::sleep(RETRY).await;
                Ok(())
            } else {
                jobs.changed().await
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            changed = wait => {
                if changed.is_err() {
                    return;
                }
            }
        }
        if let Some(job) = jobs.borrow_and_update().clone() {
            if unsent.as_ref().is_none_or(|u| u.job.id < job.job.id) {
                unsent = Some(job);
            }
        }
    }
}

/// Answers edges' fresh-job requests with a job newer than theirs.
async fn serve_fresh(
    client: Client,
    stream: ShareStream,
    ledger: LedgerHandle,
    (e1, e2): (u8, u8),
    shutdown: CancellationToken,
) {
    let mut requests = match client.subscribe(stream.fresh_subject()).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot serve fresh jobs; edges keep their jobs after a retarget");
            return;
        }
    };
    loop {
        let request = tokio::select! {
            () = shutdown.cancelled() => return,
            r = requests.next() => match r {
                Some(r) => r,
                None => return,
            },
        };
        let Some(reply_to) = request.reply else {
            continue;
        };
        let newer_than = match fresh_request(&request.payload) {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!(error = %e, "a fresh-job request was refused");
                continue;
            }
        };
        let (client, ledger) = (client.clone(), ledger.clone());
        tokio::spawn(async move {
            let (reply, rx) = oneshot::channel();
            if ledger
                .send(LedgerMsg::FreshJob { newer_than, reply })
                .await
                .is_err()
            {
                return;
            }
            if let Ok(job) = rx.await {
                let bytes = job.to_message(e1, e2).to_bytes();
                if let Err(e) = client.publish(reply_to, bytes.into()).await {
                    tracing::warn!(error = %e, "cannot answer a fresh-job request");
                }
            }
        });
    }
}

/// What the apply loop needs.
struct Apply {
    js: Context,
    stream: ShareStream,
    store: Store,
    ledger: LedgerHandle,
    book: Arc<Mutex<JobBook>>,
    metrics: Arc<Metrics>,
    blocks: Blocks,
}

/// A share handed to the ledger, waiting to be durable.
type InFlight = (Delivery, oneshot::Receiver<Result<u64, LedgerError>>);

/// Applies the share stream to the ledger, in order, once each.
async fn apply(a: Apply, shutdown: CancellationToken) {
    loop {
        let applied = match a.store.stream_seq() {
            Ok(seq) => seq,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the stored stream position");
                return;
            }
        };
        match ShareConsumer::open(&a.js, &a.stream, CONSUMER, applied).await {
            Ok(consumer) => {
                tracing::info!(from = applied + 1, "applying the share stream");
                if run_consumer(&a, consumer, &shutdown).await {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot open the share stream's consumer; retrying")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}

/// Runs one consumer until shutdown (returns true) or a failure (false,
/// after every share handed over has been answered).
async fn run_consumer(
    a: &Apply,
    mut consumer: ShareConsumer,
    shutdown: &CancellationToken,
) -> bool {
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    // The last durable share not yet acknowledged, and how many are behind it.
    let mut unacked: Option<Delivery> = None;
    let mut since_ack = 0usize;
    let mut tick = tokio::time::interval(ACK_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failed = false;
    while !failed {
        tokio::select! {
            () = shutdown.cancelled() => {
                settle_all(&mut in_flight).await;
                ack(unacked.take()).await;
                return true;
            }
            _ = tick.tick(), if unacked.is_some() => {
                since_ack = 0;
                ack(unacked.take()).await;
            }
            result = front(&mut in_flight), if !in_flight.is_empty() => {
                let (delivery, _) = in_flight.pop_front().expect("one is in flight");
                match result {
                    Ok(_) => {
                        a.metrics.stream_applied.set(delivery.stream_seq as i64);
                        unacked = Some(delivery);
                        since_ack += 1;
                        if since_ack >= ACK_EVERY {
                            since_ack = 0;
                            ack(unacked.take()).await;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, seq = delivery.stream_seq, "a share from the stream was not applied; going back to the stored position");
                        failed = true;
                    }
                }
            }
            next = consumer.next(), if in_flight.len() < IN_FLIGHT => match next {
                Ok(delivery) => match hand_over(a, &delivery).await {
                    Some(rx) => in_flight.push_back((delivery, rx)),
                    None => failed = true,
                },
                Err(e) => {
                    tracing::warn!(error = %e, "the share stream's consumer failed");
                    failed = true;
                }
            },
        }
    }
    settle_all(&mut in_flight).await;
    false
}

/// Acknowledges `delivery` and every message before it, if there is one.
async fn ack(delivery: Option<Delivery>) {
    if let Some(delivery) = delivery {
        if let Err(e) = delivery.ack().await {
            tracing::debug!(error = %e, "ack not sent; the messages come again and are dropped");
        }
    }
}

/// Waits for every share handed over (some may still commit, moving the
/// stored position on).
async fn settle_all(in_flight: &mut VecDeque<InFlight>) {
    while let Some((_, rx)) = in_flight.pop_front() {
        let _ = rx.await;
    }
}

/// The front share's answer from the ledger.
async fn front(in_flight: &mut VecDeque<InFlight>) -> Result<u64, LedgerError> {
    match in_flight.front_mut() {
        Some((_, rx)) => rx.await.unwrap_or(Err(LedgerError::Closed)),
        None => std::future::pending().await,
    }
}

/// Hands one delivered share to the ledger (submitting it first when it is
/// a block); `None` when the ledger is gone or the share cannot be applied.
async fn hand_over(
    a: &Apply,
    delivery: &Delivery,
) -> Option<oneshot::Receiver<Result<u64, LedgerError>>> {
    let message = &delivery.share;
    let record = message.record.clone();
    let weight = match record.target.weight() {
        Ok(w) => w,
        Err(e) => {
            // An edge validated it against this target: a target no share
            // can have is a broken edge. Stop here rather than skip it.
            tracing::error!(error = %e, seq = delivery.stream_seq, "a share on the stream has a target with no weight");
            return None;
        }
    };
    let checked = Checked {
        hash: message.hash,
        version: record.version,
        weight,
        is_block: message.is_block,
    };
    let block = if message.is_block {
        let job = a
            .book
            .lock()
            .expect("job book lock is never poisoned")
            .get(record.job_id);
        match job {
            Some(job) => {
                let submission = Submission {
                    job_id: record.job_id,
                    extranonce1: record.extranonce1.clone(),
                    extranonce2: record.extranonce2.clone(),
                    ntime: record.ntime,
                    nonce: record.nonce,
                    version_bits: None,
                };
                a.blocks
                    .submit(&job, &submission, record.version, message.hash)
            }
            None => {
                tracing::error!(hash = %message.hash, job = %record.job_id, "a block on a job this node no longer holds: recorded as a share, not submitted");
                None
            }
        }
    } else {
        None
    };
    let (reply, rx) = oneshot::channel();
    let share = AcceptedShare {
        record,
        checked,
        worker: Arc::from(message.worker.as_str()),
        stream_seq: Some(delivery.stream_seq),
        block,
        reply,
    };
    a.ledger.send(LedgerMsg::Share(share)).await.ok()?;
    Some(rx)
}
