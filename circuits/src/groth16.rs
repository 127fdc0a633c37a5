//! Groth16 over BN254 from stored [`R1csMatrices`]: key generation and
//! proving without arkworks' constraint system.
//!
//! Both follow ark-groth16 0.6 exactly (the `LibsnarkReduction` QAP, the
//! same key layout in [`ProvingKey`], the same proof equations), so keys and
//! proofs are ark-groth16's own types and `Groth16::verify` checks them; the
//! tests cross-check against ark-groth16's prover. Keys from a snarkjs
//! ceremony use snarkjs's QAP instead ([`Reduction::Circom`], ark-circom's
//! `CircomReduction`): same queries but H, and another h for the same
//! proof equations. What differs is memory:
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
use serde::{Deserialize, Serialize};
use tracing::info_span;

use crate::matrices::{R1csMatrices, SparseMatrix};

type Domain = GeneralEvaluationDomain<Fr>;

fn domain_for(m: &R1csMatrices) -> Result<Domain, SynthesisError> {
    Domain::new(m.num_constraints() + m.num_instance)
        .ok_or(SynthesisError::PolynomialDegreeTooLarge)
}

/// The domain of twice `domain`'s size, whose even elements are `domain`'s
/// (both are generated from the same two-adic root of unity).
fn doubled(domain: &Domain) -> Result<Domain, SynthesisError> {
    Domain::new(2 * domain.size()).ok_or(SynthesisError::PolynomialDegreeTooLarge)
}

/// The R1CS-to-QAP reduction a proving key is made for. It fixes the key's
/// H query and how the prover computes h; every other query, and the proof
/// equations, are the same. With n the domain size (constraints plus
/// public inputs with the one, rounded up to a power of two) and
/// `P = A·B - C` over the rows, the input-consistency rows included:
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduction {
    /// ark-groth16's `LibsnarkReduction`, our own setups': H query
    /// `tau^i Z(tau) / delta` for i < n - 1; h the coefficients of `P / Z`.
    #[default]
    Libsnark,
    /// snarkjs's (ark-circom's `CircomReduction`), keys from a snarkjs
    /// ceremony: H query `L_{2i+1}(tau) / delta` for i < n, `L_j` the
    /// Lagrange basis of the domain of size 2n; h the values of `P` at its
    /// odd points (`P` vanishes at the even ones, the n-domain, so
    /// `sum h_i L_{2i+1}(tau) = P(tau) = h(tau) Z(tau)`).
    Circom,
}

impl Reduction {
    /// The h vector for assignment `z` under this reduction: [`quotient`]
    /// or [`quotient_circom`].
    ///
    /// # Errors
    /// [`SynthesisError::PolynomialDegreeTooLarge`] beyond BN254's FFT domains.
    pub fn quotient(self, matrices: &R1csMatrices, z: &[Fr]) -> Result<Vec<Fr>, SynthesisError> {
        match self {
            Reduction::Libsnark => quotient(matrices, z),
            Reduction::Circom => quotient_circom(matrices, z),
        }
    }
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
/// from `rng`, for the [`Reduction::Libsnark`] QAP. Whoever knows that
/// randomness can forge proofs.
///
/// # Errors
/// [`SynthesisError::PolynomialDegreeTooLarge`] beyond BN254's FFT domains.
pub fn generate_parameters<R: RngCore + CryptoRng>(
    matrices: &R1csMatrices,
    rng: &mut R,
) -> Result<ProvingKey<Bn254>, SynthesisError> {
    generate_parameters_for(matrices, Reduction::Libsnark, rng)
}

/// As [`generate_parameters`], for the QAP of `reduction`. The randomness
/// is drawn in the order tau, alpha, beta, gamma, delta; tau outside the
/// n-domain for [`Reduction::Libsnark`] (exactly as before reductions
/// existed, so seeded keys do not change), outside the 2n-domain for
/// [`Reduction::Circom`].
///
/// # Errors
/// [`SynthesisError::PolynomialDegreeTooLarge`] beyond BN254's FFT domains.
pub fn generate_parameters_for<R: RngCore + CryptoRng>(
    matrices: &R1csMatrices,
    reduction: Reduction,
    rng: &mut R,
) -> Result<ProvingKey<Bn254>, SynthesisError> {
    let _span = info_span!("setup").entered();
    let domain = domain_for(matrices)?;
    let tau = match reduction {
        Reduction::Libsnark => domain.sample_element_outside_domain(rng),
        Reduction::Circom => doubled(&domain)?.sample_element_outside_domain(rng),
    };
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
    let h_scalars: Vec<Fr> = match reduction {
        Reduction::Libsnark => {
            let zt_delta = zt * delta_inverse;
            let mut powers = Vec::with_capacity(domain.size() - 1);
            let mut p = zt_delta;
            for _ in 0..domain.size() - 1 {
                powers.push(p);
                p *= tau;
            }
            powers
        }
        // L_{2i+1}(tau) / delta: the odd Lagrange basis of the 2n-domain.
        Reduction::Circom => doubled(&domain)?
            .evaluate_all_lagrange_coefficients(tau)
            .into_iter()
            .skip(1)
            .step_by(2)
            .map(|l| l * delta_inverse)
            .collect(),
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

/// `A z`, `B z` and `C z` over the rows (with the libsnark input-consistency
/// rows `a[rows + i] = z[i]`, which snarkjs's keys have too), interpolated
/// over the n-domain and evaluated on the coset `shift·H`; with the coset.
#[allow(clippy::type_complexity)]
fn on_coset(
    matrices: &R1csMatrices,
    z: &[Fr],
    domain: &Domain,
    shift: Fr,
) -> Result<(Vec<Fr>, Vec<Fr>, Vec<Fr>, Domain), SynthesisError> {
    let size = domain.size();
    let rows = matrices.num_constraints();
    let (mut a, mut b, mut c) = matrices.evaluate(z);
    a.resize(size, Fr::ZERO);
    b.resize(size, Fr::ZERO);
    c.resize(size, Fr::ZERO);
    a[rows..rows + matrices.num_instance].copy_from_slice(&z[..matrices.num_instance]);
    let coset = domain
        .get_coset(shift)
        .ok_or(SynthesisError::PolynomialDegreeTooLarge)?;
    for v in [&mut a, &mut b, &mut c] {
        domain.ifft_in_place(v);
        coset.fft_in_place(v);
    }
    Ok((a, b, c, coset))
}

/// `a[i] = (a[i]·b[i] − c[i])·k`, in parallel.
fn product_minus(a: &mut [Fr], b: &[Fr], c: &[Fr], k: Fr) {
    a.par_iter_mut()
        .zip(b.par_iter())
        .zip(c.par_iter())
        .for_each(|((a, b), c)| {
            *a = (*a * b - c) * k;
        });
}

/// The quotient polynomial h of the libsnark reduction for assignment `z`
/// (`[1, inputs..., witness...]`), as ark-groth16 computes it.
///
/// # Errors
/// [`SynthesisError::PolynomialDegreeTooLarge`] beyond BN254's FFT domains.
pub fn quotient(matrices: &R1csMatrices, z: &[Fr]) -> Result<Vec<Fr>, SynthesisError> {
    let _span = info_span!("qap").entered();
    let domain = domain_for(matrices)?;
    let (mut a, b, c, coset) = on_coset(matrices, z, &domain, Fr::GENERATOR)?;
    let vanishing_inverse = domain
        .evaluate_vanishing_polynomial(Fr::GENERATOR)
        .inverse()
        .ok_or(SynthesisError::DivisionByZero)?;
    product_minus(&mut a, &b, &c, vanishing_inverse);
    drop(b);
    drop(c);
    coset.ifft_in_place(&mut a);
    Ok(a)
}

/// The h vector of snarkjs's reduction ([`Reduction::Circom`], ark-circom's
/// `CircomReduction`) for assignment `z`: `A z · B z - C z` evaluated on the
/// coset `w·H`, w a primitive 2n-th root of unity, i.e. at the odd points of
/// the 2n-domain. No division by the vanishing polynomial: the key's H
/// query holds it.
///
/// # Errors
/// [`SynthesisError::PolynomialDegreeTooLarge`] beyond BN254's FFT domains
/// (2n must be one too).
pub fn quotient_circom(matrices: &R1csMatrices, z: &[Fr]) -> Result<Vec<Fr>, SynthesisError> {
    let _span = info_span!("qap").entered();
    let domain = domain_for(matrices)?;
    let w = doubled(&domain)?.element(1);
    let (mut a, b, c, _) = on_coset(matrices, z, &domain, w)?;
    product_minus(&mut a, &b, &c, Fr::ONE);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;
    use crate::pplns::{assign, PplnsCircuit, PplnsParams};
    use crate::{fixture, proof};
    use share_verifier::binding::DEFAULT_PAGE_RECORDS;

    /// The N = 2 circuit, a real witness of its fixture window and the
    /// public inputs.
    fn smallest() -> (R1csMatrices, Vec<Fr>, Vec<Fr>) {
        let params = PplnsParams::new(1).unwrap();
        let matrices = keys::build_matrices(params).unwrap();
        let a = assign(&params, &fixture::fixture_window(1), DEFAULT_PAGE_RECORDS).unwrap();
        let circuit = PplnsCircuit::new(params).unwrap();
        let z = proof::witness(&circuit, &a, &matrices).unwrap();
        (matrices, z, a.public.to_array().to_vec())
    }

    /// The circom-layout key's H query is `L_{2i+1}(tau) / delta`, checked
    /// against the closed form `L_j(x) = zeta_j (x^{2n} - 1) / (2n (x - zeta_j))`
    /// with tau and delta drawn again from the same seeded RNG.
    #[test]
    fn a_circom_key_holds_the_odd_lagrange_basis_of_the_doubled_domain() {
        let (matrices, _, _) = smallest();
        let pk = generate_parameters_for(
            &matrices,
            Reduction::Circom,
            &mut keys::seeded_rng("circom"),
        )
        .unwrap();
        let domain = domain_for(&matrices).unwrap();
        let n = domain.size();
        assert_eq!(pk.h_query.len(), n);
        let double = doubled(&domain).unwrap();
        assert_eq!(double.element(2), domain.element(1));
        let mut rng = keys::seeded_rng("circom");
        let tau = double.sample_element_outside_domain(&mut rng);
        let _alpha_beta_gamma = [Fr::rand(&mut rng), Fr::rand(&mut rng), Fr::rand(&mut rng)];
        let delta = Fr::rand(&mut rng);
        assert_eq!(
            pk.delta_g1,
            (G1Projective::generator() * delta).into_affine()
        );
        let two_n = Fr::from(2 * n as u64);
        for i in [0, 1, n / 2, n - 1] {
            let zeta = double.element(2 * i + 1);
            let l = zeta * (tau.pow([2 * n as u64]) - Fr::ONE) / (two_n * (tau - zeta));
            let expected = (G1Projective::generator() * (l / delta)).into_affine();
            assert_eq!(pk.h_query[i], expected, "H[{i}]");
        }
    }

    /// A real N = 2 witness proves with the circom reduction against a
    /// circom-layout key; the libsnark h or a tampered h does not.
    #[test]
    fn the_circom_reduction_proves_against_a_circom_key() {
        let (matrices, z, inputs) = smallest();
        let pk = generate_parameters_for(
            &matrices,
            Reduction::Circom,
            &mut keys::seeded_rng("circom"),
        )
        .unwrap();
        let (r, s) = (Fr::from(3u64), Fr::from(5u64));
        let prove = |h: &[Fr]| {
            let proof = create_proof(&pk, h, &z, matrices.num_instance, r, s).unwrap();
            verify(&pk.vk, &inputs, &proof).unwrap()
        };
        let h = Reduction::Circom.quotient(&matrices, &z).unwrap();
        assert_eq!(h.len(), pk.h_query.len());
        assert!(prove(&h));
        let libsnark = quotient(&matrices, &z).unwrap();
        assert!(!prove(&libsnark));
        let mut tampered = h.clone();
        tampered[7] += Fr::ONE;
        assert!(!prove(&tampered));
        // And the other way round: the circom h against a libsnark key.
        let libsnark_pk = generate_parameters(&matrices, &mut keys::seeded_rng("circom")).unwrap();
        let proof = create_proof(&libsnark_pk, &h, &z, matrices.num_instance, r, s).unwrap();
        assert!(!verify(&libsnark_pk.vk, &inputs, &proof).unwrap());
        let proof = create_proof(&libsnark_pk, &libsnark, &z, matrices.num_instance, r, s).unwrap();
        assert!(verify(&libsnark_pk.vk, &inputs, &proof).unwrap());
    }

    /// The circom h is `P = A·B - C` at the odd 2n-th roots: interpolating
    /// it back gives P at a random point, as the three interpolated
    /// polynomials do.
    #[test]
    fn the_circom_h_is_p_on_the_odd_points() {
        let (matrices, z, _) = smallest();
        let h = quotient_circom(&matrices, &z).unwrap();
        let domain = domain_for(&matrices).unwrap();
        let double = doubled(&domain).unwrap();
        let x = Fr::from(123_456_789u64);
        let l = double.evaluate_all_lagrange_coefficients(x);
        let p_from_h: Fr = h
            .iter()
            .zip(l.iter().skip(1).step_by(2))
            .map(|(h, l)| *h * l)
            .sum();
        let rows = matrices.num_constraints();
        let (mut a, b, c) = matrices.evaluate(&z);
        a.resize(domain.size(), Fr::ZERO);
        a[rows..rows + matrices.num_instance].copy_from_slice(&z[..matrices.num_instance]);
        let ln = domain.evaluate_all_lagrange_coefficients(x);
        let at = |v: &[Fr]| -> Fr { v.iter().zip(&ln).map(|(v, l)| *v * l).sum() };
        assert_eq!(p_from_h, at(&a) * at(&b) - at(&c));
    }

    #[test]
    fn reductions_serialize_as_lowercase_names() {
        assert_eq!(
            serde_json::to_string(&Reduction::Libsnark).unwrap(),
            "\"libsnark\""
        );
        assert_eq!(
            serde_json::to_string(&Reduction::Circom).unwrap(),
            "\"circom\""
        );
        assert_eq!(
            serde_json::from_str::<Reduction>("\"circom\"").unwrap(),
            Reduction::Circom
        );
        assert_eq!(Reduction::default(), Reduction::Libsnark);
    }
}
