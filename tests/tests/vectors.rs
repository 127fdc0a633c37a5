//! The shared vectors through the node's own code: captured ckpool sessions
//! through the node's share-validation path (`validate_submit`), and
//! regtest `getblocktemplate` results through the node's template code.

use bitcoin::hashes::Hash;
use serde_json::Value;
use share_verifier::{Job, PreparedJob, ShareRules, ShareTarget, VersionMask};
use shareproof_node::stratum::session::validate_submit;
use shareproof_sources::bitcoind::parse_gbt;
use shareproof_stratum::request::{self, Request};
use shareproof_tests::vector;

/// Replays one captured session; returns the share's hash in display order
/// and its achieved difficulty.
fn replay(dir: &str, mask: VersionMask) -> (String, f64) {
    let notify = vector(&format!("stratum-captures/{dir}/notify.json"));
    let job = Job::from_notify_params(&notify["params"]).unwrap();
    let subscribe = vector(&format!("stratum-captures/{dir}/authorize_response.json"));
    let en1 = hex::decode(subscribe["result"][1].as_str().unwrap()).unwrap();
    let en2_size = subscribe["result"][2].as_u64().unwrap() as usize;
    let submit = vector(&format!("stratum-captures/{dir}/submit.json"));
    // The miner's line as the node reads it.
    let line = serde_json::json!({"id": submit["id"], "method": submit["method"], "params": submit["params"]}).to_string();
    let (_, request) = request::parse(line.as_bytes()).unwrap();
    let Request::Submit(params) = request else {
        panic!("not a submit")
    };
    let rules = ShareRules {
        extranonce1_size: en1.len(),
        extranonce2_size: en2_size,
        version_mask: mask,
    };
    let share = validate_submit(
        &params,
        &job,
        &PreparedJob::new(&job),
        &en1,
        &rules,
        ShareTarget::MAX,
    )
    .unwrap();
    let hash = share.hash();
    (hash.to_block_hash().to_string(), hash.difficulty_lossy())
}

#[test]
fn the_version_rolling_capture_gives_its_recorded_hash() {
    let configure = vector("stratum-captures/with_version_rolling/version_rolling.json");
    let requested = u32::from_str_radix(
        configure["request"]["params"][1]["version-rolling.mask"]
            .as_str()
            .unwrap(),
        16,
    )
    .unwrap();
    let mask = VersionMask::BIP320.negotiate(requested);
    assert_eq!(
        format!("{:08x}", mask.0),
        configure["response"]["result"]["version-rolling.mask"]
    );
    let (hash, _) = replay("with_version_rolling", mask);
    assert_eq!(
        hash,
        vector("stratum-captures/with_version_rolling/result.json")["hash"]
    );
}

#[test]
fn the_plain_capture_meets_its_share_target() {
    let (hash, achieved) = replay("a", VersionMask::NONE);
    // ckpool's default difficulty 1 on that testnet session.
    assert!(
        achieved >= 1.0,
        "hash {hash} reached only difficulty {achieved}"
    );
    assert!(hash.starts_with("00000000"), "{hash}");
}

#[test]
fn regtest_templates_give_the_merkle_branches_of_their_notify() {
    for dir in ["one-txn", "four-txns"] {
        let gbt = vector(&format!("gbt-regtest/{dir}/gbt.json"));
        let gbt = gbt.get("result").cloned().unwrap_or(gbt);
        let notify = vector(&format!("gbt-regtest/{dir}/notify.json"));
        let template = parse_gbt(&gbt).unwrap();
        let branch: Vec<Value> = template
            .merkle_branch
            .iter()
            .map(|n| Value::String(hex::encode(n.to_byte_array())))
            .collect();
        assert_eq!(Value::Array(branch), notify["params"][4], "{dir}");
        assert_eq!(
            format!("{:08x}", template.nbits.to_consensus()),
            notify["params"][6],
            "{dir}"
        );
        assert!(
            template.witness_commitment.is_some(),
            "{dir} has a witness commitment"
        );
        assert_eq!(
            share_verifier::job::prevhash_to_stratum(&template.prevhash),
            notify["params"][1],
            "{dir}"
        );
    }
}
