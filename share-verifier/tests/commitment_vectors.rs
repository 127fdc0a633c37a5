//! The coinbase commitment rule shared with the contracts: every coinbase in
//! `contracts/test/fixtures/coinbase_commitment_vectors.json` gets the
//! verdict written beside it (the root, or the error kind), the verdict
//! `CommitmentVectorsTest` in `contracts/test/` checks the contracts reach.

use std::path::Path;

use bitcoin::{Amount, ScriptBuf, Transaction};
use serde_json::Value;
use share_verifier::commitment::{find_commitment, reward_to};

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../contracts/test/fixtures/coinbase_commitment_vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn hex_field(v: &Value, field: &str) -> Vec<u8> {
    let text = v[field].as_str().unwrap_or_else(|| panic!("no {field}"));
    hex::decode(text.trim_start_matches("0x")).unwrap()
}

#[test]
fn every_shared_coinbase_gets_the_verdict_the_contracts_reach() {
    let doc = vectors();
    let script = ScriptBuf::from_bytes(hex_field(&doc, "settlementScript"));
    let list = doc["vectors"].as_array().unwrap();
    assert!(list.len() >= 11, "the file holds every case of the rule");
    for v in list {
        let name = v["name"].as_str().unwrap();
        let tx: Transaction = bitcoin::consensus::deserialize(&hex_field(v, "coinbase"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let error = v["error"].as_str().unwrap();
        match find_commitment(&tx) {
            Ok((_, root)) => {
                assert_eq!(
                    error, "",
                    "{name}: found root {root}, expected error {error}"
                );
                assert_eq!(
                    root.to_be_bytes().to_vec(),
                    hex_field(v, "windowRoot"),
                    "{name}"
                );
            }
            Err(e) => assert_eq!(e.kind(), error, "{name}: {e}"),
        }
        assert_eq!(
            reward_to(&tx, &script),
            Amount::from_sat(v["reward"].as_u64().unwrap()),
            "{name}"
        );
    }
}
