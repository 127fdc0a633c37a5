//! The phase-2 ceremony on [`Zkey`]s, as snarkjs runs it: contributions
//! that multiply delta by a secret, a final random beacon, and the check
//! of a whole chain against the initial key of the circuit and the ptau.
//!
//! Each contribution multiplies delta (in G1 and G2) by a secret x and
//! divides the C and H queries by it, and publishes a proof that it knew
//! x: a random point s, x·s, and x·hash_to_g2(transcript), where the
//! transcript hashes the circuit hash, every earlier contribution and
//! (s, x·s). Whoever destroys one contribution's x leaves nobody able to
//! forge proofs. The contribution hash that participants publish is
//! BLAKE2b-512 of the contribution's public key and transcript.

use ark_bn254::{g1::Config as G1Config, Bn254, Fr, G1Affine, G1Projective, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::scalar_mul::glv::GLVConfig;
use ark_ec::{AdditiveGroup, AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::{BigInteger, Field, PrimeField, UniformRand, Zero};
use blake2::{Blake2b512, Digest};
use rayon::prelude::*;
use tracing::info_span;
use zeroize::Zeroize;

use super::encoding::{g1_to_u, g2_to_u};
use super::rng::{self, SnarkjsChaCha};
use super::zkey::{Contribution, ContributionKind, Zkey};

/// Why a chain of contributions does not verify. Each names the
/// contribution (1-based, as snarkjs numbers them) where it can.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Phase2Error {
    /// The key was made for another circuit or another phase-1 file.
    #[error("the key is not for this circuit and ptau: {0} differs from the initial key's")]
    NotThisCircuit(&'static str),
    /// A contribution's transcript is not the hash of the chain before it
    /// (a contribution was dropped, reordered or altered).
    #[error("contribution #{index}{name}: its transcript is not the hash of the chain before it (a contribution was dropped, reordered or changed)")]
    Transcript { index: usize, name: String },
    /// A contribution's proof of knowledge fails.
    #[error(
        "contribution #{index}{name}: its public key's G1 and G2 parts do not have the same ratio"
    )]
    KeyProof { index: usize, name: String },
    /// delta after a contribution is not delta before it times its secret.
    #[error("contribution #{index}{name}: delta after it does not follow from delta before it and its public key")]
    DeltaChain { index: usize, name: String },
    /// A beacon contribution is not the one its beacon value gives.
    #[error("contribution #{index}{name}: its key is not the one its beacon gives")]
    Beacon { index: usize, name: String },
    /// The key's delta is not the last contribution's.
    #[error("the key's delta ({0}) is not the one the contributions lead to")]
    Delta(&'static str),
    /// The C or H query was not scaled by the contributions' secrets alone.
    #[error("the {0} query does not match the initial key's scaled by 1/delta")]
    Query(&'static str),
    /// A beacon's parameters are out of range.
    #[error(transparent)]
    BeaconParams(#[from] rng::BeaconError),
}

/// What `verify` reports of each contribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionSummary {
    /// Its name, if given.
    pub name: Option<String>,
    /// Its contribution hash.
    pub hash: [u8; 64],
    /// For a beacon, its value and log2 of its iterations.
    pub beacon: Option<(Vec<u8>, u8)>,
}

/// The hash a contributor publishes: BLAKE2b-512 of the contribution's
/// public key and transcript.
pub fn contribution_hash(c: &Contribution) -> [u8; 64] {
    let mut h = Blake2b512::new();
    hash_pub_key(&mut h, c);
    h.finalize().into()
}

fn hash_pub_key(h: &mut Blake2b512, c: &Contribution) {
    h.update(g1_to_u(&c.delta_after));
    h.update(g1_to_u(&c.g1_s));
    h.update(g1_to_u(&c.g1_sx));
    h.update(g2_to_u(&c.g2_spx));
    h.update(c.transcript);
}

/// The transcript hasher after the circuit hash and `before` contributions.
fn chain_hasher(zkey: &Zkey, before: usize) -> Blake2b512 {
    let mut h = Blake2b512::new();
    h.update(zkey.mpc.cs_hash);
    for c in &zkey.mpc.contributions[..before] {
        hash_pub_key(&mut h, c);
    }
    h
}

fn same_ratio(a1: G1Affine, b1: G1Affine, a2: G2Affine, b2: G2Affine) -> bool {
    // e(a1, b2) = e(b1, a2)
    Bn254::multi_pairing([a1, -b1], [b2, a2]).0 == <Bn254 as Pairing>::TargetField::ONE
}

/// Applies the secret drawn from `rng` as the next contribution of
/// `zkey`, in place; returns the contribution hash. The secret is wiped
/// before returning.
fn apply(
    zkey: &mut Zkey,
    rng: &mut SnarkjsChaCha,
    kind: ContributionKind,
    name: Option<String>,
) -> [u8; 64] {
    let _span = info_span!("contribute", n = zkey.mpc.contributions.len() + 1).entered();
    let mut hasher = chain_hasher(zkey, zkey.mpc.contributions.len());
    let mut x = rng::fr_from_rng(rng);
    let g1_s = rng::g1_from_rng(rng);
    let g1_sx = (g1_s * x).into_affine();
    hasher.update(g1_to_u(&g1_s));
    hasher.update(g1_to_u(&g1_sx));
    let transcript: [u8; 64] = hasher.finalize().into();
    let g2_spx = (rng::hash_to_g2(&transcript) * x).into_affine();
    zkey.delta_g1 = (zkey.delta_g1 * x).into_affine();
    zkey.delta_g2 = (zkey.delta_g2 * x).into_affine();
    let mut inv = x
        .inverse()
        .expect("a secret drawn from the field is nonzero");
    x.zeroize();
    {
        let _s = info_span!("scale C and H", points = zkey.c.len() + zkey.h.len()).entered();
        for query in [&mut zkey.c, &mut zkey.h] {
            *query = scale_all(query, inv);
        }
    }
    inv.zeroize();
    let c = Contribution {
        delta_after: zkey.delta_g1,
        g1_s,
        g1_sx,
        g2_spx,
        transcript,
        kind,
        name,
    };
    let hash = contribution_hash(&c);
    zkey.mpc.contributions.push(c);
    hash
}

/// Every point times `k`: a contribution's 1/delta over the C and H
/// queries, one scalar for millions of points. k is split once by BN254's
/// GLV endomorphism into two halves of about 128 bits, each written once
/// as a width-5 NAF, so that a point costs about 128 doublings and 50
/// additions, where ark's affine double-and-add (`G1Affine * Fr`) spends
/// 254 and 127. The halves and their digits are wiped after use.
fn scale_all(points: &[G1Affine], k: Fr) -> Vec<G1Affine> {
    const W: usize = 5;
    /// P, 3P, 5P, … 15P.
    const ODD: usize = 1 << (W - 2);
    let ((pos1, mut k1), (pos2, mut k2)) = G1Config::scalar_decomposition(k);
    let naf = |x: Fr| {
        x.into_bigint()
            .find_wnaf(W)
            .expect("a width of 5 is supported")
    };
    let (mut naf1, mut naf2) = (naf(k1), naf(k2));
    k1.zeroize();
    k2.zeroize();
    let len = naf1.len().max(naf2.len());
    // k·P = k1·(±P) + k2·(±φ(P)), the signs those of the halves.
    let flip = pos1 != pos2;
    let out = points
        .par_chunks(1 << 12)
        .flat_map_iter(|chunk| {
            let mut odd = Vec::with_capacity(chunk.len() * ODD);
            for p in chunk {
                let base = if pos1 {
                    p.into_group()
                } else {
                    -p.into_group()
                };
                let double = base.double();
                let mut m = base;
                for _ in 0..ODD {
                    odd.push(m);
                    m += double;
                }
            }
            let odd = G1Projective::normalize_batch(&odd);
            let scaled: Vec<G1Projective> = odd
                .chunks(ODD)
                .map(|t1| {
                    let t2: [G1Affine; ODD] = std::array::from_fn(|j| {
                        if t1[j].is_zero() {
                            return t1[j];
                        }
                        let e = G1Config::endomorphism_affine(&t1[j]);
                        if flip {
                            -e
                        } else {
                            e
                        }
                    });
                    let mut acc = G1Projective::zero();
                    for i in (0..len).rev() {
                        acc.double_in_place();
                        for (digits, table) in [(&naf1, t1), (&naf2, &t2[..])] {
                            match digits.get(i).copied().unwrap_or(0) {
                                0 => {}
                                d if d > 0 => acc += &table[d as usize / 2],
                                d => acc -= &table[(-d) as usize / 2],
                            }
                        }
                    }
                    acc
                })
                .collect();
            G1Projective::normalize_batch(&scaled)
        })
        .collect();
    naf1.zeroize();
    naf2.zeroize();
    out
}

/// Adds a participant's contribution from `rng` (see
/// [`rng::rng_from_entropy`]) and returns its hash.
pub fn contribute(zkey: &mut Zkey, rng: &mut SnarkjsChaCha, name: Option<String>) -> [u8; 64] {
    apply(zkey, rng, ContributionKind::Secret, name)
}

/// Adds the final contribution from a public random beacon (2^`iterations_exp`
/// SHA-256 iterations of `beacon`) and returns its hash.
///
/// # Errors
/// [`Phase2Error::BeaconParams`] for parameters snarkjs refuses.
pub fn beacon(
    zkey: &mut Zkey,
    beacon: &[u8],
    iterations_exp: u8,
    name: Option<String>,
) -> Result<[u8; 64], Phase2Error> {
    let mut rng = rng::rng_from_beacon(beacon, iterations_exp)?;
    Ok(apply(
        zkey,
        &mut rng,
        ContributionKind::Beacon {
            hash: beacon.to_vec(),
            iterations_exp,
        },
        name,
    ))
}

fn label(c: &Contribution) -> String {
    c.name
        .as_ref()
        .map(|n| format!(" ({n})"))
        .unwrap_or_default()
}

/// Checks `zkey`'s whole chain against `initial`, the initial key of the
/// circuit and the ptau ([`Zkey::new`]), as `snarkjs zkey verify` does:
/// every transcript, every proof of knowledge, the delta chain, every
/// beacon, the circuit's sections unchanged, and the C and H queries
/// scaled by exactly 1/delta (checked on random combinations).
///
/// # Errors
/// [`Phase2Error`] naming the first failure and the contribution.
pub fn verify(zkey: &Zkey, initial: &Zkey) -> Result<Vec<ContributionSummary>, Phase2Error> {
    let _span = info_span!("verify", contributions = zkey.mpc.contributions.len()).entered();
    if zkey.mpc.cs_hash != initial.mpc.cs_hash {
        return Err(Phase2Error::NotThisCircuit("the circuit hash"));
    }
    let same = [
        (
            "the shape",
            zkey.n_vars == initial.n_vars
                && zkey.n_public == initial.n_public
                && zkey.domain_size == initial.domain_size,
        ),
        ("alpha", zkey.alpha_g1 == initial.alpha_g1),
        (
            "beta",
            zkey.beta_g1 == initial.beta_g1 && zkey.beta_g2 == initial.beta_g2,
        ),
        ("gamma", zkey.gamma_g2 == initial.gamma_g2),
        ("the IC query", zkey.ic == initial.ic),
        ("the coefficients", zkey.coefs == initial.coefs),
        ("the A query", zkey.a == initial.a),
        ("the B1 query", zkey.b1 == initial.b1),
        ("the B2 query", zkey.b2 == initial.b2),
    ];
    if let Some((what, _)) = same.iter().find(|(_, ok)| !ok) {
        return Err(Phase2Error::NotThisCircuit(what));
    }

    let mut summaries = Vec::new();
    let mut delta = G1Affine::generator();
    let mut hasher = chain_hasher(zkey, 0);
    for (i, c) in zkey.mpc.contributions.iter().enumerate() {
        let (index, name) = (i + 1, label(c));
        let mut ours = hasher.clone();
        ours.update(g1_to_u(&c.g1_s));
        ours.update(g1_to_u(&c.g1_sx));
        if <[u8; 64]>::from(ours.finalize()) != c.transcript {
            return Err(Phase2Error::Transcript { index, name });
        }
        let g2_sp = rng::hash_to_g2(&c.transcript);
        if !same_ratio(c.g1_s, c.g1_sx, g2_sp, c.g2_spx) {
            return Err(Phase2Error::KeyProof { index, name });
        }
        if !same_ratio(delta, c.delta_after, g2_sp, c.g2_spx) {
            return Err(Phase2Error::DeltaChain { index, name });
        }
        let beacon = match &c.kind {
            ContributionKind::Secret => None,
            ContributionKind::Beacon {
                hash,
                iterations_exp,
            } => {
                let mut rng = rng::rng_from_beacon(hash, *iterations_exp)?;
                let x = rng::fr_from_rng(&mut rng);
                let s = rng::g1_from_rng(&mut rng);
                if s != c.g1_s || (s * x).into_affine() != c.g1_sx {
                    return Err(Phase2Error::Beacon { index, name });
                }
                Some((hash.clone(), *iterations_exp))
            }
        };
        hash_pub_key(&mut hasher, c);
        summaries.push(ContributionSummary {
            name: c.name.clone(),
            hash: contribution_hash(c),
            beacon,
        });
        delta = c.delta_after;
    }
    if zkey.delta_g1 != delta {
        return Err(Phase2Error::Delta("G1"));
    }
    if !same_ratio(
        G1Affine::generator(),
        delta,
        initial.delta_g2,
        zkey.delta_g2,
    ) {
        return Err(Phase2Error::Delta("G2"));
    }
    for (what, ours, theirs) in [("C", &zkey.c, &initial.c), ("H", &zkey.h, &initial.h)] {
        if ours.len() != theirs.len() || !scaled_by_delta(ours, theirs, zkey) {
            return Err(Phase2Error::Query(what));
        }
    }
    Ok(summaries)
}

/// Whether `scaled` = `initial` / delta, on a random linear combination
/// with 128-bit coefficients: e(Σ rᵢ·initialᵢ, G2) = e(Σ rᵢ·scaledᵢ, delta·G2).
fn scaled_by_delta(scaled: &[G1Affine], initial: &[G1Affine], zkey: &Zkey) -> bool {
    let _span = info_span!("check query", points = scaled.len()).entered();
    let mut rng = rand::rngs::OsRng;
    let r: Vec<Fr> = (0..scaled.len())
        .map(|_| Fr::from(u128::rand(&mut rng)))
        .collect();
    let (a, b) = rayon::join(
        || G1Projective::msm(initial, &r).expect("equal lengths"),
        || G1Projective::msm(scaled, &r).expect("equal lengths"),
    );
    same_ratio(
        a.into_affine(),
        b.into_affine(),
        zkey.delta_g2,
        G2Affine::generator(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// `scale_all` is plain scalar multiplication, whatever the signs of
        /// the scalar's GLV halves, for chunks of any length and the
        /// identity among the points.
        #[test]
        fn scale_all_multiplies_every_point(seed: u64, len in 0usize..40, zero_at in 0usize..40) {
            let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
            let mut points: Vec<G1Affine> =
                (0..len).map(|_| G1Affine::rand(&mut rng)).collect();
            if zero_at < len {
                points[zero_at] = G1Affine::zero();
            }
            for k in [Fr::rand(&mut rng), -Fr::rand(&mut rng), Fr::ONE, -Fr::ONE, Fr::from(2u64)] {
                let expected: Vec<G1Affine> =
                    points.iter().map(|p| (*p * k).into_affine()).collect();
                prop_assert_eq!(scale_all(&points, k), expected);
            }
        }
    }

    /// Across the chunk boundary of the parallel split.
    #[test]
    fn scale_all_crosses_chunks() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let g = G1Affine::rand(&mut rng);
        let points: Vec<G1Affine> = (1..=(1u64 << 12) + 3)
            .map(|i| (g * Fr::from(i)).into_affine())
            .collect();
        let k = Fr::rand(&mut rng);
        let scaled = scale_all(&points, k);
        for (i, p) in scaled.iter().enumerate() {
            assert_eq!(*p, (g * (k * Fr::from(i as u64 + 1))).into_affine());
        }
    }
}
