//! Checking a phase-1 file before a ceremony builds on it: that its powers
//! are powers of one tau, scaled by one alpha and one beta, and that its
//! Lagrange sections are those powers in the Lagrange basis — for the part
//! of the file a circuit of domain 2^`log_size` uses.
//!
//! [`verify_powers`] checks, each with random 128-bit linear combinations
//! (one multi-scalar multiplication per side and one pairing product, so a
//! wrong point passes with probability about 2^-128):
//! 1. tau·G1 (section 2) starts at the generator and is geometric:
//!    e(Σ rᵢ·Pᵢ, tau·G2) = e(Σ rᵢ·Pᵢ₊₁, G2);
//! 2. tau·G2 (section 3) starts at the generator and agrees with tau·G1:
//!    e(Σ rᵢ·Pᵢ, G2) = e(G1, Σ rᵢ·Qᵢ);
//! 3. alpha·tau·G1 and beta·tau·G1 (sections 4, 5) are geometric with the
//!    same tau, and beta·tau·G1 agrees with beta·G2 (section 6):
//!    e(Σ rᵢ·Bᵢ, G2) = e(Σ rᵢ·Pᵢ, beta·G2);
//! 4. every Lagrange block the key uses (sections 12–15 at 2^`log_size`,
//!    section 12 also at 2^(`log_size`+1)) is the monomial series in the
//!    Lagrange basis: Σ rᵢ·Lᵢ = Σ cⱼ·Pⱼ with c = iFFT(r), since
//!    Lᵢ(x) = (1/n)·Σⱼ ω^(−ij)·xʲ. The top block of section 12 is made by
//!    snarkjs from 2^(power+1) − 1 powers and a zero point; so is it here.
//!
//! Together these are what a circuit's key is made from, so a file that
//! passes yields a sound initial key whatever its history.
//!
//! It also reads the contributions (section 7) with their names, public
//! keys and hashes ([`PtauContribution`], [`read_contributions`]), for the
//! report. The response hash of each contribution is computed as snarkjs
//! prints it, so that it can be compared with the contributors' published
//! hashes. The chain of contributions (each one's proof of knowledge, the
//! challenge chain from the first challenge, beacons, and the last one's
//! hashes against the file) is checked by
//! [`super::ptau_chain::verify_chain`]: that proves who took part, not that
//! the powers are consistent, so a caller runs both.

use ark_bn254::{Bn254, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup, VariableBaseMSM};
use ark_ff::Field;
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use rand::Rng;
use tracing::{info, info_span};

use super::encoding::{self, EncodingError, G1_BYTES, G2_BYTES};
use super::ptau::{G1Series, Ptau, PtauError};
use super::rng::BeaconError;

/// Errors of checking a phase-1 file.
#[derive(Debug, thiserror::Error)]
pub enum PtauVerifyError {
    /// The file could not be read.
    #[error(transparent)]
    Ptau(#[from] PtauError),
    /// A series does not start at the group's generator.
    #[error("section {section}: the first point is not the generator")]
    NotGenerator { section: u32 },
    /// A secret is zero: the point that carries it is the identity.
    #[error("section {section}: point {index} is the identity (a zero secret)")]
    Degenerate { section: u32, index: u64 },
    /// A series is not geometric with the ratio tau.
    #[error("section {section}: the points are not successive powers of tau")]
    NotGeometric { section: u32 },
    /// tau·G2 (section 3) does not hold the powers of tau·G1 (section 2).
    #[error("section {section}: the G2 powers of tau do not match the G1 powers (section 2)")]
    G2Mismatch { section: u32 },
    /// beta·tau·G1 (section 5) is not beta·G2's (section 6) beta times tau·G1.
    #[error("section {section}: beta·tau·G1 does not match beta·G2 (section 6)")]
    BetaMismatch { section: u32 },
    /// A Lagrange block is not the monomial powers in the Lagrange basis.
    #[error("section {section}: the Lagrange block of domain 2^{log_size} does not match the powers of tau")]
    LagrangeMismatch { section: u32, log_size: u32 },
    /// The domain is larger than the file's.
    #[error("a domain of 2^{log_size} needs a phase-1 file of power {log_size} or more; this one has power {power}")]
    TooSmall { log_size: u32, power: u32 },
    /// The contributions section is malformed.
    #[error("section 7, contribution {index}: {problem}")]
    Contribution { index: usize, problem: &'static str },
    /// A contribution's point is malformed.
    #[error("section 7, contribution {index}, {what}: {source}")]
    ContributionPoint {
        index: usize,
        what: &'static str,
        #[source]
        source: EncodingError,
    },
    /// The file records no contribution: its secrets are all one, known to
    /// everyone (snarkjs refuses it for production too).
    #[error("section 7: no contribution, so every secret is public")]
    NoContributions,
    /// A contribution's proof of knowledge of one of its secrets fails:
    /// its G2 point `g2_spx` is not `g2_sp` times the secret of its G1 pair.
    #[error("contribution {index} \"{name}\": its proof of knowledge of {which} does not verify")]
    ContributionKey {
        index: usize,
        name: String,
        which: &'static str,
    },
    /// A contribution's key was not made for the challenge the previous
    /// contribution left (or the first challenge): none of its three proofs
    /// of knowledge verifies against that challenge, so the previous
    /// contribution's next-challenge hash was altered, or a contribution
    /// was dropped or reordered.
    #[error("contribution {index} \"{name}\": its key was not made for the challenge the contribution before it left (the challenge chain is broken)")]
    ChallengeChain { index: usize, name: String },
    /// A beacon contribution's key is not the one its beacon derives.
    #[error(
        "contribution {index} \"{name}\": its key's {which} is not the one its beacon derives"
    )]
    BeaconKey {
        index: usize,
        name: String,
        which: &'static str,
    },
    /// A beacon contribution's parameters are ones snarkjs never writes.
    #[error("contribution {index} \"{name}\": {source}")]
    BeaconParams {
        index: usize,
        name: String,
        #[source]
        source: BeaconError,
    },
    /// A contribution's point is not the previous contribution's (or the
    /// generator, for the first) times the secret its key proves.
    #[error("contribution {index} \"{name}\": its {which} does not follow from the previous contribution's by its key")]
    NotFollowing {
        index: usize,
        name: String,
        which: &'static str,
    },
    /// The last contribution's point is not the file's.
    #[error("contribution {index} \"{name}\": its {which} is not the file's (section {section})")]
    LastPoint {
        index: usize,
        name: String,
        which: &'static str,
        section: u32,
    },
    /// The last contribution's next challenge is not the hash of its
    /// response hash and the file's powers: its response does not lead to
    /// these powers.
    #[error("contribution {index} \"{name}\": its next-challenge hash is not the hash of its response hash and the file's powers")]
    ResponseHash { index: usize, name: String },
}

/// A contributor's public key: for each of tau, alpha and beta, a random
/// G1 point s, s·x and the G2 point hashed from the challenge times x
/// (snarkjs's `readPtauPubKey`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtauPubKey {
    /// tau's (s, s·tau) in G1.
    pub tau_g1: (G1Affine, G1Affine),
    /// alpha's (s, s·alpha) in G1.
    pub alpha_g1: (G1Affine, G1Affine),
    /// beta's (s, s·beta) in G1.
    pub beta_g1: (G1Affine, G1Affine),
    /// tau's, alpha's and beta's sp·x in G2.
    pub g2_spx: [G2Affine; 3],
}

/// One contribution recorded in section 7.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtauContribution {
    /// The contributor's name, when given.
    pub name: Option<String>,
    /// tau·G1 after this contribution (its first power).
    pub tau_g1: G1Affine,
    /// tau·G2 after this contribution.
    pub tau_g2: G2Affine,
    /// alpha·G1 after this contribution.
    pub alpha_g1: G1Affine,
    /// beta·G1 after this contribution.
    pub beta_g1: G1Affine,
    /// beta·G2 after this contribution.
    pub beta_g2: G2Affine,
    /// The contributor's public key.
    pub key: PtauPubKey,
    /// The contribution hash snarkjs prints and contributors publish: the
    /// Blake2b-512 of the response, resumed from the stored partial hash
    /// over the public key.
    pub response_hash: [u8; 64],
    /// The challenge hash of the next contribution.
    pub next_challenge: [u8; 64],
    /// The beacon's hash and iteration exponent, for a beacon.
    pub beacon: Option<(Vec<u8>, u8)>,
}

/// What [`verify_powers`] checked.
#[derive(Debug, Clone)]
pub struct PowersReport {
    /// The file's power.
    pub power: u32,
    /// The power the ceremony was run at.
    pub ceremony_power: u32,
    /// The domain checked, 2^`log_size`.
    pub log_size: u32,
    /// tau·G1 points checked (from tau⁰).
    pub tau_g1: u64,
    /// tau·G2, alpha·tau·G1 and beta·tau·G1 points checked (from tau⁰).
    pub tau_g2: u64,
    /// The Lagrange blocks checked, as (section, log2 of the domain).
    pub lagrange: Vec<(u32, u32)>,
    /// The contributions of section 7, oldest first.
    pub contributions: Vec<PtauContribution>,
}

impl std::fmt::Display for PowersReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "powers of tau OK for 2^{}: power {} (ceremony {}), {} tau·G1, {} tau·G2/alpha/beta powers, {} Lagrange blocks, phase-1 contributions: {}",
            self.log_size,
            self.power,
            self.ceremony_power,
            self.tau_g1,
            self.tau_g2,
            self.lagrange.len(),
            self.contributions.len()
        )?;
        let names: Vec<&str> = self
            .contributions
            .iter()
            .map(|c| c.name.as_deref().unwrap_or("(anonymous)"))
            .collect();
        if !names.is_empty() {
            write!(f, " ({})", names.join(", "))?;
        }
        Ok(())
    }
}

/// Points per chunk of snarkjs's H hash in `zkey new` (see `zkey::hash_h`).
pub const H_HASH_CHUNK: u64 = 1 << 14;

/// One past the last tau·G1 power snarkjs's H hash reads for a domain of
/// 2^`log_size`: every chunk has min(n − 1, 2^14) points, so past 2^14
/// the last chunk runs on beyond n − 1.
pub fn h_hash_reach(log_size: u32) -> u64 {
    let n = 1u64 << log_size;
    let len = (n - 1).min(H_HASH_CHUNK);
    let last = if n >= 2 {
        (n - 2) / H_HASH_CHUNK * H_HASH_CHUNK
    } else {
        0
    };
    n + last + len
}

/// How many tau·G1 powers a key of domain 2^`log_size` reads: the
/// monomials under the 2^(`log_size`+1) Lagrange block and the H hash's
/// points, at most the file's 2^(power+1) − 1.
fn tau_g1_used(log_size: u32, power: u32) -> u64 {
    let n = 1u64 << log_size;
    (2 * n)
        .max(h_hash_reach(log_size))
        .min((1u64 << (power + 1)) - 1)
}

/// Checks that `ptau` is consistent for a circuit of domain 2^`log_size`
/// (see the module documentation) and reads its contributions.
///
/// # Errors
/// [`PtauVerifyError`] naming the failed check and its section, or a read
/// error.
pub fn verify_powers(ptau: &mut Ptau, log_size: u32) -> Result<PowersReport, PtauVerifyError> {
    let power = ptau.power;
    let _span = info_span!("verify powers of tau", power, log_size).entered();
    if log_size > power {
        return Err(PtauVerifyError::TooSmall { log_size, power });
    }
    let n = 1u64 << log_size;
    let m1 = tau_g1_used(log_size, power);
    let mut rng = rand::rngs::OsRng;
    let g1 = G1Affine::generator();
    let g2 = G2Affine::generator();

    let (tau, tau2) = {
        let _s = info_span!("tau G1", section = 2, points = m1).entered();
        let tau = ptau.tau_g1(0, m1)?;
        let tau2 = ptau.tau_g2(0, n.max(2).min(1u64 << power))?;
        if tau[0] != g1 {
            return Err(PtauVerifyError::NotGenerator { section: 2 });
        }
        if tau2[0] != g2 {
            return Err(PtauVerifyError::NotGenerator { section: 3 });
        }
        if tau.len() > 1 && tau[1].is_zero() {
            return Err(PtauVerifyError::Degenerate {
                section: 2,
                index: 1,
            });
        }
        if !geometric(&tau, tau2[1], &mut rng) {
            return Err(PtauVerifyError::NotGeometric { section: 2 });
        }
        info!(points = m1, "tau·G1 is geometric");
        (tau, tau2)
    };
    let tau2 = &tau2[..n as usize];

    {
        let _s = info_span!("tau G2", section = 3, points = n).entered();
        let r = randoms(tau2.len(), &mut rng);
        let lhs = G1Projective::msm_unchecked(&tau[..tau2.len()], &r);
        let rhs = G2Projective::msm_unchecked(tau2, &r);
        if !pairing_eq(lhs.into_affine(), g2, g1, rhs.into_affine()) {
            return Err(PtauVerifyError::G2Mismatch { section: 3 });
        }
        info!(points = n, "tau·G2 matches tau·G1");
    }

    let (alpha, beta) = {
        let _s = info_span!("alpha and beta", points = n).entered();
        let alpha = ptau.scaled_tau_g1(true, 0, n)?;
        let beta = ptau.scaled_tau_g1(false, 0, n)?;
        let (_, _, beta_g2) = ptau.alpha_beta()?;
        for (section, first) in [(4, alpha[0]), (5, beta[0])] {
            if first.is_zero() {
                return Err(PtauVerifyError::Degenerate { section, index: 0 });
            }
        }
        if beta_g2.is_zero() {
            return Err(PtauVerifyError::Degenerate {
                section: 6,
                index: 0,
            });
        }
        let ratio = if n >= 2 { tau2[1] } else { g2 };
        for (section, series) in [(4, &alpha), (5, &beta)] {
            if !geometric(series, ratio, &mut rng) {
                return Err(PtauVerifyError::NotGeometric { section });
            }
        }
        let r = randoms(n as usize, &mut rng);
        let lhs = G1Projective::msm_unchecked(&beta, &r);
        let rhs = G1Projective::msm_unchecked(&tau[..n as usize], &r);
        if !pairing_eq(lhs.into_affine(), g2, rhs.into_affine(), beta_g2) {
            return Err(PtauVerifyError::BetaMismatch { section: 5 });
        }
        info!(
            points = n,
            "alpha·tau·G1 and beta·tau·G1 are geometric, beta matches beta·G2"
        );
        (alpha, beta)
    };

    let mut lagrange = Vec::new();
    {
        let _s = info_span!("Lagrange", log_size).entered();
        let blocks: [(u32, u32, &[G1Affine], Option<G1Series>); 5] = [
            (12, log_size, &tau[..n as usize], Some(G1Series::Tau)),
            (12, log_size + 1, &tau, Some(G1Series::Tau)),
            (13, log_size, &[], None),
            (14, log_size, &alpha, Some(G1Series::AlphaTau)),
            (15, log_size, &beta, Some(G1Series::BetaTau)),
        ];
        for (section, log, monomial, series) in blocks {
            let _b = info_span!("block", section, log).entered();
            let ok = match series {
                Some(series) => {
                    let points = ptau.lagrange_g1(series, log)?;
                    let size = points.len().min(monomial.len());
                    lagrange_matches(&points, &monomial[..size], &mut rng)
                }
                None => lagrange_matches(&ptau.lagrange_g2(log)?, tau2, &mut rng),
            };
            if !ok {
                return Err(PtauVerifyError::LagrangeMismatch {
                    section,
                    log_size: log,
                });
            }
            info!(section, log, "Lagrange block matches the powers");
            lagrange.push((section, log));
        }
    }

    let contributions = {
        let _s = info_span!("contributions", section = 7).entered();
        let list = read_contributions(ptau)?;
        for (i, c) in list.iter().enumerate() {
            info!(
                index = i + 1,
                name = c.name.as_deref().unwrap_or(""),
                hash = %hex::encode(c.response_hash),
                "contribution"
            );
        }
        list
    };

    let report = PowersReport {
        power,
        ceremony_power: ptau.ceremony_power,
        log_size,
        tau_g1: m1,
        tau_g2: n,
        lagrange,
        contributions,
    };
    info!("{report}");
    Ok(report)
}

/// `count` random 128-bit scalars.
fn randoms(count: usize, rng: &mut impl Rng) -> Vec<Fr> {
    (0..count).map(|_| Fr::from(rng.gen::<u128>())).collect()
}

/// e(a1, a2) = e(b1, b2).
fn pairing_eq(a1: G1Affine, a2: G2Affine, b1: G1Affine, b2: G2Affine) -> bool {
    Bn254::multi_pairing([a1, -b1], [a2, b2]).0 == <Bn254 as Pairing>::TargetField::ONE
}

/// Whether `points[i+1] = x·points[i]` for all i, where `ratio` = x·G2.
fn geometric(points: &[G1Affine], ratio: G2Affine, rng: &mut impl Rng) -> bool {
    if points.len() < 2 {
        return true;
    }
    let r = randoms(points.len() - 1, rng);
    let low = G1Projective::msm_unchecked(&points[..points.len() - 1], &r);
    let high = G1Projective::msm_unchecked(&points[1..], &r);
    pairing_eq(
        low.into_affine(),
        ratio,
        high.into_affine(),
        G2Affine::generator(),
    )
}

/// Whether `lagrange` (n points) is `monomial` (n points, or fewer with
/// zeros after them) in the Lagrange basis of the domain of size n.
fn lagrange_matches<G>(lagrange: &[G], monomial: &[G], rng: &mut impl Rng) -> bool
where
    G: AffineRepr<ScalarField = Fr>,
{
    let n = lagrange.len();
    let domain = Radix2EvaluationDomain::<Fr>::new(n).expect("a power of two up to 2^28");
    debug_assert_eq!(domain.size(), n);
    let r = randoms(n, rng);
    let c = domain.ifft(&r);
    let lhs = G::Group::msm_unchecked(lagrange, &r);
    let rhs = G::Group::msm_unchecked(monomial, &c[..monomial.len()]);
    lhs == rhs
}

/// The contributions of section 7, oldest first (snarkjs's
/// `readContributions`), with their response hashes.
///
/// # Errors
/// [`PtauVerifyError::Contribution`] or [`PtauVerifyError::ContributionPoint`]
/// for a malformed section, or a read error.
pub fn read_contributions(ptau: &mut Ptau) -> Result<Vec<PtauContribution>, PtauVerifyError> {
    let body = ptau
        .file_mut()
        .read_all(7, "contributions")
        .map_err(PtauError::from)?;
    parse_contributions(&body)
}

/// Parses section 7 (snarkjs's `readContributions`).
fn parse_contributions(body: &[u8]) -> Result<Vec<PtauContribution>, PtauVerifyError> {
    let mut cur = Cursor { body, pos: 0 };
    let count = cur.u32().ok_or(PtauVerifyError::Contribution {
        index: 0,
        problem: "no count",
    })?;
    let mut out = Vec::new();
    for index in 1..=count as usize {
        out.push(parse_contribution(&mut cur, index)?);
    }
    if cur.pos != body.len() {
        return Err(PtauVerifyError::Contribution {
            index: count as usize,
            problem: "bytes follow the last contribution",
        });
    }
    Ok(out)
}

/// The public key in snarkjs's form, as the response hash covers it.
const PUB_KEY_BYTES: usize = 6 * G1_BYTES + 3 * G2_BYTES;

fn parse_contribution(
    cur: &mut Cursor<'_>,
    index: usize,
) -> Result<PtauContribution, PtauVerifyError> {
    let short = PtauVerifyError::Contribution {
        index,
        problem: "the section ends inside it",
    };
    let g1 = |cur: &mut Cursor<'_>, what| {
        let b = cur.take(G1_BYTES).ok_or(PtauVerifyError::Contribution {
            index,
            problem: "the section ends inside it",
        })?;
        encoding::g1_from_lem(b).map_err(|source| PtauVerifyError::ContributionPoint {
            index,
            what,
            source,
        })
    };
    let g2 = |cur: &mut Cursor<'_>, what| {
        let b = cur.take(G2_BYTES).ok_or(PtauVerifyError::Contribution {
            index,
            problem: "the section ends inside it",
        })?;
        encoding::g2_from_lem(b).map_err(|source| PtauVerifyError::ContributionPoint {
            index,
            what,
            source,
        })
    };
    let tau_g1 = g1(cur, "tau G1")?;
    let tau_g2 = g2(cur, "tau G2")?;
    let alpha_g1 = g1(cur, "alpha G1")?;
    let beta_g1 = g1(cur, "beta G1")?;
    let beta_g2 = g2(cur, "beta G2")?;
    let key = PtauPubKey {
        tau_g1: (g1(cur, "key tau g1_s")?, g1(cur, "key tau g1_sx")?),
        alpha_g1: (g1(cur, "key alpha g1_s")?, g1(cur, "key alpha g1_sx")?),
        beta_g1: (g1(cur, "key beta g1_s")?, g1(cur, "key beta g1_sx")?),
        g2_spx: [
            g2(cur, "key tau g2_spx")?,
            g2(cur, "key alpha g2_spx")?,
            g2(cur, "key beta g2_spx")?,
        ],
    };
    let partial: [u8; 216] = cur.array().ok_or(short)?;
    let next_challenge: [u8; 64] = cur.array().ok_or(PtauVerifyError::Contribution {
        index,
        problem: "the section ends inside it",
    })?;
    let bad = |problem| PtauVerifyError::Contribution { index, problem };
    let kind = cur.u32().ok_or(bad("the section ends inside it"))?;
    let params_len = cur.u32().ok_or(bad("the section ends inside it"))? as usize;
    let params = cur
        .take(params_len)
        .ok_or(bad("its parameters run past the section"))?;
    let (mut name, mut exp, mut beacon_hash) = (None, None, None);
    let mut p = Cursor {
        body: params,
        pos: 0,
    };
    let mut last = 0u8;
    while let Some(t) = p.take(1).map(|b| b[0]) {
        if t <= last {
            return Err(bad("its parameters are not sorted"));
        }
        last = t;
        match t {
            1 => {
                let len = p.take(1).ok_or(bad("a parameter is cut short"))?[0] as usize;
                let s = p.take(len).ok_or(bad("a parameter is cut short"))?;
                name = Some(String::from_utf8_lossy(s).into_owned());
            }
            2 => exp = Some(p.take(1).ok_or(bad("a parameter is cut short"))?[0]),
            3 => {
                let len = p.take(1).ok_or(bad("a parameter is cut short"))?[0] as usize;
                beacon_hash = Some(p.take(len).ok_or(bad("a parameter is cut short"))?.to_vec());
            }
            _ => return Err(bad("an unknown parameter")),
        }
    }
    // snarkjs checks a contribution as a beacon when its type is 1, and
    // writes the beacon's parameters only then.
    let beacon = match (kind, beacon_hash, exp) {
        (1, Some(hash), Some(exp)) => Some((hash, exp)),
        (1, _, _) => return Err(bad("a beacon without its hash or iterations")),
        _ => None,
    };
    let mut key_bytes = Vec::with_capacity(PUB_KEY_BYTES);
    for p in [
        key.tau_g1.0,
        key.tau_g1.1,
        key.alpha_g1.0,
        key.alpha_g1.1,
        key.beta_g1.0,
        key.beta_g1.1,
    ] {
        key_bytes.extend_from_slice(&encoding::g1_to_u(&p));
    }
    for p in &key.g2_spx {
        key_bytes.extend_from_slice(&encoding::g2_to_u(p));
    }
    let response_hash = blake2b_resume(&partial, &key_bytes);
    Ok(PtauContribution {
        name,
        tau_g1,
        tau_g2,
        alpha_g1,
        beta_g1,
        beta_g2,
        key,
        response_hash,
        next_challenge,
        beacon,
    })
}

struct Cursor<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let end = self
            .pos
            .checked_add(len)
            .filter(|e| *e <= self.body.len())?;
        let b = &self.body[self.pos..end];
        self.pos = end;
        Some(b)
    }
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).map(|b| b.try_into().expect("N bytes"))
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_le_bytes)
    }
}

/// Blake2b-512 resumed from snarkjs's partial hash (noble-hashes' state:
/// the 128-byte block buffer, the state words as little-endian u32 pairs,
/// the bytes compressed and the bytes buffered), fed `data`, finished.
fn blake2b_resume(partial: &[u8; 216], data: &[u8]) -> [u8; 64] {
    let word = |i: usize| u64::from_le_bytes(partial[i..i + 8].try_into().expect("8 bytes"));
    let mut h: [u64; 8] = std::array::from_fn(|i| word(128 + 8 * i));
    let mut t = word(192) as u128;
    let mut buf = [0u8; 128];
    buf.copy_from_slice(&partial[..128]);
    let mut pos = (word(200) as usize).min(128);
    for &b in data {
        if pos == 128 {
            t += 128;
            blake2b_compress(&mut h, &buf, t, false);
            pos = 0;
        }
        buf[pos] = b;
        pos += 1;
    }
    t += pos as u128;
    buf[pos..].fill(0);
    blake2b_compress(&mut h, &buf, t, true);
    let mut out = [0u8; 64];
    for (i, w) in h.iter().enumerate() {
        out[8 * i..8 * i + 8].copy_from_slice(&w.to_le_bytes());
    }
    out
}

/// BLAKE2b's initialization vector (RFC 7693): with the parameter block
/// folded into its first word, the state a partial hash starts from.
pub const BLAKE2B_IV: [u64; 8] = [
    0x6a09e667f3bcc908,
    0xbb67ae8584caa73b,
    0x3c6ef372fe94f82b,
    0xa54ff53a5f1d36f1,
    0x510e527fade682d1,
    0x9b05688c2b3e6c1f,
    0x1f83d9abfb41bd6b,
    0x5be0cd19137e2179,
];

const BLAKE2B_SIGMA: [[usize; 16]; 12] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
    [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
    [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
    [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
    [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
    [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
    [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
    [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
    [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
];

/// Blake2b's compression function F (RFC 7693, 3.2).
fn blake2b_compress(h: &mut [u64; 8], block: &[u8; 128], t: u128, last: bool) {
    let m: [u64; 16] = std::array::from_fn(|i| {
        u64::from_le_bytes(block[8 * i..8 * i + 8].try_into().expect("8 bytes"))
    });
    let mut v = [0u64; 16];
    v[..8].copy_from_slice(h);
    v[8..].copy_from_slice(&BLAKE2B_IV);
    v[12] ^= t as u64;
    v[13] ^= (t >> 64) as u64;
    if last {
        v[14] = !v[14];
    }
    let g = |v: &mut [u64; 16], a: usize, b: usize, c: usize, d: usize, x: u64, y: u64| {
        v[a] = v[a].wrapping_add(v[b]).wrapping_add(x);
        v[d] = (v[d] ^ v[a]).rotate_right(32);
        v[c] = v[c].wrapping_add(v[d]);
        v[b] = (v[b] ^ v[c]).rotate_right(24);
        v[a] = v[a].wrapping_add(v[b]).wrapping_add(y);
        v[d] = (v[d] ^ v[a]).rotate_right(16);
        v[c] = v[c].wrapping_add(v[d]);
        v[b] = (v[b] ^ v[c]).rotate_right(63);
    };
    for s in &BLAKE2B_SIGMA {
        g(&mut v, 0, 4, 8, 12, m[s[0]], m[s[1]]);
        g(&mut v, 1, 5, 9, 13, m[s[2]], m[s[3]]);
        g(&mut v, 2, 6, 10, 14, m[s[4]], m[s[5]]);
        g(&mut v, 3, 7, 11, 15, m[s[6]], m[s[7]]);
        g(&mut v, 0, 5, 10, 15, m[s[8]], m[s[9]]);
        g(&mut v, 1, 6, 11, 12, m[s[10]], m[s[11]]);
        g(&mut v, 2, 7, 8, 13, m[s[12]], m[s[13]]);
        g(&mut v, 3, 4, 9, 14, m[s[14]], m[s[15]]);
    }
    for i in 0..8 {
        h[i] ^= v[i] ^ v[i + 8];
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::OnceLock;

    use super::*;
    use crate::ceremony::binfile::BinFile;

    const POWER: u32 = 8;

    struct Phase1 {
        _dir: tempfile::TempDir,
        path: PathBuf,
        /// The response hash snarkjs printed for the contribution.
        hash: String,
    }

    fn snarkjs(dir: &Path, args: &[&str]) -> String {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/snarkjs.sh");
        let out = Command::new(script)
            .current_dir(dir)
            .args(args)
            .output()
            .expect("snarkjs starts");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "snarkjs {args:?} failed:\n{text}");
        text
    }

    /// A prepared power-8 file from snarkjs with one contribution "x".
    fn phase1() -> &'static Phase1 {
        static PTAU: OnceLock<Phase1> = OnceLock::new();
        PTAU.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            snarkjs(
                d,
                &["powersoftau", "new", "bn128", &POWER.to_string(), "p0.ptau"],
            );
            let log = snarkjs(
                d,
                &[
                    "powersoftau",
                    "contribute",
                    "p0.ptau",
                    "p1.ptau",
                    "--name=x",
                    "-e=y",
                ],
            );
            snarkjs(
                d,
                &["powersoftau", "prepare", "phase2", "p1.ptau", "p.ptau"],
            );
            let after = log
                .split("Response Hash")
                .nth(1)
                .expect("snarkjs prints the response hash");
            let hash: String = after
                .split_whitespace()
                .filter(|w| w.len() == 8 && w.chars().all(|c| c.is_ascii_hexdigit()))
                .take(16)
                .collect();
            Phase1 {
                path: d.join("p.ptau"),
                hash,
                _dir: dir,
            }
        })
    }

    /// A copy of the phase-1 file with point `to` of `section` replaced
    /// by its point `from`.
    fn tampered(
        section: u32,
        point_bytes: usize,
        from: u64,
        to: u64,
    ) -> (tempfile::TempDir, PathBuf) {
        let src = &phase1().path;
        let span = BinFile::open(src, b"ptau", 1)
            .unwrap()
            .section(section, "test")
            .unwrap();
        let mut bytes = std::fs::read(src).unwrap();
        let at = |i: u64| (span.offset + i * point_bytes as u64) as usize;
        let point = bytes[at(from)..at(from) + point_bytes].to_vec();
        bytes[at(to)..at(to) + point_bytes].copy_from_slice(&point);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tampered.ptau");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    fn verify(path: &Path, log: u32) -> Result<PowersReport, PtauVerifyError> {
        verify_powers(&mut Ptau::open(path).unwrap(), log)
    }

    #[test]
    fn snarkjs_file_verifies_at_every_domain() {
        let p = phase1();
        for log in [0, 1, 5, POWER - 1, POWER] {
            let report = verify(&p.path, log).unwrap_or_else(|e| panic!("2^{log}: {e}"));
            assert_eq!(
                (report.power, report.ceremony_power, report.log_size),
                (POWER, POWER, log)
            );
            let n = 1u64 << log;
            assert_eq!(report.tau_g2, n);
            assert_eq!(report.tau_g1, (2 * n).min((2 << POWER) - 1));
            assert_eq!(
                report.lagrange,
                vec![(12, log), (12, log + 1), (13, log), (14, log), (15, log)]
            );
        }
    }

    #[test]
    fn contributions_are_listed_with_snarkjs_hashes() {
        let p = phase1();
        let report = verify(&p.path, 4).unwrap();
        assert_eq!(report.contributions.len(), 1);
        let c = &report.contributions[0];
        assert_eq!(c.name.as_deref(), Some("x"));
        assert_eq!(c.beacon, None);
        assert_eq!(hex::encode(c.response_hash), p.hash);
        let mut ptau = Ptau::open(&p.path).unwrap();
        assert_eq!(c.tau_g1, ptau.tau_g1(1, 1).unwrap()[0]);
        assert_eq!(c.tau_g2, ptau.tau_g2(1, 1).unwrap()[0]);
        let (alpha, beta, beta2) = ptau.alpha_beta().unwrap();
        assert_eq!((c.alpha_g1, c.beta_g1, c.beta_g2), (alpha, beta, beta2));
    }

    #[test]
    fn too_large_a_domain_is_refused() {
        assert!(matches!(
            verify(&phase1().path, POWER + 1),
            Err(PtauVerifyError::TooSmall {
                log_size: 9,
                power: POWER
            })
        ));
    }

    #[test]
    fn shifted_tau_g1_point_is_not_geometric() {
        let (_d, path) = tampered(2, G1_BYTES, 11, 10);
        let err = verify(&path, POWER - 1).unwrap_err();
        assert!(
            matches!(err, PtauVerifyError::NotGeometric { section: 2 }),
            "{err}"
        );
        // Outside the powers a domain of 2^2 uses, the same change passes.
        verify(&path, 2).unwrap();
    }

    #[test]
    fn tampered_tau_g2_point_is_caught() {
        let (_d, path) = tampered(3, G2_BYTES, 6, 5);
        let err = verify(&path, POWER).unwrap_err();
        assert!(
            matches!(err, PtauVerifyError::G2Mismatch { section: 3 }),
            "{err}"
        );
    }

    #[test]
    fn tampered_beta_point_is_caught() {
        let (_d, path) = tampered(5, G1_BYTES, 4, 3);
        let err = verify(&path, POWER).unwrap_err();
        assert!(
            matches!(err, PtauVerifyError::NotGeometric { section: 5 }),
            "{err}"
        );
    }

    #[test]
    fn tampered_lagrange_point_names_its_section_and_domain() {
        let log = POWER - 1;
        let first = (1u64 << log) - 1;
        let (_d, path) = tampered(14, G1_BYTES, first + 4, first + 3);
        let err = verify(&path, log).unwrap_err();
        assert!(
            matches!(err, PtauVerifyError::LagrangeMismatch { section: 14, log_size } if log_size == log),
            "{err}"
        );
        // The doubled tau block of section 12 is checked too.
        let first = (2u64 << log) - 1;
        let (_d, path) = tampered(12, G1_BYTES, first + 1, first);
        let err = verify(&path, log).unwrap_err();
        assert!(
            matches!(err, PtauVerifyError::LagrangeMismatch { section: 12, log_size } if log_size == log + 1),
            "{err}"
        );
        // And the G2 block.
        let first = (1u64 << log) - 1;
        let (_d, path) = tampered(13, G2_BYTES, first + 1, first);
        let err = verify(&path, log).unwrap_err();
        assert!(
            matches!(err, PtauVerifyError::LagrangeMismatch { section: 13, log_size } if log_size == log),
            "{err}"
        );
    }
}
