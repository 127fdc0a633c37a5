//! The bitcoind client against a fake JSON-RPC server, for what a real
//! node does not produce on demand (the real Bitcoin Core runs in
//! `bitcoind_core.rs` and `bitcoind_settlement.rs`): templates from captured
//! regtest GBT results, failover past a dead node, basic and cookie auth,
//! long polling for a new tip, `submitblock`, and the best chain as
//! settlement reads it (heights, raw headers and blocks), including a node
//! that answers with the wrong header.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use bitcoin::hashes::Hash;
use bitcoin::{Block, BlockHash};
use serde_json::{json, Value};
use shareproof_sources::bitcoind::BitcoindSource;
use shareproof_sources::bitcoind::{BitcoindConfig, RpcAuth};
use shareproof_sources::{BestChain, BestChainError};
use shareproof_sources::{SubmitOutcome, TemplateSource};
use shareproof_tests::{start_node, vector, LineClient, ADDRESS};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Fake {
    /// Which GBT vector to serve (switches to simulate a new tip).
    gbt: Mutex<Value>,
    new_tip: Notify,
    submitted: Mutex<Vec<String>>,
    auth_seen: Mutex<Vec<String>>,
    /// The best chain served to settlement's reads, genesis first.
    chain: Mutex<Vec<Block>>,
    /// Answer `getblockheader` with the wrong header.
    lie: AtomicBool,
}

fn rpc_error(req: &Value, code: i64, message: &str) -> Json<Value> {
    Json(json!({"result": null, "error": {"code": code, "message": message}, "id": req["id"]}))
}

/// The block with `hash` (an RPC parameter) on the fake's chain.
fn find(fake: &Fake, hash: &Value) -> Option<Block> {
    let hash: BlockHash = hash.as_str()?.parse().ok()?;
    fake.chain
        .lock()
        .unwrap()
        .iter()
        .find(|b| b.block_hash() == hash)
        .cloned()
}

async fn rpc(
    State(fake): State<Arc<Fake>>,
    headers: HeaderMap,
    Json(req): Json<Value>,
) -> Json<Value> {
    if let Some(auth) = headers.get("authorization") {
        fake.auth_seen
            .lock()
            .unwrap()
            .push(auth.to_str().unwrap().to_owned());
    }
    let result = match req["method"].as_str().unwrap() {
        "getblocktemplate" => {
            let current = fake.gbt.lock().unwrap().clone();
            let asked = req["params"][0]["longpollid"].as_str().map(str::to_owned);
            if asked.as_deref() == current["longpollid"].as_str() {
                // Long poll: answer when the tip changes.
                fake.new_tip.notified().await;
            }
            fake.gbt.lock().unwrap().clone()
        }
        "getbestblockhash" => fake.gbt.lock().unwrap()["previousblockhash"].clone(),
        "getblockcount" => json!(fake.chain.lock().unwrap().len() - 1),
        "getblockhash" => {
            let height = req["params"][0].as_u64().unwrap() as usize;
            match fake.chain.lock().unwrap().get(height) {
                Some(b) => json!(b.block_hash().to_string()),
                None => return rpc_error(&req, -8, "Block height out of range"),
            }
        }
        "getblockheader" => {
            assert_eq!(req["params"][1], json!(false), "raw headers");
            let Some(block) = find(&fake, &req["params"][0]) else {
                return rpc_error(&req, -5, "Block not found");
            };
            let header = if fake.lie.load(Ordering::SeqCst) {
                fake.chain.lock().unwrap()[0].header
            } else {
                block.header
            };
            json!(hex::encode(bitcoin::consensus::serialize(&header)))
        }
        "getblock" => {
            assert_eq!(req["params"][1], json!(0), "raw blocks");
            let Some(block) = find(&fake, &req["params"][0]) else {
                return rpc_error(&req, -5, "Block not found");
            };
            json!(hex::encode(bitcoin::consensus::serialize(&block)))
        }
        "submitblock" => {
            fake.submitted
                .lock()
                .unwrap()
                .push(req["params"][0].as_str().unwrap().to_owned());
            Value::Null
        }
        other => {
            return Json(
                json!({"result": null, "error": {"code": -32601, "message": format!("Method not found: {other}")}, "id": req["id"]}),
            )
        }
    };
    Json(json!({"result": result, "error": null, "id": req["id"]}))
}

async fn fake_bitcoind(gbt: Value) -> (SocketAddr, Arc<Fake>) {
    let fake = Arc::new(Fake::default());
    *fake.gbt.lock().unwrap() = gbt;
    let app = Router::new().route("/", post(rpc)).with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, fake)
}

/// An address nothing listens on.
async fn dead_address() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn gbt(dir: &str) -> Value {
    vector(&format!("gbt-regtest/{dir}/gbt.json"))
}

#[tokio::test]
async fn templates_fail_over_long_poll_and_blocks_are_submitted() {
    let (addr, fake) = fake_bitcoind(gbt("one-txn")).await;
    let dead = dead_address().await;
    let source = Arc::new(BitcoindSource::new(BitcoindConfig {
        urls: vec![format!("http://{dead}/"), format!("http://{addr}/")],
        auth: RpcAuth::UserPass("alice".into(), "secret".into()),
        poll: Duration::from_secs(1),
        longpoll: true,
    }));
    let (tx, mut rx) = mpsc::channel(4);
    let shutdown = CancellationToken::new();
    tokio::spawn(
        source
            .clone()
            .run(tx, Duration::from_secs(3600), shutdown.clone()),
    );
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        first.height,
        gbt("one-txn")["height"].as_u64().unwrap() as u32
    );
    assert_eq!(first.transactions.len(), 1);
    assert!(fake
        .auth_seen
        .lock()
        .unwrap()
        .iter()
        .all(|a| a == "Basic YWxpY2U6c2VjcmV0"));

    // A new tip: the pending long poll returns the new template at once.
    *fake.gbt.lock().unwrap() = gbt("four-txns");
    fake.new_tip.notify_waiters();
    let second = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second.transactions.len(), 4);
    assert_ne!(first.prevhash, second.prevhash);

    let block = second
        .assemble(
            bitcoin::block::Header {
                version: second.version,
                prev_blockhash: second.prevhash,
                merkle_root: bitcoin::TxMerkleNode::from_raw_hash(
                    bitcoin::hashes::sha256d::Hash::all_zeros(),
                ),
                time: second.time,
                bits: second.nbits,
                nonce: 0,
            },
            &bitcoin::consensus::serialize(
                &bitcoin::blockdata::constants::genesis_block(bitcoin::Network::Regtest).txdata[0],
            ),
        )
        .unwrap();
    assert_eq!(
        source.submit_block(block.clone()).await.unwrap(),
        SubmitOutcome::Accepted
    );
    let submitted = fake.submitted.lock().unwrap().clone();
    assert_eq!(
        submitted,
        vec![bitcoin::consensus::encode::serialize_hex(&block)]
    );
    // The witness reserved value rides in the coinbase (the template has a witness commitment).
    assert_eq!(block.txdata[0].input[0].witness.len(), 1);
    shutdown.cancel();
}

#[tokio::test]
async fn cookie_auth_and_polling_fallback_find_a_new_tip() {
    let (addr, fake) = fake_bitcoind(gbt("one-txn")).await;
    let dir = tempfile::tempdir().unwrap();
    let cookie = dir.path().join(".cookie");
    std::fs::write(&cookie, "__cookie__:abc123").unwrap();
    let source = Arc::new(BitcoindSource::new(BitcoindConfig {
        urls: vec![format!("http://{addr}/")],
        auth: RpcAuth::Cookie(cookie),
        poll: Duration::from_millis(100),
        longpoll: false,
    }));
    let (tx, mut rx) = mpsc::channel(4);
    let shutdown = CancellationToken::new();
    tokio::spawn(source.run(tx, Duration::from_secs(3600), shutdown.clone()));
    let first = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    *fake.gbt.lock().unwrap() = gbt("four-txns");
    let second = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(first.prevhash, second.prevhash);
    // base64("__cookie__:abc123")
    assert!(fake
        .auth_seen
        .lock()
        .unwrap()
        .iter()
        .all(|a| a == "Basic X19jb29raWVfXzphYmMxMjM="));
    shutdown.cancel();
}

#[tokio::test]
async fn a_node_on_bitcoind_sends_jobs_with_the_templates_merkle_branch() {
    let (addr, _fake) = fake_bitcoind(gbt("four-txns")).await;
    let t = start_node(|raw| {
        raw.template.source = Some("bitcoind".into());
        raw.bitcoind.urls = Some(vec![format!("http://{addr}/")]);
    })
    .await;
    let mut c = LineClient::connect(t.node.stratum_addr).await;
    c.send(r#"{"id":1,"method":"mining.subscribe","params":[]}"#)
        .await;
    c.expect_answer(1).await;
    c.send(&format!(
        r#"{{"id":2,"method":"mining.authorize","params":["{ADDRESS}","x"]}}"#
    ))
    .await;
    let params = c.expect_method("mining.notify").await;
    let expected = vector("gbt-regtest/four-txns/notify.json");
    assert_eq!(params[4], expected["params"][4], "Merkle branch");
    assert_eq!(params[1], expected["params"][1], "prevhash");
    // Our coinbase: the commitment and the template's witness commitment.
    let job = share_verifier::Job::from_notify_params(&params).unwrap();
    let tx: bitcoin::Transaction =
        bitcoin::consensus::deserialize(&job.coinbase(&[0; 4], &[0; 8])).unwrap();
    assert!(share_verifier::commitment::find_commitment(&tx).is_ok());
    let witness = gbt("four-txns")["default_witness_commitment"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        tx.output.last().unwrap().script_pubkey.to_hex_string(),
        witness
    );
    assert_eq!(
        tx.output[0].value.to_sat(),
        gbt("four-txns")["coinbasevalue"].as_u64().unwrap()
    );
    t.node.stop().await;
}

/// A regtest chain of `n` blocks after genesis: coinbase-only blocks ground
/// to regtest's minimum difficulty.
fn regtest_chain(n: u32) -> Vec<Block> {
    use bitcoin::blockdata::constants::genesis_block;
    let mut chain = vec![genesis_block(bitcoin::Network::Regtest)];
    for height in 1..=n {
        let parent = chain.last().unwrap().header;
        let mut coinbase = chain[0].txdata[0].clone();
        coinbase.input[0].script_sig = bitcoin::script::Builder::new()
            .push_int(i64::from(height))
            .into_script();
        let mut block = Block {
            header: bitcoin::block::Header {
                prev_blockhash: parent.block_hash(),
                time: parent.time + 600,
                nonce: 0,
                ..parent
            },
            txdata: vec![coinbase],
        };
        block.header.merkle_root = block.compute_merkle_root().unwrap();
        while block.header.validate_pow(block.header.target()).is_err() {
            block.header.nonce += 1;
        }
        chain.push(block);
    }
    chain
}

#[tokio::test]
async fn settlement_reads_the_best_chain_from_bitcoind() {
    let (addr, fake) = fake_bitcoind(gbt("one-txn")).await;
    let chain = regtest_chain(3);
    *fake.chain.lock().unwrap() = chain.clone();
    let dead = dead_address().await;
    let source = BitcoindSource::new(BitcoindConfig {
        urls: vec![format!("http://{dead}/"), format!("http://{addr}/")],
        auth: RpcAuth::None,
        poll: Duration::from_secs(1),
        longpoll: false,
    });
    assert_eq!(source.tip_height().await.unwrap(), 3);
    for (height, block) in chain.iter().enumerate() {
        let height = height as u32;
        assert_eq!(source.header_at(height).await.unwrap(), Some(block.header));
        assert_eq!(source.block_at(height).await.unwrap().as_ref(), Some(block));
    }
    // Above the tip: nothing yet, not an error.
    assert_eq!(source.header_at(4).await.unwrap(), None);
    assert_eq!(source.block_at(4).await.unwrap(), None);

    // A reorganisation on bitcoind's side: height 3 now holds another block.
    let mut rival = chain[..3].to_vec();
    rival.extend(regtest_chain(3).into_iter().skip(3).map(|mut b| {
        b.header.time += 1;
        while b.header.validate_pow(b.header.target()).is_err() {
            b.header.nonce += 1;
        }
        b
    }));
    assert_ne!(rival[3].block_hash(), chain[3].block_hash());
    *fake.chain.lock().unwrap() = rival.clone();
    assert_eq!(
        source.header_at(3).await.unwrap().map(|h| h.block_hash()),
        Some(rival[3].block_hash())
    );

    // A node that answers with another block's header is caught.
    fake.lie.store(true, Ordering::SeqCst);
    match source.header_at(2).await {
        Err(BestChainError::BadAnswer { method, source }) => {
            assert_eq!(method, "getblockheader");
            assert!(
                matches!(source, shareproof_sources::AnswerFault::WrongBlock { .. }),
                "{source}"
            );
        }
        other => panic!("a lying node: {other:?}"),
    }
    // No node at all: an error that names it, not a panic.
    let nobody = BitcoindSource::new(BitcoindConfig {
        urls: vec![format!("http://{dead}/")],
        auth: RpcAuth::None,
        poll: Duration::from_secs(1),
        longpoll: false,
    });
    assert!(matches!(
        nobody.tip_height().await,
        Err(BestChainError::Source(_))
    ));
}
