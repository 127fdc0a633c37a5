//! Settlement followed end to end on a real Bitcoin Core chain: the node
//! takes templates from `bitcoind -regtest`, relays bitcoind's headers to
//! the light client on a real anvil, takes each coinbase's SPV proof from
//! bitcoind's block, proves and settles; a pool block that a reorganisation
//! (`invalidateblock`, then a longer chain) takes off the best chain is
//! orphaned and never settled; every balance equals share-verifier's
//! allocation, a miner claims, and the settlement auditor is clean.

use alloy::primitives::B256;
use shareproof_evm::audit::audit_settlements;
use shareproof_evm::{BlockProof, EvmClient};
use shareproof_node::store::{BlockStatus, SettlementStatus};
use shareproof_tests::bitcoind::{Bitcoind, RPC_PASSWORD, RPC_USER};
use shareproof_tests::evm::{
    deploy_regtest, expected_balances, signer, start_anvil, wait_for, KEYS, SEED,
};
use shareproof_tests::{subscribe, test_config};

const FEE_BPS: u16 = 100;
const CONFIRMATIONS: u64 = 2;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_mined_on_bitcoind_settle_and_a_reorganised_one_never_does() {
    let btc = Bitcoind::start(&[]);
    btc.generate(101);
    let anvil = start_anvil().await;
    let dir = tempfile::tempdir().unwrap();
    let deployment_path = dir.path().join("deployment.json");

    let mut raw = test_config(dir.path());
    raw.pool.window_log2_slots = Some(4);
    raw.template.source = Some("bitcoind".into());
    raw.bitcoind.urls = Some(vec![btc.url()]);
    raw.bitcoind.user = Some(RPC_USER.into());
    raw.bitcoind.password = Some(RPC_PASSWORD.into());
    let key = dir.path().join("node.key");
    std::fs::write(&key, KEYS[0]).unwrap();
    let s = &mut raw.settlement;
    s.enabled = Some(true);
    s.rpc_url = Some(anvil.url.clone());
    s.deployment = Some(deployment_path.clone());
    s.key_file = Some(key);
    s.insecure_seed = Some(SEED.into());
    s.poll_ms = Some(200);
    s.deliver_peg_in = Some(true);
    let node = shareproof_node::start(raw.validate().unwrap())
        .await
        .unwrap();
    let store = node.store.clone();

    // The light client starts at bitcoind's tip.
    let checkpoint = btc.height();
    let checkpoint_header = btc.block_at(checkpoint).header;
    let deployment = deploy_regtest(
        &anvil,
        &checkpoint_header,
        checkpoint,
        FEE_BPS,
        CONFIRMATIONS,
        None,
    )
    .await;
    deployment.write(&deployment_path).unwrap();
    let client = EvmClient::connect(&anvil.url, signer(0), deployment.clone()).unwrap();

    // Three miners take turns finding blocks (every share is a block at
    // regtest difficulty), with a block from outside the pool between.
    let mut miners = Vec::new();
    for i in 1..=3 {
        let user = format!("{}.rig{i}", signer(i).address());
        miners.push((subscribe(node.stratum_addr, &user).await, user));
    }
    let mut pool_blocks = Vec::new();
    for round in 0..6u64 {
        if round == 3 {
            btc.generate(1);
        }
        let tip = btc.tip();
        let (s, user) = &mut miners[(round % 3) as usize];
        s.job_where("the tip", |j| j.prevhash == tip).await;
        let hash = s.submit_valid_share(user, 10 + round).await;
        // The share's answer does not wait for bitcoind: the block is
        // submitted beside it. Work on the found block means bitcoind took it.
        s.job_where("the found block as prevhash", |j| j.prevhash == hash)
            .await;
        assert_eq!(btc.tip(), hash);
        pool_blocks.push(hash);
    }

    // The last pool block leaves the best chain: invalidated, and a longer
    // chain made outside the pool replaces it.
    let lost = *pool_blocks.last().unwrap();
    let lost_height = btc.height();
    wait_for(30, "the pool's last block recorded", || {
        store
            .block(&lost)
            .unwrap()
            .is_some_and(|b| b.status == BlockStatus::Accepted)
    })
    .await;
    btc.cli(&["invalidateblock", &lost.to_string()]);
    btc.generate(2 + CONFIRMATIONS as u32);
    assert_ne!(
        btc.cli(&["getblockhash", &lost_height.to_string()]),
        lost.to_string()
    );
    wait_for(120, "the reorganised-away block orphaned", || {
        store.settlement(&lost).unwrap().status == SettlementStatus::Orphaned
    })
    .await;
    let settled = &pool_blocks[..pool_blocks.len() - 1];
    wait_for(300, "every other pool block settled", || {
        settled
            .iter()
            .all(|h| store.settlement(h).unwrap().status == SettlementStatus::Settled)
    })
    .await;
    for hash in settled {
        let rec = store.settlement(hash).unwrap();
        let info = store.block(hash).unwrap().unwrap();
        println!(
            "settled bitcoind block {hash} at height {}: gas {}, proof {} ms",
            info.height,
            rec.gas_used.unwrap_or(0),
            rec.prove_ms.unwrap_or(0)
        );
    }
    // The orphan was never settled on chain.
    let lost_block = btc.block(&lost);
    assert_eq!(
        client
            .settled_block_of(BlockProof::from_block(&lost_block).txid)
            .await
            .unwrap(),
        B256::ZERO
    );
    let events = client.settled_events().await.unwrap();
    assert_eq!(events.len(), settled.len());

    // Balances are share-verifier's allocation to the sat; a miner claims.
    let expected = expected_balances(&store, settled, FEE_BPS, signer(0).address());
    for (address, amount) in &expected {
        assert_eq!(
            client.balance_of(*address).await.unwrap(),
            *amount,
            "{address}"
        );
    }
    let miner = signer(2);
    let owed = expected[&miner.address()];
    assert!(owed > 0, "{expected:?}");
    let own = EvmClient::connect(&anvil.url, miner.clone(), deployment.clone()).unwrap();
    own.claim().await.unwrap();
    assert_eq!(own.token_balance(miner.address()).await.unwrap(), owed);

    // The settlement auditor, from the share log and the chain alone: clean.
    let mut log = Vec::new();
    store.export_log(&mut log).unwrap();
    node.stop().await;
    let verdicts = audit_settlements(&client, &log[..]).await.unwrap();
    assert_eq!(verdicts.len(), settled.len());
    for v in &verdicts {
        assert!(v.ok(), "{v:?}");
    }
}
