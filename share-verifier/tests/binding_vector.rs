//! The contracts' v2 example vector (`contracts/test/fixtures/settlement.example.json`,
//! computed apart by `settlement_example.py` with Python integers and `cast keccak`, and
//! checked against the Solidity side by `SettlementFixtureFormatTest`): this crate's binding
//! and allocation must reach the same list hash, beta, T, amounts and dust.

use std::path::PathBuf;

use ark_bn254::Fr;
use bitcoin::Amount;
use serde_json::Value;
use share_verifier::address::Address;
use share_verifier::allocation::{FeeBps, Payee};
use share_verifier::binding;
use share_verifier::{field, WindowRoot};

fn example() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../contracts/test/fixtures/settlement.example.json");
    serde_json::from_slice(&std::fs::read(&path).expect("the example vector")).expect("JSON")
}

fn field_of(v: &Value) -> Fr {
    field::from_hex(v.as_str().expect("a hex string")).expect("a field element")
}

#[test]
fn the_contracts_example_vector_is_this_binding() {
    let v = example();
    let payees: Vec<Payee> = v["payees"]
        .as_array()
        .expect("payees")
        .iter()
        .map(|p| Payee {
            address: p["account"]
                .as_str()
                .unwrap()
                .parse::<Address>()
                .expect("an address"),
            weight: p["weight"].as_str().unwrap().parse().expect("a u128"),
        })
        .collect();
    let page_size = v["pageSize"].as_u64().unwrap() as usize;
    let list = binding::paged_list(&payees, page_size);
    assert_eq!(list.pages.len(), 3);
    assert_eq!(
        format!("0x{}", hex::encode(list.list_hash)),
        v["listHash"].as_str().unwrap()
    );
    assert_eq!(list.list_hash, binding::list_hash(&payees));
    let root = WindowRoot(field_of(&v["windowRoot"]));
    let x = field_of(&v["weightCommitment"]);
    let inputs = binding::public_inputs(&root, &x, &list.list_hash, &payees).unwrap();
    let expected: Vec<Fr> = v["publicInputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(field_of)
        .collect();
    assert_eq!(inputs.to_vec(), expected);

    // The contract's allocation over (address, weight) is share_verifier::allocate's.
    let fee = FeeBps::new(v["feeBps"].as_u64().unwrap() as u32).unwrap();
    let reward = Amount::from_sat(v["reward"].as_u64().unwrap());
    let shares = payees.iter().map(|p| {
        (
            p.address,
            share_verifier::Weight::new(p.weight).expect("weights below 2^92 in the example"),
        )
    });
    let allocation = share_verifier::allocate(shares, reward, fee).unwrap();
    let amounts: Vec<String> = allocation
        .payouts
        .iter()
        .map(|p| p.amount.to_sat().to_string())
        .collect();
    let expected: Vec<String> = v["amounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().map_or_else(|| a.to_string(), str::to_owned))
        .collect();
    assert_eq!(amounts, expected);
    assert_eq!(
        allocation.dust.to_sat().to_string(),
        v["dust"]
            .as_str()
            .map_or_else(|| v["dust"].to_string(), str::to_owned)
    );
}
