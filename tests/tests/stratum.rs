//! Raw Stratum sessions against an in-process node: the bytes a miner sends,
//! the bytes that come back. Every error code path, the Bitaxe handshake, and
//! the rule that a share is held to the difficulty its job was sent with.

use bitcoin::block::Version;
use serde_json::{json, Value};
use share_verifier::{Difficulty, ShareTarget};
use shareproof_tests::{mine, miss, start_node, submit, subscribe, LineClient, ADDRESS};

fn error_code(v: &Value) -> i64 {
    v["error"][0]
        .as_i64()
        .unwrap_or_else(|| panic!("no error in {v}"))
}

#[tokio::test]
async fn subscribe_and_authorize_answer_with_extranonce_difficulty_and_a_clean_job() {
    let t = start_node(|_| {}).await;
    let mut c = LineClient::connect(t.node.stratum_addr).await;
    c.send(r#"{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5.1"]}"#)
        .await;
    let line = c.recv().await;
    let v: Value = serde_json::from_str(&line).unwrap();
    let en1 = v["result"][1].as_str().unwrap().to_owned();
    assert_eq!(en1.len(), 8);
    assert_eq!(
        line,
        format!(
            r#"{{"id":1,"result":[[["mining.set_difficulty","{en1}"],["mining.notify","{en1}"]],"{en1}",8],"error":null}}"#
        )
    );
    c.send(&format!(
        r#"{{"id":2,"method":"mining.authorize","params":["{ADDRESS}.rig1","x"]}}"#
    ))
    .await;
    assert_eq!(c.recv().await, r#"{"id":2,"result":true,"error":null}"#);
    // The network difficulty of regtest's powLimit caps the share difficulty.
    let d = c.recv_json().await;
    assert_eq!(d["method"], "mining.set_difficulty");
    assert_eq!(
        d["params"][0].as_f64().unwrap(),
        1e-9f64.min(4.6565423739069247e-10)
    );
    let n = c.recv_json().await;
    assert_eq!(n["method"], "mining.notify");
    assert_eq!(n["params"][8], true, "the first job is clean");
    assert_eq!(n["params"][6], "207fffff");
    t.node.stop().await;
}

#[tokio::test]
async fn malformed_unknown_unsubscribed_and_unauthorized_requests_get_their_codes() {
    let t = start_node(|_| {}).await;
    let mut c = LineClient::connect(t.node.stratum_addr).await;
    c.send("{this is not json").await;
    let v = c.recv_json().await;
    assert_eq!((v["id"].clone(), error_code(&v)), (Value::Null, 20));
    c.send(r#"{"id":5,"method":"mining.frobnicate","params":[]}"#)
        .await;
    let v = c.recv_json().await;
    assert_eq!((v["id"].clone(), error_code(&v)), (json!(5), 20));
    assert!(v["error"][1]
        .as_str()
        .unwrap()
        .contains("mining.frobnicate"));
    c.send(r#"{"id":6,"method":"mining.submit","params":["w","01","00","00000000","00000000"]}"#)
        .await;
    assert_eq!(
        error_code(&c.recv_json().await),
        25,
        "submit before subscribe"
    );
    c.send(r#"{"id":7,"method":"mining.authorize","params":["w","x"]}"#)
        .await;
    assert_eq!(
        error_code(&c.recv_json().await),
        25,
        "authorize before subscribe"
    );
    c.send(r#"{"id":8,"method":"mining.subscribe","params":[]}"#)
        .await;
    c.expect_answer(8).await;
    c.send(r#"{"id":9,"method":"mining.authorize","params":["bc1qnotanevmaddress","x"]}"#)
        .await;
    let v = c.recv_json().await;
    assert_eq!(error_code(&v), 24);
    assert!(v["error"][1].as_str().unwrap().contains("0x"), "{v}");
    c.send(r#"{"id":10,"method":"mining.authorize","params":["0x0000000000000000000000000000000000000000","x"]}"#).await;
    assert_eq!(error_code(&c.recv_json().await), 24, "zero address");
    c.send(r#"{"id":11,"method":"mining.submit","params":["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed","01","00","00000000","00000000"]}"#).await;
    assert_eq!(
        error_code(&c.recv_json().await),
        24,
        "submit for a worker never authorized"
    );
    c.send(r#"{"id":12,"method":"mining.submit","params":[1,2]}"#)
        .await;
    assert_eq!(error_code(&c.recv_json().await), 20, "bad params");
    t.node.stop().await;
}

#[tokio::test]
async fn share_errors_unknown_job_duplicate_low_difficulty_version_bits_extranonce2_and_stale() {
    let t = start_node(|raw| {
        // A network target far above the share target: shares are not blocks.
        raw.chain.nbits = Some("1d00ffff".into());
    })
    .await;
    let user = format!("{ADDRESS}.w");
    let mut s = subscribe(t.node.stratum_addr, &user).await;
    let target = Difficulty::new(s.difficulty).unwrap().to_target();
    let en2 = [0u8, 0, 0, 0, 0, 0, 0, 1];
    let nonce = mine(&s.job, &s.extranonce1, &en2, target, s.job.version);

    // Unknown job.
    let mut unknown = s.job.clone();
    unknown.id = share_verifier::JobId(0xdead_beef);
    s.client
        .send(&submit(10, &user, &unknown, &en2, nonce, None))
        .await;
    assert_eq!(error_code(&s.client.expect_answer(10).await), 21);

    // Accepted, then a duplicate.
    s.client
        .send(&submit(11, &user, &s.job, &en2, nonce, None))
        .await;
    assert_eq!(
        s.client.expect_answer(11).await,
        json!({"id":11,"result":true,"error":null})
    );
    s.client
        .send(&submit(12, &user, &s.job, &en2, nonce, None))
        .await;
    assert_eq!(error_code(&s.client.expect_answer(12).await), 22);

    // Low difficulty: a nonce whose hash misses the share target.
    let en2b = [0u8, 0, 0, 0, 0, 0, 0, 2];
    let bad = miss(&s.job, &s.extranonce1, &en2b, target);
    s.client
        .send(&submit(13, &user, &s.job, &en2b, bad, None))
        .await;
    assert_eq!(error_code(&s.client.expect_answer(13).await), 23);

    // Version bits without a negotiated mask.
    s.client
        .send(&submit(14, &user, &s.job, &en2b, bad, Some(0x0000_2000)))
        .await;
    assert_eq!(error_code(&s.client.expect_answer(14).await), 20);

    // extranonce2 of the wrong size.
    s.client
        .send(&submit(15, &user, &s.job, &[0, 1, 2, 3], bad, None))
        .await;
    let v = s.client.expect_answer(15).await;
    assert_eq!(error_code(&v), 20);
    assert!(
        v["error"][1]
            .as_str()
            .unwrap()
            .contains("extranonce2 must be 8 bytes"),
        "{v}"
    );

    // ntime before the job's.
    let mut early = s.job.clone();
    early.ntime -= 1;
    s.client
        .send(&submit(16, &user, &early, &en2b, bad, None))
        .await;
    assert_eq!(error_code(&s.client.expect_answer(16).await), 20);
    t.node.stop().await;
}

#[tokio::test]
async fn a_share_on_the_previous_tip_is_stale_after_a_block() {
    let t = start_node(|_| {}).await;
    let user = format!("{ADDRESS}.w");
    let mut s = subscribe(t.node.stratum_addr, &user).await;
    let target = Difficulty::new(s.difficulty).unwrap().to_target();
    // Every share is a block at regtest's powLimit.
    let en2 = [0u8; 8];
    let nonce = mine(&s.job, &s.extranonce1, &en2, target, s.job.version);
    s.client
        .send(&submit(20, &user, &s.job, &en2, nonce, None))
        .await;
    // The answer and the new tip's job come in either order.
    let (mut answered, mut notified) = (false, false);
    while !(answered && notified) {
        let v = s.client.recv_json().await;
        if v["id"] == 20 {
            assert_eq!(v["result"], true);
            answered = true;
        } else if v["method"] == "mining.notify" {
            assert_eq!(v["params"][8], true, "a new tip is a clean job");
            notified = true;
        }
    }
    let en2 = [0u8, 0, 0, 0, 0, 0, 0, 9];
    let nonce = mine(&s.job, &s.extranonce1, &en2, target, s.job.version);
    s.client
        .send(&submit(21, &user, &s.job, &en2, nonce, None))
        .await;
    let v = s.client.expect_answer(21).await;
    assert_eq!(error_code(&v), 21);
    assert!(v["error"][1].as_str().unwrap().contains("stale"), "{v}");
    t.node.stop().await;
}

#[tokio::test]
async fn a_share_is_held_to_the_difficulty_its_job_was_sent_with() {
    // Network difficulty ~16307: difficulty 1000 is not capped.
    let t = start_node(|raw| raw.chain.nbits = Some("1b0404cb".into())).await;
    let user = format!("{ADDRESS}.w");
    let mut s = subscribe(t.node.stratum_addr, &user).await;
    let easy = Difficulty::new(s.difficulty).unwrap().to_target();
    let old_job = s.job.clone();
    // The miner asks for a much harder difficulty: a new difficulty and a fresh job follow.
    s.client
        .send(r#"{"id":30,"method":"mining.suggest_difficulty","params":[1000]}"#)
        .await;
    assert_eq!(s.client.expect_answer(30).await["result"], true);
    assert_eq!(
        s.client.expect_method("mining.set_difficulty").await[0],
        1000.0
    );
    let fresh =
        share_verifier::Job::from_notify_params(&s.client.expect_method("mining.notify").await)
            .unwrap();
    assert!(fresh.id > old_job.id);
    // A share meeting the old job's easy target (but surely not difficulty 1000) is accepted on the old job...
    let en2 = [1u8; 8];
    let nonce = mine(&old_job, &s.extranonce1, &en2, easy, old_job.version);
    s.client
        .send(&submit(31, &user, &old_job, &en2, nonce, None))
        .await;
    assert_eq!(s.client.expect_answer(31).await["result"], true);
    // ...and the same kind of share on the fresh job is low difficulty.
    let nonce = mine(&fresh, &s.extranonce1, &en2, easy, fresh.version);
    s.client
        .send(&submit(32, &user, &fresh, &en2, nonce, None))
        .await;
    assert_eq!(error_code(&s.client.expect_answer(32).await), 23);
    t.node.stop().await;
}

#[tokio::test]
async fn a_bitaxe_session_negotiates_version_rolling_and_submits_rolled_bits() {
    let t = start_node(|_| {}).await;
    let mut c = LineClient::connect(t.node.stratum_addr).await;
    // ESP-Miner's order: configure, subscribe with its user agent, suggest, authorize.
    let captured =
        shareproof_tests::vector("stratum-captures/with_version_rolling/version_rolling.json");
    c.send(r#"{"id":1,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"ffffffff"}]}"#).await;
    let v = c.recv_json().await;
    assert_eq!(
        v["result"], captured["response"]["result"],
        "the mask a pool grants a Bitaxe"
    );
    c.send(r#"{"id":2,"method":"mining.subscribe","params":["bitaxe/BM1366/v2.4.1"]}"#)
        .await;
    let sub = c.expect_answer(2).await;
    let en1 = hex::decode(sub["result"][1].as_str().unwrap()).unwrap();
    c.send(r#"{"id":3,"method":"mining.suggest_difficulty","params":[1000]}"#)
        .await;
    assert_eq!(
        c.expect_answer(3).await,
        json!({"id":3,"result":true,"error":null})
    );
    let user = format!("{ADDRESS}.bitaxe");
    c.send(&format!(
        r#"{{"id":4,"method":"mining.authorize","params":["{user}","x"]}}"#
    ))
    .await;
    assert_eq!(c.expect_answer(4).await["result"], true);
    let d = c.expect_method("mining.set_difficulty").await[0]
        .as_f64()
        .unwrap();
    let job =
        share_verifier::Job::from_notify_params(&c.expect_method("mining.notify").await).unwrap();
    // Rolled version bits inside the mask.
    let bits = 0x0aba_e000u32 & 0x1fff_e000;
    let version =
        Version::from_consensus(((job.version.to_consensus() as u32 & !0x1fff_e000) | bits) as i32);
    let en2 = [7u8; 8];
    let target: ShareTarget = Difficulty::new(d).unwrap().to_target();
    let nonce = mine(&job, &en1, &en2, target, version);
    // Bits outside the mask are refused.
    c.send(&submit(5, &user, &job, &[8u8; 8], nonce, Some(0xe000_0000)))
        .await;
    assert_eq!(error_code(&c.expect_answer(5).await), 20);
    c.send(&submit(6, &user, &job, &en2, nonce, Some(bits)))
        .await;
    assert_eq!(
        c.expect_answer(6).await,
        json!({"id":6,"result":true,"error":null})
    );
    t.node.stop().await;
}

#[tokio::test]
async fn an_oversize_line_is_answered_and_the_connection_closed() {
    let t = start_node(|raw| raw.stratum.max_line_length = Some(512)).await;
    let mut c = LineClient::connect(t.node.stratum_addr).await;
    c.send_raw(&[b'x'; 600]).await;
    let v = c.recv_json().await;
    assert_eq!(error_code(&v), 20);
    assert!(
        v["error"][1].as_str().unwrap().contains("longer than 512"),
        "{v}"
    );
    assert_eq!(c.recv_opt().await, None);
    t.node.stop().await;
}

#[tokio::test]
async fn a_flood_of_invalid_shares_bans_the_address() {
    let t = start_node(|raw| {
        raw.stratum.max_invalid_per_minute = Some(5);
        // Hard enough that a nonce picked at random misses the share target.
        raw.vardiff.start_difficulty = Some(1.0);
    })
    .await;
    let user = format!("{ADDRESS}.w");
    let mut s = subscribe(t.node.stratum_addr, &user).await;
    let target = Difficulty::new(s.difficulty).unwrap().to_target();
    for id in 100..106u64 {
        let en2 = id.to_be_bytes();
        let nonce = miss(&s.job, &s.extranonce1, &en2, target);
        s.client
            .send(&submit(id, &user, &s.job, &en2, nonce, None))
            .await;
    }
    for _ in 100..106 {
        assert_eq!(error_code(&s.client.recv_json().await), 23);
    }
    let v = s.client.recv_json().await;
    assert_eq!(error_code(&v), 20);
    assert!(v["error"][1].as_str().unwrap().contains("banned"), "{v}");
    assert_eq!(s.client.recv_opt().await, None, "closed after the ban");
    // A new connection from the same address is refused.
    let mut again = LineClient::connect(t.node.stratum_addr).await;
    again
        .send(r#"{"id":1,"method":"mining.subscribe","params":[]}"#)
        .await;
    assert_eq!(again.recv_opt().await, None);
    t.node.stop().await;
}

#[tokio::test]
async fn shares_on_unknown_or_replaced_jobs_never_ban() {
    // An ASIC sends its in-flight work after every clean notify and every
    // reconnect to a restarted node: answered with code 21, never banned.
    let t = start_node(|raw| raw.stratum.max_invalid_per_minute = Some(5)).await;
    let user = format!("{ADDRESS}.w");
    let mut s = subscribe(t.node.stratum_addr, &user).await;
    let mut unknown = s.job.clone();
    unknown.id = share_verifier::JobId(0xbad);
    for id in 100..120u64 {
        s.client
            .send(&submit(id, &user, &unknown, &id.to_be_bytes(), 0, None))
            .await;
    }
    for id in 100..120 {
        let v = s.client.expect_answer(id).await;
        assert_eq!(error_code(&v), 21, "{v}");
    }
    // Still connected and mining: a valid share on the current job is accepted.
    let target = Difficulty::new(s.difficulty).unwrap().to_target();
    let nonce = mine(&s.job, &s.extranonce1, &[1; 8], target, s.job.version);
    s.client
        .send(&submit(200, &user, &s.job, &[1; 8], nonce, None))
        .await;
    assert_eq!(s.client.expect_answer(200).await["result"], true);
    t.node.stop().await;
}

#[tokio::test]
async fn configure_minimum_difficulty_and_extranonce_subscribe_are_answered() {
    let t = start_node(|_| {}).await;
    let mut c = LineClient::connect(t.node.stratum_addr).await;
    c.send(r#"{"id":1,"method":"mining.configure","params":[["minimum-difficulty","subscribe-extranonce","x-unknown"],{"minimum-difficulty.value":0.5}]}"#).await;
    assert_eq!(
        c.recv_json().await["result"],
        json!({"minimum-difficulty": true, "subscribe-extranonce": true, "x-unknown": false})
    );
    c.send(r#"{"id":2,"method":"mining.subscribe","params":[]}"#)
        .await;
    let en1 = c.expect_answer(2).await["result"][1].clone();
    c.send(r#"{"id":3,"method":"mining.extranonce.subscribe","params":[]}"#)
        .await;
    assert_eq!(
        c.recv_json().await,
        json!({"id":3,"result":true,"error":null})
    );
    assert_eq!(
        c.recv_json().await,
        json!({"id":null,"method":"mining.set_extranonce","params":[en1, 8]})
    );
    t.node.stop().await;
}

#[tokio::test]
async fn password_difficulty_is_honoured_within_bounds() {
    let t = start_node(|raw| raw.chain.nbits = Some("1d00ffff".into())).await;
    let mut c = LineClient::connect(t.node.stratum_addr).await;
    c.send(r#"{"id":1,"method":"mining.subscribe","params":[]}"#)
        .await;
    c.expect_answer(1).await;
    c.send(&format!(
        r#"{{"id":2,"method":"mining.authorize","params":["{ADDRESS}","x,d=0.25"]}}"#
    ))
    .await;
    assert_eq!(c.expect_answer(2).await["result"], true);
    assert_eq!(c.expect_method("mining.set_difficulty").await[0], 0.25);
    t.node.stop().await;
}
