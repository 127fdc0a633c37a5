//! The `share-verifier` binary end to end, on share logs written the way the
//! node writes them.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{miner, settlement_script, Pool, EASY};
use serde_json::Value;
use share_verifier::log::Record;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_share-verifier"))
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn run(cmd: &mut Command) -> (bool, Value, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().unwrap();
    let json = serde_json::from_slice(&stdout).unwrap_or(Value::Null);
    (
        status.success(),
        json,
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

fn audit(log: &Path, extra: &[&str]) -> (bool, Value, String) {
    run(bin()
        .arg("audit")
        .arg("--log")
        .arg(log)
        .arg("--quiet")
        .args(extra))
}

#[test]
fn a_log_written_like_the_nodes_audits_clean() {
    let dir = tempfile::tempdir().unwrap();
    let mut pool = Pool::simulate(4, 4, 9);
    let log = write(&dir, "shares.log", &pool.to_bytes());
    let script = settlement_script().to_hex_string();
    let (ok, report, err) = audit(
        &log,
        &["--settlement-script", &script, "--window-size", "16"],
    );
    assert!(ok, "{err}");
    assert_eq!(report["shares"], 36);
    assert_eq!(report["jobs"], 5);
    assert_eq!(report["root"], pool.window.root().to_string());
}

#[test]
fn root_at_any_sequence_number_is_reported_and_compared() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::simulate(3, 3, 5);
    let log = write(&dir, "shares.log", &pool.to_bytes());
    // The job written after 10 shares committed to the root at 10.
    let mut replay = Pool::new(3);
    for r in pool.records.iter() {
        if let Record::Share(s) = r {
            if s.seq < 10 {
                replay
                    .window
                    .push(share_verifier::WindowEntry {
                        seq: s.seq,
                        address: s.address,
                        weight: s.target.weight().unwrap(),
                        share_hash: pool_share_hash(&pool, s),
                    })
                    .unwrap();
            }
        }
    }
    let root10 = replay.window.root().to_string();
    let (ok, report, err) = audit(&log, &["--at", "10", "--expect-root", &root10]);
    assert!(ok, "{err}");
    assert_eq!(report["root_at"], Value::String(root10));
    let (ok, _, err) = audit(
        &log,
        &[
            "--at",
            "11",
            "--expect-root",
            report["root_at"].as_str().unwrap(),
        ],
    );
    assert!(!ok);
    assert!(err.contains("does not match --expect-root"), "{err}");
    let (ok, _, err) = audit(&log, &["--at", "999"]);
    assert!(!ok);
    assert!(err.contains("only 15 shares"), "{err}");
}

fn job_of(pool: &Pool, id: share_verifier::JobId) -> share_verifier::Job {
    pool.records
        .iter()
        .find_map(|r| match r {
            Record::Job(j) if j.job.id == id => Some(j.job.clone()),
            _ => None,
        })
        .unwrap()
}

fn pool_share_hash(pool: &Pool, s: &share_verifier::log::ShareRecord) -> share_verifier::ShareHash {
    let prepared = share_verifier::PreparedJob::new(&job_of(pool, s.job_id));
    prepared.hash(&s.extranonce1, &s.extranonce2, s.ntime, s.nonce, s.version)
}

#[test]
fn a_tampered_nonce_fails_naming_the_share() {
    let dir = tempfile::tempdir().unwrap();
    let mut pool = Pool::simulate(3, 2, 4);
    let job = share_verifier::PreparedJob::new(&job_of(&pool, share_verifier::JobId(1)));
    // Record 0 is the first job; record 3 is share 2. Move its nonce to one
    // whose hash misses the target.
    let Record::Share(s) = &mut pool.records[3] else {
        panic!("record 3 is a share")
    };
    assert_eq!(s.seq, 2);
    loop {
        s.nonce = s.nonce.wrapping_add(1);
        let hash = job.hash(&s.extranonce1, &s.extranonce2, s.ntime, s.nonce, s.version);
        if !Pool::easy_target().is_met_by(&hash) {
            break;
        }
    }
    let log = write(&dir, "tampered.log", &pool.to_bytes());
    let (ok, _, err) = audit(&log, &[]);
    assert!(!ok);
    assert!(err.contains("record 3 (share)"), "{err}");
    assert!(err.contains("below the assigned difficulty"), "{err}");
}

#[test]
fn a_share_moved_to_another_address_fails_at_the_next_commitment() {
    let dir = tempfile::tempdir().unwrap();
    let mut pool = Pool::simulate(3, 2, 4);
    let Record::Share(s) = &mut pool.records[2] else {
        panic!()
    };
    s.address = miner(9);
    let log = write(&dir, "moved.log", &pool.to_bytes());
    let (ok, _, err) = audit(&log, &[]);
    assert!(!ok);
    // Records: job, 4 shares, job (index 5) — its commitment no longer matches.
    assert!(err.contains("record 5 (job)"), "{err}");
    assert!(err.contains("coinbase commits to root"), "{err}");
}

#[test]
fn a_corrupt_log_and_a_wrong_settlement_script_fail_with_their_reason() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::simulate(3, 1, 3);
    let bytes = pool.to_bytes();
    let truncated = write(&dir, "truncated.log", &bytes[..bytes.len() - 3]);
    let (ok, _, err) = audit(&truncated, &[]);
    assert!(!ok);
    assert!(err.contains("truncated"), "{err}");
    let log = write(&dir, "shares.log", &bytes);
    let (ok, _, err) = audit(&log, &["--settlement-script", "51"]);
    assert!(!ok);
    assert!(
        err.contains("pays nothing to the settlement script 51"),
        "{err}"
    );
    let (ok, _, err) = audit(&log, &["--window-size", "16"]);
    assert!(!ok);
    assert!(
        err.contains("does not match the log's window size 8"),
        "{err}"
    );
    let not_a_log = write(&dir, "junk.log", b"this is not a share log");
    let (ok, _, err) = audit(&not_a_log, &[]);
    assert!(!ok);
    assert!(err.contains("not a share log"), "{err}");
}

#[test]
fn allocate_prints_the_payout_list_of_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let pool = Pool::simulate(4, 2, 6);
    let log = write(&dir, "shares.log", &pool.to_bytes());
    let (ok, out, err) = run(bin()
        .args([
            "allocate",
            "--at",
            "12",
            "--reward",
            "5000000000",
            "--fee-bps",
            "150",
            "--log",
        ])
        .arg(&log));
    assert!(ok, "{err}");
    let payouts = out["payouts"].as_array().unwrap();
    assert_eq!(payouts.len(), 3);
    let paid: u64 = payouts.iter().map(|p| p["amount"].as_u64().unwrap()).sum();
    assert_eq!(
        paid + out["fee"].as_u64().unwrap() + out["dust"].as_u64().unwrap(),
        5_000_000_000
    );
    assert_eq!(out["fee"], 75_000_000);
    // Miner 3 works at 3x the difficulty of miner 1 with as many shares.
    let amount = |i: usize| payouts[i]["amount"].as_u64().unwrap() as f64;
    let addresses: Vec<&str> = payouts
        .iter()
        .map(|p| p["address"].as_str().unwrap())
        .collect();
    let mut sorted = addresses.clone();
    sorted.sort_by_key(|a| a.to_lowercase());
    assert_eq!(addresses, sorted);
    let first = addresses
        .iter()
        .position(|a| a.parse::<share_verifier::Address>().unwrap() == miner(1))
        .unwrap();
    let third = addresses
        .iter()
        .position(|a| a.parse::<share_verifier::Address>().unwrap() == miner(3))
        .unwrap();
    assert!((amount(third) / amount(first) - 3.0).abs() < 1e-6);
    let (ok, _, err) = run(bin()
        .args([
            "allocate",
            "--at",
            "12",
            "--reward",
            "1",
            "--fee-bps",
            "10001",
            "--log",
        ])
        .arg(&log));
    assert!(!ok);
    assert!(err.contains("10001"), "{err}");
}

#[test]
fn receipts_verify_against_their_root_only() {
    let dir = tempfile::tempdir().unwrap();
    let mut pool = Pool::simulate(4, 1, 10);
    let receipt = pool.window.receipt(7).unwrap();
    let root = pool.window.root().to_string();
    let file = write(
        &dir,
        "receipt.json",
        serde_json::to_string(&receipt).unwrap().as_bytes(),
    );
    let (ok, _, err) = run(bin()
        .args(["receipt-verify", "--root", &root, "--receipt"])
        .arg(&file));
    assert!(ok, "{err}");
    let mut other = Pool::simulate(4, 1, 11);
    let other_root = other.window.root().to_string();
    let (ok, _, err) = run(bin()
        .args(["receipt-verify", "--root", &other_root, "--receipt"])
        .arg(&file));
    assert!(!ok);
    assert!(err.contains("does not verify"), "{err}");
}

#[test]
fn verify_share_prints_the_hash_and_checks_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let mut pool = Pool::new(3);
    let job = pool.new_job();
    let share = pool.share(miner(1), EASY);
    let input = serde_json::json!({
        "notify": {"method": "mining.notify", "params": job.to_notify_params()},
        "extranonce1": hex::encode(&share.extranonce1),
        "submit": {"method": "mining.submit", "params": [
            "0x1111111111111111111111111111111111111111",
            job.id.to_string(),
            hex::encode(&share.extranonce2),
            format!("{:08x}", share.ntime),
            format!("{:08x}", share.nonce),
            format!("{:08x}", share.version.to_consensus() as u32 & 0x1fffe000),
        ]},
        "difficulty": EASY,
    });
    let file = write(&dir, "share.json", input.to_string().as_bytes());
    let (ok, out, err) = run(bin().arg("verify-share").arg(&file));
    assert!(ok, "{err}");
    assert_eq!(out["meets_target"], true);
    assert_eq!(out["meets_network_target"], false);
    let (ok, out, _) = run(bin()
        .arg("verify-share")
        .arg(&file)
        .args(["--difficulty", "1000000"]));
    assert!(!ok);
    assert_eq!(out["meets_target"], false);
    let bad = write(
        &dir,
        "bad.json",
        br#"{"notify": [1], "extranonce1": "00", "submit": []}"#,
    );
    let (ok, _, err) = run(bin().arg("verify-share").arg(&bad));
    assert!(!ok);
    assert!(err.contains("notify"), "{err}");
}
