//! `shareproof`: parses the command line, loads the configuration and calls
//! into the library. Errors become `anyhow` reports here and nowhere else.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use shareproof_evm::{Deployment, DevnetParams, EvmClient, SignerSource};
use shareproof_miner::command::{LoadgenArgs, MineArgs};
use shareproof_node::config::RawConfig;
use shareproof_node::V2Endpoint;
use tokio_util::sync::CancellationToken;

/// Shareproof: a non-custodial Bitcoin mining pool node.
#[derive(Parser)]
#[command(name = "shareproof", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the pool node (Stratum server, templates, share log, HTTP API).
    ///
    /// With no configuration at all it runs the embedded default: an
    /// in-process regtest chain, Stratum on 127.0.0.1:3333, HTTP on
    /// 127.0.0.1:8080, data under the user's data directory.
    Node(Box<NodeArgs>),
    /// Scale-out: a Stratum edge. Serves miners (sessions, vardiff, share
    /// validation) and publishes every accepted share to the NATS JetStream
    /// share stream; a miner hears "accepted" once the stream stored it
    /// (docs/scale-out.md).
    Edge(Box<RoleArgs>),
    /// Scale-out: the accounting node. Applies the share stream in order to
    /// the share log and window, mints jobs for the edges, submits and
    /// settles blocks, serves the HTTP API (docs/scale-out.md).
    Accounting(Box<RoleArgs>),
    /// Mine on a pool with this machine's CPU (Stratum V1, sha256d).
    Mine(MineArgs),
    /// Open many Stratum connections and submit shares at a fixed rate.
    Loadgen(LoadgenArgs),
    /// Write the share log (for `share-verifier audit`) from a stopped node's data dir.
    ExportLog(ExportArgs),
    /// Show an address's unclaimed pool balance and its token balance.
    Balance(BalanceArgs),
    /// Claim your balance with your own key (or pay another address its own balance).
    Claim(ClaimArgs),
    /// Devnet: deploy the contracts from the committed artifacts, checkpointed at a node's tip.
    DeployDevnet(DeployArgs),
    /// Audit every settlement of a pool against a share log: window, shares' PoW,
    /// allocation, payout hash and the proof on the on-chain verifier. Exits 1 on a mismatch.
    AuditSettlements(AuditArgs),
}

#[derive(Args)]
struct AuditArgs {
    #[command(flatten)]
    evm: EvmArgs,
    /// The share log (GET /api/v1/log, or `shareproof export-log`).
    #[arg(long)]
    log: PathBuf,
}

/// Where an EVM key comes from: never the command line itself.
#[derive(Args)]
struct KeyArgs {
    /// File holding the hex private key.
    #[arg(long, env = "SHAREPROOF_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Encrypted JSON keystore (e.g. ~/.foundry/keystores/<name> from `cast wallet import`).
    #[arg(long, env = "SHAREPROOF_KEYSTORE")]
    keystore: Option<PathBuf>,
    /// File holding the keystore's password [default: $SHAREPROOF_KEYSTORE_PASSWORD].
    #[arg(long, env = "SHAREPROOF_KEYSTORE_PASSWORD_FILE")]
    keystore_password_file: Option<PathBuf>,
}

impl KeyArgs {
    fn source(&self) -> Result<SignerSource> {
        Ok(match (&self.key_file, &self.keystore) {
            (Some(_), Some(_)) => bail!("give either --key-file or --keystore, not both"),
            (Some(f), None) => SignerSource::KeyFile(f.clone()),
            (None, Some(k)) => SignerSource::Keystore {
                path: k.clone(),
                password_file: self.keystore_password_file.clone(),
            },
            (None, None) => SignerSource::Env(shareproof_evm::signer::KEY_ENV.to_owned()),
        })
    }
}

/// The EVM endpoint and deployment.
#[derive(Args)]
struct EvmArgs {
    /// EVM JSON-RPC URL.
    #[arg(
        long,
        env = "SHAREPROOF_RPC_URL",
        default_value = "http://127.0.0.1:8545"
    )]
    rpc_url: String,
    /// The deployment JSON (addresses of the pool, light client, token).
    #[arg(
        long,
        env = "SHAREPROOF_DEPLOYMENT",
        required_unless_present = "settlement_pool"
    )]
    deployment: Option<PathBuf>,
    /// Instead of a deployment file: the settlement pool's address.
    #[arg(
        long,
        env = "SHAREPROOF_SETTLEMENT_POOL",
        conflicts_with = "deployment"
    )]
    settlement_pool: Option<String>,
}

impl EvmArgs {
    async fn deployment(&self) -> Result<Deployment> {
        match (&self.deployment, &self.settlement_pool) {
            (Some(path), _) => Ok(Deployment::read(path)?),
            (None, Some(pool)) => Ok(EvmClient::discover(&self.rpc_url, parse_address(pool)?)
                .await
                .with_context(|| format!("reading the pool at {pool}"))?),
            (None, None) => bail!("give --deployment or --settlement-pool"),
        }
    }
}

#[derive(Args)]
struct BalanceArgs {
    #[command(flatten)]
    evm: EvmArgs,
    /// The payout address.
    #[arg(long)]
    address: String,
}

#[derive(Args)]
struct ClaimArgs {
    #[command(flatten)]
    evm: EvmArgs,
    #[command(flatten)]
    key: KeyArgs,
    /// Pay this address its own balance (`claimFor`) instead of the signer's.
    #[arg(long = "for")]
    for_address: Option<String>,
}

#[derive(Args)]
struct DeployArgs {
    /// EVM JSON-RPC URL.
    #[arg(
        long,
        env = "SHAREPROOF_RPC_URL",
        default_value = "http://127.0.0.1:8545"
    )]
    rpc_url: String,
    #[command(flatten)]
    key: KeyArgs,
    /// The node's HTTP API; the light client's checkpoint is its chain's tip.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    node_api: String,
    /// Where to write the deployment JSON.
    #[arg(long)]
    out: PathBuf,
    /// Pool fee in basis points.
    #[arg(long, default_value_t = 100)]
    fee_bps: u16,
    /// Confirmations before settlement.
    #[arg(long, default_value_t = 2)]
    confirmations: u64,
    /// N of the verifier's key (the committed verifier: 16).
    #[arg(long, default_value_t = 16)]
    window_size: u64,
    /// Deploy this verifier instead of the committed one: a file holding the
    /// hex creation bytecode of a verifier compiled from `circuits
    /// export-solidity` (see `scripts/compile-verifier.js`). Its key must be
    /// for `--window-size`.
    #[arg(long)]
    verifier_bytecode: Option<PathBuf>,
    /// Deploy on an EVM chain that is not a local devnet (chain id 31337) although the light client follows regtest rules and the verifier is the committed INSECURE seeded one (or another devnet key's).
    #[arg(long, env = "SHAREPROOF_ALLOW_INSECURE_VERIFIER")]
    allow_insecure_verifier: bool,
}

/// Settings of `shareproof node`. Each flag also reads the environment
/// variable named in its help; flags beat variables, variables beat the
/// TOML file, the file beats the defaults.
#[derive(Args)]
struct NodeArgs {
    /// TOML configuration file (sections [stratum], [vardiff], [api], [pool], [template], [chain], [bitcoind], [settlement]).
    #[arg(long, env = "SHAREPROOF_CONFIG")]
    config: Option<PathBuf>,
    /// Where the share log, window, blocks and embedded chain are stored [default: <user data dir>/shareproof].
    #[arg(long, env = "SHAREPROOF_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Stratum listen address [default: 127.0.0.1:3333].
    #[arg(long, env = "SHAREPROOF_STRATUM_LISTEN")]
    stratum_listen: Option<String>,
    /// Stratum V2 listen address, or "off" [default: 127.0.0.1:3336].
    #[arg(long, env = "SHAREPROOF_STRATUM_V2_LISTEN")]
    stratum_v2_listen: Option<String>,
    /// Stratum V2 authority key file, created on first start [default: <data dir>/authority-key.toml].
    #[arg(long, env = "SHAREPROOF_AUTHORITY_KEY_FILE")]
    authority_key_file: Option<PathBuf>,
    /// HTTP API listen address [default: 127.0.0.1:8080].
    #[arg(long, env = "SHAREPROOF_API_LISTEN")]
    api_listen: Option<String>,
    /// Template source: "embedded" (in-process regtest chain) or "bitcoind" [default: embedded].
    #[arg(long, env = "SHAREPROOF_SOURCE")]
    source: Option<String>,
    /// bitcoind RPC URL; repeat for failover, tried in order [default: http://127.0.0.1:8332].
    #[arg(
        long = "bitcoind-url",
        env = "SHAREPROOF_BITCOIND_URLS",
        value_delimiter = ','
    )]
    bitcoind_urls: Vec<String>,
    /// bitcoind cookie file (used when no RPC user is given).
    #[arg(long, env = "SHAREPROOF_BITCOIND_COOKIE")]
    bitcoind_cookie: Option<PathBuf>,
    /// bitcoind RPC user.
    #[arg(long, env = "SHAREPROOF_BITCOIND_USER")]
    bitcoind_user: Option<String>,
    /// bitcoind RPC password.
    #[arg(long, env = "SHAREPROOF_BITCOIND_PASSWORD")]
    bitcoind_password: Option<String>,
    /// Hex scriptPubKey the whole reward pays [default: P2WSH(OP_TRUE), devnet only; production: the bridge's peg-in script].
    #[arg(long, env = "SHAREPROOF_SETTLEMENT_SCRIPT")]
    settlement_script: Option<String>,
    /// log2 of the PPLNS window size N; must match the circuit's keys [default: 12].
    #[arg(long, env = "SHAREPROOF_WINDOW_LOG2")]
    window_log2: Option<u32>,
    /// Embedded chain difficulty rule: "fixed" or "retarget" [default: fixed].
    #[arg(long, env = "SHAREPROOF_CHAIN_DIFFICULTY")]
    chain_difficulty: Option<String>,
    /// Embedded chain nBits for the fixed rule, hex [default: 1d0bbf8c, ~30 s per block for one CPU core; 207fffff: every share is a block].
    #[arg(long, env = "SHAREPROOF_CHAIN_NBITS")]
    chain_nbits: Option<String>,
    /// Starting difficulty of new connections [default: 0.005].
    #[arg(long, env = "SHAREPROOF_START_DIFFICULTY")]
    start_difficulty: Option<f64>,
    /// Lowest share difficulty [default: 1e-9].
    #[arg(long, env = "SHAREPROOF_MIN_DIFFICULTY")]
    min_difficulty: Option<f64>,
    /// Highest share difficulty [default: 1e15].
    #[arg(long, env = "SHAREPROOF_MAX_DIFFICULTY")]
    max_difficulty: Option<f64>,
    /// Seconds between shares vardiff aims at [default: 10].
    #[arg(long, env = "SHAREPROOF_TARGET_SHARE_SECS")]
    target_share_secs: Option<f64>,
    /// Most simultaneous Stratum connections [default: 100000].
    #[arg(long, env = "SHAREPROOF_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Invalid shares per minute tolerated before a connection's IP is banned [default: 60].
    #[arg(long, env = "SHAREPROOF_MAX_INVALID_PER_MINUTE")]
    max_invalid_per_minute: Option<u32>,
    /// Seconds between template refreshes on the same tip [default: 30].
    #[arg(long, env = "SHAREPROOF_TEMPLATE_REFRESH_SECS")]
    template_refresh_secs: Option<u64>,
    /// Settle found blocks on the EVM chain (the [settlement] section; docs/settlement.md).
    #[arg(long, env = "SHAREPROOF_SETTLE")]
    settle: bool,
    /// EVM JSON-RPC URL for settlement [default: http://127.0.0.1:8545].
    #[arg(long, env = "SHAREPROOF_RPC_URL")]
    rpc_url: Option<String>,
    /// The deployment JSON with the contracts' addresses [default: <data dir>/deployment.json].
    #[arg(long, env = "SHAREPROOF_DEPLOYMENT")]
    deployment: Option<PathBuf>,
    /// Instead of a deployment file: the settlement pool's address.
    #[arg(long, env = "SHAREPROOF_SETTLEMENT_POOL")]
    settlement_pool: Option<String>,
    /// File with the node's hex private key for settlement [default: $SHAREPROOF_PRIVATE_KEY].
    #[arg(long, env = "SHAREPROOF_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Encrypted JSON keystore with the node's key (password: $SHAREPROOF_KEYSTORE_PASSWORD).
    #[arg(long, env = "SHAREPROOF_KEYSTORE")]
    keystore: Option<PathBuf>,
    /// Proving key directory from `circuits setup`.
    #[arg(long, env = "SHAREPROOF_PROVING_KEY_DIR")]
    proving_key_dir: Option<PathBuf>,
    /// Prove with a seeded (INSECURE) key on an EVM chain that is not a local devnet (chain id 31337): anyone who knows the seed can forge payouts.
    #[arg(long, env = "SHAREPROOF_ALLOW_INSECURE_KEY")]
    allow_insecure_key: bool,
}

/// Settings of `shareproof edge` and `shareproof accounting`: the node's,
/// and the share bus's.
#[derive(Args)]
struct RoleArgs {
    #[command(flatten)]
    node: NodeArgs,
    #[command(flatten)]
    bus: BusArgs,
}

/// The NATS share bus (the [bus] section).
#[derive(Args)]
struct BusArgs {
    /// NATS server URL; repeat (or comma-separate) for a cluster [default: nats://127.0.0.1:4222].
    #[arg(long = "nats", env = "SHAREPROOF_NATS_URLS", value_delimiter = ',')]
    nats_urls: Vec<String>,
    /// The JetStream share stream's name [default: SHAREPROOF].
    #[arg(long, env = "SHAREPROOF_STREAM")]
    stream: Option<String>,
    /// The share stream's replicas: 3 on a production cluster [default: 1].
    #[arg(long, env = "SHAREPROOF_STREAM_REPLICAS")]
    replicas: Option<usize>,
    /// NATS user (user/password authentication).
    #[arg(long, env = "SHAREPROOF_NATS_USER")]
    nats_user: Option<String>,
    /// NATS password (prefer the environment variable).
    #[arg(long, env = "SHAREPROOF_NATS_PASSWORD")]
    nats_password: Option<String>,
    /// NATS `.creds` file (user JWT and nkey seed).
    #[arg(long, env = "SHAREPROOF_NATS_CREDS")]
    nats_creds: Option<PathBuf>,
    /// File holding an nkey seed for NATS nkey authentication.
    #[arg(long, env = "SHAREPROOF_NATS_NKEY_FILE")]
    nats_nkey_file: Option<PathBuf>,
    /// PEM file of CA certificates to trust for NATS TLS.
    #[arg(long, env = "SHAREPROOF_NATS_TLS_CA")]
    nats_tls_ca: Option<PathBuf>,
    /// Refuse NATS servers without TLS.
    #[arg(long, env = "SHAREPROOF_NATS_REQUIRE_TLS")]
    nats_require_tls: bool,
    /// This edge's id, 0..=255, different on every edge of the pool: the
    /// first byte of its extranonce1s (edge only).
    #[arg(long, env = "SHAREPROOF_EDGE_ID")]
    edge_id: Option<u8>,
}

impl RoleArgs {
    /// The node's raw configuration with the bus flags on it.
    fn raw_config(&self) -> Result<RawConfig> {
        let mut raw = raw_config(&self.node)?;
        let (b, a) = (&mut raw.bus, &self.bus);
        if !a.nats_urls.is_empty() {
            b.urls = Some(a.nats_urls.clone());
        }
        for (slot, value) in [
            (&mut b.stream, &a.stream),
            (&mut b.user, &a.nats_user),
            (&mut b.password, &a.nats_password),
        ] {
            if value.is_some() {
                slot.clone_from(value);
            }
        }
        for (slot, value) in [
            (&mut b.credentials, &a.nats_creds),
            (&mut b.nkey_seed_file, &a.nats_nkey_file),
            (&mut b.tls_ca, &a.nats_tls_ca),
        ] {
            if value.is_some() {
                slot.clone_from(value);
            }
        }
        b.replicas = a.replicas.or(b.replicas);
        raw.stratum.edge_id = a.edge_id.or(raw.stratum.edge_id);
        if a.nats_require_tls {
            b.require_tls = Some(true);
        }
        Ok(raw)
    }
}

#[derive(Args)]
struct ExportArgs {
    /// The node's data dir (the node must be stopped: sled locks it; use GET /api/v1/log on a running node).
    #[arg(long, env = "SHAREPROOF_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// TOML configuration file, for the data dir and window size.
    #[arg(long, env = "SHAREPROOF_CONFIG")]
    config: Option<PathBuf>,
    /// log2 of the window size the store was made with [default: the config's].
    #[arg(long)]
    window_log2: Option<u32>,
    /// Output file.
    #[arg(long)]
    out: PathBuf,
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        match cli.command {
            Command::Node(args) => node(*args).await,
            Command::Edge(args) => edge(*args).await,
            Command::Accounting(args) => accounting(*args).await,
            Command::Mine(args) => mine(args).await,
            Command::Loadgen(args) => load(args).await,
            Command::ExportLog(args) => export(args),
            Command::Balance(args) => balance(args).await,
            Command::Claim(args) => claim(args).await,
            Command::DeployDevnet(args) => deploy_devnet(args).await,
            Command::AuditSettlements(args) => audit_settlements(args).await,
        }
    })
}

fn raw_config(args: &NodeArgs) -> Result<RawConfig> {
    let mut raw = match &args.config {
        Some(path) => RawConfig::from_file(path)?,
        None => RawConfig::default(),
    };
    let set = |slot: &mut Option<String>, v: &Option<String>| {
        if v.is_some() {
            slot.clone_from(v);
        }
    };
    if args.data_dir.is_some() {
        raw.data_dir.clone_from(&args.data_dir);
    }
    set(&mut raw.stratum.listen, &args.stratum_listen);
    set(&mut raw.stratum_v2.listen, &args.stratum_v2_listen);
    if args.authority_key_file.is_some() {
        raw.stratum_v2
            .authority_key_file
            .clone_from(&args.authority_key_file);
    }
    set(&mut raw.api.listen, &args.api_listen);
    set(&mut raw.template.source, &args.source);
    if !args.bitcoind_urls.is_empty() {
        raw.bitcoind.urls = Some(args.bitcoind_urls.clone());
    }
    if args.bitcoind_cookie.is_some() {
        raw.bitcoind.cookie_file.clone_from(&args.bitcoind_cookie);
    }
    set(&mut raw.bitcoind.user, &args.bitcoind_user);
    set(&mut raw.bitcoind.password, &args.bitcoind_password);
    set(&mut raw.pool.settlement_script, &args.settlement_script);
    raw.pool.window_log2_slots = args.window_log2.or(raw.pool.window_log2_slots);
    set(&mut raw.chain.difficulty, &args.chain_difficulty);
    set(&mut raw.chain.nbits, &args.chain_nbits);
    raw.vardiff.start_difficulty = args.start_difficulty.or(raw.vardiff.start_difficulty);
    raw.vardiff.min_difficulty = args.min_difficulty.or(raw.vardiff.min_difficulty);
    raw.vardiff.max_difficulty = args.max_difficulty.or(raw.vardiff.max_difficulty);
    raw.vardiff.target_share_secs = args.target_share_secs.or(raw.vardiff.target_share_secs);
    raw.stratum.max_connections = args.max_connections.or(raw.stratum.max_connections);
    raw.stratum.max_invalid_per_minute = args
        .max_invalid_per_minute
        .or(raw.stratum.max_invalid_per_minute);
    raw.template.refresh_secs = args.template_refresh_secs.or(raw.template.refresh_secs);
    let st = &mut raw.settlement;
    if args.settle {
        st.enabled = Some(true);
    }
    if args.allow_insecure_key {
        st.allow_insecure_key = Some(true);
    }
    set(&mut st.rpc_url, &args.rpc_url);
    set(&mut st.settlement_pool, &args.settlement_pool);
    for (slot, value) in [
        (&mut st.deployment, &args.deployment),
        (&mut st.key_file, &args.key_file),
        (&mut st.keystore, &args.keystore),
        (&mut st.proving_key_dir, &args.proving_key_dir),
    ] {
        if value.is_some() {
            slot.clone_from(value);
        }
    }
    Ok(raw)
}

async fn node(args: NodeArgs) -> Result<()> {
    let config = raw_config(&args)?.validate()?;
    let data_dir = config.data_dir.clone();
    let running = shareproof_node::start(config)
        .await
        .with_context(|| format!("starting the node (data dir {})", data_dir.display()))?;
    print_banner(
        running.stratum_addr,
        running.stratum_v2,
        running.api_addr,
        &data_dir,
    );
    stop_on_signal(running.shutdown_token());
    running
        .wait()
        .await
        .with_context(|| format!("the node (data dir {})", data_dir.display()))?;
    tracing::info!("stopped");
    Ok(())
}

async fn edge(args: RoleArgs) -> Result<()> {
    let config = args.raw_config()?.validate()?;
    if config.stratum.edge_id.is_none() {
        bail!("an edge needs --edge-id (0..=255, different on every edge of the pool)");
    }
    let urls = config.bus.connect.urls.join(",");
    let running = shareproof_node::start_edge(config)
        .await
        .with_context(|| format!("starting the edge (NATS {urls})"))?;
    println!("shareproof edge");
    println!("  Stratum:  stratum+tcp://{}", running.stratum_addr);
    print_v2(running.stratum_v2);
    println!(
        "  Metrics:  http://{}/metrics  (health: http://{}/health)",
        running.api_addr, running.api_addr
    );
    println!("  NATS:     {urls}");
    stop_on_signal(running.running.shutdown_token());
    running.running.wait().await.context("the edge")?;
    tracing::info!("stopped");
    Ok(())
}

async fn accounting(args: RoleArgs) -> Result<()> {
    let config = args.raw_config()?.validate()?;
    let data_dir = config.data_dir.clone();
    let urls = config.bus.connect.urls.join(",");
    let running = shareproof_node::start_accounting(config)
        .await
        .with_context(|| {
            format!(
                "starting the accounting node (data dir {}, NATS {urls})",
                data_dir.display()
            )
        })?;
    println!("shareproof accounting");
    println!(
        "  HTTP API: http://{}/api/v1/pool  (metrics: http://{}/metrics)",
        running.api_addr, running.api_addr
    );
    println!("  NATS:     {urls}");
    println!("  Data:     {}", data_dir.display());
    stop_on_signal(running.running.shutdown_token());
    running
        .running
        .wait()
        .await
        .with_context(|| format!("the accounting node (data dir {})", data_dir.display()))?;
    tracing::info!("stopped");
    Ok(())
}

/// Cancels `token` on Ctrl-C or SIGTERM.
fn stop_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        token.cancel();
    });
}

fn print_banner(
    stratum: SocketAddr,
    v2: Option<V2Endpoint>,
    api: SocketAddr,
    data_dir: &std::path::Path,
) {
    println!("shareproof node");
    println!("  Stratum:  stratum+tcp://{stratum}");
    print_v2(v2);
    println!("  HTTP API: http://{api}/api/v1/pool  (metrics: http://{api}/metrics)");
    println!("  Data:     {}", data_dir.display());
    println!();
    println!("Point a miner at it with your EVM payout address as the username, e.g.:");
    println!("  shareproof mine --url stratum+tcp://{stratum} --user 0xYourAddress.worker1");
    println!("  cpuminer -a sha256d -o stratum+tcp://{stratum} -u 0xYourAddress.rig1 -p x");
    if let Some(v2) = v2 {
        println!(
            "  shareproof mine --url stratum2+tcp://{} --authority-key {} --user 0xYourAddress.worker1",
            v2.addr, v2.authority
        );
    }
}

/// The Stratum V2 line of a banner: the URL and the key miners pin.
fn print_v2(v2: Option<V2Endpoint>) {
    if let Some(v2) = v2 {
        println!(
            "  Stratum V2: stratum2+tcp://{}  (authority key: {})",
            v2.addr, v2.authority
        );
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn mine(args: MineArgs) -> Result<()> {
    let shutdown = CancellationToken::new();
    let token = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        token.cancel();
    });
    println!("{}", args.run(shutdown).await?);
    Ok(())
}

async fn load(args: LoadgenArgs) -> Result<()> {
    let (report, notes) = args.run().await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    for note in notes {
        eprintln!("loadgen: {note}");
    }
    Ok(())
}

fn export(args: ExportArgs) -> Result<()> {
    let raw = match &args.config {
        Some(path) => RawConfig::from_file(path)?,
        None => RawConfig::default(),
    };
    let mut raw = raw;
    if args.data_dir.is_some() {
        raw.data_dir.clone_from(&args.data_dir);
    }
    raw.pool.window_log2_slots = args.window_log2.or(raw.pool.window_log2_slots);
    let config = raw.validate()?;
    let db = config.data_dir.join("db");
    let store = shareproof_node::store::Store::open(&db, config.pool.window_log2_slots)
        .with_context(|| {
            format!(
                "opening the store at {} (is the node still running?)",
                db.display()
            )
        })?;
    let file = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let n = store
        .export_log(std::io::BufWriter::new(file))
        .with_context(|| format!("writing {}", args.out.display()))?;
    println!("wrote {n} records to {}", args.out.display());
    Ok(())
}

fn parse_address(text: &str) -> Result<alloy::primitives::Address> {
    let a = share_verifier::Address::from_str(text).with_context(|| format!("address {text:?}"))?;
    Ok(alloy::primitives::Address::from(a.0))
}

fn sats(v: u64) -> String {
    format!("{v} sats ({}.{:08} BTC)", v / 100_000_000, v % 100_000_000)
}

async fn balance(args: BalanceArgs) -> Result<()> {
    let deployment = args.evm.deployment().await?;
    let address = parse_address(&args.address)?;
    let client = EvmClient::read_only(&args.evm.rpc_url, deployment)?;
    let unclaimed = client.balance_of(address).await?;
    let held = client.token_balance(address).await?;
    println!("{address}");
    println!("  unclaimed in the pool: {}", sats(unclaimed));
    println!("  wrapped BTC held:      {}", sats(held));
    Ok(())
}

async fn claim(args: ClaimArgs) -> Result<()> {
    let deployment = args.evm.deployment().await?;
    let signer = args.key.source()?.load()?;
    let client = EvmClient::connect(&args.evm.rpc_url, signer, deployment)?;
    let account = match &args.for_address {
        Some(a) => parse_address(a)?,
        None => client.sender,
    };
    let claimed = client.claim_balance(account).await?;
    println!(
        "claimed {} to {account} (transaction {}, gas {})",
        sats(claimed.amount),
        claimed.mined.tx,
        claimed.mined.gas_used
    );
    println!(
        "  wrapped BTC held: {}",
        sats(client.token_balance(account).await?)
    );
    Ok(())
}

async fn deploy_devnet(args: DeployArgs) -> Result<()> {
    let signer = args.key.source()?.load()?;
    let deployer = signer.address();
    let checkpoint = node_tip(&args.node_api)
        .await
        .with_context(|| format!("reading the chain tip from {}", args.node_api))?;
    let verifier_bytecode_hex = match &args.verifier_bytecode {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the verifier bytecode {}", path.display()))?,
        ),
        None => None,
    };
    let url = args
        .rpc_url
        .parse()
        .with_context(|| format!("RPC URL {:?}", args.rpc_url))?;
    let provider = alloy::providers::ProviderBuilder::new()
        .wallet(alloy::network::EthereumWallet::from(signer))
        .connect_http(url);
    let deployment = shareproof_evm::deploy_devnet(
        provider,
        deployer,
        DevnetParams {
            checkpoint,
            settlement_script: hex::decode(shareproof_sources::coinbase::DEVNET_SETTLEMENT_SCRIPT)?,
            fee_bps: args.fee_bps,
            confirmations: args.confirmations,
            window_size: args.window_size,
            verifier_bytecode_hex,
            allow_insecure: args.allow_insecure_verifier,
        },
    )
    .await?;
    deployment.write(&args.out)?;
    println!("{}", serde_json::to_string_pretty(&deployment)?);
    Ok(())
}

/// The node's chain tip (`GET /api/v1/chain/tip`): its header and height.
async fn node_tip(node_api: &str) -> Result<([u8; 80], u64)> {
    let tip: serde_json::Value = reqwest::get(format!("{node_api}/api/v1/chain/tip"))
        .await?
        .json()
        .await?;
    let header_hex = tip["header"]
        .as_str()
        .with_context(|| format!("no header in {tip}"))?;
    let header: [u8; 80] = hex::decode(header_hex)?
        .try_into()
        .map_err(|_| anyhow::anyhow!("the tip header is not 80 bytes"))?;
    let height = tip["height"].as_u64().context("no height in the tip")?;
    Ok((header, height))
}

async fn audit_settlements(args: AuditArgs) -> Result<()> {
    let deployment = args.evm.deployment().await?;
    let client = EvmClient::read_only(&args.evm.rpc_url, deployment)?;
    let file = std::fs::File::open(&args.log)
        .with_context(|| format!("opening the share log {}", args.log.display()))?;
    let verdicts = shareproof_evm::audit::audit_settlements(&client, std::io::BufReader::new(file))
        .await
        .with_context(|| format!("auditing with the share log {}", args.log.display()))?;
    let mut bad = 0;
    for v in &verdicts {
        if v.ok() {
            println!("ok   block {} reward {} sats", v.block_hash, v.reward);
        } else {
            bad += 1;
            println!("FAIL block {} reward {} sats", v.block_hash, v.reward);
            for p in &v.problems {
                println!("       {p}");
            }
        }
    }
    println!("{} settlements, {} failed", verdicts.len(), bad);
    if bad > 0 {
        std::process::exit(1);
    }
    Ok(())
}
