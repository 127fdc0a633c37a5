//! The Stratum V2 reference implementation's roles as real clients of the
//! node: the translator proxy and the test mining device, built from
//! crates.io by `scripts/install-sv2.sh` and run as child processes (killed
//! on drop). A missing binary fails the test with the command that
//! installs it: these tests never skip.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use shareproof_node::V2Endpoint;

use crate::bitcoind::free_port;

/// The versions `scripts/install-sv2.sh` pins; its cache is keyed by them.
const VERSION: &str = "tproxy-0.6.0-device-0.6.0";

/// A reference binary: from `$SHAREPROOF_SV2_BIN` (a directory) when set,
/// else from the install script's cache.
pub fn binary(name: &str) -> PathBuf {
    let dir = std::env::var_os("SHAREPROOF_SV2_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("SHAREPROOF_CACHE")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("shareproof"))
                })
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/shareproof"))
                })
                .expect("HOME is set");
            cache.join(format!("sv2-{VERSION}/bin"))
        });
    let path = dir.join(name);
    assert!(
        path.is_file(),
        "{} not found: run scripts/install-sv2.sh (or set SHAREPROOF_SV2_BIN)",
        path.display()
    );
    path
}

/// A reference role's process, killed when dropped.
pub struct Role {
    child: Child,
    /// Where a translator takes V1 miners (`None` for a device).
    pub downstream: Option<String>,
    _dir: tempfile::TempDir,
}

impl Drop for Role {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- reference role's log:\n{}", log_of(self));
        }
    }
}

fn spawn(
    program: &Path,
    args: &[String],
    dir: tempfile::TempDir,
    downstream: Option<String>,
) -> Role {
    let log = std::fs::File::create(dir.path().join("log")).expect("log file");
    let child = Command::new(program)
        .args(args)
        .current_dir(dir.path())
        .stdout(Stdio::from(log.try_clone().expect("log file")))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap_or_else(|e| panic!("spawning {}: {e}", program.display()));
    Role {
        child,
        downstream,
        _dir: dir,
    }
}

/// The translator proxy upstream of `v2` with `user` as its channel's
/// identity (aggregated: one extended channel for every V1 miner behind
/// it), taking V1 miners on a free port, vardiff aimed at a share per
/// second from a CPU miner. Waits until the downstream port accepts.
pub async fn start_translator(v2: V2Endpoint, user: &str) -> Role {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let config = format!(
        r#"downstream_address = "127.0.0.1"
downstream_port = {port}
max_supported_version = 2
min_supported_version = 2
downstream_extranonce2_size = 4
verify_payout = false
aggregate_channels = true
supported_extensions = []

[downstream_difficulty_config]
min_individual_miner_hashrate = 1_000_000.0
shares_per_minute = 60.0
enable_vardiff = true
job_keepalive_interval_secs = 60

[[upstreams]]
address = "{}"
port = {}
authority_pubkey = "{}"
user_identity = "{user}"
"#,
        v2.addr.ip(),
        v2.addr.port(),
        v2.authority
    );
    let path = dir.path().join("tproxy.toml");
    std::fs::write(&path, config).expect("translator config");
    let args = vec!["-c".to_owned(), path.display().to_string()];
    let downstream = format!("127.0.0.1:{port}");
    let role = spawn(
        &binary("translator_sv2"),
        &args,
        dir,
        Some(downstream.clone()),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::net::TcpStream::connect(&downstream).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the translator does not listen on {downstream} after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    role
}

/// The reference test mining device on a standard channel of `v2`, one
/// core, opening its channel as `user`.
pub fn start_mining_device(v2: V2Endpoint, user: &str) -> Role {
    let dir = tempfile::tempdir().expect("temp dir");
    let args = vec![
        "--address-pool".to_owned(),
        v2.addr.to_string(),
        "--pubkey-pool".to_owned(),
        v2.authority.to_string(),
        "--id-user".to_owned(),
        user.to_owned(),
        "--cores".to_owned(),
        "1".to_owned(),
    ];
    spawn(&binary("mining_device"), &args, dir, None)
}

/// The role's log so far (for failure messages).
pub fn log_of(role: &Role) -> String {
    std::fs::read_to_string(role._dir.path().join("log")).unwrap_or_default()
}
