//! Checking the chain of a phase-1 file's contributions, as
//! `snarkjs powersoftau verify` does: that every contribution proves
//! knowledge of its secrets for the challenge the one before it left, that
//! each moved the accumulator's first points by exactly those secrets, and
//! that the last one's points and hashes are the file's.
//!
//! [`verify_chain`] walks section 7 oldest first from the *initial
//! contribution* (the generators, and the first challenge hash snarkjs
//! computes for the ceremony's power, [`first_challenge_hash`]). For
//! contribution i with public key (for each of tau, alpha and beta: a G1
//! pair (s, s·x) and sp·x in G2) and previous contribution i − 1:
//! 1. a beacon's key is recomputed from its beacon (`keyFromBeacon`) and
//!    must be the recorded one;
//! 2. sp = hashToG2(BLAKE2b(personalization ‖ challenge ‖ s ‖ s·x)), with
//!    personalization 0, 1, 2 for tau, alpha, beta and the challenge the
//!    previous contribution's next-challenge hash (`getG2sp`); each proof
//!    of knowledge e(s, sp·x) = e(s·x, sp) must hold. A key that fails all
//!    three was made for another challenge: the chain is broken there;
//! 3. its tau·G1, tau·G2, alpha·G1, beta·G1 and beta·G2 are the previous
//!    contribution's times the secret the key proves (`sameRatio`).
//!
//! The last contribution's points must then be the file's first points,
//! and, for a file at its ceremony's power (not truncated), its
//! next-challenge hash must be BLAKE2b(response hash ‖ the file's whole
//! accumulator, uncompressed), the hash snarkjs checks: this binds the
//! response hash a contributor published to the powers in the file. A
//! truncated file (such as Hermez's `powersOfTau28_hez_final_PP`) cannot be
//! hashed so, and snarkjs skips that step too.
//!
//! This proves who took part and in which order, not that the powers are
//! consistent: that is [`super::ptau_verify::verify_powers`]'s work, and a
//! caller wants both.

use ark_bn254::{Bn254, Fr, G1Affine, G2Affine};
use ark_ec::pairing::Pairing;
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::Field;
use blake2::{Blake2b512, Digest};
use rayon::prelude::*;
use tracing::{info, info_span};

use super::encoding;
use super::ptau::{Ptau, PtauError};
use super::ptau_verify::{read_contributions, PtauContribution, PtauVerifyError};
use super::rng;

/// What [`verify_chain`] checked.
#[derive(Debug, Clone)]
pub struct ChainReport {
    /// The power the ceremony was run at, which the first challenge is for.
    pub ceremony_power: u32,
    /// The file's power.
    pub power: u32,
    /// The first challenge hash (`calculateFirstChallengeHash`).
    pub first_challenge: [u8; 64],
    /// The verified contributions, oldest first.
    pub contributions: Vec<PtauContribution>,
    /// The next-challenge hash recomputed from the file's accumulator;
    /// `None` for a truncated file, which cannot be hashed so.
    pub next_challenge: Option<[u8; 64]>,
}

impl std::fmt::Display for ChainReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .contributions
            .iter()
            .map(|c| match (&c.name, &c.beacon) {
                (Some(n), None) => n.clone(),
                (None, None) => "(anonymous)".into(),
                (Some(n), Some(_)) => format!("{n} (beacon)"),
                (None, Some(_)) => "(beacon)".into(),
            })
            .collect();
        write!(
            f,
            "phase-1 contribution chain OK: {} contributions ({})",
            self.contributions.len(),
            names.join(", ")
        )?;
        if let Some(last) = self.contributions.last() {
            write!(
                f,
                ", last response hash {}",
                hex::encode(last.response_hash)
            )?;
        }
        match self.next_challenge {
            Some(_) => write!(f, ", which the file's powers follow"),
            None => write!(
                f,
                "; the file is truncated to power {} of {}, so its powers are not hashed against it",
                self.power, self.ceremony_power
            ),
        }
    }
}

/// Points per read and hash step of the accumulator.
const CHUNK: u64 = 1 << 16;

/// snarkjs's first challenge hashes (`calculateFirstChallengeHash`) of
/// the ceremony powers up to 12 and of 28 (the Hermez and Perpetual Powers
/// of Tau ceremonies), so that a file from those ceremonies does not hash
/// 96 GB of generators on every check. Each is also recomputable:
/// `first_challenge_hash_table_is_snarkjs_s` checks the small ones, an
/// ignored test the one of 28.
const KNOWN_FIRST_CHALLENGES: [(u32, &str); 13] = [
    (1, "e809c07e01ec4d01624089c1f4009ec9ba62964e9056113d2fa6f3bfdf29ff2cc4ebcda749cd53327598cb0caac7dbe3b50cda3f75c64f87845ce6345fd964e4"),
    (2, "cbe18de1dbb2c768cc2516accddf9c75fd5e082e6e57a6a1e3d10371ec9584c23d094a5ff2db25f5aa7ca42ba1391d1b28ab3218984c9766ae496c8781457b52"),
    (3, "45f580c564b26059f533418e8c0cbdbcdd73543f221bfa741c1a5eeb71b0c2cd4ab44f2f0600f3d7ba93203f9b04e2de3f325a88d0cdfcd902b08b85e071a471"),
    (4, "2054432085403180e1678602c83562f1f4ddefafb4b9e7171b53070455a4cc6db11b2e5bfe5e89c0cb9ab4a7b3b9fd5a17bad62ad5ba013c34e7dd2fbb4f143b"),
    (5, "29bb480744aa1a5b6ca7de75bc5dca1f6881eefd874eb1e7c2701ade16bb1cb2af840ad29c60a7a9784ec4485ba2edfb5e92acab96484572b45c7e70002ee51c"),
    (6, "b2109ce5808995fbcd80712eabdbf6f5068841065d329308437e684d41496f8c431b9faf854c487694c3dcac03613078ba00c055795c5a49a96f5ad0a9065bc8"),
    (7, "e71f759938e4ffde9f94d238a3f25fc55b42aacb4bc330b822e49dff524b5420d6181c6c1b8dbdacf84f2556ce5c3f608db0fe473101bf071358089a4346485f"),
    (8, "219cd1f3eab9d2a70ebec1e89ce41ade8d761eb39fd6702acda5776283026ac881746beac81c214b887e9102e84c8341824fd983f4e7df844d150ddf5fd2fe48"),
    (9, "0d8118d8d038768c26c9439251627e2a19293bf0f18cf95c7642d2f8d736e739668138aaf900709eedb1b0502a7577abe16644ee80313b09a7f05c621980083f"),
    (10, "95f0b4499e50f8da383b0d74c174c1698bdffe1b35066754005889a147849bbf8d64ff6c989bd89a4736b569a99a1c83a50dc181e9fe1d4d23d1888a98b3157e"),
    (11, "e778ddf57120714d0a7a884113aac0db0c37dee0d580dcb4b3794fe5b2b68875c32f02759a860990bec44cbd38a86feaabea62ea9a0b682b3c076003c80042fd"),
    (12, "9e63a5f62b96538daaed2372481920d1a40b91959ea38ef9f5f6a3033b8865160710d067c09d09615f928ea517bcdf49ad75abd2c8340b400e3b18e968b4ffef"),
    (28, P28_FIRST_CHALLENGE),
];

/// The first challenge hash of ceremony power 28 (computed once by an
/// independent BLAKE2b over the generators, the same that gave the small
/// powers' entries; `first_challenge_hash_of_power_28` recomputes it).
const P28_FIRST_CHALLENGE: &str = "93da91920d5a54a8a0fde55cd9dc3a10c4f3eef768b62c0948741370864254b4c1920f3f29d4ebc0ef3acecf2e2db63a755713d77e1ed77347a56fbc317c7a93";

/// snarkjs's `calculateFirstChallengeHash(curve, power)`: BLAKE2b-512 of
/// the empty string's BLAKE2b-512 and then the initial accumulator, every
/// point the generator, uncompressed: 2^(power+1) − 1 tau·G1, 2^power
/// tau·G2, alpha·tau·G1 and beta·tau·G1, and beta·G2. At power 28 that is
/// 96 GB, hence the table of known powers and the progress reports.
pub fn first_challenge_hash(power: u32) -> [u8; 64] {
    if let Some((_, hex)) = KNOWN_FIRST_CHALLENGES
        .iter()
        .find(|(p, h)| *p == power && !h.is_empty())
    {
        let mut out = [0u8; 64];
        hex::decode_to_slice(hex, &mut out).expect("the table holds 64-byte hex hashes");
        return out;
    }
    compute_first_challenge_hash(power)
}

/// [`first_challenge_hash`] computed, without the table.
fn compute_first_challenge_hash(power: u32) -> [u8; 64] {
    let _span = info_span!("first challenge hash", power).entered();
    let g1 = encoding::g1_to_u(&G1Affine::generator());
    let g2 = encoding::g2_to_u(&G2Affine::generator());
    let block1 = g1.repeat(CHUNK as usize);
    let block2 = g2.repeat(CHUNK as usize);
    let mut h = Blake2b512::new();
    h.update(Blake2b512::digest([]));
    let n = 1u64 << power;
    let runs: [(&str, &[u8], &[u8], u64); 4] = [
        ("tau G1", &g1, &block1, 2 * n - 1),
        ("tau G2", &g2, &block2, n),
        ("alpha tau G1", &g1, &block1, n),
        ("beta tau G1", &g1, &block1, n),
    ];
    for (what, unit, block, count) in runs {
        let _s = info_span!("generators", series = what, points = count).entered();
        let mut done = 0u64;
        while done < count {
            let k = (count - done).min(CHUNK);
            h.update(&block[..k as usize * unit.len()]);
            done += k;
            if done.is_multiple_of(CHUNK << 8) {
                info!(series = what, done, total = count, "first challenge hash");
            }
        }
    }
    h.update(g2);
    h.finalize().into()
}

/// e(a1, b2) = e(b1, a2) with no point the identity: snarkjs's
/// `sameRatio(a1, b1, a2, b2)`, that b1/a1 = b2/a2 as discrete logarithms.
fn same_ratio(a1: G1Affine, b1: G1Affine, a2: G2Affine, b2: G2Affine) -> bool {
    if a1.is_zero() || b1.is_zero() || a2.is_zero() || b2.is_zero() {
        return false;
    }
    Bn254::multi_pairing([a1, -b1], [b2, a2]).0 == <Bn254 as Pairing>::TargetField::ONE
}

/// snarkjs's `getG2sp(personalization, challenge, s, s·x)`: the G2 base of
/// a proof of knowledge, bound to the challenge and the G1 pair. A
/// contributor publishes sp·x for its secret x; personalization is 0, 1
/// and 2 for tau, alpha and beta.
pub fn g2_sp(personalization: u8, challenge: &[u8; 64], s: &G1Affine, sx: &G1Affine) -> G2Affine {
    let mut h = Blake2b512::new();
    h.update([personalization]);
    h.update(challenge);
    h.update(encoding::g1_to_u(s));
    h.update(encoding::g1_to_u(sx));
    rng::hash_to_g2(&h.finalize().into())
}

/// One secret's public key: (s, s·x) in G1 and sp·x in G2.
type KeyPart = (G1Affine, G1Affine, G2Affine);

/// The three parts of a key, with their names and personalizations.
fn key_parts(c: &PtauContribution) -> [(&'static str, u8, KeyPart); 3] {
    let k = &c.key;
    [
        ("tau", 0, (k.tau_g1.0, k.tau_g1.1, k.g2_spx[0])),
        ("alpha", 1, (k.alpha_g1.0, k.alpha_g1.1, k.g2_spx[1])),
        ("beta", 2, (k.beta_g1.0, k.beta_g1.1, k.g2_spx[2])),
    ]
}

/// snarkjs's `keyFromBeacon`: the key `createPTauKey` draws from the
/// beacon's generator for `challenge` (three secrets, then for each its s,
/// s·x and sp·x).
fn beacon_key(
    hash: &[u8],
    iterations_exp: u8,
    challenge: &[u8; 64],
) -> Result<[KeyPart; 3], rng::BeaconError> {
    let mut r = rng::rng_from_beacon(hash, iterations_exp)?;
    let secrets: [Fr; 3] = std::array::from_fn(|_| rng::fr_from_rng(&mut r));
    let mut parts = [(G1Affine::zero(), G1Affine::zero(), G2Affine::zero()); 3];
    for (i, (x, part)) in secrets.iter().zip(parts.iter_mut()).enumerate() {
        let s = rng::g1_from_rng(&mut r);
        let sx = (s * x).into_affine();
        let spx = (g2_sp(i as u8, challenge, &s, &sx) * x).into_affine();
        *part = (s, sx, spx);
    }
    Ok(parts)
}

/// The points a contribution leaves, as the next one starts from them.
struct Accumulated {
    tau_g1: G1Affine,
    tau_g2: G2Affine,
    alpha_g1: G1Affine,
    beta_g1: G1Affine,
    beta_g2: G2Affine,
    next_challenge: [u8; 64],
}

/// Checks contribution `index` (1-based) against the one before it (see
/// the module documentation, steps 1–3).
fn verify_contribution(
    index: usize,
    c: &PtauContribution,
    prev: &Accumulated,
) -> Result<(), PtauVerifyError> {
    let _span = info_span!(
        "contribution",
        index,
        name = c.name.as_deref().unwrap_or("")
    )
    .entered();
    let name = || c.name.clone().unwrap_or_default();
    let challenge = &prev.next_challenge;
    let parts = key_parts(c);
    if let Some((hash, exp)) = &c.beacon {
        let expected =
            beacon_key(hash, *exp, challenge).map_err(|source| PtauVerifyError::BeaconParams {
                index,
                name: name(),
                source,
            })?;
        let g1_same = parts
            .iter()
            .zip(&expected)
            .all(|((_, _, k), e)| (k.0, k.1) == (e.0, e.1));
        let g2_wrong = parts.iter().zip(&expected).all(|((_, _, k), e)| k.2 != e.2);
        if g1_same && g2_wrong {
            // The beacon's secrets, drawn for another challenge.
            return Err(PtauVerifyError::ChallengeChain {
                index,
                name: name(),
            });
        }
        const FIELDS: [[&str; 3]; 3] = [
            ["tau s", "tau s·x", "tau sp·x"],
            ["alpha s", "alpha s·x", "alpha sp·x"],
            ["beta s", "beta s·x", "beta sp·x"],
        ];
        for (i, ((_, _, k), e)) in parts.iter().zip(&expected).enumerate() {
            let same = [k.0 == e.0, k.1 == e.1, k.2 == e.2];
            if let Some(j) = same.iter().position(|s| !s) {
                return Err(PtauVerifyError::BeaconKey {
                    index,
                    name: name(),
                    which: FIELDS[i][j],
                });
            }
        }
    }
    let sp: [G2Affine; 3] = std::array::from_fn(|i| {
        let (_, p, (s, sx, _)) = parts[i];
        g2_sp(p, challenge, &s, &sx)
    });
    let proofs: [bool; 3] = std::array::from_fn(|i| {
        let (_, _, (s, sx, spx)) = parts[i];
        same_ratio(s, sx, sp[i], spx)
    });
    if proofs.iter().all(|ok| !ok) {
        return Err(PtauVerifyError::ChallengeChain {
            index,
            name: name(),
        });
    }
    if let Some(i) = proofs.iter().position(|ok| !ok) {
        return Err(PtauVerifyError::ContributionKey {
            index,
            name: name(),
            which: parts[i].0,
        });
    }
    let [tau, alpha, beta] = parts.map(|(_, _, k)| k);
    let links = [
        ("tau·G1", same_ratio(prev.tau_g1, c.tau_g1, sp[0], tau.2)),
        ("tau·G2", same_ratio(tau.0, tau.1, prev.tau_g2, c.tau_g2)),
        (
            "alpha·G1",
            same_ratio(prev.alpha_g1, c.alpha_g1, sp[1], alpha.2),
        ),
        (
            "beta·G1",
            same_ratio(prev.beta_g1, c.beta_g1, sp[2], beta.2),
        ),
        (
            "beta·G2",
            same_ratio(beta.0, beta.1, prev.beta_g2, c.beta_g2),
        ),
    ];
    if let Some((which, _)) = links.iter().find(|(_, ok)| !ok) {
        return Err(PtauVerifyError::NotFollowing {
            index,
            name: name(),
            which,
        });
    }
    info!(
        index,
        name = c.name.as_deref().unwrap_or(""),
        beacon = c.beacon.is_some(),
        response_hash = %hex::encode(c.response_hash),
        "contribution follows the previous one"
    );
    Ok(())
}

/// Verifies the chain of `ptau`'s contributions as
/// `snarkjs powersoftau verify` does (see the module documentation).
///
/// Costs a few pairings per contribution, and for a file at its ceremony's
/// power one read and hash of the whole accumulator (`2^(power+3)` points'
/// worth of bytes); a beacon costs 2^exp SHA-256 rounds.
///
/// # Errors
/// [`PtauVerifyError::NoContributions`], or the first failed check naming
/// the contribution (1-based) and its name:
/// [`PtauVerifyError::BeaconParams`], [`PtauVerifyError::BeaconKey`],
/// [`PtauVerifyError::ChallengeChain`], [`PtauVerifyError::ContributionKey`],
/// [`PtauVerifyError::NotFollowing`], [`PtauVerifyError::LastPoint`],
/// [`PtauVerifyError::ResponseHash`]; or a read error.
pub fn verify_chain(ptau: &mut Ptau) -> Result<ChainReport, PtauVerifyError> {
    let (power, ceremony_power) = (ptau.power, ptau.ceremony_power);
    let _span = info_span!("verify phase-1 chain", power, ceremony_power).entered();
    let contributions = read_contributions(ptau)?;
    let Some(last) = contributions.last() else {
        return Err(PtauVerifyError::NoContributions);
    };
    let first_challenge = first_challenge_hash(ceremony_power);
    let mut prev = Accumulated {
        tau_g1: G1Affine::generator(),
        tau_g2: G2Affine::generator(),
        alpha_g1: G1Affine::generator(),
        beta_g1: G1Affine::generator(),
        beta_g2: G2Affine::generator(),
        next_challenge: first_challenge,
    };
    for (i, c) in contributions.iter().enumerate() {
        verify_contribution(i + 1, c, &prev)?;
        prev = Accumulated {
            tau_g1: c.tau_g1,
            tau_g2: c.tau_g2,
            alpha_g1: c.alpha_g1,
            beta_g1: c.beta_g1,
            beta_g2: c.beta_g2,
            next_challenge: c.next_challenge,
        };
    }

    let index = contributions.len();
    let name = || last.name.clone().unwrap_or_default();
    let (alpha, beta, beta_g2) = ptau.alpha_beta()?;
    let file_points = [
        ("tau·G1", 2, last.tau_g1 == ptau.tau_g1(1, 1)?[0]),
        ("tau·G2", 3, last.tau_g2 == ptau.tau_g2(1, 1)?[0]),
        ("alpha·G1", 4, last.alpha_g1 == alpha),
        ("beta·G1", 5, last.beta_g1 == beta),
        ("beta·G2", 6, last.beta_g2 == beta_g2),
    ];
    if let Some((which, section, _)) = file_points.iter().find(|(_, _, same)| !same) {
        return Err(PtauVerifyError::LastPoint {
            index,
            name: name(),
            which,
            section: *section,
        });
    }

    let next_challenge = if power == ceremony_power {
        let hash = accumulator_hash(ptau, &last.response_hash)?;
        if hash != last.next_challenge {
            return Err(PtauVerifyError::ResponseHash {
                index,
                name: name(),
            });
        }
        Some(hash)
    } else {
        None
    };

    let report = ChainReport {
        ceremony_power,
        power,
        first_challenge,
        contributions,
        next_challenge,
    };
    info!("{report}");
    Ok(report)
}

/// BLAKE2b-512 of `response_hash` and the file's accumulator (sections 2
/// to 6) uncompressed: the next challenge the last contribution must
/// record (`hashSection` in snarkjs's contribute and verify).
fn accumulator_hash(ptau: &mut Ptau, response_hash: &[u8; 64]) -> Result<[u8; 64], PtauError> {
    let _span = info_span!("hash accumulator", power = ptau.power).entered();
    let n = 1u64 << ptau.power;
    let mut h = Blake2b512::new();
    h.update(response_hash);
    hash_points(
        &mut h,
        "tau G1",
        2 * n - 1,
        |f, k| ptau.tau_g1(f, k),
        encoding::g1_to_u,
    )?;
    hash_points(
        &mut h,
        "tau G2",
        n,
        |f, k| ptau.tau_g2(f, k),
        encoding::g2_to_u,
    )?;
    hash_points(
        &mut h,
        "alpha tau G1",
        n,
        |f, k| ptau.scaled_tau_g1(true, f, k),
        encoding::g1_to_u,
    )?;
    hash_points(
        &mut h,
        "beta tau G1",
        n,
        |f, k| ptau.scaled_tau_g1(false, f, k),
        encoding::g1_to_u,
    )?;
    h.update(encoding::g2_to_u(&ptau.alpha_beta()?.2));
    Ok(h.finalize().into())
}

/// Feeds `count` points of a series to `h` in their uncompressed form,
/// [`CHUNK`] at a time, reporting progress.
fn hash_points<P: Sync, const N: usize>(
    h: &mut Blake2b512,
    what: &'static str,
    count: u64,
    mut read: impl FnMut(u64, u64) -> Result<Vec<P>, PtauError>,
    to_u: fn(&P) -> [u8; N],
) -> Result<(), PtauError> {
    let _span = info_span!("series", series = what, points = count).entered();
    let mut done = 0;
    while done < count {
        let k = (count - done).min(CHUNK);
        let points = read(done, k)?;
        let bytes: Vec<[u8; N]> = points.par_iter().map(to_u).collect();
        h.update(bytes.concat());
        done += k;
        info!(series = what, done, total = count, "hashed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::OnceLock;

    use super::*;
    use crate::ceremony::binfile::BinFile;
    use crate::ceremony::encoding::{G1_BYTES, G2_BYTES};

    const POWER: u32 = 8;

    fn snarkjs(dir: &Path, args: &[&str]) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/snarkjs.sh");
        let out = Command::new(script)
            .current_dir(dir)
            .args(args)
            .output()
            .expect("snarkjs starts");
        assert!(
            out.status.success(),
            "snarkjs {args:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A power-8 snarkjs phase 1: contributions "one" and "two", beacon
    /// "final" (`chain.ptau`), and the same prepared (`prepared.ptau`).
    fn phase1() -> &'static (tempfile::TempDir, PathBuf, PathBuf) {
        static FILES: OnceLock<(tempfile::TempDir, PathBuf, PathBuf)> = OnceLock::new();
        FILES.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let d = dir.path();
            let p = POWER.to_string();
            snarkjs(d, &["powersoftau", "new", "bn128", &p, "p0.ptau"]);
            for (from, to, name) in [("p0.ptau", "p1.ptau", "one"), ("p1.ptau", "p2.ptau", "two")] {
                let n = format!("--name={name}");
                let e = format!("-e={name} entropy");
                snarkjs(d, &["powersoftau", "contribute", from, to, &n, &e]);
            }
            snarkjs(
                d,
                &[
                    "powersoftau",
                    "beacon",
                    "p2.ptau",
                    "chain.ptau",
                    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
                    "10",
                    "-n=final",
                ],
            );
            snarkjs(
                d,
                &[
                    "powersoftau",
                    "prepare",
                    "phase2",
                    "chain.ptau",
                    "prepared.ptau",
                ],
            );
            let (a, b) = (d.join("chain.ptau"), d.join("prepared.ptau"));
            (dir, a, b)
        })
    }

    fn chain(path: &Path) -> Result<ChainReport, PtauVerifyError> {
        verify_chain(&mut Ptau::open(path).unwrap())
    }

    /// The byte offset of section 7 and its bytes.
    fn section7(path: &Path) -> (usize, Vec<u8>) {
        let span = BinFile::open(path, b"ptau", 1)
            .unwrap()
            .section(7, "test")
            .unwrap();
        let bytes = std::fs::read(path).unwrap();
        (span.offset as usize, bytes)
    }

    /// The offsets in section 7 (after its count) at which each
    /// contribution starts, and the end.
    fn contribution_starts(body: &[u8], count: usize) -> Vec<usize> {
        let fixed = 3 * G1_BYTES + 2 * G2_BYTES + 6 * G1_BYTES + 3 * G2_BYTES + 216 + 64 + 4;
        let mut at = 4;
        let mut starts = vec![at];
        for _ in 0..count {
            let len = u32::from_le_bytes(body[at + fixed..at + fixed + 4].try_into().unwrap());
            at += fixed + 4 + len as usize;
            starts.push(at);
        }
        starts
    }

    /// A copy of `src` changed by `edit(bytes, section 7's offset)`.
    fn tampered(
        src: &Path,
        edit: impl FnOnce(&mut Vec<u8>, usize),
    ) -> (tempfile::TempDir, PathBuf) {
        let (offset, mut bytes) = section7(src);
        edit(&mut bytes, offset);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tampered.ptau");
        std::fs::write(&path, bytes).unwrap();
        (dir, path)
    }

    /// Offsets within a contribution.
    const KEY_AT: usize = 3 * G1_BYTES + 2 * G2_BYTES;
    const NEXT_CHALLENGE_AT: usize = KEY_AT + 6 * G1_BYTES + 3 * G2_BYTES + 216;

    #[test]
    fn first_challenge_hash_table_is_snarkjs_s() {
        for (power, _) in KNOWN_FIRST_CHALLENGES
            .iter()
            .filter(|(p, h)| *p <= 12 && !h.is_empty())
        {
            assert_eq!(
                first_challenge_hash(*power),
                compute_first_challenge_hash(*power),
                "power {power}"
            );
        }
    }

    #[test]
    #[ignore = "hashes 96 GB"]
    fn first_challenge_hash_of_power_28() {
        assert_eq!(first_challenge_hash(28), compute_first_challenge_hash(28));
    }

    #[test]
    fn snarkjs_chain_verifies() {
        let (_, raw, prepared) = phase1();
        for path in [raw, prepared] {
            let report = chain(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let names: Vec<_> = report
                .contributions
                .iter()
                .map(|c| c.name.as_deref().unwrap())
                .collect();
            assert_eq!(names, ["one", "two", "final"]);
            assert!(report.contributions[2].beacon.is_some());
            assert_eq!(report.first_challenge, compute_first_challenge_hash(POWER));
            assert_eq!(
                report.next_challenge,
                Some(report.contributions[2].next_challenge)
            );
        }
    }

    #[test]
    fn tampered_public_key_names_the_contribution() {
        let (_, raw, _) = phase1();
        let (offset, body) = section7(raw);
        let starts = contribution_starts(&body[offset..], 3);
        // Contribution 2's alpha s·x replaced by its s.
        let (_d, path) = tampered(raw, |b, o| {
            let key = o + starts[1] + KEY_AT;
            let s = b[key + 2 * G1_BYTES..key + 3 * G1_BYTES].to_vec();
            b[key + 3 * G1_BYTES..key + 4 * G1_BYTES].copy_from_slice(&s);
        });
        let err = chain(&path).unwrap_err();
        assert!(
            matches!(&err, PtauVerifyError::ContributionKey { index: 2, name, which: "alpha" } if name == "two"),
            "{err}"
        );
        // The beacon's tau s replaced by contribution 2's.
        let (_d, path) = tampered(raw, |b, o| {
            let from = o + starts[1] + KEY_AT;
            let to = o + starts[2] + KEY_AT;
            let s = b[from..from + G1_BYTES].to_vec();
            b[to..to + G1_BYTES].copy_from_slice(&s);
        });
        let err = chain(&path).unwrap_err();
        assert!(
            matches!(&err, PtauVerifyError::BeaconKey { index: 3, name, which: "tau s" } if name == "final"),
            "{err}"
        );
    }

    #[test]
    fn altered_or_dropped_challenge_breaks_the_chain() {
        let (_, raw, prepared) = phase1();
        let (offset, body) = section7(raw);
        let starts = contribution_starts(&body[offset..], 3);
        // Contribution 1's next challenge altered: contribution 2 was made
        // for another one.
        let (_d, path) = tampered(raw, |b, o| {
            b[o + starts[0] + NEXT_CHALLENGE_AT] ^= 1;
        });
        let err = chain(&path).unwrap_err();
        assert!(
            matches!(&err, PtauVerifyError::ChallengeChain { index: 2, name } if name == "two"),
            "{err}"
        );
        // Contribution 2's altered: the beacon's key was drawn for another.
        let (_d, path) = tampered(raw, |b, o| {
            b[o + starts[1] + NEXT_CHALLENGE_AT + 63] ^= 0x80;
        });
        let err = chain(&path).unwrap_err();
        assert!(
            matches!(&err, PtauVerifyError::ChallengeChain { index: 3, name } if name == "final"),
            "{err}"
        );
        // The last one's: it no longer hashes the file's powers.
        for src in [raw, prepared] {
            let (offset, body) = section7(src);
            let starts = contribution_starts(&body[offset..], 3);
            let (_d, path) = tampered(src, |b, o| {
                b[o + starts[2] + NEXT_CHALLENGE_AT + 5] ^= 4;
            });
            let err = chain(&path).unwrap_err();
            assert!(
                matches!(&err, PtauVerifyError::ResponseHash { index: 3, name } if name == "final"),
                "{err}"
            );
        }
        // Contribution 2 dropped: the beacon follows contribution 1.
        let (_d, path) = tampered(raw, |b, o| {
            let count = u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
            b[o..o + 4].copy_from_slice(&(count - 1).to_le_bytes());
            b.drain(o + starts[1]..o + starts[2]);
            // The section's size, in the 8 bytes before its body.
            let size = u64::from_le_bytes(b[o - 8..o].try_into().unwrap());
            let removed = (starts[2] - starts[1]) as u64;
            b[o - 8..o].copy_from_slice(&(size - removed).to_le_bytes());
        });
        let err = chain(&path).unwrap_err();
        assert!(
            matches!(&err, PtauVerifyError::ChallengeChain { index: 2, name } if name == "final"),
            "{err}"
        );
    }

    #[test]
    fn replaced_last_tau_g1_is_refused() {
        let (_, raw, _) = phase1();
        let (offset, body) = section7(raw);
        let starts = contribution_starts(&body[offset..], 3);
        // The beacon's tau·G1 replaced by contribution 2's: it no longer
        // follows by the beacon's key.
        let (_d, path) = tampered(raw, |b, o| {
            let from = o + starts[1];
            let to = o + starts[2];
            let p = b[from..from + G1_BYTES].to_vec();
            b[to..to + G1_BYTES].copy_from_slice(&p);
        });
        let err = chain(&path).unwrap_err();
        assert!(
            matches!(&err, PtauVerifyError::NotFollowing { index: 3, name, which: "tau·G1" } if name == "final"),
            "{err}"
        );
        // The file's tau·G1 (section 2, point 1) replaced by its square
        // (point 2): no longer the last contribution's.
        let span = BinFile::open(raw, b"ptau", 1)
            .unwrap()
            .section(2, "test")
            .unwrap();
        let (_d, path) = tampered(raw, |b, _| {
            let at = |i: usize| span.offset as usize + i * G1_BYTES;
            let p = b[at(2)..at(3)].to_vec();
            b[at(1)..at(2)].copy_from_slice(&p);
        });
        let err = chain(&path).unwrap_err();
        assert!(
            matches!(&err, PtauVerifyError::LastPoint { index: 3, name, which: "tau·G1", section: 2 } if name == "final"),
            "{err}"
        );
        // A power deeper in the file: only the hash sees it.
        let (_d, path) = tampered(raw, |b, _| {
            let at = |i: usize| span.offset as usize + i * G1_BYTES;
            let p = b[at(20)..at(21)].to_vec();
            b[at(19)..at(20)].copy_from_slice(&p);
        });
        let err = chain(&path).unwrap_err();
        assert!(
            matches!(&err, PtauVerifyError::ResponseHash { index: 3, .. }),
            "{err}"
        );
    }

    #[test]
    fn a_file_without_contributions_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        snarkjs(dir.path(), &["powersoftau", "new", "bn128", "2", "p0.ptau"]);
        let err = chain(&dir.path().join("p0.ptau")).unwrap_err();
        assert!(matches!(err, PtauVerifyError::NoContributions), "{err}");
    }
}
