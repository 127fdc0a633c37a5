//! Groth16 over BN254 from stored [`R1csMatrices`]: key generation and
//! proving without arkworks' constraint system.
//!
//! Both follow ark-groth16 0.6 exactly (the `LibsnarkReduction` QAP, the
//! same key layout in [`ProvingKey`], the same proof equations), so keys and
//! proofs are ark-groth16's own types and `Groth16::verify` checks them; the
//! tests cross-check against ark-groth16's prover. What differs is memory:
//! the matrices are the compact stored ones, the witness comes from the
//! values-only back end, and each phase frees what the next does not need.
//! The phases are `tracing` spans (`witness`, `qap`, `msm`), which the CLI
//! prints as progress.

use ark_bn254::{Bn254, Fr, G1Projective, G2Affine, G2Projective};
use ark_ec::scalar_mul::BatchMulPreprocessing;
use ark_ec::{CurveGroup, PrimeGroup, VariableBaseMSM};
use ark_ff::{AdditiveGroup, FftField, Field, PrimeField, UniformRand, Zero};
use ark_groth16::{Proof, ProvingKey, VerifyingKey};
use ark_poly::{EvaluationDomain, GeneralEvaluationDomain};
use ark_relations::gr1cs::SynthesisError;
use ark_std::rand::{CryptoRng, RngCore};
use rayon::prelude::*;
use tracing::info_span;

use crate::matrices::{R1csMatrices, SparseMatrix};

type Domain = GeneralEvaluationDomain<Fr>;

fn domain_for(m: &R1csMatrices) -> Result<Domain, SynthesisError> {
    Domain::new(m.num_constraints() + m.num_instance)
        .ok_or(SynthesisError::PolynomialDegreeTooLarge)
}

/// Per-variable QAP polynomials at tau: `column_sums[col] += u_row * coeff`.
fn column_sums(m: &SparseMatrix, table: &[Fr], u: &[Fr], vars: usize) -> Vec<Fr> {
    let mut out = vec![Fr::ZERO; vars];
    for (row, ur) in m.starts.windows(2).zip(u) {
        for k in row[0] as usize..row[1] as usize {
            out[m.columns[k] as usize] += *ur * table[m.coefficients[k] as usize];
        }
    }
    out
}

/// Generates a proving key for the circuit of `matrices` with randomness
/// from `rng`. Whoever knows that randomness can forge proofs.
///
/// # Errors
/// [`SynthesisError::PolynomialDegreeTooLarge`] beyond BN254's FFT domains.
pub fn generate_parameters<R: RngCore + CryptoRng>(
    matrices: &R1csMatrices,
    rng: &mut R,
) -> Result<ProvingKey<Bn254>, SynthesisError> {
    let _span = info_span!("setup").entered();
    let domain = domain_for(matrices)?;
    let tau = domain.sample_element_outside_domain(rng);
    let alpha = Fr::rand(rng);
    let beta = Fr::rand(rng);
    let gamma = Fr::rand(rng);
    let delta = Fr::rand(rng);
    let g1 = G1Projective::generator();
    let g2 = G2Projective::generator();

    let (a, b, c, zt) = {
        let _s = info_span!("qap at tau").entered();
        let u = domain.evaluate_all_lagrange_coefficients(tau);
        let vars = matrices.num_variables();
        let t = &matrices.coefficients;
        let (mut a, (b, c)) = rayon::join(
            || column_sums(&matrices.a, t, &u, vars),
            || {
                rayon::join(
                    || column_sums(&matrices.b, t, &u, vars),
                    || column_sums(&matrices.c, t, &u, vars),
                )
            },
        );
        // The input-consistency rows of the libsnark reduction.
        let rows = matrices.num_constraints();
        for (i, ai) in a.iter_mut().take(matrices.num_instance).enumerate() {
            *ai += u[rows + i];
        }
        (a, b, c, domain.evaluate_vanishing_polynomial(tau))
    };
    let gamma_inverse = gamma.inverse().ok_or(SynthesisError::DivisionByZero)?;
    let delta_inverse = delta.inverse().ok_or(SynthesisError::DivisionByZero)?;
    let n_inst = matrices.num_instance;
    let lin = |range: std::ops::Range<usize>, k: Fr| -> Vec<Fr> {
        range
            .into_par_iter()
            .map(|i| (beta * a[i] + alpha * b[i] + c[i]) * k)
            .collect()
    };
    let gamma_abc = lin(0..n_inst, gamma_inverse);
    let l = lin(n_inst..matrices.num_variables(), delta_inverse);
    drop(c);

    let _s = info_span!("key points").entered();
    let non_zero_b = b.iter().filter(|x| !x.is_zero()).count();
    let b_g2_query: Vec<G2Affine> = {
        let table = BatchMulPreprocessing::new(g2, non_zero_b.max(1));
        table.batch_mul(&b)
    };
    let h_scalars: Vec<Fr> = {
        let zt_delta = zt * delta_inverse;
        let mut powers = Vec::with_capacity(domain.size() - 1);
        let mut p = zt_delta;
        for _ in 0..domain.size() - 1 {
            powers.push(p);
            p *= tau;
        }
        powers
    };
    let num_scalars = a.len() + b.len() + l.len() + h_scalars.len() + gamma_abc.len();
    let table = BatchMulPreprocessing::new(g1, num_scalars);
    let a_query = table.batch_mul(&a);
    drop(a);
    let b_g1_query = table.batch_mul(&b);
    drop(b);
    let h_query = table.batch_mul(&h_scalars);
    drop(h_scalars);
    let l_query = table.batch_mul(&l);
    drop(l);
    let gamma_abc_g1 = table.batch_mul(&gamma_abc);
    drop(table);

    let vk = VerifyingKey::<Bn254> {
        alpha_g1: (g1 * alpha).into_affine(),
        beta_g2: (g2 * beta).into_affine(),
        gamma_g2: (g2 * gamma).into_affine(),
        delta_g2: (g2 * delta).into_affine(),
        gamma_abc_g1,
    };
    Ok(ProvingKey {
        vk,
        beta_g1: (g1 * beta).into_affine(),
        delta_g1: (g1 * delta).into_affine(),
        a_query,
        b_g1_query,
        b_g2_query,
        h_query,
        l_query,
    })
}

/// The quotient polynomial h of the libsnark reduction for assignment `z`
/// (`[1, inputs..., witness...]`), as ark-groth16 computes it.
///
/// # Errors
/// [`SynthesisError::PolynomialDegreeTooLarge`] beyond BN254's FFT domains.
pub fn quotient(matrices: &R1csMatrices, z: &[Fr]) -> Result<Vec<Fr>, SynthesisError> {
    let _span = info_span!("qap").entered();
    let domain = domain_for(matrices)?;
    let size = domain.size();
    let rows = matrices.num_constraints();
    let (mut a, mut b, mut c) = matrices.evaluate(z);
    a.resize(size, Fr::ZERO);
    b.resize(size, Fr::ZERO);
    c.resize(size, Fr::ZERO);
    a[rows..rows + matrices.num_instance].copy_from_slice(&z[..matrices.num_instance]);
    let coset = domain
        .get_coset(Fr::GENERATOR)
        .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
    for v in [&mut a, &mut b, &mut c] {
        domain.ifft_in_place(v);
        coset.fft_in_place(v);
    }
    let vanishing_inverse = domain
        .evaluate_vanishing_polynomial(Fr::GENERATOR)
        .inverse()
        .ok_or(SynthesisError::DivisionByZero)?;
    a.par_iter_mut()
        .zip(b.par_iter())
        .zip(c.par_iter())
        .for_each(|((a, b), c)| {
            *a = (*a * b - c) * vanishing_inverse;
        });
    drop(b);
    drop(c);
    coset.ifft_in_place(&mut a);
    Ok(a)
}

/// A proof for assignment `z` with blinding `r`, `s` (ark-groth16's
/// `create_proof_with_assignment`).
///
/// # Errors
/// As [`quotient`].
pub fn create_proof(
    pk: &ProvingKey<Bn254>,
    h: &[Fr],
    z: &[Fr],
    num_instance: usize,
    r: Fr,
    s: Fr,
) -> Result<Proof<Bn254>, SynthesisError> {
    let _span = info_span!("msm").entered();
    let scalars: Vec<<Fr as PrimeField>::BigInt> = z.par_iter().map(|x| x.into_bigint()).collect();
    let h_scalars: Vec<<Fr as PrimeField>::BigInt> =
        h.par_iter().map(|x| x.into_bigint()).collect();
    let h_acc = info_span!("h").in_scope(|| {
        G1Projective::msm_bigint(
            &pk.h_query,
            &h_scalars[..pk.h_query.len().min(h_scalars.len())],
        )
    });
    drop(h_scalars);
    let l_acc = info_span!("l")
        .in_scope(|| G1Projective::msm_bigint(&pk.l_query, &scalars[num_instance..]));
    let a_acc = info_span!("a").in_scope(|| G1Projective::msm_bigint(&pk.a_query, &scalars));
    let b_g1_acc =
        info_span!("b_g1").in_scope(|| G1Projective::msm_bigint(&pk.b_g1_query, &scalars));
    let b_g2_acc =
        info_span!("b_g2").in_scope(|| G2Projective::msm_bigint(&pk.b_g2_query, &scalars));
    let g_a = a_acc + pk.vk.alpha_g1 + pk.delta_g1 * r;
    let g1_b = b_g1_acc + pk.beta_g1 + pk.delta_g1 * s;
    let g2_b = b_g2_acc + pk.vk.beta_g2 + pk.vk.delta_g2 * s;
    let g_c = g_a * s + g1_b * r - pk.delta_g1 * (r * s) + l_acc + h_acc;
    Ok(Proof {
        a: g_a.into_affine(),
        b: g2_b.into_affine(),
        c: g_c.into_affine(),
    })
}

/// Blinding scalars for a proof.
pub fn blinding<R: RngCore + CryptoRng>(rng: &mut R) -> (Fr, Fr) {
    (Fr::rand(rng), Fr::rand(rng))
}

/// Checks `proof` against the verifying key and the public inputs (without
/// the leading one).
///
/// # Errors
/// [`SynthesisError`] for a malformed key.
pub fn verify(
    vk: &VerifyingKey<Bn254>,
    inputs: &[Fr],
    proof: &Proof<Bn254>,
) -> Result<bool, SynthesisError> {
    let pvk = ark_groth16::prepare_verifying_key(vk);
    ark_groth16::Groth16::<Bn254>::verify_proof(&pvk, proof, inputs)
}

/// The first constraint that `z` breaks, if any (checked before proving,
/// so an invalid statement is an error rather than a proof that fails).
pub fn unsatisfied_row(matrices: &R1csMatrices, z: &[Fr]) -> Option<usize> {
    let (a, b, c) = matrices.evaluate(z);
    (0..a.len())
        .into_par_iter()
        .find_first(|&i| a[i] * b[i] != c[i])
}
