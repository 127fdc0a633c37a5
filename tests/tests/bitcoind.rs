//! The bitcoind client against a fake JSON-RPC server (real bitcoind cannot
//! be installed here; production runs against real bitcoind): templates
//! from captured regtest GBT results, failover past a dead node, basic and
//! cookie auth, long polling for a new tip, and `submitblock`.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use bitcoin::hashes::Hash;
use serde_json::{json, Value};
use shareproof_node::config::{BitcoindConfig, RpcAuth};
use shareproof_node::template::bitcoind::BitcoindSource;
use shareproof_node::template::{SubmitOutcome, TemplateSource};
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
