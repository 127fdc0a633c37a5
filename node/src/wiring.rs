//! Wiring: opens the store, recovers the ledger, starts the template source,
//! the Stratum server and the HTTP API, and shuts them down in order
//! (stop accepting, let sessions answer their in-flight shares, let the
//! ledger commit its last round, then return). A part that cannot go on
//! (the ledger's store, settlement with a key it may not use) records a
//! [`Fatal`] error, which stops the node and is what [`RunningNode::wait`]
//! returns.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::web::PublicInfo;
use crate::api::{self, ApiParts, ApiState};
use crate::config::{Config, SourceConfig};
use crate::fatal::{Fatal, FatalError};
use crate::ledger::{Ledger, LedgerMsg, LedgerParts};
use crate::metrics::Metrics;
use crate::settle::{Prover, Settler, SettlerParts};
use crate::store::{Store, StoreError};
use crate::stratum::block::{Blocks, SpentTip};
use crate::stratum::v2::{authority, V2Server};
use crate::stratum::{Listener, Protocol, Registry, Shared, StratumConfig};
use shareproof_sources::bitcoind::BitcoindSource;
use shareproof_sources::chain::Chain;
use shareproof_sources::clock::unix_now;
use shareproof_sources::embedded::EmbeddedSource;
use shareproof_sources::BestChain;
use shareproof_sources::{CoinbaseBuilder, TemplateSource};
use shareproof_stratum::v2::AuthorityPublicKey;

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
    /// The Stratum V2 authority key file cannot be read or created.
    #[error(transparent)]
    AuthorityKey(#[from] authority::AuthorityFileError),
    /// NATS, the share stream or the jobs stream cannot be reached.
    #[error("share bus: {0}")]
    Bus(#[from] shareproof_bus::BusError),
    /// A part of the running node stopped it.
    #[error("the node stopped: {0}")]
    Fatal(#[source] FatalError),
}

/// What every role's running parts share: the shutdown token, the fatal
/// error that may have stopped them, their tasks and the ledger's thread.
pub struct Running {
    shutdown: CancellationToken,
    fatal: Fatal,
    tracker: TaskTracker,
    ledger_thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    pub(crate) fn new(shutdown: CancellationToken, fatal: Fatal, tracker: TaskTracker) -> Self {
        Running {
            shutdown,
            fatal,
            tracker,
            ledger_thread: None,
        }
    }

    /// A token that stops the role when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// The tracker the role's tasks run on (stop waits for them).
    pub(crate) fn tracker(&self) -> TaskTracker {
        self.tracker.clone()
    }

    /// Stops accepting, lets every session answer its in-flight shares,
    /// waits for the ledger's last commit, and returns.
    pub async fn stop(self) {
        self.shutdown.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        if let Some(thread) = self.ledger_thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Waits until the shutdown token is cancelled, then stops.
    ///
    /// # Errors
    /// [`NodeError::Fatal`] when a part stopped it.
    pub async fn wait(self) -> Result<(), NodeError> {
        self.shutdown.cancelled().await;
        let fatal = self.fatal.clone();
        self.stop().await;
        match fatal.error() {
            Some(error) => Err(NodeError::Fatal(error.clone())),
            None => Ok(()),
        }
    }

    /// The fatal error that stopped it, if one did.
    pub fn fatal_error(&self) -> Option<FatalError> {
        self.fatal.error().cloned()
    }
}

/// A running single node.
pub struct RunningNode {
    /// Where Stratum listens.
    pub stratum_addr: SocketAddr,
    /// Where Stratum V2 listens and its key, unless V2 is off.
    pub stratum_v2: Option<V2Endpoint>,
    /// Where the HTTP API listens.
    pub api_addr: SocketAddr,
    /// The store (for exports and inspection).
    pub store: Store,
    /// The embedded chain, when it is the source.
    pub embedded: Option<Arc<EmbeddedSource>>,
    /// Shutdown and the running parts.
    pub running: Running,
}

impl RunningNode {
    /// A token that stops the node when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.running.shutdown_token()
    }

    /// Stops accepting, lets every session answer its in-flight shares,
    /// waits for the ledger's last commit, and returns.
    pub async fn stop(self) {
        self.running.stop().await;
    }

    /// Waits until the shutdown token is cancelled, then stops.
    ///
    /// # Errors
    /// [`NodeError::Fatal`] when a part of the node stopped it.
    pub async fn wait(self) -> Result<(), NodeError> {
        self.running.wait().await
    }

    /// The fatal error that stopped the node, if one did.
    pub fn fatal_error(&self) -> Option<FatalError> {
        self.running.fatal_error()
    }
}

/// The template source, the same source as the Bitcoin chain settlement
/// reads, and the embedded chain when it is the source.
type Sources = (
    Arc<dyn TemplateSource>,
    Arc<dyn BestChain>,
    Option<Arc<EmbeddedSource>>,
);

/// What the single node and the accounting node both run: the store, the
/// ledger, the template source and settlement, and the HTTP API.
pub(crate) struct Core {
    /// The store.
    pub store: Store,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The ledger's handle, jobs, accounts and job book.
    pub ledger: LedgerParts,
    /// The template source (found blocks go there).
    pub source: Arc<dyn TemplateSource>,
    /// The embedded chain, when it is the source.
    pub embedded: Option<Arc<EmbeddedSource>>,
    /// Connected workers (the API's).
    pub registry: Registry,
    /// Where the HTTP API listens.
    pub api_addr: SocketAddr,
    /// What the web app shows about connecting (the Stratum listeners are
    /// added once bound).
    pub public: Arc<PublicInfo>,
    /// Shutdown, fatal errors and tasks.
    pub running: Running,
}

impl Core {
    /// Opens the store, recovers the ledger, starts the template source,
    /// settlement and the HTTP API.
    pub(crate) async fn start(config: &Config) -> Result<Core, NodeError> {
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
        let mut ledger = Ledger::start(store.clone(), coinbase, metrics.clone(), fatal.clone())?;
        let tracker = TaskTracker::new();
        let mut running = Running::new(shutdown.clone(), fatal.clone(), tracker.clone());
        running.ledger_thread = ledger.thread.take();

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

        let deployment = Arc::new(std::sync::OnceLock::new());
        let mut key_dir = None;
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
            key_dir = Some(prover.dir.clone());
            tracker.spawn(Settler::run(
                SettlerParts {
                    config: settle.clone(),
                    store: store.clone(),
                    chain: best_chain.clone(),
                    prover: Arc::new(prover),
                    metrics: metrics.clone(),
                    fatal: fatal.clone(),
                    deployment: deployment.clone(),
                },
                shutdown.clone(),
            ));
        }
        tracker.spawn(prune_history(store.clone(), shutdown.clone()));

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
        // The time series are written within seconds of their shares even
        // when no further share or template arrives.
        let handle = ledger.handle.clone();
        let ticks = shutdown.clone();
        tracker.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                tokio::select! {
                    () = ticks.cancelled() => return,
                    _ = every.tick() => {
                        if handle.send(LedgerMsg::Tick).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });

        let registry = Registry::default();
        let public = Arc::new(PublicInfo::new(
            config.api_public_host.clone(),
            config
                .api_public_rpc_url
                .clone()
                .or_else(|| config.settlement.as_ref().map(|s| s.rpc_url.clone())),
            key_dir,
            config.pool.window_log2_slots,
            deployment,
        ));
        let api_listener = bind(config.api_listen).await?;
        let api_addr = local_addr(&api_listener, config.api_listen)?;
        let state = ApiState::new(ApiParts {
            store: store.clone(),
            accounts: ledger.accounts.clone(),
            registry: registry.clone(),
            metrics: metrics.clone(),
            jobs: ledger.jobs.clone(),
            embedded: embedded.clone(),
            source: source.name(),
            public: public.clone(),
        });
        tracker.spawn(api::serve(
            api_listener,
            api::router(state),
            shutdown.clone(),
        ));
        Ok(Core {
            store,
            metrics,
            ledger,
            source,
            embedded,
            registry,
            api_addr,
            public,
            running,
        })
    }
}

/// Drops the time series' expired chunks at start and then hourly.
async fn prune_history(store: Store, shutdown: CancellationToken) {
    loop {
        let s = store.clone();
        match tokio::task::spawn_blocking(move || s.prune_history(unix_now())).await {
            Ok(Ok(0)) => {}
            Ok(Ok(removed)) => tracing::info!(removed, "expired time-series chunks removed"),
            Ok(Err(e)) => tracing::warn!(error = %e, "time series not pruned"),
            Err(e) => tracing::warn!(error = %e, "time series pruning task failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}

/// Binds `addr`.
pub(crate) async fn bind(addr: SocketAddr) -> Result<TcpListener, NodeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| NodeError::Bind { addr, source })
}

/// The address `listener` is bound to (`asked` names it in errors).
pub(crate) fn local_addr(
    listener: &TcpListener,
    asked: SocketAddr,
) -> Result<SocketAddr, NodeError> {
    listener.local_addr().map_err(|source| NodeError::Bind {
        addr: asked,
        source,
    })
}

/// Starts a single node with `config`: every part in one process.
///
/// # Errors
/// [`NodeError`] when the store, the chain or a listener cannot be set up.
pub async fn start(config: Config) -> Result<RunningNode, NodeError> {
    let core = Core::start(&config).await?;
    let blocks = Blocks {
        source: core.source.clone(),
        ledger: core.ledger.handle.clone(),
        metrics: core.metrics.clone(),
        spent: SpentTip::default(),
    };
    let shared = Arc::new(Shared::new(
        config.stratum.clone(),
        config.vardiff,
        core.ledger.handle.clone(),
        core.ledger.jobs.clone(),
        Some(blocks),
        core.metrics.clone(),
        core.registry.clone(),
    ));
    let stratum_addr = serve_stratum(&config.stratum, shared.clone(), &core.running).await?;
    let stratum_v2 = serve_stratum_v2(&config, shared, &core.running).await?;
    let _ = core.public.stratum_v1.set(stratum_addr);
    if let Some(v2) = &stratum_v2 {
        let _ = core
            .public
            .stratum_v2
            .set((v2.addr, v2.authority.to_string()));
    }
    Ok(RunningNode {
        stratum_addr,
        stratum_v2,
        api_addr: core.api_addr,
        store: core.store,
        embedded: core.embedded,
        running: core.running,
    })
}

/// Where the Stratum V2 server listens and the key miners pin.
#[derive(Debug, Clone, Copy)]
pub struct V2Endpoint {
    /// The bound address.
    pub addr: SocketAddr,
    /// The authority public key.
    pub authority: AuthorityPublicKey,
}

/// Loads (or creates) the authority key, binds the Stratum V2 listener and
/// runs its accept loop until shutdown; `None` when V2 is off.
pub(crate) async fn serve_stratum_v2(
    config: &Config,
    shared: Arc<Shared>,
    running: &Running,
) -> Result<Option<V2Endpoint>, NodeError> {
    let Some(v2) = &config.stratum_v2 else {
        return Ok(None);
    };
    let key = authority::load_or_create(&v2.authority_key_file)?;
    let socket = bind(v2.listen).await?;
    let addr = local_addr(&socket, v2.listen)?;
    let authority = key.public();
    let server = Arc::new(V2Server {
        key,
        certificate_validity: v2.certificate_validity,
        max_channels: v2.max_channels,
        port: addr.port(),
    });
    let listener = Listener::new(
        socket,
        Protocol::V2(server),
        shared,
        running.shutdown.clone(),
        running.tracker.clone(),
    );
    running.tracker.spawn(listener.run());
    tracing::info!(%addr, %authority, "Stratum V2 listening");
    Ok(Some(V2Endpoint { addr, authority }))
}

/// Binds the Stratum listener and runs its accept loop until shutdown.
pub(crate) async fn serve_stratum(
    config: &StratumConfig,
    shared: Arc<Shared>,
    running: &Running,
) -> Result<SocketAddr, NodeError> {
    let stratum = bind(config.listen).await?;
    let listener = Listener::new(
        stratum,
        Protocol::V1,
        shared,
        running.shutdown.clone(),
        running.tracker.clone(),
    );
    let stratum_addr = listener.local_addr().map_err(|source| NodeError::Bind {
        addr: config.listen,
        source,
    })?;
    running.tracker.spawn(listener.run());
    Ok(stratum_addr)
}
