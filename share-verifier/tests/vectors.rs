//! Real data: the captured Stratum sessions and regtest templates in
//! `../shared/vectors/`, and real mainnet blocks re-cut as Stratum jobs.

use std::path::{Path, PathBuf};

use bitcoin::block::Version;
use bitcoin::consensus::{deserialize, serialize};
use bitcoin::hashes::Hash;
use bitcoin::{Block, Txid};
use serde_json::Value;
use share_verifier::header::{coinbase_merkle_branch, header_hash};
use share_verifier::{
    Job, JobId, PreparedJob, Share, ShareRules, ShareTarget, Submission, VersionMask,
};

/// The team's shared vectors beside the checkout (`../shared/vectors`), or
/// `SHAREPROOF_VECTORS`. Tests that need them say so and skip when the
/// folder is absent (a checkout without the team's shared folder).
fn shared_vectors() -> Option<PathBuf> {
    let dir = std::env::var_os("SHAREPROOF_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: shared test vectors not found at {}",
            dir.display()
        );
        None
    }
}

fn json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Rebuilds a captured session's share and returns its hash (display order).
fn captured_share_hash(vectors: &Path, session: &str) -> (share_verifier::ShareHash, Job) {
    let dir = vectors.join("stratum-captures").join(session);
    let notify = json(dir.join("notify.json"));
    let subscribe = json(dir.join("authorize_response.json"));
    let submit = json(dir.join("submit.json"));
    let job = Job::from_notify_params(&notify["params"]).unwrap();
    let extranonce1 = hex::decode(subscribe["result"][1].as_str().unwrap()).unwrap();
    let extranonce2_size = subscribe["result"][2].as_u64().unwrap() as usize;
    let (_, submission) = Submission::from_submit_params(&submit["params"], &extranonce1).unwrap();
    assert_eq!(submission.job_id, job.id);
    let mask = match std::fs::read_to_string(dir.join("version_rolling.json")) {
        Ok(text) => {
            let v: Value = serde_json::from_str(&text).unwrap();
            let mask = v["response"]["result"]["version-rolling.mask"]
                .as_str()
                .unwrap();
            VersionMask(u32::from_str_radix(mask, 16).unwrap())
        }
        Err(_) => VersionMask::NONE,
    };
    let rules = ShareRules {
        extranonce1_size: extranonce1.len(),
        extranonce2_size,
        version_mask: mask,
    };
    let prepared = PreparedJob::new(&job);
    let share = Share::new(submission, ShareTarget::MAX)
        .validate(&job, &prepared, &rules)
        .unwrap();
    (share.hash(), job)
}

#[test]
fn captured_session_with_version_rolling_gives_the_recorded_hash() {
    let Some(vectors) = shared_vectors() else {
        return;
    };
    let (hash, _) = captured_share_hash(&vectors, "with_version_rolling");
    let result = json(vectors.join("stratum-captures/with_version_rolling/result.json"));
    assert_eq!(hash.to_string(), result["hash"].as_str().unwrap());
}

#[test]
fn captured_session_a_meets_its_share_target() {
    let Some(vectors) = shared_vectors() else {
        return;
    };
    let (hash, _) = captured_share_hash(&vectors, "a");
    // ckpool's minimum difficulty on that signet pool was 1: the share must
    // meet difficulty 1 to have been accepted.
    assert!(
        ShareTarget::DIFFICULTY_1.is_met_by(&hash),
        "hash {hash} (difficulty {})",
        hash.difficulty_lossy()
    );
}

#[test]
fn regtest_templates_give_the_merkle_branches_ckpool_sent() {
    let Some(vectors) = shared_vectors() else {
        return;
    };
    for case in ["one-txn", "four-txns"] {
        let dir = vectors.join("gbt-regtest").join(case);
        let gbt = json(dir.join("gbt.json"));
        let notify = json(dir.join("notify.json"));
        let txids: Vec<Txid> = gbt["transactions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["txid"].as_str().unwrap().parse().unwrap())
            .collect();
        let job = Job::from_notify_params(&notify["params"]).unwrap();
        assert_eq!(coinbase_merkle_branch(&txids), job.merkle_branch, "{case}");
        assert_eq!(
            job.prevhash.to_string(),
            gbt["previousblockhash"].as_str().unwrap(),
            "{case}"
        );
    }
}

/// Cuts a real block's coinbase around bytes of its scriptSig so that they
/// play extranonce1 and extranonce2, and checks that the Stratum path gives
/// the block's real hash.
fn recut_block(block: &Block, expected_hash: &str) {
    let coinbase = serialize(&block.txdata[0]);
    // The scriptSig starts after version (4), input count (1), outpoint (36)
    // and its length byte (1).
    let script_start = 4 + 1 + 36 + 1;
    let script_len = coinbase[script_start - 1] as usize;
    assert!(script_len >= 6, "scriptSig too short to re-cut");
    let en1_start = script_start + script_len / 2 - 3;
    let (en1_len, en2_len) = (2, script_len.min(8) - 4);
    let extranonce1 = coinbase[en1_start..en1_start + en1_len].to_vec();
    let extranonce2 = coinbase[en1_start + en1_len..en1_start + en1_len + en2_len].to_vec();
    let txids: Vec<Txid> = block.txdata[1..].iter().map(|t| t.compute_txid()).collect();
    let header = block.header;
    let job = Job {
        id: JobId(1),
        prevhash: header.prev_blockhash,
        coinb1: coinbase[..en1_start].to_vec(),
        coinb2: coinbase[en1_start + en1_len + en2_len..].to_vec(),
        merkle_branch: coinbase_merkle_branch(&txids),
        version: header.version,
        nbits: header.bits,
        ntime: header.time,
        clean_jobs: true,
    };
    // Through the notify JSON, as a miner would receive it.
    let job = Job::from_notify_params(&job.to_notify_params()).unwrap();
    let submission = Submission {
        job_id: job.id,
        extranonce1,
        extranonce2,
        ntime: header.time,
        nonce: header.nonce,
        version_bits: None,
    };
    let rules = ShareRules {
        extranonce1_size: en1_len,
        extranonce2_size: en2_len,
        version_mask: VersionMask::NONE,
    };
    let prepared = PreparedJob::new(&job);
    let network = ShareTarget::from_compact(header.bits).unwrap();
    let share = Share::new(submission, network)
        .validate(&job, &prepared, &rules)
        .unwrap();
    assert!(share.checked().is_block);
    assert_eq!(share.hash().to_string(), expected_hash);
    assert_eq!(share.hash(), header_hash(&header));
    assert_eq!(
        prepared.merkle_root(&share.submission.extranonce1, &share.submission.extranonce2),
        header.merkle_root
    );
    assert_eq!(
        share.checked().version,
        Version::from_consensus(header.version.to_consensus())
    );
}

fn block_from_hex(file: &str) -> Block {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let hex = std::fs::read_to_string(path).unwrap();
    deserialize(&hex::decode(hex.trim()).unwrap()).unwrap()
}

#[test]
fn mainnet_genesis_recut_as_a_stratum_job_gives_its_hash() {
    let genesis = bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Bitcoin);
    recut_block(
        &genesis,
        "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    );
}

#[test]
fn mainnet_block_100000_recut_as_a_stratum_job_gives_its_hash() {
    let block = block_from_hex("mainnet_block_100000.hex");
    assert_eq!(block.txdata.len(), 4);
    recut_block(
        &block,
        "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506",
    );
}

#[test]
fn another_mainnet_block_recut_gives_its_hash() {
    let block = block_from_hex("mainnet_block_a.hex");
    let hash = block.block_hash().to_string();
    assert!(hash.starts_with("00000000"), "{hash}");
    recut_block(&block, &hash);
}

#[test]
fn merkle_branch_of_a_real_block_rebuilds_its_merkle_root() {
    let block = block_from_hex("mainnet_block_100000.hex");
    let txids: Vec<Txid> = block.txdata[1..].iter().map(|t| t.compute_txid()).collect();
    let branch = coinbase_merkle_branch(&txids);
    assert_eq!(branch.len(), 2);
    let mut node = block.txdata[0].compute_txid().to_byte_array();
    for sibling in branch {
        let mut both = node.to_vec();
        both.extend_from_slice(sibling.as_byte_array());
        node = bitcoin::hashes::sha256d::Hash::hash(&both).to_byte_array();
    }
    assert_eq!(node, block.header.merkle_root.to_byte_array());
}
