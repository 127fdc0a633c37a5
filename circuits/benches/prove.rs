//! Proving benchmarks: witness, full proofs with a seeded key (libsnark's
//! QAP) and a key in a ceremony's layout (snarkjs's QAP), the two
//! reductions' h, and verification, for small windows by default; set
//! `CIRCUITS_BENCH_SIZES` (e.g. `10,12`, log2 N) for larger ones. Every
//! window holds N distinct addresses (the most a window can hold; the
//! circuit is the same for any number). Prints the constraint count per
//! share of each size.

use circuits::groth16::Reduction;
use circuits::pplns::{assign, ConstraintCount, PplnsCircuit, PplnsParams};
use circuits::{fixture, groth16, keys, proof};
use criterion::{criterion_group, criterion_main, Criterion};
use share_verifier::binding::DEFAULT_PAGE_RECORDS;

fn sizes() -> Vec<u32> {
    match std::env::var("CIRCUITS_BENCH_SIZES") {
        Ok(list) => list
            .split(',')
            .filter_map(|k| k.trim().parse().ok())
            .collect(),
        Err(_) => vec![4, 6],
    }
}

fn bench(c: &mut Criterion) {
    for k in sizes() {
        let params = PplnsParams::new(k).expect("benchmark sizes are valid");
        let count = ConstraintCount::of(&params);
        println!(
            "N = 2^{k}: {} constraints (domain {}), {:.1} per share",
            count.total, count.domain, count.per_share
        );
        let matrices = keys::build_matrices(params).expect("the circuit synthesizes");
        let pk = groth16::generate_parameters(&matrices, &mut keys::seeded_rng("bench"))
            .expect("setup succeeds");
        let snapshot = fixture::fixture_window_with(k, 1 << k);
        let a = assign(&params, &snapshot, DEFAULT_PAGE_RECORDS).expect("assignable");
        let circuit = PplnsCircuit::new(params).expect("parameters exist");
        let mut group = c.benchmark_group(format!("N=2^{k}"));
        group.sample_size(10);
        group.bench_function("witness", |b| {
            b.iter(|| proof::witness(&circuit, &a, &matrices).expect("witness"))
        });
        // The same statement proven with a seeded key (libsnark's QAP) and
        // with a key in a ceremony's layout (snarkjs's QAP).
        let pk_circom = groth16::generate_parameters_for(
            &matrices,
            Reduction::Circom,
            &mut keys::seeded_rng("bench"),
        )
        .expect("setup succeeds");
        for (reduction, key) in [(Reduction::Libsnark, &pk), (Reduction::Circom, &pk_circom)] {
            group.bench_function(format!("prove {reduction:?}"), |b| {
                b.iter(|| {
                    let z = proof::witness(&circuit, &a, &matrices).expect("witness");
                    let h = proof::quotient(&matrices, &z, reduction).expect("quotient");
                    let (r, s) = groth16::blinding(&mut rand::rngs::OsRng);
                    groth16::create_proof(key, &h, &z, matrices.num_instance, r, s).expect("proof")
                })
            });
        }
        let z = proof::witness(&circuit, &a, &matrices).expect("witness");
        for reduction in [Reduction::Libsnark, Reduction::Circom] {
            group.bench_function(format!("quotient {reduction:?}"), |b| {
                b.iter(|| reduction.quotient(&matrices, &z).expect("quotient"))
            });
        }
        let h = proof::quotient(&matrices, &z, Reduction::Libsnark).expect("quotient");
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
