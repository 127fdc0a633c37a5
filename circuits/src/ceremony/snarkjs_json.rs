//! snarkjs's JSON forms of a verification key, a proof and its public
//! inputs (`verification_key.json`, `proof.json`, `public.json`), so that
//! `snarkjs groth16 verify` and browser verifiers check our proofs.
//!
//! Points are arrays of decimal strings in projective form with z = 1
//! (`[x, y, "1"]`; G2 coordinates as `[c0, c1]`), the point at infinity
//! `["0", "1", "0"]`, as ffjavascript's `toObject` writes them.

use ark_bn254::{Bn254, Fq12, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::AffineRepr;
use ark_ff::{BigInteger, PrimeField};
use ark_groth16::{Proof, VerifyingKey};
use serde_json::{json, Value};

fn dec<F: PrimeField>(x: &F) -> String {
    num_bigint::BigUint::from_bytes_le(&x.into_bigint().to_bytes_le()).to_string()
}

fn fq2(x: &Fq2) -> Value {
    json!([dec(&x.c0), dec(&x.c1)])
}

/// A G1 point as ffjavascript's `G1.toObject`.
pub fn g1(p: &G1Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([dec(&x), dec(&y), "1"]),
        None => json!(["0", "1", "0"]),
    }
}

/// A G2 point as ffjavascript's `G2.toObject`.
pub fn g2(p: &G2Affine) -> Value {
    match p.xy() {
        Some((x, y)) => json!([fq2(&x), fq2(&y), ["1", "0"]]),
        None => json!([["0", "0"], ["1", "0"], ["0", "0"]]),
    }
}

fn fq12(x: &Fq12) -> Value {
    let fq6 = |c: &ark_bn254::Fq6| json!([fq2(&c.c0), fq2(&c.c1), fq2(&c.c2)]);
    json!([fq6(&x.c0), fq6(&x.c1)])
}

/// `verification_key.json` as `snarkjs zkey export verificationkey` writes
/// it, `vk_alphabeta_12` (the pairing of alpha and beta) included.
pub fn verification_key(vk: &VerifyingKey<Bn254>) -> Value {
    let alphabeta = Bn254::pairing(vk.alpha_g1, vk.beta_g2).0;
    json!({
        "protocol": "groth16",
        "curve": "bn128",
        "nPublic": vk.gamma_abc_g1.len() - 1,
        "vk_alpha_1": g1(&vk.alpha_g1),
        "vk_beta_2": g2(&vk.beta_g2),
        "vk_gamma_2": g2(&vk.gamma_g2),
        "vk_delta_2": g2(&vk.delta_g2),
        "vk_alphabeta_12": fq12(&alphabeta),
        "IC": vk.gamma_abc_g1.iter().map(g1).collect::<Vec<_>>(),
    })
}

/// `proof.json` as `snarkjs groth16 prove` writes it.
pub fn proof(proof: &Proof<Bn254>) -> Value {
    json!({
        "pi_a": g1(&proof.a),
        "pi_b": g2(&proof.b),
        "pi_c": g1(&proof.c),
        "protocol": "groth16",
        "curve": "bn128",
    })
}

/// `public.json`: the public inputs as decimal strings.
pub fn public_inputs(inputs: &[Fr]) -> Value {
    Value::Array(inputs.iter().map(|x| Value::String(dec(x))).collect())
}
