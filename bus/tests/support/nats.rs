//! A real NATS server for the bus's tests and benchmarks, and the shares
//! they publish. Included by path (`#[path]`) from both.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bitcoin::block::Version;
use bitcoin::hashes::Hash;
use share_verifier::log::ShareRecord;
use share_verifier::{Address, JobId, ShareHash, ShareTarget};
use shareproof_bus::{BusError, ShareMessage};

/// A `nats-server -js` on a free port with its store in a temp dir; killed
/// on drop.
pub struct NatsServer {
    child: Child,
    pub port: u16,
    pub store: PathBuf,
    /// Cluster flags (`--cluster`, `--routes`, names), empty for a lone server.
    cluster: Vec<String>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn nats_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SHAREPROOF_NATS_SERVER") {
        return path.into();
    }
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|d: PathBuf| d.join("nats-server"));
    candidates.into_iter().find(|p| p.exists()).expect(
        "nats-server not found: run scripts/install-nats.sh (or set SHAREPROOF_NATS_SERVER)",
    )
}

impl NatsServer {
    pub fn start() -> NatsServer {
        NatsServer::start_with(free_port(), Vec::new())
    }

    fn start_with(port: u16, cluster: Vec<String>) -> NatsServer {
        let store =
            std::env::temp_dir().join(format!("shareproof-nats-{}-{port}", std::process::id()));
        NatsServer {
            child: spawn(port, &store, &cluster),
            port,
            store,
            cluster,
        }
    }

    /// `n` servers in one JetStream cluster, each routed to the others.
    pub fn cluster(n: usize) -> Vec<NatsServer> {
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let routes = ports
            .iter()
            .map(|(_, c)| format!("nats://127.0.0.1:{c}"))
            .collect::<Vec<_>>()
            .join(",");
        ports
            .iter()
            .enumerate()
            .map(|(i, (port, cluster_port))| {
                NatsServer::start_with(
                    *port,
                    vec![
                        "--server_name".into(),
                        format!("n{i}"),
                        "--cluster_name".into(),
                        "shareproof".into(),
                        "--cluster".into(),
                        format!("nats://127.0.0.1:{cluster_port}"),
                        "--routes".into(),
                        routes.clone(),
                    ],
                )
            })
            .collect()
    }

    /// Starts the killed server again on its port and store.
    pub fn restart(&mut self) {
        self.child = spawn(self.port, &self.store, &self.cluster);
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (`kill -9`), keeping its store.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(port: u16, store: &Path, cluster: &[String]) -> Child {
    let child = Command::new(nats_server_binary())
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store)
        .args(cluster)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nats-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

pub fn share(n: u32) -> ShareMessage {
    ShareMessage {
        record: ShareRecord {
            seq: 0,
            job_id: JobId(u64::from(n / 10)),
            extranonce1: vec![0, 0, 0, 1],
            extranonce2: n.to_be_bytes().repeat(2),
            ntime: 1_700_000_000,
            nonce: n,
            version: Version::from_consensus(0x2000_0000),
            address: Address([(n % 7) as u8 + 1; 20]),
            target: ShareTarget::MAX,
        },
        hash: ShareHash::hash(&n.to_le_bytes()),
        is_block: n.is_multiple_of(25),
        worker: format!("rig{}", n % 3),
    }
}

/// Retries `f` for up to `secs` seconds (a cluster electing a leader).
pub async fn retry<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, BusError>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) if Instant::now() < deadline => {
                eprintln!("{what}: {e}; retrying");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}
