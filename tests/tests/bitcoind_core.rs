//! The node against a real Bitcoin Core (`bitcoind -regtest`, built by
//! `scripts/install-bitcoind.sh` from the source `libbitcoinkernel-sys`
//! vendors), each test on its own fresh data directory and ports:
//!
//! - templates with transactions from bitcoind's mempool (fees in the
//!   coinbase value, the witness commitment), blocks accepted, and the
//!   window commitment in every coinbase the pool made;
//! - a burst of blocks from the built-in miner at regtest difficulty (every
//!   share a block): no stall, a handful of stale shares at most per block,
//!   every found block accepted or a lost race;
//! - tips made outside the pool and a reorganisation (`invalidateblock`)
//!   move the miners to the new tip;
//! - failover between two real nodes.
//!
//! Settlement followed on the real chain is in `bitcoind_settlement.rs`.
//! Figures are printed, never asserted.

use std::time::{Duration, Instant};

use bitcoin::absolute::LockTime;
use bitcoin::{
    transaction, Amount, BlockHash, OutPoint, Sequence, Transaction, TxIn, TxOut, Witness,
};
use share_verifier::commitment::find_commitment;
use shareproof_miner::cpu::{self as miner, MinerConfig};
use shareproof_miner::loadgen::{self, LoadgenConfig};
use shareproof_node::config::RawConfig;
use shareproof_node::store::BlockStatus;
use shareproof_sources::coinbase::DEVNET_SETTLEMENT_SCRIPT;
use shareproof_tests::bitcoind::{anyone_can_spend, Bitcoind, RPC_PASSWORD, RPC_USER};
use shareproof_tests::{start_node, subscribe, TestNode, ADDRESS};
use tokio_util::sync::CancellationToken;

/// Points a test config at `nodes` (failover in that order).
fn use_bitcoind(raw: &mut RawConfig, nodes: &[&Bitcoind]) {
    raw.template.source = Some("bitcoind".into());
    raw.bitcoind.urls = Some(nodes.iter().map(|n| n.url()).collect());
    raw.bitcoind.user = Some(RPC_USER.into());
    raw.bitcoind.password = Some(RPC_PASSWORD.into());
}

async fn node_on(nodes: &[&Bitcoind]) -> TestNode {
    start_node(|raw| use_bitcoind(raw, nodes)).await
}

/// Waits until the node's store says what bitcoind answered for `hash`.
async fn block_status(t: &TestNode, hash: &BlockHash) -> BlockStatus {
    for _ in 0..300 {
        if let Some(info) = t.node.store.block(hash).expect("store") {
            if info.status != BlockStatus::Submitted {
                return info.status;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no submission result for {hash}");
}

/// A transaction spending `outpoint` (an [`anyone_can_spend`] output of
/// `value`) back to the same script, paying `fee`.
fn spend(outpoint: OutPoint, value: Amount, fee: Amount) -> Transaction {
    Transaction {
        version: transaction::Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: outpoint,
            script_sig: bitcoin::ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::from_slice(&[[0x51u8]]),
        }],
        output: vec![TxOut {
            value: value - fee,
            script_pubkey: anyone_can_spend(),
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_carry_the_mempool_and_every_pool_block_commits_its_window() {
    let btc = Bitcoind::start(&[]);
    btc.generate(110);
    // Five transactions in the mempool, spending mature coinbases, with fees.
    let fees = [1_000u64, 2_000, 3_000, 4_000, 5_000];
    let mut txids = Vec::new();
    for (i, fee) in fees.iter().enumerate() {
        let coinbase = btc.block_at(1 + i as u32).txdata[0].clone();
        let tx = spend(
            OutPoint::new(coinbase.compute_txid(), 0),
            coinbase.output[0].value,
            Amount::from_sat(*fee),
        );
        let txid = btc.cli(&[
            "sendrawtransaction",
            &bitcoin::consensus::encode::serialize_hex(&tx),
        ]);
        assert_eq!(txid, tx.compute_txid().to_string());
        txids.push(tx.compute_txid());
    }
    assert_eq!(btc.cli_json(&["getmempoolinfo"])["size"], 5);

    let t = node_on(&[&btc]).await;
    let user = format!("{ADDRESS}.core");
    let mut s = subscribe(t.node.stratum_addr, &user).await;
    let tip = btc.tip();
    s.job_where("the tip as prevhash", |j| j.prevhash == tip)
        .await;

    let settlement = bitcoin::ScriptBuf::from_hex(DEVNET_SETTLEMENT_SCRIPT).unwrap();
    let mut found_to_work = Vec::new();
    for round in 0..4u64 {
        let height = btc.height();
        let submitted = Instant::now();
        let hash = s.submit_valid_share(&user, 100 + round).await;
        // New work on the new tip, without waiting for a long poll or refresh.
        s.job_where("the found block as prevhash", |j| j.prevhash == hash)
            .await;
        found_to_work.push(submitted.elapsed());
        assert_eq!(block_status(&t, &hash).await, BlockStatus::Accepted);
        assert_eq!(btc.tip(), hash);
        assert_eq!(btc.height(), height + 1);

        let block = btc.block(&hash);
        let info = t.node.store.block(&hash).unwrap().unwrap();
        let coinbase = &block.txdata[0];
        // The window commitment, found in the block bitcoind stored.
        assert_eq!(find_commitment(coinbase).unwrap().1, info.root);
        let reward: u64 = coinbase
            .output
            .iter()
            .filter(|o| o.script_pubkey == settlement)
            .map(|o| o.value.to_sat())
            .sum();
        assert_eq!(reward, info.reward.to_sat());
        let stats = btc.cli_json(&["getblockstats", &hash.to_string()]);
        assert_eq!(
            stats["subsidy"].as_u64().unwrap() + stats["totalfee"].as_u64().unwrap(),
            reward
        );
        if round == 0 {
            // The mempool's transactions and their fees, with the witness commitment.
            let in_block: Vec<_> = block.txdata[1..].iter().map(|t| t.compute_txid()).collect();
            for txid in &txids {
                assert!(in_block.contains(txid), "{txid} not in the pool's block");
            }
            assert_eq!(
                stats["totalfee"].as_u64().unwrap(),
                fees.iter().sum::<u64>()
            );
            assert!(
                coinbase.output.iter().any(|o| o
                    .script_pubkey
                    .as_bytes()
                    .starts_with(&[0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed])),
                "the coinbase carries the witness commitment"
            );
            assert!(block.check_witness_commitment(), "witness commitment valid");
            assert_eq!(btc.cli_json(&["getmempoolinfo"])["size"], 0);
        }
    }
    let ms: Vec<_> = found_to_work
        .iter()
        .map(|d| d.as_secs_f64() * 1e3)
        .collect();
    println!("found block (submit sent) to new work on the miner: {ms:.1?} ms");
    t.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_blocks_from_the_built_in_miner_never_stalls() {
    let btc = Bitcoind::start(&[]);
    btc.generate(101);
    let t = node_on(&[&btc]).await;
    let start_height = btc.height();
    let stop = CancellationToken::new();
    let config = MinerConfig {
        url: format!("stratum+tcp://{}", t.node.stratum_addr),
        authority_key: None,
        user: format!("{ADDRESS}.burst"),
        threads: 2,
        version_rolling: true,
        duration: None,
        suggest_difficulty: None,
    };
    let run = tokio::spawn(miner::run(config, stop.clone()));
    // Every share is a block at regtest difficulty: 40 blocks come within
    // seconds unless new work stalls after a found block.
    let started = Instant::now();
    let target = 40;
    while btc.height() < start_height + target {
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "only {} blocks in 180 s: new work stalls after found blocks",
            btc.height() - start_height
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = started.elapsed();
    stop.cancel();
    let report = run.await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let blocks = t.node.store.blocks().unwrap();
    let mine_on_chain = blocks
        .iter()
        .filter(|b| btc.cli(&["getblockhash", &b.height.to_string()]) == b.hash.to_string())
        .count();
    for b in &blocks {
        assert!(
            matches!(b.status, BlockStatus::Accepted | BlockStatus::LostRace(_)),
            "block {} at {}: {:?}",
            b.hash,
            b.height,
            b.status
        );
    }
    let accepted = blocks
        .iter()
        .filter(|b| b.status == BlockStatus::Accepted)
        .count();
    assert_eq!(
        accepted, mine_on_chain,
        "every accepted block is on bitcoind's chain"
    );
    assert!(accepted as u32 >= target, "{accepted} accepted");
    let stale_per_block = report.rejected as f64 / blocks.len() as f64;
    println!(
        "burst: {} blocks found ({accepted} accepted, {} lost races) in {:.1} s, \
         {} shares accepted, {} rejected: {stale_per_block:.2} stale shares per found block",
        blocks.len(),
        blocks.len() - accepted,
        elapsed.as_secs_f64(),
        report.accepted,
        report.rejected
    );
    assert!(
        stale_per_block <= 5.0,
        "{} rejected shares for {} blocks",
        report.rejected,
        blocks.len()
    );
    t.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outside_tips_and_a_reorganisation_move_the_miners() {
    let btc = Bitcoind::start(&[]);
    btc.generate(101);
    let t = node_on(&[&btc]).await;
    let user = format!("{ADDRESS}.tips");
    let mut s = subscribe(t.node.stratum_addr, &user).await;
    let tip = btc.tip();
    s.job_where("the tip", |j| j.prevhash == tip).await;

    // 1,000 idle connections hold on while tips change outside the pool.
    let stop = CancellationToken::new();
    let idle = tokio::spawn(loadgen::run(
        LoadgenConfig {
            url: format!("stratum+tcp://{}", t.node.stratum_addr),
            authority_key: None,
            connections: 1000,
            rate: 1.0,
            duration: Duration::from_secs(600),
            invalid_fraction: 0.0,
            difficulty: 1e-12,
            acked_file: None,
            idle: true,
            source_ips: Vec::new(),
        },
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(3)).await;

    // Blocks made outside the pool: the miner moves to each new tip.
    let mut to_notify = Vec::new();
    for _ in 0..3 {
        let before = Instant::now();
        let made = btc.generate(1)[0];
        s.job_where("the outside block as prevhash", |j| j.prevhash == made)
            .await;
        to_notify.push(before.elapsed().as_secs_f64() * 1e3);
    }
    stop.cancel();
    let report = idle.await.unwrap().unwrap();
    println!(
        "outside tip (generatetoaddress called) to the first notify: {to_notify:.1?} ms; \
         the last tip's notify reached {} idle connections, first to last {:.1} ms",
        report.notified_connections,
        report.notify_spread_us as f64 / 1e3
    );
    assert_eq!(report.connected, 1000);

    // The pool finds a block; it is then invalidated and a longer chain
    // replaces it: the miner moves to the new chain's tip.
    let pool_block = s.submit_valid_share(&user, 7).await;
    assert_eq!(block_status(&t, &pool_block).await, BlockStatus::Accepted);
    assert_eq!(btc.tip(), pool_block);
    s.job_where("the pool's block as prevhash", |j| j.prevhash == pool_block)
        .await;
    btc.cli(&["invalidateblock", &pool_block.to_string()]);
    let parent = btc.tip();
    s.job_where("the pool block's parent again", |j| j.prevhash == parent)
        .await;
    let longer = btc.generate(2);
    assert_ne!(
        btc.cli(&["getblockhash", &btc.height().saturating_sub(1).to_string()]),
        pool_block.to_string()
    );
    s.job_where("the longer chain's tip", |j| j.prevhash == longer[1])
        .await;
    // A share on the new tip is a block again, accepted on the new chain.
    let next = s.submit_valid_share(&user, 8).await;
    assert_eq!(block_status(&t, &next).await, BlockStatus::Accepted);
    assert_eq!(btc.tip(), next);
    t.node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_and_blocks_fail_over_to_the_second_bitcoind() {
    let mut first = Bitcoind::start(&[]);
    let second = Bitcoind::start(&[first.p2p_port]);
    first.generate(101);
    let synced = Instant::now();
    while second.tip() != first.tip() {
        assert!(
            synced.elapsed() < Duration::from_secs(60),
            "the second node syncs"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = node_on(&[&first, &second]).await;
    let user = format!("{ADDRESS}.failover");
    let mut s = subscribe(t.node.stratum_addr, &user).await;
    let tip = first.tip();
    s.job_where("the tip", |j| j.prevhash == tip).await;
    let on_first = s.submit_valid_share(&user, 1).await;
    assert_eq!(block_status(&t, &on_first).await, BlockStatus::Accepted);
    s.job_where("the pool's block", |j| j.prevhash == on_first)
        .await;
    // Both nodes were given the block.
    assert_eq!(second.tip(), on_first);

    // The first node goes away: the next block goes to the second node.
    let pid = first.pid();
    first.stop();
    println!("stopped the first bitcoind (pid {pid})");
    let on_second = s.submit_valid_share(&user, 2).await;
    assert_eq!(block_status(&t, &on_second).await, BlockStatus::Accepted);
    assert_eq!(second.tip(), on_second);
    s.job_where("the block accepted by the second node", |j| {
        j.prevhash == on_second
    })
    .await;
    // A tip made on the second node reaches the miner through its long poll.
    let outside = second.generate(1)[0];
    s.job_where("the second node's new tip", |j| j.prevhash == outside)
        .await;
    let last = s.submit_valid_share(&user, 3).await;
    assert_eq!(block_status(&t, &last).await, BlockStatus::Accepted);
    assert_eq!(second.tip(), last);
    t.node.stop().await;
}
