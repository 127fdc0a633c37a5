//! A real Bitcoin Core for the tests: `bitcoind -regtest` built from the
//! source that `libbitcoinkernel-sys` vendors (`scripts/install-bitcoind.sh`),
//! on a fresh data directory and its own free ports, stopped at the end by
//! its PID. Driven through the real `bitcoin-cli`.
//!
//! The binaries come from `$SHAREPROOF_BITCOIND` / `$SHAREPROOF_BITCOIN_CLI`
//! when set (one's own Bitcoin Core), else from the install script's cache.
//! A missing binary fails the test with the command that installs it: these
//! tests never skip.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bitcoin::hashes::{sha256, Hash};
use bitcoin::{Address, Block, BlockHash, Network, ScriptBuf, WScriptHash};
use serde_json::Value;

/// RPC credentials every test node uses (loopback only).
pub const RPC_USER: &str = "shareproof";
/// RPC password of every test node.
pub const RPC_PASSWORD: &str = "regtest-only";

/// The crate version `scripts/install-bitcoind.sh` builds from; its cache
/// directory is keyed by it.
const SOURCE_VERSION: &str = "0.4.1";

/// Where the install script caches the binaries.
fn cached_bin_dir() -> PathBuf {
    let cache = std::env::var_os("SHAREPROOF_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("shareproof")))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/shareproof")))
        .expect("HOME is set");
    cache.join(format!("bitcoind-{SOURCE_VERSION}/bin"))
}

fn binary(env: &str, name: &str) -> PathBuf {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| cached_bin_dir().join(name));
    assert!(
        path.is_file(),
        "{} not found: run scripts/install-bitcoind.sh (or set {env} to your own {name})",
        path.display()
    );
    path
}

/// A free TCP port on loopback (bound and released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// The scriptPubKey the tests mine their own coins to: P2WSH of `OP_TRUE`,
/// spendable with the witness `[OP_TRUE]` and no key (standard on regtest).
pub fn anyone_can_spend() -> ScriptBuf {
    ScriptBuf::new_p2wsh(&WScriptHash::from_byte_array(
        sha256::Hash::hash(&[0x51]).to_byte_array(),
    ))
}

/// `anyone_can_spend` as a regtest address (for `generatetoaddress`).
pub fn anyone_can_spend_address() -> String {
    Address::from_script(&anyone_can_spend(), Network::Regtest)
        .expect("a P2WSH script has an address")
        .to_string()
}

/// A running `bitcoind -regtest`.
pub struct Bitcoind {
    child: Child,
    /// Its data directory (removed on drop).
    pub dir: tempfile::TempDir,
    /// The RPC port on 127.0.0.1.
    pub rpc_port: u16,
    /// The P2P port on 127.0.0.1.
    pub p2p_port: u16,
    cli: PathBuf,
}

impl Bitcoind {
    /// Starts a node on a fresh data directory and waits until its RPC
    /// answers. `peers` are P2P ports of other test nodes to connect to.
    pub fn start(peers: &[u16]) -> Self {
        let bitcoind = binary("SHAREPROOF_BITCOIND", "bitcoind");
        let cli = binary("SHAREPROOF_BITCOIN_CLI", "bitcoin-cli");
        let dir = tempfile::tempdir().expect("temp dir");
        let rpc_port = free_port();
        let p2p_port = free_port();
        let mut args = vec![
            "-regtest".to_owned(),
            format!("-datadir={}", dir.path().display()),
            "-server=1".to_owned(),
            "-listen=1".to_owned(),
            format!("-bind=127.0.0.1:{p2p_port}"),
            format!("-rpcbind=127.0.0.1:{rpc_port}"),
            "-rpcallowip=127.0.0.1".to_owned(),
            format!("-rpcuser={RPC_USER}"),
            format!("-rpcpassword={RPC_PASSWORD}"),
            "-dnsseed=0".to_owned(),
            "-fixedseeds=0".to_owned(),
            "-discover=0".to_owned(),
            "-listenonion=0".to_owned(),
            "-printtoconsole=0".to_owned(),
            // Test transactions pay 1 sat/vB.
            "-minrelaytxfee=0.00000001".to_owned(),
        ];
        args.extend(peers.iter().map(|p| format!("-connect=127.0.0.1:{p}")));
        if peers.is_empty() {
            args.push("-connect=0".to_owned());
        }
        let child = Command::new(&bitcoind)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", bitcoind.display()));
        let node = Bitcoind {
            child,
            dir,
            rpc_port,
            p2p_port,
            cli,
        };
        for _ in 0..600 {
            if node.try_cli(&["getblockcount"]).is_ok() {
                return node;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("bitcoind did not answer RPC on {rpc_port} within 30 s");
    }

    /// The RPC URL the node's config takes.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.rpc_port)
    }

    /// The node's PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The data directory.
    pub fn datadir(&self) -> &Path {
        self.dir.path()
    }

    fn try_cli(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(&self.cli)
            .arg("-regtest")
            .arg(format!("-rpcport={}", self.rpc_port))
            .arg("-rpcconnect=127.0.0.1")
            .arg(format!("-rpcuser={RPC_USER}"))
            .arg(format!("-rpcpassword={RPC_PASSWORD}"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("{}: {e}", self.cli.display()))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    }

    /// Runs `bitcoin-cli <args>` and returns its output (panics on an error).
    pub fn cli(&self, args: &[&str]) -> String {
        self.try_cli(args)
            .unwrap_or_else(|e| panic!("bitcoin-cli {}: {e}", args.join(" ")))
    }

    /// `bitcoin-cli <args>` as JSON.
    pub fn cli_json(&self, args: &[&str]) -> Value {
        let out = self.cli(args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("bitcoin-cli {}: {e}: {out}", args.join(" ")))
    }

    /// Mines `n` blocks to [`anyone_can_spend`]; returns their hashes.
    pub fn generate(&self, n: u32) -> Vec<BlockHash> {
        let address = anyone_can_spend_address();
        self.cli_json(&["generatetoaddress", &n.to_string(), &address])
            .as_array()
            .expect("an array of hashes")
            .iter()
            .map(|h| h.as_str().expect("hex").parse().expect("a block hash"))
            .collect()
    }

    /// The best block's height.
    pub fn height(&self) -> u32 {
        self.cli(&["getblockcount"]).parse().expect("a height")
    }

    /// The best block's hash.
    pub fn tip(&self) -> BlockHash {
        self.cli(&["getbestblockhash"])
            .parse()
            .expect("a block hash")
    }

    /// The block with `hash`, as bitcoind serialises it.
    pub fn block(&self, hash: &BlockHash) -> Block {
        let hex = self.cli(&["getblock", &hash.to_string(), "0"]);
        bitcoin::consensus::deserialize(&hex::decode(hex).expect("hex")).expect("a block")
    }

    /// The block at `height` on the best chain.
    pub fn block_at(&self, height: u32) -> Block {
        let hash: BlockHash = self
            .cli(&["getblockhash", &height.to_string()])
            .parse()
            .expect("a block hash");
        self.block(&hash)
    }

    /// Stops the node by its PID (SIGTERM, then SIGKILL after 30 s) and waits for it.
    pub fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..300 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Bitcoind {
    fn drop(&mut self) {
        self.stop();
    }
}
