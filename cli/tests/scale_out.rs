//! Scale-out end to end with the real binaries and real NATS servers:
//! `shareproof accounting` and two `shareproof edge`s over a JetStream share
//! stream, the load generator on both edges and the built-in miner finding
//! blocks. Machines die with `kill -9` (a NATS server, an edge, the
//! accounting node); afterwards every share an edge acknowledged is in the
//! accounting node's log exactly once, the log audits clean, and the log
//! is the stream replayed: the same shares in the same order.

#[path = "../../bus/tests/support/nats.rs"]
mod nats;
mod support;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_nats::jetstream::Context;
use nats::{retry, NatsServer};
use share_verifier::log::{LogReader, Record, ShareRecord};
use share_verifier::Auditor;
use shareproof_bus::{BusConfig, ShareConsumer, ShareStream};
use shareproof_miner::cpu::{self as miner, MinerConfig};
use shareproof_miner::loadgen::{self, LoadgenConfig, LoadgenReport};
use support::{http_get, spawn, Spawned};
use tokio_util::sync::CancellationToken;

/// A payout address for the built-in miner.
const MINER: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

/// The window size, log2.
const LOG2: u32 = 8;

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

/// The settings both roles take: NATS, the stream, and difficulties that
/// keep the load generator's shares cheap.
fn bus_args(urls: &str, replicas: usize) -> Vec<String> {
    let mut args = strings(&[
        "--nats",
        urls,
        "--stream",
        "SHAREPROOF",
        "--min-difficulty",
        "1e-12",
        "--start-difficulty",
        "1e-12",
        "--max-difficulty",
        "1",
        "--target-share-secs",
        "0.05",
        "--max-invalid-per-minute",
        "1000000",
    ]);
    args.push("--replicas".into());
    args.push(replicas.to_string());
    args
}

fn accounting(data: &Path, urls: &str, replicas: usize) -> Spawned {
    let mut args = strings(&["accounting", "--api-listen", "127.0.0.1:0"]);
    args.push("--data-dir".into());
    args.push(data.display().to_string());
    args.extend(strings(&[
        "--window-log2",
        &LOG2.to_string(),
        // About 2^18 hashes per block: a few blocks a second for the miner.
        "--chain-nbits",
        "1e3fffff",
    ]));
    args.extend(bus_args(urls, replicas));
    spawn(&args)
}

fn edge(id: u8, urls: &str, replicas: usize) -> Spawned {
    let mut args = strings(&[
        "edge",
        "--stratum-listen",
        "127.0.0.1:0",
        "--stratum-v2-listen",
        "127.0.0.1:0",
        "--api-listen",
        "127.0.0.1:0",
    ]);
    args.push("--edge-id".into());
    args.push(id.to_string());
    args.extend(bus_args(urls, replicas));
    spawn(&args)
}

/// The pool's numbers from the accounting node's API.
async fn pool(api: &str) -> serde_json::Value {
    serde_json::from_slice(&http_get(api, "/api/v1/pool").await).expect("pool json")
}

/// Waits until the accounting node has minted its first job.
async fn first_job(api: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while pool(api).await["height"].is_null() {
        assert!(Instant::now() < deadline, "no job in 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Connects to the servers and makes the stream and the jobs stream (a
/// fresh cluster elects its JetStream leader first: retried).
async fn bus(urls: &str, replicas: usize) -> (Context, ShareStream) {
    let urls = urls.split(',').map(str::to_owned).collect();
    let client = BusConfig::new(urls, "test").connect().await.expect("NATS");
    let js = async_nats::jetstream::new(client);
    let mut stream = ShareStream::new("SHAREPROOF");
    stream.replicas = replicas;
    retry(60, "creating the stream", || stream.ensure(&js)).await;
    retry(60, "creating the jobs stream", || stream.jobs_store(&js)).await;
    (js, stream)
}

fn load(stratum: &str, acked: PathBuf, seconds: u64) -> tokio::task::JoinHandle<LoadgenReport> {
    let config = LoadgenConfig {
        url: format!("stratum+tcp://{stratum}"),
        authority_key: None,
        connections: 4,
        rate: 400.0,
        duration: Duration::from_secs(seconds),
        invalid_fraction: 0.02,
        difficulty: 1e-12,
        acked_file: Some(acked),
        idle: false,
        source_ips: Vec::new(),
    };
    tokio::spawn(async move {
        loadgen::run(config, CancellationToken::new())
            .await
            .expect("loadgen")
    })
}

/// The key the load generator writes for each acknowledged share.
fn key(s: &ShareRecord) -> String {
    format!(
        "{} {} {:08x}",
        hex::encode(&s.extranonce1),
        hex::encode(&s.extranonce2),
        s.nonce
    )
}

/// Waits until the accounting node has applied every message on the
/// stream; returns the stream's message count.
async fn caught_up(js: &Context, stream: &ShareStream, api: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut handle = retry(30, "reading the stream", || stream.ensure(js)).await;
        let messages = handle.info().await.expect("stream info").state.messages;
        let shares = pool(api).await["shares"].as_u64().expect("shares");
        if shares == messages {
            return messages;
        }
        assert!(
            Instant::now() < deadline,
            "the accounting node applied {shares} of {messages} stream messages in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The log's share records after an audit: every record checks out, and
/// the shares are in the log once each.
fn audited_shares(log: &[u8]) -> (Vec<ShareRecord>, u64) {
    let mut reader = LogReader::new(log).expect("log header");
    let mut auditor = Auditor::new(reader.header(), None).expect("auditor");
    let mut shares = Vec::new();
    for record in reader.by_ref() {
        let record = record.expect("record");
        auditor.check(&record).expect("the log audits clean");
        if let Record::Share(s) = record {
            shares.push(s);
        }
    }
    let keys: HashSet<String> = shares.iter().map(key).collect();
    assert_eq!(keys.len(), shares.len(), "a share is in the log twice");
    (shares, auditor.summary().blocks)
}

/// The stream read from its first message, in order, against the log's
/// shares: the same records (but the sequence number the accounting node
/// assigned) in the same order.
async fn replay_matches(js: &Context, stream: &ShareStream, shares: &[ShareRecord]) {
    let mut replay = ShareConsumer::open(js, stream, "replay", 0)
        .await
        .expect("replay consumer");
    for (seq, logged) in shares.iter().enumerate() {
        let delivery = tokio::time::timeout(Duration::from_secs(20), replay.next())
            .await
            .expect("a stream message within 20 s")
            .expect("a share message");
        assert_eq!(delivery.stream_seq, seq as u64 + 1);
        let mut on_stream = delivery.share.record.clone();
        on_stream.seq = seq as u64;
        assert_eq!(
            &on_stream,
            logged,
            "log share {seq} is not stream message {}",
            seq + 1
        );
    }
}

/// Every acknowledged share (the load generators' files) is in the log.
fn acked_are_logged(files: &[PathBuf], shares: &[ShareRecord]) -> usize {
    let logged: HashSet<String> = shares.iter().map(key).collect();
    let mut acked = 0;
    for file in files {
        let text = std::fs::read_to_string(file).expect("acked file");
        let missing: Vec<&str> = text.lines().filter(|a| !logged.contains(*a)).collect();
        assert!(
            missing.is_empty(),
            "{} acknowledged shares lost, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(3)]
        );
        acked += text.lines().count();
    }
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_edges_on_an_r3_cluster_lose_no_acknowledged_share_when_a_server_and_an_edge_die() {
    let mut servers = NatsServer::cluster(3);
    let urls = servers
        .iter()
        .map(NatsServer::url)
        .collect::<Vec<_>>()
        .join(",");
    let (js, stream) = bus(&urls, 3).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut acc = accounting(&dir.path().join("accounting"), &urls, 3);
    let api = acc.api.clone().expect("api");
    first_job(&api).await;
    let mut edges = [edge(1, &urls, 3), edge(2, &urls, 3)];
    let stratum: Vec<String> = edges
        .iter()
        .map(|e| e.stratum.clone().expect("stratum"))
        .collect();

    let files = [dir.path().join("acked-1"), dir.path().join("acked-2")];
    let loads = [
        load(&stratum[0], files[0].clone(), 8),
        load(&stratum[1], files[1].clone(), 8),
    ];
    let stop = CancellationToken::new();
    let mining = tokio::spawn(miner::run(
        MinerConfig {
            url: format!("stratum+tcp://{}", stratum[0]),
            authority_key: None,
            user: format!("{MINER}.cpu"),
            threads: 1,
            version_rolling: true,
            duration: Some(Duration::from_secs(8)),
            suggest_difficulty: Some(1e-6),
        },
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    servers[1].kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    edges[1].child.kill().expect("SIGKILL the edge");
    edges[1].child.wait().expect("reaped");
    let [first, second] = loads;
    let first = first.await.expect("loadgen on the live edge");
    let second = second.await.expect("loadgen on the killed edge");
    let mined = mining.await.expect("miner task").expect("miner");
    assert!(first.accepted > 100, "{first:?}");
    assert!(second.accepted > 50, "{second:?}");

    let messages = caught_up(&js, &stream, &api).await;
    let log = http_get(&api, "/api/v1/log").await;
    let (shares, blocks) = audited_shares(&log);
    assert_eq!(shares.len() as u64, messages);
    let acked = acked_are_logged(&files, &shares);
    assert_eq!(acked as u64, first.accepted + second.accepted);
    assert!(
        blocks >= 1,
        "the miner found no block: {mined:?}, {blocks} blocks"
    );
    replay_matches(&js, &stream, &shares).await;
    let pool = pool(&api).await;
    assert_eq!(
        pool["window_shares"].as_u64(),
        Some(messages.min(1 << LOG2))
    );
    eprintln!(
        "{messages} shares on the stream and in the log ({acked} acknowledged by the edges), {blocks} blocks"
    );
    for e in &mut edges[..1] {
        e.child.kill().expect("kill");
    }
    acc.child.kill().expect("kill");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accounting_node_killed_mid_run_resumes_from_its_stored_stream_position() {
    let server = NatsServer::start();
    let urls = server.url();
    let (js, stream) = bus(&urls, 1).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("accounting");
    let mut acc = accounting(&data, &urls, 1);
    first_job(acc.api.as_deref().expect("api")).await;
    let mut edge = edge(7, &urls, 1);
    let acked = dir.path().join("acked");
    let running = load(edge.stratum.as_deref().expect("stratum"), acked.clone(), 6);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    acc.child.kill().expect("SIGKILL the accounting node");
    acc.child.wait().expect("reaped");
    // The edge keeps acknowledging shares: the stream holds them.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut acc = accounting(&data, &urls, 1);
    let api = acc.api.clone().expect("api");
    let report = running.await.expect("loadgen");
    assert!(report.accepted > 200, "{report:?}");

    let messages = caught_up(&js, &stream, &api).await;
    let log = http_get(&api, "/api/v1/log").await;
    let (shares, _) = audited_shares(&log);
    assert_eq!(shares.len() as u64, messages);
    assert_eq!(
        acked_are_logged(std::slice::from_ref(&acked), &shares) as u64,
        report.accepted
    );
    replay_matches(&js, &stream, &shares).await;
    // Both roles' metrics say the same: every share stored by the edge,
    // every stream message applied by the accounting node.
    let metric = |text: &str, name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing from\n{text}"))
    };
    let edge_metrics =
        String::from_utf8(http_get(edge.api.as_deref().expect("edge metrics"), "/metrics").await)
            .expect("UTF-8");
    assert_eq!(
        metric(
            &edge_metrics,
            "shareproof_stream_published_total{outcome=\"stored\"}"
        ),
        messages
    );
    let accounting_metrics = String::from_utf8(http_get(&api, "/metrics").await).expect("UTF-8");
    assert_eq!(
        metric(&accounting_metrics, "shareproof_stream_applied_seq"),
        messages
    );
    edge.child.kill().expect("kill");
    acc.child.kill().expect("kill");
}
