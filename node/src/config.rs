//! Node configuration in two stages: [`RawConfig`] is what a TOML file (and
//! the command line's overrides) say, every field optional with a default;
//! [`RawConfig::validate`] turns it into a typed [`Config`] or names the
//! setting that is wrong.
//!
//! Precedence, lowest first: built-in defaults, the TOML file, environment
//! variables, flags (the binary maps `SHAREPROOF_*` variables and flags onto
//! the raw struct before validation).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bitcoin::pow::CompactTarget;
use bitcoin::ScriptBuf;
use serde::{Deserialize, Serialize};
use share_verifier::Difficulty;

use crate::stratum::StratumConfig;
use crate::vardiff::VardiffConfig;
use shareproof_sources::bitcoind::{BitcoindConfig, RpcAuth};
use shareproof_sources::chain::DifficultyRule;
use shareproof_sources::coinbase::DEVNET_SETTLEMENT_SCRIPT;

/// The embedded chain's default block target, fixed: about 30 s per block
/// for the built-in miner on one core of the reference machine (measured
/// at 7.5 MH/s: difficulty 0.0524, 2.25e8 hashes per block).
pub const DEFAULT_EMBEDDED_NBITS: u32 = 0x1d13_16b7;

/// Errors of configuration, each naming the setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The TOML file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The TOML file does not parse or has unknown keys.
    #[error("config file {path}: {source}")]
    Parse {
        path: PathBuf,
        source: toml::de::Error,
    },
    /// A setting breaks a rule.
    #[error("setting {key} = {value:?}: {reason}")]
    Invalid {
        /// The setting.
        key: &'static str,
        /// Its value, as written.
        value: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// A setting does not parse as what it holds.
    #[error("setting {key} = {value:?}: {source}")]
    Unparsed {
        /// The setting.
        key: &'static str,
        /// Its value, as written.
        value: String,
        /// The parser's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

fn invalid(key: &'static str, value: impl ToString, reason: &'static str) -> ConfigError {
    ConfigError::Invalid {
        key,
        value: value.to_string(),
        reason,
    }
}

fn unparsed(
    key: &'static str,
    value: impl ToString,
    source: impl std::error::Error + Send + Sync + 'static,
) -> ConfigError {
    ConfigError::Unparsed {
        key,
        value: value.to_string(),
        source: Box::new(source),
    }
}

/// The configuration as written: every section and field optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Where sled keeps the share log, window, blocks and embedded chain.
    /// Default: `<user data dir>/shareproof`.
    pub data_dir: Option<PathBuf>,
    /// Stratum server settings.
    pub stratum: RawStratum,
    /// Stratum V2 server settings.
    pub stratum_v2: RawStratumV2,
    /// Vardiff settings.
    pub vardiff: RawVardiff,
    /// HTTP API settings.
    pub api: RawApi,
    /// Pool parameters shared with the circuit and the contracts.
    pub pool: RawPool,
    /// Where block templates come from.
    pub template: RawTemplate,
    /// The embedded regtest chain.
    pub chain: RawChain,
    /// bitcoind over JSON-RPC.
    pub bitcoind: RawBitcoind,
    /// Settlement on the EVM chain.
    pub settlement: RawSettlement,
    /// The NATS share bus of a scaled-out pool (edges and the accounting
    /// node; the single node ignores it).
    pub bus: RawBus,
}

/// `[bus]`: where the NATS servers are, how to log in, and the stream.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBus {
    /// NATS server URLs, default `nats://127.0.0.1:4222`.
    pub urls: Option<Vec<String>>,
    /// The share stream's name, default `SHAREPROOF`.
    pub stream: Option<String>,
    /// The stream's replicas: 3 in production, default 1.
    pub replicas: Option<usize>,
    /// How long the stream keeps a share, in seconds (0: for ever),
    /// default a week: longer than the accounting node may be away.
    pub max_age_secs: Option<u64>,
    /// User for user/password authentication.
    pub user: Option<String>,
    /// Password for user/password authentication.
    pub password: Option<String>,
    /// A `.creds` file (user JWT and nkey seed).
    pub credentials: Option<PathBuf>,
    /// A file holding an nkey seed (`SU…`).
    pub nkey_seed_file: Option<PathBuf>,
    /// A PEM file of CA certificates to trust for TLS.
    pub tls_ca: Option<PathBuf>,
    /// Refuse servers without TLS, default false.
    pub require_tls: Option<bool>,
    /// This client's name as the servers show it, default the role's.
    pub name: Option<String>,
}

/// The share bus as the roles use it.
#[derive(Debug, Clone)]
pub struct BusSettings {
    /// Servers, credentials and TLS.
    pub connect: shareproof_bus::BusConfig,
    /// The share stream.
    pub stream: shareproof_bus::ShareStream,
}

/// `[settlement]`. Keys are never read from this file or the command line:
/// give a key file, a keystore, or the environment variable.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSettlement {
    /// Settle found blocks, default false.
    pub enabled: Option<bool>,
    /// EVM JSON-RPC URL, default `http://127.0.0.1:8545`.
    pub rpc_url: Option<String>,
    /// The deployment JSON (`contracts/deployments/<chain id>.json`), default
    /// `<data dir>/deployment.json`; waited for until it exists.
    pub deployment: Option<PathBuf>,
    /// Instead of a deployment file: the settlement pool's address (the
    /// other contracts are read from it).
    pub settlement_pool: Option<String>,
    /// A file holding the signer's hex private key.
    pub key_file: Option<PathBuf>,
    /// An encrypted JSON keystore (Foundry's `cast wallet import` format).
    pub keystore: Option<PathBuf>,
    /// The keystore's password file (default: `$SHAREPROOF_KEYSTORE_PASSWORD`).
    pub keystore_password_file: Option<PathBuf>,
    /// The environment variable with the hex private key when no file is
    /// given, default `SHAREPROOF_PRIVATE_KEY`.
    pub key_env: Option<String>,
    /// A proving key directory from `circuits setup`.
    pub proving_key_dir: Option<PathBuf>,
    /// Devnets only: make an INSECURE seeded proving key with this seed
    /// (`shareproof-devnet-16` matches the committed verifier for N = 16).
    pub insecure_seed: Option<String>,
    /// Prove with a seeded (insecure) key even when the EVM chain is not a
    /// local devnet (chain id 31337), default false: anyone who knows the
    /// seed can forge payouts.
    pub allow_insecure_key: Option<bool>,
    /// Milliseconds between settlement rounds, default 1000.
    pub poll_ms: Option<u64>,
    /// Most headers per light-client transaction, default 50.
    pub header_batch: Option<usize>,
    /// Payee records per settlement page, default 512: a list up to this
    /// long settles in one transaction, a longer one page by page.
    pub page_records: Option<usize>,
    /// Devnet: have `DevPegIn` bridge each confirmed coinbase, default false.
    pub deliver_peg_in: Option<bool>,
}

/// `[stratum]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStratum {
    /// Listen address, default `127.0.0.1:3333`.
    pub listen: Option<String>,
    /// Most simultaneous connections, default 100000.
    pub max_connections: Option<usize>,
    /// Longest accepted line in bytes, default 4096.
    pub max_line_length: Option<usize>,
    /// Seconds a connection may stay without `mining.subscribe`, default 30.
    pub subscribe_timeout_secs: Option<u64>,
    /// Seconds a subscribed connection may stay silent, default 900.
    pub idle_timeout_secs: Option<u64>,
    /// extranonce2 size in bytes offered to miners, default 8.
    pub extranonce2_size: Option<usize>,
    /// Seconds jobs of a previous tip are remembered (answered as stale), default 30.
    pub stale_grace_secs: Option<u64>,
    /// Invalid shares tolerated per minute before a connection is banned, default 60.
    pub max_invalid_per_minute: Option<u32>,
    /// Seconds an address stays banned, default 300.
    pub ban_secs: Option<u64>,
    /// An edge's id in a scaled-out pool, 0..=255: the first byte of every
    /// extranonce1 it hands out, so that no two edges give miners the same
    /// work. Each edge needs its own; the single node has none.
    pub edge_id: Option<u8>,
}

/// `[stratum_v2]`: the Stratum V2 listener (Noise NX, binary frames),
/// beside V1's and on the same window. Limits it does not name (timeouts,
/// bans, extranonce2 size) are `[stratum]`'s.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawStratumV2 {
    /// Listen address, default `127.0.0.1:3336`; `"off"` turns V2 off.
    pub listen: Option<String>,
    /// The authority key file, created on first start with owner-only
    /// permissions, default `<data_dir>/authority-key.toml`.
    pub authority_key_file: Option<PathBuf>,
    /// Seconds each connection's certificate is valid, default 3600.
    pub certificate_validity_secs: Option<u64>,
    /// Channels one connection may open (a proxy opens one per miner
    /// behind it unless it aggregates), default 4096.
    pub max_channels: Option<usize>,
}

/// `[vardiff]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawVardiff {
    /// Seconds between shares a miner is steered to, default 10.
    pub target_share_secs: Option<f64>,
    /// Difficulty of a new connection, default 0.005.
    pub start_difficulty: Option<f64>,
    /// Lowest difficulty, default 1e-9.
    pub min_difficulty: Option<f64>,
    /// Highest difficulty, default 1e15.
    pub max_difficulty: Option<f64>,
    /// Seconds between retargets once settled, default 60.
    pub retarget_secs: Option<f64>,
}

/// `[api]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawApi {
    /// Listen address, default `127.0.0.1:8080`.
    pub listen: Option<String>,
    /// The host name miners and browsers reach the pool at, shown by the web
    /// app in the Stratum URLs (default: the listeners' address, or the
    /// page's host when they listen on every interface).
    pub public_host: Option<String>,
    /// The EVM JSON-RPC URL browsers use to read the contracts and send
    /// claims (default: `[settlement] rpc_url`, which may be private).
    pub public_rpc_url: Option<String>,
}

/// `[pool]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPool {
    /// log2 of the window size N (must match the circuit's keys), default 12.
    pub window_log2_slots: Option<u32>,
    /// Hex scriptPubKey the reward pays, default P2WSH(OP_TRUE) (devnet only).
    pub settlement_script: Option<String>,
    /// Text written into every coinbase, default `/shareproof/`.
    pub pool_tag: Option<String>,
}

/// `[template]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawTemplate {
    /// `embedded` (default) or `bitcoind`.
    pub source: Option<String>,
    /// Seconds between template refreshes on the same tip, default 30.
    pub refresh_secs: Option<u64>,
}

/// `[chain]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawChain {
    /// `fixed` (default) or `retarget`.
    pub difficulty: Option<String>,
    /// Compact target of every block after genesis (fixed), hex, default 1d1316b7.
    pub nbits: Option<String>,
    /// Blocks per retarget period (retarget), default 10.
    pub retarget_interval: Option<u32>,
    /// Seconds per block aimed at (retarget), default 30.
    pub target_spacing_secs: Option<u32>,
}

/// `[bitcoind]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawBitcoind {
    /// RPC URLs, tried in order (failover), default `["http://127.0.0.1:8332"]`.
    pub urls: Option<Vec<String>>,
    /// Cookie file (`<datadir>/.cookie`); used when no user is given.
    pub cookie_file: Option<PathBuf>,
    /// RPC user.
    pub user: Option<String>,
    /// RPC password.
    pub password: Option<String>,
    /// Seconds between polls when long polling is unavailable, default 5.
    pub poll_secs: Option<u64>,
    /// Use GBT long polling, default true.
    pub longpoll: Option<bool>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the store lives.
    pub data_dir: PathBuf,
    /// Stratum server.
    pub stratum: StratumConfig,
    /// Stratum V2 server, unless turned off.
    pub stratum_v2: Option<StratumV2Config>,
    /// Vardiff.
    pub vardiff: VardiffConfig,
    /// HTTP API listen address.
    pub api_listen: SocketAddr,
    /// `[api] public_host`.
    pub api_public_host: Option<String>,
    /// `[api] public_rpc_url`.
    pub api_public_rpc_url: Option<String>,
    /// Pool parameters.
    pub pool: PoolConfig,
    /// Seconds between template refreshes on the same tip.
    pub template_refresh: Duration,
    /// Which template source.
    pub source: SourceConfig,
    /// Settlement, when enabled.
    pub settlement: Option<crate::settle::SettleConfig>,
    /// The share bus (used by `edge` and `accounting`).
    pub bus: BusSettings,
}

/// The Stratum V2 server's settings.
#[derive(Debug, Clone)]
pub struct StratumV2Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Where the authority key is kept (created on first start).
    pub authority_key_file: PathBuf,
    /// How long each connection's certificate is valid.
    pub certificate_validity: Duration,
    /// Channels one connection may open.
    pub max_channels: usize,
}

/// Pool parameters.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// log2 of the window size N.
    pub window_log2_slots: u32,
    /// The scriptPubKey the reward pays.
    pub settlement_script: ScriptBuf,
    /// Text in every coinbase's scriptSig.
    pub pool_tag: Vec<u8>,
}

/// Template source.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    /// The embedded regtest chain with its difficulty rule.
    Embedded(DifficultyRule),
    /// bitcoind nodes.
    Bitcoind(BitcoindConfig),
}

impl RawConfig {
    /// Reads a TOML file.
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::Parse`].
    pub fn from_file(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Checks every setting and fills in defaults.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the first bad setting.
    pub fn validate(&self) -> Result<Config, ConfigError> {
        let data_dir = match &self.data_dir {
            Some(d) => d.clone(),
            None => dirs::data_dir()
                .unwrap_or_else(|| PathBuf::from("."))
                .join("shareproof"),
        };
        let s = &self.stratum;
        let listen = parse_addr("stratum.listen", s.listen.as_deref(), "127.0.0.1:3333")?;
        let max_line_length = s.max_line_length.unwrap_or(4096);
        if !(256..=1 << 20).contains(&max_line_length) {
            return Err(invalid(
                "stratum.max_line_length",
                max_line_length,
                "must be 256..=1048576",
            ));
        }
        let extranonce2_size = s.extranonce2_size.unwrap_or(8);
        if !(2..=16).contains(&extranonce2_size) {
            return Err(invalid(
                "stratum.extranonce2_size",
                extranonce2_size,
                "must be 2..=16 bytes",
            ));
        }
        let max_connections = s.max_connections.unwrap_or(100_000);
        if max_connections == 0 {
            return Err(invalid("stratum.max_connections", 0, "must be at least 1"));
        }
        let stratum = StratumConfig {
            listen,
            max_connections,
            max_line_length,
            subscribe_timeout: Duration::from_secs(s.subscribe_timeout_secs.unwrap_or(30)),
            idle_timeout: Duration::from_secs(s.idle_timeout_secs.unwrap_or(900)),
            extranonce2_size,
            stale_grace: Duration::from_secs(s.stale_grace_secs.unwrap_or(30)),
            max_invalid_per_minute: s.max_invalid_per_minute.unwrap_or(60),
            ban: Duration::from_secs(s.ban_secs.unwrap_or(300)),
            edge_id: s.edge_id,
        };

        let stratum_v2 = self.stratum_v2(&data_dir)?;

        let v = &self.vardiff;
        let diff = |key: &'static str, value: Option<f64>, default: f64| {
            let value = value.unwrap_or(default);
            Difficulty::new(value).map_err(|e| unparsed(key, value, e))
        };
        let vardiff = VardiffConfig {
            target_share_secs: positive("vardiff.target_share_secs", v.target_share_secs, 10.0)?,
            start: diff("vardiff.start_difficulty", v.start_difficulty, 0.005)?,
            min: diff("vardiff.min_difficulty", v.min_difficulty, 1e-9)?,
            max: diff("vardiff.max_difficulty", v.max_difficulty, 1e15)?,
            retarget_secs: positive("vardiff.retarget_secs", v.retarget_secs, 60.0)?,
        };
        if vardiff.min > vardiff.max {
            return Err(invalid(
                "vardiff.min_difficulty",
                vardiff.min,
                "is above vardiff.max_difficulty",
            ));
        }

        let api_listen = parse_addr("api.listen", self.api.listen.as_deref(), "127.0.0.1:8080")?;

        let p = &self.pool;
        let window_log2_slots = p.window_log2_slots.unwrap_or(12);
        if !(1..=share_verifier::window::MAX_LOG2_SLOTS).contains(&window_log2_slots) {
            return Err(invalid(
                "pool.window_log2_slots",
                window_log2_slots,
                "must be 1..=24",
            ));
        }
        let script_hex = p
            .settlement_script
            .as_deref()
            .unwrap_or(DEVNET_SETTLEMENT_SCRIPT);
        let settlement_script = ScriptBuf::from_hex(script_hex)
            .map_err(|e| unparsed("pool.settlement_script", script_hex, e))?;
        if settlement_script.is_empty() || settlement_script.len() > 100 {
            return Err(invalid(
                "pool.settlement_script",
                script_hex,
                "must be 1..=100 bytes",
            ));
        }
        let pool_tag = p
            .pool_tag
            .clone()
            .unwrap_or_else(|| "/shareproof/".to_owned())
            .into_bytes();
        if pool_tag.len() > 32 {
            return Err(invalid(
                "pool.pool_tag",
                String::from_utf8_lossy(&pool_tag),
                "must be at most 32 bytes (the scriptSig holds at most 100)",
            ));
        }
        let pool = PoolConfig {
            window_log2_slots,
            settlement_script,
            pool_tag,
        };

        let refresh = self.template.refresh_secs.unwrap_or(30);
        if refresh == 0 {
            return Err(invalid("template.refresh_secs", 0, "must be at least 1"));
        }
        let source = match self.template.source.as_deref().unwrap_or("embedded") {
            "embedded" => SourceConfig::Embedded(self.chain_rule()?),
            "bitcoind" => SourceConfig::Bitcoind(self.bitcoind()?),
            other => {
                return Err(invalid(
                    "template.source",
                    other,
                    "must be \"embedded\" or \"bitcoind\"",
                ))
            }
        };
        let settlement = self.settlement(&data_dir)?;
        let bus = self.bus()?;
        Ok(Config {
            data_dir,
            stratum,
            stratum_v2,
            vardiff,
            api_listen,
            api_public_host: self.api.public_host.clone(),
            api_public_rpc_url: self.api.public_rpc_url.clone(),
            pool,
            template_refresh: Duration::from_secs(refresh),
            source,
            settlement,
            bus,
        })
    }

    fn stratum_v2(
        &self,
        data_dir: &std::path::Path,
    ) -> Result<Option<StratumV2Config>, ConfigError> {
        let s = &self.stratum_v2;
        if s.listen.as_deref() == Some("off") {
            return Ok(None);
        }
        let listen = parse_addr("stratum_v2.listen", s.listen.as_deref(), "127.0.0.1:3336")?;
        let validity = s.certificate_validity_secs.unwrap_or(3600);
        if !(60..=u64::from(u32::MAX)).contains(&validity) {
            return Err(invalid(
                "stratum_v2.certificate_validity_secs",
                validity,
                "must be 60..=4294967295",
            ));
        }
        let max_channels = s.max_channels.unwrap_or(4096);
        if max_channels == 0 {
            return Err(invalid("stratum_v2.max_channels", 0, "must be at least 1"));
        }
        Ok(Some(StratumV2Config {
            listen,
            authority_key_file: s
                .authority_key_file
                .clone()
                .unwrap_or_else(|| data_dir.join("authority-key.toml")),
            certificate_validity: Duration::from_secs(validity),
            max_channels,
        }))
    }

    fn bus(&self) -> Result<BusSettings, ConfigError> {
        use shareproof_bus::{BusAuth, BusConfig, ShareStream};
        let b = &self.bus;
        let urls = b
            .urls
            .clone()
            .unwrap_or_else(|| vec!["nats://127.0.0.1:4222".to_owned()]);
        if urls.is_empty() {
            return Err(invalid("bus.urls", "[]", "give at least one NATS URL"));
        }
        let auth = match (&b.user, &b.credentials, &b.nkey_seed_file) {
            (Some(user), None, None) => BusAuth::UserPassword {
                user: user.clone(),
                password: b.password.clone().unwrap_or_default(),
            },
            (None, Some(path), None) => BusAuth::Credentials(path.clone()),
            (None, None, Some(path)) => {
                let seed = std::fs::read_to_string(path)
                    .map_err(|e| unparsed("bus.nkey_seed_file", path.display(), e))?;
                BusAuth::Nkey(seed.trim().to_owned())
            }
            (None, None, None) => BusAuth::None,
            _ => {
                return Err(invalid(
                    "bus.user",
                    "",
                    "give one of user/password, credentials or nkey_seed_file",
                ))
            }
        };
        let name = b.stream.clone().unwrap_or_else(|| "SHAREPROOF".to_owned());
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(invalid(
                "bus.stream",
                name,
                "must be letters, digits, '_' or '-'",
            ));
        }
        let replicas = b.replicas.unwrap_or(1);
        if !(1..=5).contains(&replicas) {
            return Err(invalid("bus.replicas", replicas, "must be 1..=5"));
        }
        let mut stream = ShareStream::new(name);
        stream.replicas = replicas;
        if let Some(secs) = b.max_age_secs {
            stream.max_age = Duration::from_secs(secs);
        }
        Ok(BusSettings {
            connect: BusConfig {
                urls,
                auth,
                tls_ca: b.tls_ca.clone(),
                require_tls: b.require_tls.unwrap_or(false),
                name: b.name.clone().unwrap_or_default(),
            },
            stream,
        })
    }

    fn settlement(
        &self,
        data_dir: &std::path::Path,
    ) -> Result<Option<crate::settle::SettleConfig>, ConfigError> {
        use crate::settle::{KeySource, SettleConfig};
        use shareproof_evm::SignerSource;
        let s = &self.settlement;
        if !s.enabled.unwrap_or(false) {
            return Ok(None);
        }
        let rpc_url = s
            .rpc_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:8545".to_owned());
        if !(rpc_url.starts_with("http://") || rpc_url.starts_with("https://")) {
            return Err(invalid(
                "settlement.rpc_url",
                &rpc_url,
                "must start with http://",
            ));
        }
        let signer = match (&s.key_file, &s.keystore) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "settlement.keystore",
                    "",
                    "give either key_file or keystore, not both",
                ))
            }
            (Some(f), None) => SignerSource::KeyFile(f.clone()),
            (None, Some(k)) => SignerSource::Keystore {
                path: k.clone(),
                password_file: s.keystore_password_file.clone(),
            },
            (None, None) => SignerSource::Env(
                s.key_env
                    .clone()
                    .unwrap_or_else(|| shareproof_evm::signer::KEY_ENV.to_owned()),
            ),
        };
        let keys =
            match (&s.proving_key_dir, &s.insecure_seed) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "settlement.insecure_seed",
                        "",
                        "give either proving_key_dir or insecure_seed, not both",
                    ))
                }
                (Some(d), None) => KeySource::Dir(d.clone()),
                (None, Some(seed)) => KeySource::InsecureSeed { seed: seed.clone() },
                (None, None) => return Err(invalid(
                    "settlement.proving_key_dir",
                    "",
                    "settlement needs a proving key (proving_key_dir, or insecure_seed on devnets)",
                )),
            };
        let contracts = match (&s.deployment, &s.settlement_pool) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "settlement.settlement_pool",
                    "",
                    "give either deployment or settlement_pool, not both",
                ))
            }
            (_, Some(pool)) => crate::settle::ContractsSource::Pool(
                pool.parse()
                    .map_err(|e| unparsed("settlement.settlement_pool", pool, e))?,
            ),
            (Some(file), None) => crate::settle::ContractsSource::File(file.clone()),
            (None, None) => crate::settle::ContractsSource::File(data_dir.join("deployment.json")),
        };
        let header_batch = s.header_batch.unwrap_or(50);
        if !(1..=500).contains(&header_batch) {
            return Err(invalid(
                "settlement.header_batch",
                header_batch,
                "must be 1..=500",
            ));
        }
        let page_records = s
            .page_records
            .unwrap_or(share_verifier::binding::DEFAULT_PAGE_RECORDS);
        if !(1..=2048).contains(&page_records) {
            return Err(invalid(
                "settlement.page_records",
                page_records,
                "must be 1..=2048 (a page of first-time payees costs about 24,000 gas each; 15M gas a transaction)",
            ));
        }
        Ok(Some(SettleConfig {
            rpc_url,
            contracts,
            signer,
            keys,
            poll: Duration::from_millis(s.poll_ms.unwrap_or(1000).max(10)),
            header_batch,
            page_records,
            deliver_peg_in: s.deliver_peg_in.unwrap_or(false),
            allow_insecure_key: s.allow_insecure_key.unwrap_or(false),
        }))
    }

    fn chain_rule(&self) -> Result<DifficultyRule, ConfigError> {
        let c = &self.chain;
        match c.difficulty.as_deref().unwrap_or("fixed") {
            "fixed" => {
                let nbits = match &c.nbits {
                    None => CompactTarget::from_consensus(DEFAULT_EMBEDDED_NBITS),
                    Some(hex) => {
                        let value = u32::from_str_radix(hex.trim_start_matches("0x"), 16)
                            .map_err(|e| unparsed("chain.nbits", hex, e))?;
                        CompactTarget::from_consensus(value)
                    }
                };
                DifficultyRule::fixed(nbits)
                    .map_err(|e| unparsed("chain.nbits", nbits_hex(nbits), e))
            }
            "retarget" => {
                let interval = c.retarget_interval.unwrap_or(10);
                let spacing = c.target_spacing_secs.unwrap_or(30);
                if interval < 2 {
                    return Err(invalid(
                        "chain.retarget_interval",
                        interval,
                        "must be at least 2 blocks",
                    ));
                }
                if spacing == 0 {
                    return Err(invalid(
                        "chain.target_spacing_secs",
                        0,
                        "must be at least 1",
                    ));
                }
                Ok(DifficultyRule::Retarget {
                    interval,
                    spacing_secs: spacing,
                })
            }
            other => Err(invalid(
                "chain.difficulty",
                other,
                "must be \"fixed\" or \"retarget\"",
            )),
        }
    }

    fn bitcoind(&self) -> Result<BitcoindConfig, ConfigError> {
        let b = &self.bitcoind;
        let urls = b
            .urls
            .clone()
            .unwrap_or_else(|| vec!["http://127.0.0.1:8332".to_owned()]);
        if urls.is_empty() {
            return Err(invalid("bitcoind.urls", "[]", "needs at least one URL"));
        }
        for url in &urls {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid("bitcoind.urls", url, "must start with http://"));
            }
        }
        let auth = match (&b.user, &b.password, &b.cookie_file) {
            (Some(u), Some(p), _) => RpcAuth::UserPass(u.clone(), p.clone()),
            (Some(_), None, _) => {
                return Err(invalid(
                    "bitcoind.password",
                    "",
                    "missing: bitcoind.user is set, so the password is needed",
                ))
            }
            (None, _, Some(c)) => RpcAuth::Cookie(c.clone()),
            (None, _, None) => RpcAuth::None,
        };
        Ok(BitcoindConfig {
            urls,
            auth,
            poll: Duration::from_secs(b.poll_secs.unwrap_or(5).max(1)),
            longpoll: b.longpoll.unwrap_or(true),
        })
    }
}

fn nbits_hex(nbits: CompactTarget) -> String {
    format!("{:08x}", nbits.to_consensus())
}

fn parse_addr(
    key: &'static str,
    value: Option<&str>,
    default: &str,
) -> Result<SocketAddr, ConfigError> {
    let value = value.unwrap_or(default);
    value.parse().map_err(|e| unparsed(key, value, e))
}

fn positive(key: &'static str, value: Option<f64>, default: f64) -> Result<f64, ConfigError> {
    let value = value.unwrap_or(default);
    if value.is_finite() && value > 0.0 {
        Ok(value)
    } else {
        Err(invalid(key, value, "must be a positive number"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_gives_the_embedded_default() {
        let c = RawConfig::default().validate().unwrap();
        assert_eq!(c.stratum.listen.to_string(), "127.0.0.1:3333");
        assert_eq!(c.api_listen.to_string(), "127.0.0.1:8080");
        let v2 = c.stratum_v2.as_ref().expect("V2 is on by default");
        assert_eq!(v2.listen.to_string(), "127.0.0.1:3336");
        assert!(v2.authority_key_file.ends_with("authority-key.toml"));
        assert_eq!(c.stratum.extranonce2_size, 8);
        assert_eq!(
            c.pool.settlement_script.to_hex_string(),
            DEVNET_SETTLEMENT_SCRIPT
        );
        assert!(matches!(
            c.source,
            SourceConfig::Embedded(DifficultyRule::Fixed { .. })
        ));
    }

    #[test]
    fn toml_sections_parse_and_bad_values_are_named() {
        let raw: RawConfig = toml::from_str(
            "[stratum]\nlisten = \"0.0.0.0:3334\"\n[chain]\ndifficulty = \"retarget\"\nretarget_interval = 5\n",
        )
        .unwrap();
        let c = raw.validate().unwrap();
        assert_eq!(c.stratum.listen.port(), 3334);
        assert!(matches!(
            c.source,
            SourceConfig::Embedded(DifficultyRule::Retarget {
                interval: 5,
                spacing_secs: 30
            })
        ));
        let raw: RawConfig = toml::from_str("[stratum_v2]\nlisten = \"off\"\n").unwrap();
        assert!(raw.validate().unwrap().stratum_v2.is_none());
        let raw: RawConfig =
            toml::from_str("[stratum_v2]\ncertificate_validity_secs = 5\n").unwrap();
        assert!(raw
            .validate()
            .unwrap_err()
            .to_string()
            .contains("stratum_v2.certificate_validity_secs"));
        let raw: RawConfig = toml::from_str("[stratum]\nextranonce2_size = 1\n").unwrap();
        let err = raw.validate().unwrap_err().to_string();
        assert!(err.contains("stratum.extranonce2_size"), "{err}");
        assert!(toml::from_str::<RawConfig>("[stratum]\nbogus = 1\n").is_err());
    }

    #[test]
    fn settlement_needs_a_proving_key_and_follows_either_source() {
        let raw: RawConfig = toml::from_str("[settlement]\nenabled = true\n").unwrap();
        let err = raw.validate().unwrap_err().to_string();
        assert!(err.contains("settlement.proving_key_dir"), "{err}");
        let raw: RawConfig = toml::from_str(
            "[settlement]\nenabled = true\ninsecure_seed = \"s\"\nkey_file = \"/k\"\n",
        )
        .unwrap();
        let c = raw.validate().unwrap().settlement.unwrap();
        assert_eq!(
            c.signer,
            shareproof_evm::SignerSource::KeyFile(PathBuf::from("/k"))
        );
        assert!(
            !c.allow_insecure_key,
            "a seeded key stays on devnets by default"
        );
        let raw: RawConfig = toml::from_str(
            "[settlement]\nenabled = true\ninsecure_seed = \"s\"\nallow_insecure_key = true\n",
        )
        .unwrap();
        assert!(
            raw.validate()
                .unwrap()
                .settlement
                .unwrap()
                .allow_insecure_key
        );
        assert!(matches!(
            &c.contracts,
            crate::settle::ContractsSource::File(f) if f.ends_with("deployment.json")
        ));
        let raw: RawConfig = toml::from_str(
            "[settlement]\nenabled = true\ninsecure_seed = \"s\"\nsettlement_pool = \"0x12\"\n",
        )
        .unwrap();
        let err = raw.validate().unwrap_err().to_string();
        assert!(err.contains("settlement.settlement_pool"), "{err}");
        let raw: RawConfig = toml::from_str(
            "[template]\nsource = \"bitcoind\"\n[bitcoind]\nurls = [\"http://127.0.0.1:18443\"]\n[settlement]\nenabled = true\ninsecure_seed = \"s\"\nkey_file = \"/k\"\n",
        )
        .unwrap();
        let c = raw.validate().unwrap();
        assert!(matches!(c.source, SourceConfig::Bitcoind(_)) && c.settlement.is_some());
        assert!(RawConfig::default()
            .validate()
            .unwrap()
            .settlement
            .is_none());
    }
}
