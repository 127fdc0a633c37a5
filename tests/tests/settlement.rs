//! Settlement end to end: a real anvil, the contracts deployed from the
//! committed artifacts, the node with settlement on, three built-in miners
//! with different payout addresses and share difficulties.
//!
//! A block is found, confirmed, proven and settled; the node is stopped
//! between a block's discovery and its settlement and settles it exactly
//! once after the restart; every miner's on-chain balance equals
//! share-verifier's allocation over the settled blocks to the sat; a miner's
//! claim moves the tokens; a payee list with one weight unit moved or one
//! miner dropped is refused by the contract with the reason reported; a block of the pool that a real
//! reorganisation of the embedded chain takes off the best chain is never
//! settled.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use bitcoin::absolute::LockTime;
use bitcoin::block::Header;
use bitcoin::hashes::Hash;
use bitcoin::{
    script, transaction, Amount, Block, BlockHash, OutPoint, ScriptBuf, Sequence, Target,
    Transaction, TxIn, TxOut, Witness,
};
use shareproof_evm::audit::audit_settlements;
use shareproof_evm::{BlockProof, Deployment, EvmClient, EvmError, SettleArgs};
use shareproof_node::settle::{evm_hash, KeySource, Prover};
use shareproof_node::store::SettlementStatus;
use shareproof_node::RunningNode;
use shareproof_sources::{SubmitOutcome, TemplateSource};
use shareproof_tests::evm::{
    deploy_at_tip, expected_balances, settling_config, signer, start_anvil, start_miners, statuses,
    stop_miners, wait_for, CONFIRMATIONS, FEE_BPS, SEED,
};
use tokio_util::sync::CancellationToken;

/// A TCP relay from the node to anvil that the test can cut: while `up` is
/// false it closes every connection, open or new (an RPC outage mid-way).
async fn start_relay(target: u16) -> (String, Arc<AtomicBool>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let up = Arc::new(AtomicBool::new(true));
    let flag = up.clone();
    tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            if !flag.load(Ordering::SeqCst) {
                continue;
            }
            let flag = flag.clone();
            tokio::spawn(async move {
                let Ok(outbound) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await
                else {
                    return;
                };
                let (mut ri, mut wi) = inbound.into_split();
                let (mut ro, mut wo) = outbound.into_split();
                let down = async {
                    while flag.load(Ordering::SeqCst) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                };
                tokio::select! {
                    _ = tokio::io::copy(&mut ri, &mut wo) => {}
                    _ = tokio::io::copy(&mut ro, &mut wi) => {}
                    () = down => {}
                }
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), up)
}

async fn start(dir: &Path, anvil: &str, deployment: &Path, pool: Option<Address>) -> RunningNode {
    // sled releases its file lock from a background thread after the last
    // handle of a stopped node is dropped: retry while it is still held.
    for _ in 0..100 {
        let config = settling_config(dir, anvil, deployment, pool)
            .validate()
            .unwrap();
        match shareproof_node::start(config).await {
            Ok(node) => return node,
            Err(e) if e.to_string().contains("could not acquire lock") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("node starts: {e}"),
        }
    }
    panic!("the store stayed locked after the node stopped");
}

fn height(node: &RunningNode) -> u32 {
    node.embedded.as_ref().unwrap().with_chain(|c| c.height())
}

/// Grinds a header on top of `parent` with the same nBits (a block the
/// light client accepts; it never reaches the node's chain).
fn grind_child(parent: &Header) -> Header {
    let mut header = Header {
        version: parent.version,
        prev_blockhash: parent.block_hash(),
        merkle_root: bitcoin::TxMerkleNode::from_byte_array([7; 32]),
        time: parent.time + 1,
        bits: parent.bits,
        nonce: 0,
    };
    let target = Target::from_compact(parent.bits);
    while header.validate_pow(target).is_err() {
        header.nonce += 1;
    }
    header
}

/// A block of another miner on `parent` at `height`: a coinbase-only block
/// with the BIP34 height, ground to the chain's nBits.
fn grind_block(parent: &Header, height: u32) -> Block {
    let coinbase = Transaction {
        version: transaction::Version::ONE,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig: script::Builder::new()
                .push_int(i64::from(height))
                .push_slice(b"rival")
                .into_script(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(1_000),
            script_pubkey: ScriptBuf::new_op_return([0x52; 4]),
        }],
    };
    let mut block = Block {
        header: Header {
            version: parent.version,
            prev_blockhash: parent.block_hash(),
            merkle_root: bitcoin::TxMerkleNode::all_zeros(),
            time: (shareproof_sources::clock::unix_now() as u32).max(parent.time + 1),
            bits: parent.bits,
            nonce: 0,
        },
        txdata: vec![coinbase],
    };
    block.header.merkle_root = block.compute_merkle_root().unwrap();
    let target = Target::from_compact(parent.bits);
    while block.header.validate_pow(target).is_err() {
        block.header.nonce += 1;
    }
    block
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_settle_once_across_a_restart_and_balances_match_the_allocation() {
    let anvil = start_anvil().await;
    let dir = tempfile::tempdir().unwrap();
    let deployment_path = dir.path().join("deployment.json");
    // The node reaches anvil through a relay the test can cut.
    let (node_rpc, rpc_up) = start_relay(anvil.port).await;

    // The node waits for the deployment; the miners find the checkpoint block.
    let node = start(dir.path(), &node_rpc, &deployment_path, None).await;
    let stop = CancellationToken::new();
    // Miner 3 mines over Stratum V2: one window, one ledger for both protocols.
    let miners = start_miners(&[node.stratum_addr], node.stratum_v2, &stop);
    wait_for(300, "a first block", || height(&node) >= 1).await;

    // Deploy, checkpointed at the chain's tip.
    let deployment = deploy_at_tip(
        &anvil,
        node.embedded.as_ref().unwrap(),
        FEE_BPS,
        None,
        &deployment_path,
    )
    .await;
    let checkpoint = deployment.checkpoint_height;
    let client = EvmClient::connect(&anvil.url, signer(0), deployment.clone()).unwrap();

    // A first block settles.
    let store = node.store.clone();
    wait_for(300, "a settled block", || {
        statuses(&store, checkpoint)
            .iter()
            .any(|s| s.2 == SettlementStatus::Settled)
    })
    .await;

    // Stop between found and settled: the chain's top block cannot have the
    // two confirmations settlement needs.
    let top = height(&node);
    wait_for(300, "a block above the settled one", || height(&node) > top).await;
    stop_miners(stop, miners).await;
    let embedded = node.embedded.clone().unwrap();
    node.stop().await;
    // The top pool block on the best chain (a share that met the target on a
    // spent tip is a side branch at the same height: not that one).
    let (witness, witness_height, status) = *statuses(&store, checkpoint)
        .iter()
        .filter(|s| embedded.with_chain(|c| c.hash_at(s.1)) == Some(s.0))
        .max_by_key(|s| s.1)
        .unwrap();
    assert_ne!(
        status,
        SettlementStatus::Settled,
        "the top block cannot be settled yet"
    );
    println!("node stopped with block {witness} at height {witness_height}: {status:?}");
    let witness_block = embedded.with_chain(|c| c.block(witness_height)).unwrap();
    assert_eq!(witness_block.block_hash(), witness);
    let witness_proof = BlockProof::from_block(&witness_block);

    // While the node is down, the witness gets its second confirmation (the
    // headers the node had not relayed yet, then one ground here), and its
    // coinbase is bridged.
    let (mut lc_height, _) = client.light_client_tip().await.unwrap();
    if lc_height < u64::from(witness_height) {
        let headers: Vec<u8> = embedded.with_chain(|c| {
            (lc_height + 1..=u64::from(witness_height))
                .flat_map(|h| bitcoin::consensus::serialize(c.header(h as u32).unwrap()))
                .collect()
        });
        client.submit_headers(lc_height, headers).await.unwrap();
        lc_height = u64::from(witness_height);
    }
    drop(embedded);
    let child = grind_child(&witness_block.header);
    client
        .submit_headers(lc_height, bitcoin::consensus::serialize(&child))
        .await
        .unwrap();
    assert_eq!(
        client
            .confirmations(evm_hash(&witness), u64::from(witness_height))
            .await
            .unwrap(),
        CONFIRMATIONS
    );
    client.deliver(&witness_proof).await.unwrap();

    // A payee list one weight unit off is refused, and the reason is reported.
    {
        // The stopped node's store handle is still valid.
        let snapshot = store.block_snapshot(&witness).unwrap().unwrap();
        let prover = Prover::prepare(
            &KeySource::InsecureSeed { seed: SEED.into() },
            4,
            dir.path(),
        )
        .unwrap();
        let proven = prover.prove(&snapshot, 512).unwrap();
        println!(
            "proof of N = 16 in {} ms, peak RSS of the test process {} MiB",
            proven.elapsed.as_millis(),
            proven.peak_rss >> 20
        );
        let honest = SettleArgs::new(&witness_proof, &proven.settlement);
        assert!(honest.payees.len() >= 2, "{:?}", honest.payees);
        let v2_miner = signer(3).address().to_string().to_lowercase();
        assert!(
            honest
                .payees
                .iter()
                .any(|p| p.address.to_string().to_lowercase() == v2_miner),
            "the Stratum V2 miner is among the payees: {:?}",
            honest.payees
        );
        // One weight unit moved from one miner to another: the total is
        // unchanged, the challenge and table sum change, the proof fails.
        let mut moved = honest.clone();
        moved.payees[0].weight -= 1;
        moved.payees[1].weight += 1;
        match client.send_settle(&moved).await {
            Err(EvmError::Reverted { reason, .. }) => {
                assert!(reason.contains("SettlementInvalidProof"), "{reason}")
            }
            Err(e) => panic!("moved weight: unexpected error {e}"),
            Ok(_) => panic!("a payee list one unit off was accepted"),
        }
        // A miner dropped from the list: refused as well.
        let mut fewer = honest.clone();
        fewer.payees.remove(0);
        match client.send_settle(&fewer).await {
            Err(EvmError::Reverted { reason, .. }) => {
                assert!(reason.contains("SettlementInvalidProof"), "{reason}")
            }
            Err(e) => panic!("dropped payee: unexpected error {e}"),
            Ok(_) => panic!("a payee list without a miner was accepted"),
        }
        assert_eq!(
            client.settled_block_of(witness_proof.txid).await.unwrap(),
            B256::ZERO
        );
    }
    drop(store);

    // Restart, now configured with the pool's address alone (the other
    // contracts are read from it): the node settles the witness (exactly
    // once) and goes on.
    let node = start(
        dir.path(),
        &node_rpc,
        &deployment_path,
        Some(deployment.settlement_pool),
    )
    .await;
    let store = node.store.clone();
    let stop = CancellationToken::new();
    let miners = start_miners(&[node.stratum_addr], None, &stop);
    wait_for(300, "the witness settled after the restart", || {
        store.settlement(&witness).unwrap().status == SettlementStatus::Settled
    })
    .await;
    // An RPC outage while blocks keep coming: every step fails for 3 s.
    rpc_up.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(3)).await;
    rpc_up.store(true, Ordering::SeqCst);
    // A real reorganisation: the miners stop, and a rival branch from below
    // the pool's top block, longer than the pool's, reaches the embedded
    // chain (as from another miner). The pool's top block leaves the best
    // chain before it has its second confirmation, and is never settled.
    stop_miners(stop, miners).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let embedded = node.embedded.clone().unwrap();
    let (lost_height, lost) = embedded.with_chain(|c| (c.height(), c.block(c.height()).unwrap()));
    let lost_hash = lost.block_hash();
    wait_for(30, "the pool's top block recorded", || {
        store.block(&lost_hash).unwrap().is_some()
    })
    .await;
    let mut parent = embedded.with_chain(|c| *c.header(lost_height - 1).unwrap());
    for height in lost_height.. {
        let rival = grind_block(&parent, height);
        parent = rival.header;
        // A rival at the lost block's work is a side branch (a lost race);
        // the one that outweighs the pool's branch is accepted.
        assert!(matches!(
            embedded.submit_block(rival).await.unwrap(),
            SubmitOutcome::Accepted | SubmitOutcome::LostRace(_)
        ));
        if embedded.with_chain(|c| c.tip()) == parent.block_hash() {
            break;
        }
    }
    assert_ne!(
        embedded.with_chain(|c| c.hash_at(lost_height)),
        Some(lost_hash)
    );
    println!(
        "reorganised: block {lost_hash} at height {lost_height} left the best chain, tip now {}",
        height(&node)
    );
    wait_for(60, "the reorganised-away block orphaned", || {
        store.settlement(&lost_hash).unwrap().status == SettlementStatus::Orphaned
    })
    .await;

    // Mining goes on over the new branch (and over the ground header, a
    // fork the node must relay over) until the lost block's height is
    // confirmed twice over, then stops.
    let stop = CancellationToken::new();
    let miners = start_miners(&[node.stratum_addr], None, &stop);
    let top = height(&node);
    wait_for(300, "two more blocks", || height(&node) >= top + 2).await;
    stop_miners(stop, miners).await;
    let last = height(&node);
    wait_for(300, "every confirmed block settled", || {
        statuses(&store, checkpoint)
            .iter()
            .filter(|s| u64::from(s.1) + CONFIRMATIONS <= u64::from(last) + 1)
            // A share that met the target on a spent tip is refused by the chain: orphaned.
            .all(|s| matches!(s.2, SettlementStatus::Settled | SettlementStatus::Orphaned))
    })
    .await;
    let (status, blocks) = shareproof_tests::get_json(node.api_addr, "/api/v1/blocks").await;
    assert_eq!(status, 200);
    assert_eq!(
        store.settlement(&lost_hash).unwrap().status,
        SettlementStatus::Orphaned
    );
    assert_eq!(
        client
            .settled_block_of(BlockProof::from_block(&lost).txid)
            .await
            .unwrap(),
        B256::ZERO
    );
    let (_, metrics) = shareproof_tests::get(node.api_addr, "/metrics").await;
    let metrics = String::from_utf8(metrics).unwrap();
    let settled: Vec<_> = statuses(&store, checkpoint)
        .into_iter()
        .filter(|s| s.2 == SettlementStatus::Settled)
        .collect();
    let records: Vec<_> = settled
        .iter()
        .map(|s| {
            (
                s.0,
                store.settlement(&s.0).unwrap(),
                store.block(&s.0).unwrap().unwrap(),
            )
        })
        .collect();
    node.stop().await;

    // The API shows the settlement; metrics count it.
    let api_settled = blocks["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["settlement"]["status"] == "settled")
        .count();
    assert_eq!(api_settled, settled.len(), "{blocks}");
    assert!(
        metrics.contains("shareproof_blocks_settled_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("shareproof_headers_relayed_total"),
        "{metrics}"
    );

    // Exactly one settlement event per settled block, and none for others.
    let events = client.settled_events().await.unwrap();
    assert_eq!(events.len(), settled.len());
    for (hash, rec, info) in &records {
        assert_eq!(
            events
                .iter()
                .filter(|e| e.blockHash == evm_hash(hash))
                .count(),
            1,
            "block {hash}"
        );
        assert!(rec.tx_hash.is_some() && rec.gas_used.is_some(), "{rec:?}");
        println!(
            "settled block {hash} at height {}: gas {}, proof {} ms, found to settled {} s",
            info.height,
            rec.gas_used.unwrap(),
            rec.prove_ms.unwrap_or(0),
            rec.settled_at.unwrap().saturating_sub(info.found_at)
        );
    }

    // Every balance equals share-verifier's allocation over the settled blocks, to the sat.
    let settled_hashes: Vec<BlockHash> = records.iter().map(|r| r.0).collect();
    let expected = expected_balances(&store, &settled_hashes, FEE_BPS, signer(0).address());
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

    // The auditor, from the share log and the chain alone, passes every settlement.
    let mut log = Vec::new();
    store.export_log(&mut log).unwrap();
    let verdicts = audit_settlements(&client, &log[..]).await.unwrap();
    assert_eq!(verdicts.len(), settled.len());
    for v in &verdicts {
        assert!(v.ok(), "{v:?}");
    }
    // A log in which one share was moved to another miner does not audit.
    let tampered = {
        let mut reader = share_verifier::log::LogReader::new(&log[..]).unwrap();
        let header = reader.header();
        let mut records: Vec<_> = reader.by_ref().map(Result::unwrap).collect();
        let share = records
            .iter_mut()
            .find_map(|r| match r {
                share_verifier::log::Record::Share(s) => Some(s),
                _ => None,
            })
            .unwrap();
        let (a, b) = (signer(1).address(), signer(2).address());
        let thief = if share.address.0 == a.into_array() {
            b
        } else {
            a
        };
        share.address = share_verifier::Address(thief.into_array());
        let mut out = Vec::new();
        let mut writer = share_verifier::log::LogWriter::create(&mut out, header).unwrap();
        writer.append_all(&records).unwrap();
        writer.flush().unwrap();
        drop(writer);
        out
    };
    assert!(audit_settlements(&client, &tampered[..]).await.is_err());

    // A miner claims with its own key: the tokens move to its wallet.
    let miner = signer(2);
    let owed = expected[&miner.address()];
    assert!(owed > 0);
    let own = EvmClient::connect(&anvil.url, miner.clone(), deployment.clone()).unwrap();
    let claimed = own.claim().await.unwrap();
    println!("claim gas {}", claimed.gas_used);
    assert_eq!(own.balance_of(miner.address()).await.unwrap(), 0);
    assert_eq!(own.token_balance(miner.address()).await.unwrap(), owed);
    match own.claim().await {
        Err(EvmError::Reverted { reason, .. }) => {
            assert!(reason.contains("SettlementNothingToClaim"), "{reason}")
        }
        other => panic!("a second claim: {other:?}"),
    }
    let _ = Deployment::read(&deployment_path).unwrap();
}
