//! A Stratum edge of a scaled-out pool (`shareproof edge`): the same
//! Stratum server, sessions, vardiff and share validation as the single
//! node, with the share bus where the ledger would be.
//!
//! - Every share a session accepts is published to the share stream with
//!   its hash as the message id; the miner hears "accepted" only once
//!   JetStream says the share is stored (on a quorum of an R3 stream). A
//!   share NATS does not store is answered with an error: the miner sees
//!   it, nothing is lost silently.
//! - Jobs come from the accounting node (the latest kept on the jobs
//!   stream first, then each one announced); a session that retargets asks
//!   the accounting node for a fresh job.
//! - A share that is a block is flagged on the stream; the accounting node,
//!   which holds the job's template, submits it as it applies the share.
//!
//! The edge keeps no state of its own on disk: killed, it loses only the
//! shares it had not acknowledged.

use std::net::SocketAddr;
use std::sync::Arc;

use async_nats::Client;
use shareproof_bus::board::request_fresh;
use shareproof_bus::{BusError, JobFeed, ShareMessage, SharePublisher, ShareStream};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api;
use crate::config::Config;
use crate::fatal::Fatal;
use crate::ledger::{AcceptedShare, JobEntry, LedgerError, LedgerHandle, LedgerMsg};
use crate::metrics::Metrics;
use crate::stratum::{Registry, Shared};
use crate::wiring::{
    bind, local_addr, serve_stratum, serve_stratum_v2, NodeError, Running, V2Endpoint,
};

/// Shares waiting to be published, at most (sessions wait beyond it).
const QUEUE: usize = 65_536;

/// A running edge.
pub struct RunningEdge {
    /// Where Stratum listens.
    pub stratum_addr: SocketAddr,
    /// Where Stratum V2 listens and its key, unless V2 is off.
    pub stratum_v2: Option<V2Endpoint>,
    /// Where its metrics and health check listen (`/metrics`, `/health`).
    pub api_addr: SocketAddr,
    /// Shutdown and the running parts.
    pub running: Running,
}

/// Starts an edge with `config`'s Stratum, vardiff and bus settings.
///
/// # Errors
/// [`NodeError::Bus`] when NATS or the stream cannot be reached at start,
/// [`NodeError::Bind`] when the Stratum address cannot be bound.
pub async fn start_edge(config: Config) -> Result<RunningEdge, NodeError> {
    let mut connect = config.bus.connect.clone();
    if connect.name.is_empty() {
        connect.name = format!("shareproof-edge-{}", config.stratum.listen);
    }
    let client = connect.connect().await?;
    let js = async_nats::jetstream::new(client.clone());
    let stream = config.bus.stream.clone();
    stream.ensure(&js).await?;
    let publisher = SharePublisher::new(js.clone(), &stream);
    let feed = JobFeed::open(&client, &js, &stream).await?;

    let shutdown = CancellationToken::new();
    let tracker = TaskTracker::new();
    let running = Running::new(
        shutdown.clone(),
        Fatal::new(shutdown.clone()),
        tracker.clone(),
    );
    let (jobs_tx, jobs_rx) = watch::channel(None);
    let metrics = Arc::new(Metrics::new());
    let api = bind(config.api_listen).await?;
    let api_addr = local_addr(&api, config.api_listen)?;
    tracker.spawn(api::serve(
        api,
        api::edge_router(metrics.clone(), jobs_rx.clone()),
        shutdown.clone(),
    ));
    tracker.spawn(follow_jobs(feed, jobs_tx, shutdown.clone()));
    let (handle, rx) = LedgerHandle::channel(QUEUE);
    tracker.spawn(forward(
        rx,
        Forwarder {
            publisher,
            client,
            stream,
            tracker: tracker.clone(),
            metrics: metrics.clone(),
        },
    ));
    let shared = Arc::new(Shared::new(
        config.stratum.clone(),
        config.vardiff,
        handle,
        jobs_rx,
        None,
        metrics,
        Registry::default(),
    ));
    let stratum_addr = serve_stratum(&config.stratum, shared.clone(), &running).await?;
    let stratum_v2 = serve_stratum_v2(&config, shared, &running).await?;
    tracing::info!(%stratum_addr, "edge serving Stratum");
    Ok(RunningEdge {
        stratum_addr,
        stratum_v2,
        api_addr,
        running,
    })
}

/// Keeps the sessions' latest job: each job from the accounting node that
/// is newer than the one held.
async fn follow_jobs(
    mut feed: JobFeed,
    jobs: watch::Sender<Option<Arc<JobEntry>>>,
    shutdown: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            () = shutdown.cancelled() => return,
            next = feed.next() => next,
        };
        match next {
            Ok(message) => {
                let newer = jobs
                    .borrow()
                    .as_ref()
                    .is_none_or(|j| j.job.id < message.id());
                if newer {
                    tracing::debug!(job = %message.id(), window_seq = message.record.window_seq, "job from the accounting node");
                    jobs.send_replace(Some(Arc::new(JobEntry::from_message(message))));
                }
            }
            Err(BusError::Ended) => {
                tracing::error!("the job subscription ended; the edge keeps its last job");
                return;
            }
            Err(e) => tracing::warn!(error = %e, "a job message was refused"),
        }
    }
}

/// What the forwarder needs.
struct Forwarder {
    publisher: SharePublisher,
    client: Client,
    stream: ShareStream,
    tracker: TaskTracker,
    metrics: Arc<Metrics>,
}

/// Stands where the ledger stands on a single node: publishes each share
/// and answers the session once JetStream stored it; asks the accounting
/// node for fresh jobs.
async fn forward(mut rx: mpsc::Receiver<LedgerMsg>, f: Forwarder) {
    while let Some(msg) = rx.recv().await {
        match msg {
            LedgerMsg::Share(share) => publish(&f, share).await,
            LedgerMsg::FreshJob { newer_than, reply } => {
                let (client, stream) = (f.client.clone(), f.stream.clone());
                f.tracker.spawn(async move {
                    match request_fresh(&client, &stream, newer_than).await {
                        Ok(job) => {
                            let _ = reply.send(Arc::new(JobEntry::from_message(job)));
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "no fresh job; the session keeps its job")
                        }
                    }
                });
            }
            // Templates and block results belong to the accounting node.
            LedgerMsg::Template(_) | LedgerMsg::BlockStatus { .. } | LedgerMsg::Tick => {}
        }
    }
}

/// Publishes one share; its reply carries the stream sequence once stored.
async fn publish(f: &Forwarder, share: AcceptedShare) {
    let message = ShareMessage {
        record: share.record,
        hash: share.checked.hash,
        is_block: share.checked.is_block,
        worker: share.worker.to_string(),
    };
    if message.is_block {
        tracing::info!(hash = %message.hash, "block found on this edge; the accounting node submits it");
    }
    match f.publisher.send(&message).await {
        Ok(pending) => {
            f.tracker
                .spawn(answer(pending, share.reply, f.metrics.clone()));
        }
        Err(e) => refuse(share.reply, e, &f.metrics),
    }
}

async fn answer(
    pending: shareproof_bus::Pending,
    reply: oneshot::Sender<Result<u64, LedgerError>>,
    metrics: Arc<Metrics>,
) {
    match pending.stored().await {
        Ok(published) => {
            let outcome = if published.duplicate {
                "duplicate"
            } else {
                "stored"
            };
            metrics.stream_published.with_label_values(&[outcome]).inc();
            let _ = reply.send(Ok(published.stream_seq));
        }
        Err(e) => refuse(reply, e, &metrics),
    }
}

fn refuse(reply: oneshot::Sender<Result<u64, LedgerError>>, error: BusError, metrics: &Metrics) {
    metrics
        .stream_published
        .with_label_values(&["failed"])
        .inc();
    tracing::warn!(error = %error, "share not stored on the stream; the miner is told");
    let _ = reply.send(Err(LedgerError::Bus(Arc::new(error))));
}
