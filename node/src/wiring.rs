//! Wiring: opens the store, recovers the ledger, starts the template source,
//! the Stratum server and the HTTP API, and shuts them down in order
//! (stop accepting, let sessions answer their in-flight shares, let the
//! ledger commit its last round, then return). A part that cannot go on
//! (the ledger's store, settlement with a key it may not use) records a
//! [`Fatal`] error, which stops the node and is what [`RunningNode::wait`]
//! returns.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::{self, ApiState};
use crate::config::{Config, SourceConfig};
use crate::fatal::{Fatal, FatalError};
use crate::ledger::{Ledger, LedgerMsg};
use crate::metrics::Metrics;
use crate::settle::{Prover, Settler, SettlerParts};
use crate::store::{Store, StoreError};
use crate::stratum::{Listener, Registry, Shared};
use shareproof_sources::bitcoind::BitcoindSource;
use shareproof_sources::chain::Chain;
use shareproof_sources::embedded::EmbeddedSource;
use shareproof_sources::BestChain;
use shareproof_sources::{CoinbaseBuilder, TemplateSource};

/// extranonce1 size: 4 bytes, unique per connection.
pub const EXTRANONCE1_SIZE: usize = 4;

/// Errors of starting a node.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The store could not be opened or recovered.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The embedded chain could not be opened.
    #[error("embedded chain: {0}")]
    Chain(#[from] shareproof_sources::chain::BlockError),
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The settlement's signer or proving key could not be prepared.
    #[error("settlement: {0}")]
    Settlement(#[from] crate::settle::SettleError),
    /// The data directory could not be created.
    #[error("cannot create data dir {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A part of the running node stopped it.
    #[error("the node stopped: {0}")]
    Fatal(#[source] FatalError),
}

/// A running node.
pub struct RunningNode {
    /// Where Stratum listens.
    pub stratum_addr: SocketAddr,
    /// Where the HTTP API listens.
    pub api_addr: SocketAddr,
    /// The store (for exports and inspection).
    pub store: Store,
    /// The embedded chain, when it is the source.
    pub embedded: Option<Arc<EmbeddedSource>>,
    shutdown: CancellationToken,
    fatal: Fatal,
    tracker: TaskTracker,
    ledger_thread: std::thread::JoinHandle<()>,
}

impl RunningNode {
    /// A token that stops the node when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops accepting, lets every session answer its in-flight shares,
    /// waits for the ledger's last commit, and returns.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        let thread = self.ledger_thread;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }

    /// Waits until the shutdown token is cancelled, then stops.
    ///
    /// # Errors
    /// [`NodeError::Fatal`] when a part of the node stopped it.
    pub async fn wait(self) -> Result<(), NodeError> {
        self.shutdown.cancelled().await;
        let fatal = self.fatal.clone();
        self.stop().await;
        match fatal.error() {
            Some(error) => Err(NodeError::Fatal(error.clone())),
            None => Ok(()),
        }
    }

    /// The fatal error that stopped the node, if one did.
    pub fn fatal_error(&self) -> Option<FatalError> {
        self.fatal.error().cloned()
    }
}

/// The template source, the same source as the Bitcoin chain settlement
/// reads, and the embedded chain when it is the source.
type Sources = (
    Arc<dyn TemplateSource>,
    Arc<dyn BestChain>,
    Option<Arc<EmbeddedSource>>,
);

/// Starts a node with `config`.
///
/// # Errors
/// [`NodeError`] when the store, the chain or a listener cannot be set up.
pub async fn start(config: Config) -> Result<RunningNode, NodeError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| NodeError::DataDir {
        path: config.data_dir.display().to_string(),
        source,
    })?;
    let store = Store::open(&config.data_dir.join("db"), config.pool.window_log2_slots)?;
    let metrics = Arc::new(Metrics::new());
    let coinbase = CoinbaseBuilder {
        settlement_script: config.pool.settlement_script.clone(),
        pool_tag: config.pool.pool_tag.clone(),
        extranonce1_size: EXTRANONCE1_SIZE,
        extranonce2_size: config.stratum.extranonce2_size,
    };
    let shutdown = CancellationToken::new();
    let fatal = Fatal::new(shutdown.clone());
    let ledger = Ledger::start(store.clone(), coinbase, metrics.clone(), fatal.clone())?;

    let (source, best_chain, embedded): Sources = match &config.source {
        SourceConfig::Embedded(rule) => {
            let chain = Chain::open(store.chain_tree()?, *rule)?;
            tracing::info!(height = chain.height(), tip = %chain.tip(), nbits = format!("{:08x}", chain.next_nbits().to_consensus()), "embedded regtest chain");
            let e = Arc::new(EmbeddedSource::new(chain));
            (e.clone(), e.clone(), Some(e))
        }
        SourceConfig::Bitcoind(b) => {
            let b = Arc::new(BitcoindSource::new(b.clone()));
            (b.clone(), b, None)
        }
    };

    let tracker = TaskTracker::new();

    if let Some(settle) = &config.settlement {
        // Fail at start, not later, for a bad signer or key.
        settle
            .signer
            .load()
            .map_err(crate::settle::SettleError::from)?;
        let (keys, log2, dir) = (
            settle.keys.clone(),
            config.pool.window_log2_slots,
            config.data_dir.clone(),
        );
        let prover = tokio::task::spawn_blocking(move || Prover::prepare(&keys, log2, &dir))
            .await
            .map_err(crate::settle::SettleError::Join)?
            .map_err(crate::settle::SettleError::from)?;
        tracker.spawn(Settler::run(
            SettlerParts {
                config: settle.clone(),
                store: store.clone(),
                chain: best_chain.clone(),
                prover: Arc::new(prover),
                metrics: metrics.clone(),
                fatal: fatal.clone(),
            },
            shutdown.clone(),
        ));
    }

    // Templates flow from the source to the ledger.
    let (templates_tx, mut templates_rx) = mpsc::channel(16);
    tracker.spawn(
        source
            .clone()
            .run(templates_tx, config.template_refresh, shutdown.clone()),
    );
    let handle = ledger.handle.clone();
    tracker.spawn(async move {
        while let Some(t) = templates_rx.recv().await {
            if handle.send(LedgerMsg::Template(t)).await.is_err() {
                return;
            }
        }
    });

    let registry = Registry::default();
    let stratum = TcpListener::bind(config.stratum.listen)
        .await
        .map_err(|source| NodeError::Bind {
            addr: config.stratum.listen,
            source,
        })?;
    let shared = Arc::new(Shared::new(
        config.stratum.clone(),
        config.vardiff,
        ledger.handle.clone(),
        ledger.jobs.clone(),
        source.clone(),
        metrics.clone(),
        registry.clone(),
    ));
    let listener = Listener::new(stratum, shared, shutdown.clone(), tracker.clone());
    let stratum_addr = listener.local_addr().map_err(|source| NodeError::Bind {
        addr: config.stratum.listen,
        source,
    })?;
    tracker.spawn(listener.run());

    let api_listener = TcpListener::bind(config.api_listen)
        .await
        .map_err(|source| NodeError::Bind {
            addr: config.api_listen,
            source,
        })?;
    let api_addr = api_listener
        .local_addr()
        .map_err(|source| NodeError::Bind {
            addr: config.api_listen,
            source,
        })?;
    let state = ApiState::new(
        store.clone(),
        ledger.accounts.clone(),
        registry,
        metrics,
        ledger.jobs.clone(),
        embedded.clone(),
        source.name(),
    );
    tracker.spawn(api::serve(api_listener, state, shutdown.clone()));

    Ok(RunningNode {
        stratum_addr,
        api_addr,
        store,
        embedded,
        shutdown,
        fatal,
        tracker,
        ledger_thread: ledger.thread,
    })
}
