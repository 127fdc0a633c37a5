//! Crash safety: the real binary is SIGKILLed while the load generator
//! submits shares; after a restart every acknowledged share is in the
//! exported log and the window, the log audits clean and the chain is intact.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use share_verifier::log::{LogReader, Record};
use share_verifier::Auditor;
use shareproof_miner::loadgen::{self, LoadgenConfig};
use tokio_util::sync::CancellationToken;

/// Starts `shareproof node` on ephemeral ports; returns the child and its
/// Stratum and API addresses (read from its banner).
fn spawn_node(data_dir: &Path) -> (Child, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_shareproof"))
        .args([
            "node",
            "--stratum-listen",
            "127.0.0.1:0",
            "--api-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--window-log2", "8", "--chain-nbits", "1e00ffff"])
        .args([
            "--min-difficulty",
            "1e-12",
            "--start-difficulty",
            "1e-12",
            "--max-difficulty",
            "1e-12",
        ])
        .args(["--max-invalid-per-minute", "1000000"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawning shareproof");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut stratum = None;
    let mut api = None;
    while stratum.is_none() || api.is_none() {
        let line = lines.next().expect("banner").expect("banner line");
        if let Some(rest) = line.trim().strip_prefix("Stratum:") {
            stratum = Some(rest.trim().trim_start_matches("stratum+tcp://").to_owned());
        }
        if let Some(rest) = line.trim().strip_prefix("HTTP API:") {
            let url = rest.split_whitespace().next().expect("api url");
            api = Some(
                url.trim_start_matches("http://")
                    .split('/')
                    .next()
                    .expect("host")
                    .to_owned(),
            );
        }
    }
    // Keep draining stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (child, stratum.expect("stratum"), api.expect("api"))
}

async fn http_get(api: &str, path: &str) -> Vec<u8> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(api).await.expect("api");
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.expect("read");
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    assert!(
        buf.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..end])
    );
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let body = buf[end..].to_vec();
    if !head.contains("transfer-encoding: chunked") {
        return body;
    }
    let mut out = Vec::new();
    let mut data = &body[..];
    while let Some(pos) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..pos]).expect("size").trim(), 16)
                .expect("hex size");
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[pos + 2..pos + 2 + size]);
        data = &data[pos + 2 + size + 2..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_share_survives_a_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let acked_file = dir.path().join("acked.txt");
    let (mut child, stratum, _) = spawn_node(&data);

    let load = tokio::spawn(loadgen::run(
        LoadgenConfig {
            url: format!("stratum+tcp://{stratum}"),
            connections: 8,
            rate: 3000.0,
            duration: Duration::from_secs(4),
            invalid_fraction: 0.05,
            difficulty: 1e-12,
            acked_file: Some(acked_file.clone()),
            idle: false,
            source_ips: Vec::new(),
        },
        CancellationToken::new(),
    ));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.kill().expect("SIGKILL"); // std's kill() is SIGKILL on Unix
    child.wait().expect("reaped");
    let report = load.await.expect("loadgen task").expect("loadgen");
    assert!(
        report.accepted > 100,
        "the load ran before the kill: {report:?}"
    );

    let (mut child, _, api) = spawn_node(&data);
    let log = http_get(&api, "/api/v1/log").await;
    // Wait for the first job (the template source starts with the node).
    let mut pool = serde_json::Value::Null;
    for _ in 0..100 {
        pool = serde_json::from_slice(&http_get(&api, "/api/v1/pool").await).expect("pool json");
        if !pool["height"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().expect("kill");
    child.wait().expect("reaped");

    let mut reader = LogReader::new(&log[..]).expect("log header");
    let mut auditor = Auditor::new(reader.header(), None).expect("auditor");
    let mut logged = HashSet::new();
    for record in reader.by_ref() {
        let record = record.expect("record");
        auditor.check(&record).expect("audits clean");
        if let Record::Share(s) = &record {
            logged.insert(format!(
                "{} {} {:08x}",
                hex::encode(&s.extranonce1),
                hex::encode(&s.extranonce2),
                s.nonce
            ));
        }
    }
    let acked = std::fs::read_to_string(&acked_file).expect("acked file");
    let acked: Vec<&str> = acked.lines().collect();
    assert_eq!(acked.len() as u64, report.accepted);
    let missing: Vec<_> = acked.iter().filter(|a| !logged.contains(**a)).collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged shares lost, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(3)]
    );
    // The window was recovered: it holds the last min(N, shares) shares.
    let shares = auditor.shares();
    assert_eq!(pool["shares"].as_u64().expect("shares"), shares);
    assert_eq!(
        pool["window_shares"].as_u64().expect("window"),
        shares.min(256)
    );
    // The chain is intact: the node reopened it and builds on its tip.
    assert!(pool["chain_tip_height"].as_u64().is_some());
    assert_eq!(
        pool["height"].as_u64(),
        pool["chain_tip_height"].as_u64().map(|h| h + 1)
    );
}
