//! End to end on the embedded chain: the node and its built-in miner find
//! blocks; every coinbase carries the window commitment and pays the
//! settlement script; each block's stored snapshot hashes to the committed
//! root; the API serves the numbers and receipts; the exported share log
//! audits clean with share-verifier's Auditor.

use std::str::FromStr;
use std::time::Duration;

use bitcoin::{BlockHash, ScriptBuf};
use share_verifier::commitment::{find_commitment, reward_to};
use share_verifier::log::LogReader;
use share_verifier::{Auditor, ShareReceipt, WindowRoot};
use shareproof_miner::cpu::{self as miner, MinerConfig};
use shareproof_node::store::BlockStatus;
use shareproof_sources::coinbase::DEVNET_SETTLEMENT_SCRIPT;
use shareproof_tests::{get, get_json, start_node, ADDRESS};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_built_in_miner_finds_blocks_that_commit_and_the_log_audits_clean() {
    let t = start_node(|raw| {
        // 2^16 hashes per block: several blocks per second, even unoptimised.
        raw.chain.nbits = Some("1f00ffff".into());
        raw.vardiff.start_difficulty = Some(2e-6);
    })
    .await;
    let api = t.node.api_addr;
    let stop = CancellationToken::new();
    let miner = tokio::spawn(miner::run(
        MinerConfig {
            url: format!("stratum+tcp://{}", t.node.stratum_addr),
            authority_key: None,
            user: format!("{ADDRESS}.e2e"),
            threads: 1,
            version_rolling: true,
            duration: Some(Duration::from_secs(120)),
            suggest_difficulty: None,
        },
        stop.clone(),
    ));
    // Mine until the chain has 5 blocks of ours.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (_, pool) = get_json(api, "/api/v1/pool").await;
        if pool["chain_tip_height"].as_u64().unwrap_or(0) >= 5 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no 5 blocks in 120 s: {pool}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    let report = miner.await.unwrap().unwrap();
    assert!(report.accepted >= 5, "{report:?}");

    // The API.
    let (status, pool) = get_json(api, "/api/v1/pool").await;
    assert_eq!(status, 200);
    assert!(pool["shares"].as_u64().unwrap() >= 5);
    assert!(pool["window"]["root"].as_str().unwrap().starts_with("0x"));
    let (status, me) = get_json(api, &format!("/api/v1/miners/{ADDRESS}")).await;
    assert_eq!(status, 200, "{me}");
    assert!(me["shares"].as_u64().unwrap() >= 5);
    assert_eq!(me["workers"][0]["name"], "e2e");
    assert_eq!(
        me["next_block_fraction"], 1.0,
        "the only miner owns the whole window"
    );
    let committed_seq = pool["window"]["window_seq"].as_u64().unwrap();
    let root = WindowRoot::from_hex(pool["window"]["root"].as_str().unwrap()).unwrap();
    let (status, r) = get_json(
        api,
        &format!("/api/v1/shares/{}/receipt", committed_seq - 1),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["window_seq"], committed_seq);
    let receipt: ShareReceipt = serde_json::from_value(r).unwrap();
    receipt.verify(&root).unwrap();
    let (status, _) = get_json(
        api,
        &format!("/api/v1/shares/{}/receipt", committed_seq + 1000),
    )
    .await;
    assert_eq!(status, 404);
    let (status, metrics) = get(api, "/metrics").await;
    assert_eq!(status, 200);
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("shareproof_blocks_found_total"),
        "{metrics}"
    );
    let (status, downloaded) = get(api, "/api/v1/log").await;
    assert_eq!(status, 200);

    let store = t.node.store.clone();
    let embedded = t.node.embedded.clone().unwrap();
    t.node.stop().await;

    // Every accepted block: on the chain, committing to the root of its stored snapshot, paying R.
    let settlement = ScriptBuf::from_hex(DEVNET_SETTLEMENT_SCRIPT).unwrap();
    let blocks = store.blocks().unwrap();
    let accepted: Vec<_> = blocks
        .iter()
        .filter(|b| b.status == BlockStatus::Accepted)
        .collect();
    assert!(accepted.len() >= 5, "{blocks:?}");
    for info in accepted {
        let block = embedded.with_chain(|c| c.block(info.height)).unwrap();
        assert_eq!(block.block_hash(), info.hash);
        let coinbase = &block.txdata[0];
        assert_eq!(find_commitment(coinbase).unwrap().1, info.root);
        assert_eq!(reward_to(coinbase, &settlement), info.reward);
        assert!(bitcoin::consensus::serialize(coinbase).len() < 700);
        let snapshot = store.block_snapshot(&info.hash).unwrap().unwrap();
        assert_eq!(snapshot.next_seq, info.window_seq);
        assert_eq!(snapshot.to_window().unwrap().root(), info.root);
    }
    assert!(store
        .block(&BlockHash::from_str(&"00".repeat(32)).unwrap())
        .unwrap()
        .is_none());

    // The exported log equals the download and audits clean.
    let mut exported = Vec::new();
    store.export_log(&mut exported).unwrap();
    assert!(downloaded.len() <= exported.len() && exported.starts_with(&downloaded));
    let mut reader = LogReader::new(&exported[..]).unwrap();
    let mut auditor = Auditor::new(reader.header(), Some(settlement)).unwrap();
    for record in reader.by_ref() {
        auditor.check(&record.unwrap()).unwrap();
    }
    let summary = auditor.summary();
    assert_eq!(summary.blocks, blocks.len() as u64);
    assert_eq!(
        summary.shares,
        pool["shares"].as_u64().unwrap().max(summary.shares)
    );
    assert!(summary.jobs >= 5);
}
