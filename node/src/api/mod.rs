//! The HTTP API (axum): pool and miner statistics, share receipts, blocks,
//! the share log download, Prometheus metrics and a health check.
//!
//! - `GET /health`
//! - `GET /api/v1/pool`: hash rate estimate, connected miners, shares,
//!   blocks, the window root of the latest job
//! - `GET /api/v1/miners/{address}`: workers, hash rate, shares, weight in
//!   the window, estimated share of the next block, the blocks it was paid
//!   in; `known: false` (and zeros) for an address the pool has not seen
//! - `GET /api/v1/shares/{seq}/receipt`: inclusion proof of a share against
//!   the root committed by the latest job (a `ShareReceipt`, as
//!   `share-verifier receipt-verify` reads it, plus `job_id` and `window_seq`)
//! - `GET /api/v1/blocks` (each with its `settlement`, null while settlement
//!   has not looked at it: status found →
//!   confirmed → proving → sent → settled, or orphaned / before_checkpoint /
//!   unprovable;
//!   confirmations, tx hash, gas, proving time, last error),
//!   `GET /api/v1/blocks/{hash}/snapshot` (the window a block committed to:
//!   what the prover proves)
//! - `GET /api/v1/chain/tip`: the embedded chain's tip header (a light
//!   client checkpoint for devnet deployments)
//! - `GET /api/v1/log`: the share log file for auditors, streamed
//! - `GET /api/v1/history/pool`, `GET /api/v1/history/miners/{address}`:
//!   per-minute and per-hour shares, work and hash rate (`series`)
//! - `GET /api/v1/config`, `GET /api/v1/verification-key`: what the web app
//!   connects to and checks proofs with (`web`)
//! - `GET /`, `/miner/{address}`, `/verify`, `/assets/...`: the web app
//! - `GET /metrics`

mod log_stream;
mod series;
pub mod web;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use bitcoin::BlockHash;
use serde_json::json;
use share_verifier::allocation::{group, AllocationError, Payee};
use share_verifier::{Address, Window};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::ledger::{Accounts, JobEntry};
use crate::metrics::Metrics;
use crate::store::{BlockInfo, Store, StoreError};
use crate::stratum::Registry;
use shareproof_sources::clock::unix_now;
use shareproof_sources::embedded::EmbeddedSource;
use web::PublicInfo;

/// What the handlers read.
#[derive(Clone)]
pub struct ApiState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    accounts: Arc<Mutex<Accounts>>,
    registry: Registry,
    metrics: Arc<Metrics>,
    jobs: watch::Receiver<Option<Arc<JobEntry>>>,
    embedded: Option<Arc<EmbeddedSource>>,
    source: &'static str,
    started: u64,
    /// The window rebuilt at the latest committed position, reused across
    /// receipt requests until a new job moves it.
    receipt_window: Mutex<Option<(u64, Window)>>,
    /// What the web app shows about connecting.
    public: Arc<PublicInfo>,
    /// Per found block, the weight of each address in the window it
    /// committed (a block's window never changes).
    paid: Mutex<HashMap<BlockHash, Arc<Grouped>>>,
}

/// The node's parts the API reads.
pub struct ApiParts {
    /// The store.
    pub store: Store,
    /// The ledger's accounts.
    pub accounts: Arc<Mutex<Accounts>>,
    /// Connected workers.
    pub registry: Registry,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The latest job.
    pub jobs: watch::Receiver<Option<Arc<JobEntry>>>,
    /// The embedded chain, when it is the source.
    pub embedded: Option<Arc<EmbeddedSource>>,
    /// The template source's name.
    pub source: &'static str,
    /// What the web app shows about connecting.
    pub public: Arc<PublicInfo>,
}

impl ApiState {
    /// State over the node's parts.
    pub fn new(parts: ApiParts) -> Self {
        let ApiParts {
            store,
            accounts,
            registry,
            metrics,
            jobs,
            embedded,
            source,
            public,
        } = parts;
        ApiState {
            inner: Arc::new(Inner {
                store,
                accounts,
                registry,
                metrics,
                jobs,
                embedded,
                source,
                started: unix_now(),
                receipt_window: Mutex::new(None),
                public,
                paid: Mutex::default(),
            }),
        }
    }
}

/// The router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(prometheus))
        .route("/api/v1/pool", get(pool))
        .route("/api/v1/miners/{address}", get(miner))
        .route("/api/v1/shares/{seq}/receipt", get(receipt))
        .route("/api/v1/blocks", get(blocks))
        .route("/api/v1/blocks/{hash}/snapshot", get(block_snapshot))
        .route("/api/v1/log", get(log))
        .route("/api/v1/chain/tip", get(chain_tip))
        .route("/api/v1/history/pool", get(series::pool))
        .route("/api/v1/history/miners/{address}", get(series::miner))
        .route("/api/v1/config", get(web::config))
        .route("/api/v1/verification-key", get(web::verification_key))
        .route("/", get(web::page))
        .route("/index.html", get(web::page))
        .route("/miner/{address}", get(web::page))
        .route("/verify", get(web::page))
        .route("/assets/{*path}", get(web::assets))
        .with_state(state)
}

/// The router of a Stratum edge, which keeps no store: its Prometheus
/// metrics (`/metrics`) and `/health` (200 once it has a job to serve).
pub fn edge_router(metrics: Arc<Metrics>, jobs: watch::Receiver<Option<Arc<JobEntry>>>) -> Router {
    let health = move || {
        let job = jobs
            .borrow()
            .as_ref()
            .map(|j| (j.job.id, j.created.elapsed()));
        async move {
            match job {
                Some((id, age)) => Json(json!({
                    "status": "ok",
                    "job": id.to_string(),
                    "job_age_seconds": age.as_secs(),
                }))
                .into_response(),
                None => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(json!({"status": "no job from the accounting node yet"})),
                )
                    .into_response(),
            }
        }
    };
    let render = move || {
        let text = metrics.render(unix_now());
        async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response() }
    };
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(render))
}

/// Serves `app` (the [`router`] of an [`ApiState`], or an [`edge_router`])
/// until `shutdown`.
pub async fn serve(listener: TcpListener, app: Router, shutdown: CancellationToken) {
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
    {
        tracing::error!(error = %e, "HTTP API stopped");
    }
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"error": message.into()}))).into_response()
}

async fn health(State(s): State<ApiState>) -> Response {
    let job = s.inner.jobs.borrow().clone();
    match job {
        Some(j) => Json(json!({
            "status": "ok",
            "source": s.inner.source,
            "height": j.template.as_ref().map(|t| t.height),
            "job_age_seconds": j.created.elapsed().as_secs(),
        }))
        .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "no template yet", "source": s.inner.source})),
        )
            .into_response(),
    }
}

async fn prometheus(State(s): State<ApiState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.inner.metrics.render(unix_now()),
    )
        .into_response()
}

async fn chain_tip(State(s): State<ApiState>) -> Response {
    let Some(embedded) = &s.inner.embedded else {
        return error(StatusCode::NOT_FOUND, "no embedded chain".to_owned());
    };
    let (height, header) = embedded.with_chain(|c| (c.height(), c.header(c.height()).copied()));
    match header {
        Some(h) => Json(json!({
            "height": height,
            "hash": h.block_hash().to_string(),
            "header": hex::encode(bitcoin::consensus::serialize(&h)),
        }))
        .into_response(),
        None => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no tip header".to_owned(),
        ),
    }
}

async fn pool(State(s): State<ApiState>) -> Response {
    let now = unix_now();
    let job = s.inner.jobs.borrow().clone();
    let a = s.inner.accounts.lock().expect("accounts lock");
    let committed = a.committed.map(|(job, seq, root)| {
        json!({"job_id": job.to_string(), "window_seq": seq, "root": root.to_string()})
    });
    Json(json!({
        "hashrate": a.pool_rate.hashrate(now, s.inner.started),
        "connected_miners": s.inner.registry.miners(),
        "connections": s.inner.metrics.connections.get(),
        "protocols": protocols(&s.inner.metrics),
        "shares": a.shares_total,
        "window_shares": a.window_shares,
        "window_weight": a.window_weight.to_string(),
        "blocks": a.blocks_total,
        "window": committed,
        "source": s.inner.source,
        "height": job.as_ref().and_then(|j| j.template.as_ref()).map(|t| t.height),
        "network_difficulty": job.as_ref().map(|j| j.network_target.difficulty_lossy()),
        "chain_tip_height": s.inner.embedded.as_ref().map(|e| e.with_chain(|c| c.height())),
    }))
    .into_response()
}

/// Connections and accepted shares (since start) per Stratum protocol.
fn protocols(m: &crate::metrics::Metrics) -> serde_json::Value {
    let conns = |p: &str| m.connections_by_protocol.with_label_values(&[p]).get();
    let shares = |p: &str| m.shares_by_protocol.with_label_values(&[p]).get();
    json!({
        "v1": {"connections": conns("v1"), "shares_accepted": shares("v1")},
        "v2": {
            "connections": conns("v2"),
            "channels": m.v2_channels.get(),
            "shares_accepted": shares("v2"),
        },
    })
}

async fn miner(State(s): State<ApiState>, Path(address): Path<String>) -> Response {
    let address = match Address::from_str(&address) {
        Ok(a) => a,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let now = unix_now();
    let next_reward = s
        .inner
        .jobs
        .borrow()
        .as_ref()
        .and_then(|j| j.template.as_ref())
        .map(|t| t.coinbase_value.to_sat());
    let connected = s.inner.registry.workers(&address);
    let connected_json: Vec<_> = connected
        .iter()
        .map(|(w, n)| json!({"name": w, "connections": n}))
        .collect();
    let (mut body, known) = {
        let a = s.inner.accounts.lock().expect("accounts lock");
        match a.miners.get(&address) {
            None => (
                json!({
                    "address": address.to_string(),
                    "workers": [],
                    "hashrate": 0.0,
                    "shares": 0,
                    "window_shares": 0,
                    "window_weight": "0",
                    "next_block_fraction": 0.0,
                    "next_block_estimate_sats": next_reward.map(|_| 0),
                }),
                false,
            ),
            Some(m) => {
                let fraction = if a.window_weight == 0 {
                    0.0
                } else {
                    m.window_weight as f64 / a.window_weight as f64
                };
                let mut workers: Vec<_> = m
                    .workers
                    .iter()
                    .map(|(name, (shares, rate, last))| {
                        json!({"name": name.as_ref(), "shares": shares, "hashrate": rate.hashrate(now, s.inner.started), "last_share_time": last})
                    })
                    .collect();
                workers.sort_by(|x, y| x["name"].as_str().cmp(&y["name"].as_str()));
                (
                    json!({
                        "address": address.to_string(),
                        "workers": workers,
                        "hashrate": m.rate.hashrate(now, s.inner.started),
                        "shares": m.shares,
                        "window_shares": m.window_shares,
                        "window_weight": m.window_weight.to_string(),
                        "next_block_fraction": fraction,
                        "next_block_estimate_sats": next_reward.map(|r| (r as f64 * fraction).floor() as u64),
                    }),
                    true,
                )
            }
        }
    };
    let inner = s.inner.clone();
    let paid = match tokio::task::spawn_blocking(move || paid_blocks(&inner, &address)).await {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    // An address the pool has not seen is a valid question with a zero
    // answer (a page pasting a new address must not see an error).
    body["known"] = json!(known || !connected.is_empty() || !paid.is_empty());
    body["connected_workers"] = json!(connected_json);
    body["paid_blocks"] = json!(paid);
    Json(body).into_response()
}

/// A block's window grouped by address (ascending) and its total weight.
type Grouped = (Vec<Payee>, u128);

/// Why the blocks an address was paid in cannot be listed.
#[derive(Debug, thiserror::Error)]
enum PaidError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored window does not group (a zero address, an overflow).
    #[error("a stored window: {0}")]
    Window(#[from] AllocationError),
}

/// Most recent blocks `paid_blocks` looks through.
const PAID_BLOCKS_SCAN: usize = 200;

/// The found blocks (newest first, among the latest [`PAID_BLOCKS_SCAN`])
/// whose committed window holds shares of `address`: its weight there, the
/// window's total and the block's settlement state.
fn paid_blocks(inner: &Inner, address: &Address) -> Result<Vec<serde_json::Value>, PaidError> {
    let store = &inner.store;
    let mut blocks = store.blocks()?;
    blocks.sort_by_key(|b| std::cmp::Reverse((b.height, b.found_at)));
    blocks.truncate(PAID_BLOCKS_SCAN);
    // The cache keeps only the blocks still looked through.
    inner
        .paid
        .lock()
        .expect("paid cache lock")
        .retain(|hash, _| blocks.iter().any(|b| b.hash == *hash));
    let mut out = Vec::new();
    for b in blocks {
        let grouped = grouped_window(inner, &b)?;
        let (payees, total) = &*grouped;
        let Ok(at) = payees.binary_search_by(|p| p.address.cmp(address)) else {
            continue;
        };
        let weight = payees[at].weight;
        let settlement = store.settlement_record(&b.hash)?;
        out.push(json!({
            "hash": b.hash.to_string(),
            "height": b.height,
            "status": settlement.as_ref().map(|r| serde_json::to_value(r.status).unwrap_or_default()),
            "tx_hash": settlement.as_ref().and_then(|r| r.tx_hash).map(|h| h.to_string()),
            "weight": weight.to_string(),
            "total_weight": total.to_string(),
            "reward_sats": b.reward.to_sat(),
        }));
    }
    Ok(out)
}

/// The window block `b` committed to, grouped by address (cached: a
/// block's window never changes).
fn grouped_window(inner: &Inner, b: &BlockInfo) -> Result<Arc<Grouped>, PaidError> {
    if let Some(g) = inner.paid.lock().expect("paid cache lock").get(&b.hash) {
        return Ok(g.clone());
    }
    let snapshot = inner.store.snapshot_at(b.window_seq, b.root)?;
    let grouped = Arc::new(group(
        snapshot.entries.iter().map(|e| (e.address, e.weight)),
    )?);
    inner
        .paid
        .lock()
        .expect("paid cache lock")
        .insert(b.hash, grouped.clone());
    Ok(grouped)
}

/// `?block=HASH` on a receipt: against the window that block committed.
#[derive(Debug, serde::Deserialize)]
struct ReceiptQuery {
    block: Option<String>,
}

async fn receipt(
    State(s): State<ApiState>,
    Path(seq): Path<u64>,
    Query(q): Query<ReceiptQuery>,
) -> Response {
    let (job_id, window_seq, root, block) = match &q.block {
        None => {
            let committed = s.inner.accounts.lock().expect("accounts lock").committed;
            let Some((job_id, window_seq, root)) = committed else {
                return error(StatusCode::SERVICE_UNAVAILABLE, "no job committed yet");
            };
            (job_id, window_seq, root, None)
        }
        Some(hash) => {
            let hash = match BlockHash::from_str(hash) {
                Ok(h) => h,
                Err(e) => {
                    return error(StatusCode::BAD_REQUEST, format!("block hash {hash:?}: {e}"))
                }
            };
            match s.inner.store.block(&hash) {
                Ok(Some(b)) => (b.job_id, b.window_seq, b.root, Some(hash)),
                Ok(None) => return error(StatusCode::NOT_FOUND, format!("no block {hash}")),
                Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
            }
        }
    };
    if seq >= window_seq {
        return error(
            StatusCode::NOT_FOUND,
            match block {
                None => format!("share {seq} is not committed yet: the latest job commits to the window after {window_seq} shares"),
                Some(b) => format!("share {seq} is not in the window of block {b}, which ends after {window_seq} shares"),
            },
        );
    }
    let inner = s.inner.clone();
    let result = tokio::task::spawn_blocking(move || {
        let mut cached = inner.receipt_window.lock().expect("receipt cache lock");
        if cached.as_ref().is_none_or(|(at, _)| *at != window_seq) {
            let snapshot = inner
                .store
                .snapshot_at(window_seq, root)
                .map_err(|e| e.to_string())?;
            let window = snapshot.to_window().map_err(|e| e.to_string())?;
            *cached = Some((window_seq, window));
        }
        let (_, window) = cached.as_mut().expect("filled above");
        Ok::<_, String>(window.receipt(seq))
    })
    .await;
    match result {
        Ok(Ok(Some(r))) => {
            // The receipt itself (what `share-verifier receipt-verify` reads),
            // plus where its root was committed.
            let mut body = serde_json::to_value(&r).expect("receipts serialise");
            body["job_id"] = json!(job_id.to_string());
            body["window_seq"] = json!(window_seq);
            if let Some(b) = block {
                body["block"] = json!(b.to_string());
            }
            Json(body).into_response()
        }
        Ok(Ok(None)) => error(
            StatusCode::GONE,
            format!("share {seq} is not in the window committed at {window_seq}"),
        ),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn blocks(State(s): State<ApiState>) -> Response {
    let store = &s.inner.store;
    let blocks = match store.blocks() {
        Ok(b) => b,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    let mut out = Vec::with_capacity(blocks.len());
    for b in blocks {
        let settlement = match store.settlement_record(&b.hash) {
            Ok(r) => r,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let mut v = serde_json::to_value(&b).unwrap_or_default();
        v["settlement"] = serde_json::to_value(&settlement).unwrap_or_default();
        out.push(v);
    }
    Json(json!({"blocks": out})).into_response()
}

async fn block_snapshot(State(s): State<ApiState>, Path(hash): Path<String>) -> Response {
    let hash = match BlockHash::from_str(&hash) {
        Ok(h) => h,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("block hash {hash:?}: {e}")),
    };
    let store = s.inner.store.clone();
    match tokio::task::spawn_blocking(move || store.block_snapshot(&hash)).await {
        Ok(Ok(Some(snap))) => Json(snap).into_response(),
        Ok(Ok(None)) => error(StatusCode::NOT_FOUND, format!("no block {hash}")),
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn log(State(s): State<ApiState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"shareproof.shpflog\"",
            ),
        ],
        log_stream::body(s.inner.store.clone()),
    )
        .into_response()
}
