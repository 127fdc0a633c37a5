//! Settlement end to end with the shares arriving through two Stratum
//! edges: a real NATS server (JetStream), a real anvil with the contracts
//! deployed from the committed artifacts, an accounting node with
//! settlement on, two edges, and three built-in miners spread over them.
//! Blocks found by miners on either edge are submitted by the accounting
//! node, confirmed, proven and settled; every balance equals
//! share-verifier's allocation over the settled blocks, and the settlement
//! auditor passes every settlement from the share log alone.

#[path = "../../bus/tests/support/nats.rs"]
mod nats;

use nats::NatsServer;
use shareproof_evm::audit::audit_settlements;
use shareproof_evm::EvmClient;
use shareproof_node::store::SettlementStatus;
use shareproof_node::{start_accounting, start_edge, RunningAccounting, RunningEdge};
use shareproof_tests::evm::{
    deploy_at_tip, expected_balances, settling_config, signer, start_anvil, start_miners, statuses,
    stop_miners, wait_for, CONFIRMATIONS, FEE_BPS,
};
use tokio_util::sync::CancellationToken;

fn height(node: &RunningAccounting) -> u32 {
    node.embedded.as_ref().unwrap().with_chain(|c| c.height())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_found_through_two_edges_settle_and_balances_match_the_allocation() {
    let nats = NatsServer::start();
    let anvil = start_anvil().await;
    let dir = tempfile::tempdir().unwrap();
    let deployment_path = dir.path().join("deployment.json");
    let mut raw = settling_config(dir.path(), &anvil.url, &deployment_path, None);
    raw.bus.urls = Some(vec![nats.url()]);
    let node = start_accounting(raw.clone().validate().unwrap())
        .await
        .expect("the accounting node starts");
    let mut edges: Vec<RunningEdge> = Vec::new();
    for id in [1, 2] {
        let mut raw = raw.clone();
        raw.stratum.edge_id = Some(id);
        edges.push(
            start_edge(raw.validate().unwrap())
                .await
                .expect("an edge starts"),
        );
    }
    let stratum: Vec<_> = edges.iter().map(|e| e.stratum_addr).collect();
    let stop = CancellationToken::new();
    let miners = start_miners(&stratum, None, &stop);
    wait_for(300, "a first block", || height(&node) >= 1).await;

    let deployment = deploy_at_tip(
        &anvil,
        node.embedded.as_ref().unwrap(),
        FEE_BPS,
        None,
        &deployment_path,
    )
    .await;
    let checkpoint = deployment.checkpoint_height;
    let client = EvmClient::connect(&anvil.url, signer(0), deployment).unwrap();

    // Two blocks settle, then mining stops and every confirmed block settles.
    let store = node.store.clone();
    wait_for(400, "two settled blocks", || {
        statuses(&store, checkpoint)
            .iter()
            .filter(|s| s.2 == SettlementStatus::Settled)
            .count()
            >= 2
    })
    .await;
    stop_miners(stop, miners).await;
    let last = height(&node);
    wait_for(300, "every confirmed block settled", || {
        statuses(&store, checkpoint)
            .iter()
            .filter(|s| u64::from(s.1) + CONFIRMATIONS <= u64::from(last) + 1)
            .all(|s| matches!(s.2, SettlementStatus::Settled | SettlementStatus::Orphaned))
    })
    .await;
    let settled: Vec<_> = statuses(&store, checkpoint)
        .into_iter()
        .filter(|s| s.2 == SettlementStatus::Settled)
        .map(|s| s.0)
        .collect();
    for edge in edges {
        edge.running.stop().await;
    }
    node.running.stop().await;

    // Shares came through both edges (an edge's id is its extranonce1's
    // first byte), and every block settled was found through one of them.
    let mut log = Vec::new();
    store.export_log(&mut log).unwrap();
    let mut through = std::collections::BTreeMap::<u8, u64>::new();
    let mut reader = share_verifier::log::LogReader::new(&log[..]).unwrap();
    for record in reader.by_ref() {
        if let share_verifier::log::Record::Share(s) = record.unwrap() {
            *through.entry(s.extranonce1[0]).or_default() += 1;
        }
    }
    assert_eq!(
        through.keys().copied().collect::<Vec<_>>(),
        [1, 2],
        "shares by edge: {through:?}"
    );

    // Every balance equals share-verifier's allocation over the settled
    // blocks, to the sat.
    let expected = expected_balances(&store, &settled, FEE_BPS, signer(0).address());
    assert_eq!(
        expected.len(),
        4,
        "three miners and the fee recipient: {expected:?}"
    );
    for (address, amount) in &expected {
        assert_eq!(
            client.balance_of(*address).await.unwrap(),
            *amount,
            "{address}"
        );
    }
    // The auditor passes every settlement from the share log and the chain.
    let verdicts = audit_settlements(&client, &log[..]).await.unwrap();
    assert_eq!(verdicts.len(), settled.len());
    for v in &verdicts {
        assert!(v.ok(), "{v:?}");
    }
    println!(
        "{} blocks settled; shares by edge: {through:?}",
        settled.len()
    );
    drop(nats);
}
