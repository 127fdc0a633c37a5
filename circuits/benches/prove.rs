//! Proving benchmarks: witness, full proof and verification for small
//! windows by default; set `CIRCUITS_BENCH_SIZES` (e.g. `10:256,12:256`,
//! log2 N : M) for larger ones. Prints the constraint counts per share and
//! per payout entry of each size.

use bitcoin::Amount;
use circuits::pplns::{assign, ConstraintCount, PplnsCircuit, PplnsParams};
use circuits::{fixture, groth16, keys, proof};
use criterion::{criterion_group, criterion_main, Criterion};
use share_verifier::allocation::FeeBps;

fn sizes() -> Vec<(u32, usize)> {
    match std::env::var("CIRCUITS_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .filter_map(|pair| {
                let (k, m) = pair.split_once(':')?;
                Some((k.trim().parse().ok()?, m.trim().parse().ok()?))
            })
            .collect(),
        Err(_) => vec![(4, 4), (6, 8)],
    }
}

fn bench(c: &mut Criterion) {
    for (k, m) in sizes() {
        let params = PplnsParams::new(k, m).expect("benchmark sizes are valid");
        let count = ConstraintCount::of(&params);
        println!(
            "N = 2^{k}, M = {m}: {} constraints (domain {}), {:.1} per share, {:.1} per payout entry",
            count.total, count.domain, count.per_share, count.per_payout
        );
        let matrices = keys::build_matrices(params).expect("the circuit synthesizes");
        let pk = groth16::generate_parameters(&matrices, &mut keys::seeded_rng("bench"))
            .expect("setup succeeds");
        let snapshot =
            fixture::sample_window(k, (1 << k) + 7, (m as u64).min(1 << k).max(1), 60, 1);
        let fee = FeeBps::new(200).expect("valid fee");
        let a = assign(&params, &snapshot, Amount::from_sat(625_000_000), fee, None)
            .expect("assignable");
        let circuit = PplnsCircuit::new(params).expect("parameters exist");
        let mut group = c.benchmark_group(format!("N=2^{k},M={m}"));
        group.sample_size(10);
        group.bench_function("witness", |b| {
            b.iter(|| proof::witness(&circuit, &a, &matrices).expect("witness"))
        });
        group.bench_function("prove", |b| {
            b.iter(|| {
                let z = proof::witness(&circuit, &a, &matrices).expect("witness");
                let h = proof::quotient(&matrices, &z).expect("quotient");
                let (r, s) = groth16::blinding(&mut rand::rngs::OsRng);
                groth16::create_proof(&pk, &h, &z, matrices.num_instance, r, s).expect("proof")
            })
        });
        let z = proof::witness(&circuit, &a, &matrices).expect("witness");
        let h = proof::quotient(&matrices, &z).expect("quotient");
        let p = groth16::create_proof(&pk, &h, &z, matrices.num_instance, 1u64.into(), 2u64.into())
            .expect("proof");
        let inputs = a.public.to_array();
        group.bench_function("verify", |b| {
            b.iter(|| assert!(groth16::verify(&pk.vk, &inputs, &p).expect("verifies")))
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
