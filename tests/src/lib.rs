//! Helpers for the end-to-end tests in `tests/`: an in-process node on
//! `127.0.0.1:0` with its own data dir, a raw line client that asserts the
//! bytes the node sends, and share mining at test difficulties; a real
//! Bitcoin Core ([`bitcoind`]) and anvil ([`evm`]) as child processes.

pub mod bitcoind;
pub mod evm;
pub mod sv2;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use share_verifier::header::first_nonce;
use share_verifier::{Job, PreparedJob, ShareTarget, Submission};
use shareproof_node::config::RawConfig;
use shareproof_node::RunningNode;
use shareproof_stratum::response::Subscribed as SubscribeResult;
use shareproof_stratum::{Call, Notification, ServerMessage};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

/// A payout address for tests (EIP-55 example).
pub const ADDRESS: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

/// The vectors shared by the team, read as they are.
pub fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
}

/// Reads a JSON vector file.
pub fn vector(path: &str) -> Value {
    let p = vectors().join(path);
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A node running in this process, with its data dir.
pub struct TestNode {
    /// The node.
    pub node: RunningNode,
    /// Its data dir (removed on drop).
    pub dir: tempfile::TempDir,
}

/// A raw config for tests: ephemeral ports, a fresh data dir, an easy chain.
pub fn test_config(dir: &std::path::Path) -> RawConfig {
    let mut raw = RawConfig {
        data_dir: Some(dir.to_owned()),
        ..RawConfig::default()
    };
    raw.stratum.listen = Some("127.0.0.1:0".into());
    raw.stratum_v2.listen = Some("127.0.0.1:0".into());
    raw.api.listen = Some("127.0.0.1:0".into());
    raw.pool.window_log2_slots = Some(6);
    // Every share is a block unless a test says otherwise.
    raw.chain.nbits = Some("207fffff".into());
    raw.vardiff.start_difficulty = Some(1e-9);
    raw.vardiff.min_difficulty = Some(1e-12);
    raw
}

/// Starts a node with the test config changed by `change`.
pub async fn start_node(change: impl FnOnce(&mut RawConfig)) -> TestNode {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut raw = test_config(dir.path());
    change(&mut raw);
    let node = shareproof_node::start(raw.validate().expect("valid test config"))
        .await
        .expect("node starts");
    TestNode { node, dir }
}

/// A Stratum connection that sends raw lines and reads raw lines.
pub struct LineClient {
    read: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    write: OwnedWriteHalf,
}

impl LineClient {
    /// Connects.
    pub async fn connect(addr: std::net::SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("TCP_NODELAY");
        let (r, w) = stream.into_split();
        LineClient {
            read: BufReader::new(r).lines(),
            write: w,
        }
    }

    /// Sends one line (a newline is added), in one write: a line split over
    /// two writes waits for the node's delayed ACK (Nagle), 40 ms here.
    pub async fn send(&mut self, line: &str) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        self.write.write_all(&bytes).await.expect("write");
    }

    /// Sends raw bytes.
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.write.write_all(bytes).await.expect("write");
    }

    /// The next line; `None` when the node closed the connection.
    pub async fn recv_opt(&mut self) -> Option<String> {
        tokio::time::timeout(Duration::from_secs(20), self.read.next_line())
            .await
            .expect("a line within 20 s")
            .ok()
            .flatten()
    }

    /// The next line (panics on close or timeout).
    pub async fn recv(&mut self) -> String {
        self.recv_opt().await.expect("connection open")
    }

    /// The next line as JSON.
    pub async fn recv_json(&mut self) -> Value {
        let line = self.recv().await;
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    }

    /// Reads lines until one has `method`; returns its params.
    pub async fn expect_method(&mut self, method: &str) -> Value {
        loop {
            let v = self.recv_json().await;
            if v["method"] == method {
                return v["params"].clone();
            }
        }
    }

    /// Sends a request written by the Stratum crate.
    pub async fn call(&mut self, id: u64, call: Call<'_>) {
        let mut bytes = Vec::new();
        call.write(&mut bytes, id);
        self.send_raw(&bytes).await;
    }

    /// The next notification (answers are skipped).
    pub async fn next_notification(&mut self) -> Notification {
        loop {
            let line = self.recv().await;
            match ServerMessage::parse(line.as_bytes()) {
                Ok(ServerMessage::Notification(n)) => return n,
                Ok(ServerMessage::Response(_)) => {}
                Err(e) => panic!("{e}: {line}"),
            }
        }
    }

    /// Reads lines until the answer to `id`.
    pub async fn expect_answer(&mut self, id: u64) -> Value {
        loop {
            let v = self.recv_json().await;
            if v["id"] == id {
                return v;
            }
        }
    }
}

/// What a subscribed, authorized test miner knows.
pub struct Subscribed {
    /// The connection.
    pub client: LineClient,
    /// extranonce1.
    pub extranonce1: Vec<u8>,
    /// The difficulty last set.
    pub difficulty: f64,
    /// The job last notified.
    pub job: Job,
}

impl Subscribed {
    /// The current job if it satisfies `want`, else reads lines (noting
    /// difficulties and jobs) until a `mining.notify` whose job does;
    /// panics after 30 s with `what`.
    pub async fn job_where(&mut self, what: &str, want: impl Fn(&Job) -> bool) -> Job {
        if want(&self.job) {
            return self.job.clone();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            assert!(
                std::time::Instant::now() < deadline,
                "no job with {what} within 30 s"
            );
            match self.client.next_notification().await {
                Notification::SetDifficulty(d) => self.difficulty = d,
                Notification::Notify(job) => {
                    self.job = job.clone();
                    if want(&job) {
                        return job;
                    }
                }
                _ => {}
            }
        }
    }

    /// Mines a share on the current job at the current difficulty with
    /// extranonce2 = `id`, submits it as `user` and waits until it is
    /// accepted; returns its header's hash (at regtest difficulty every
    /// share is a block, and this is the block's hash).
    pub async fn submit_valid_share(&mut self, user: &str, id: u64) -> bitcoin::BlockHash {
        let target = share_verifier::Difficulty::new(self.difficulty)
            .expect("a positive difficulty")
            .to_target();
        let en2 = id.to_be_bytes();
        let nonce = mine(&self.job, &self.extranonce1, &en2, target, self.job.version);
        let header = PreparedJob::new(&self.job).header(
            &self.extranonce1,
            &en2,
            self.job.ntime,
            nonce,
            self.job.version,
        );
        self.client
            .send(&submit(id, user, &self.job, &en2, nonce, None))
            .await;
        let answer = self.client.expect_answer(id).await;
        assert_eq!(answer["result"], Value::Bool(true), "{answer}");
        header.block_hash()
    }
}

/// subscribe + authorize as `user`; waits for the first difficulty and job.
pub async fn subscribe(addr: std::net::SocketAddr, user: &str) -> Subscribed {
    let mut client = LineClient::connect(addr).await;
    client.call(1, Call::Subscribe { agent: "test/1.0" }).await;
    let sub = client.expect_answer(1).await;
    let extranonce1 = SubscribeResult::from_result(&sub["result"])
        .expect("a subscribe result")
        .extranonce1;
    client
        .call(
            2,
            Call::Authorize {
                user,
                password: "x",
            },
        )
        .await;
    assert_eq!(client.expect_answer(2).await["result"], true);
    let Notification::SetDifficulty(difficulty) = client.next_notification().await else {
        panic!("set_difficulty comes first");
    };
    let Notification::Notify(job) = client.next_notification().await else {
        panic!("then the job");
    };
    Subscribed {
        client,
        extranonce1,
        difficulty,
        job,
    }
}

/// The first nonce whose share meets `target` (share-verifier's nonce search).
pub fn mine(
    job: &Job,
    extranonce1: &[u8],
    extranonce2: &[u8],
    target: ShareTarget,
    version: bitcoin::block::Version,
) -> u32 {
    let prefix = PreparedJob::new(job).header_prefix(extranonce1, extranonce2, job.ntime, version);
    first_nonce(&prefix, &target, 0, u32::MAX).expect("a nonce")
}

/// The first nonce whose share misses `target`.
pub fn miss(job: &Job, extranonce1: &[u8], extranonce2: &[u8], target: ShareTarget) -> u32 {
    let p = PreparedJob::new(job);
    (0u32..)
        .find(|&n| !target.is_met_by(&p.hash(extranonce1, extranonce2, job.ntime, n, job.version)))
        .expect("a nonce")
}

/// A `mining.submit` line (without its newline), written by the Stratum crate.
pub fn submit(
    id: u64,
    user: &str,
    job: &Job,
    extranonce2: &[u8],
    nonce: u32,
    version_bits: Option<u32>,
) -> String {
    let share = Submission {
        job_id: job.id,
        extranonce1: Vec::new(),
        extranonce2: extranonce2.to_vec(),
        ntime: job.ntime,
        nonce,
        version_bits,
    };
    let mut line = Vec::new();
    Call::Submit {
        worker: user,
        share: &share,
    }
    .write(&mut line, id);
    line.pop();
    String::from_utf8(line).expect("JSON is UTF-8")
}

/// GET `path` on the node's API as JSON.
pub async fn get_json(api: std::net::SocketAddr, path: &str) -> (u16, Value) {
    let (status, body) = get(api, path).await;
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// GET `path` on the node's API (a minimal HTTP/1.1 client).
pub async fn get(api: std::net::SocketAddr, path: &str) -> (u16, Vec<u8>) {
    let (status, _, body) = request(api, path, &[]).await;
    (status, body)
}

/// GET `path` with extra `headers`: the status, the response's head
/// (lower-cased) and its body (de-chunked, still encoded).
pub async fn request(
    api: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let mut s = TcpStream::connect(api).await.expect("api connect");
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{extra}\r\n").as_bytes(),
    )
    .await
    .expect("api write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("api read");
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("http head")
        + 4;
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let mut body = buf[head_end..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body);
    }
    (status, head, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..line_end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[line_end + 2..line_end + 2 + size]);
        data = &data[line_end + 2 + size + 2..];
    }
    out
}
