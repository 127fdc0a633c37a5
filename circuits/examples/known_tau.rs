//! Phase-1 and initial phase-2 files made from a tau, alpha and beta this
//! program draws from `--seed` and therefore knows.
//!
//! **INSECURE: for benchmarks only.** Whoever knows the seed can forge
//! proofs for any key made from these files. They exist because the
//! public files of power 19 to 23 the ceremony benchmarks need
//! (`scripts/bench-ceremony.sh`) cannot be downloaded here, and
//! `snarkjs powersoftau prepare phase2` takes hours at those powers on two
//! cores.
//!
//! `ptau --power P --out F` writes a phase-1 file prepared for phase 2
//! (snarkjs's `.ptau`, as `snarkjs powersoftau prepare phase2` leaves it).
//! It is a real one in every other respect: every point is the secrets'
//! multiple of the generator, the Lagrange sections are the Lagrange basis
//! of every domain 2^0 … 2^power (section 12 also 2^(power + 1), from the
//! powers the file holds, as snarkjs makes it) evaluated at tau, and
//! section 7 holds one contribution, named `INSECURE known tau (benchmark
//! only)`, whose proofs of knowledge answer the first challenge of
//! ceremony power 28, as a contribution to the Hermez or Perpetual Powers
//! of Tau ceremonies does. The header says the file is truncated from
//! power 28, as Hermez's `powersOfTau28_hez_final_PP` files are, so no
//! check hashes an accumulator it does not hold. `circuits ceremony
//! verify`, `snarkjs zkey new` and `snarkjs zkey verify` accept it.
//!
//! `zkey --slots N --out F` writes the initial key (`0000.zkey`) that
//! `circuits ceremony new` makes for N from such a file of a larger power
//! than the circuit's domain, byte for byte, in minutes instead of hours:
//! each point is one fixed-base multiplication of the generator by its
//! scalar (A(tau), B(tau), …) instead of a sum over the matrices'
//! Lagrange points. Only `contribute` benchmarks at the largest N use it.
//!
//!   cargo run --release -p circuits --example known_tau -- \
//!       ptau --power 19 --out pot19.ptau

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use ark_bn254::{Fq, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::scalar_mul::{BatchMulPreprocessing, ScalarMul};
use ark_ec::{AffineRepr, CurveGroup, PrimeGroup};
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField, UniformRand};
use ark_poly::{EvaluationDomain, Radix2EvaluationDomain};
use blake2::{Blake2b512, Digest};
use circuits::ceremony::binfile::BinWriter;
use circuits::ceremony::encoding;
use circuits::ceremony::ptau_chain::{first_challenge_hash, g2_sp};
use circuits::ceremony::ptau_verify::BLAKE2B_IV;
use circuits::ceremony::zkey::{domain_log2, InitialPoints, Zkey};
use circuits::keys;
use circuits::matrices::R1csMatrices;
use circuits::PplnsParams;
use clap::Parser;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// The ceremony power the file claims to be truncated from.
const CEREMONY_POWER: u32 = 28;

/// Scalars multiplied per batch (bounds the memory of the projective
/// intermediates).
const CHUNK: usize = 1 << 20;

#[derive(Parser)]
#[command(about = "INSECURE known-tau .ptau and initial .zkey, for benchmarks only")]
struct Args {
    #[command(subcommand)]
    file: Kind,
    /// Seed of tau, alpha and beta (and so of every point).
    #[arg(long, global = true, default_value_t = 1)]
    seed: u64,
}

#[derive(clap::Subcommand)]
enum Kind {
    /// A phase-1 file prepared for phase 2.
    Ptau {
        /// log2 of the largest circuit the file holds.
        #[arg(long)]
        power: u32,
        /// Where to write the file.
        #[arg(long)]
        out: PathBuf,
    },
    /// The initial phase-2 key for N slots.
    Zkey {
        /// N, the window's slots (a power of two).
        #[arg(long)]
        slots: u64,
        /// Where to write the key.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let progress = |what: &str| eprintln!("[{:7.1} s] {what}", started.elapsed().as_secs_f64());
    let secrets = Secrets::from_seed(args.seed);
    let out = match args.file {
        Kind::Ptau { power, out } => {
            if !(1..=27).contains(&power) {
                bail!("--power must be 1 to 27");
            }
            let file = File::create(&out).with_context(|| format!("creating {}", out.display()))?;
            write_ptau(
                power,
                &secrets,
                BufWriter::with_capacity(1 << 22, file),
                &progress,
            )?;
            out
        }
        Kind::Zkey { slots, out } => {
            if !slots.is_power_of_two() || slots < 2 {
                bail!("--slots {slots}: N must be a power of two from 2 to 2^24");
            }
            let params = PplnsParams::new(slots.trailing_zeros())?;
            let matrices = keys::build_matrices(params)?;
            progress("matrices");
            let zkey = initial_zkey(&matrices, &secrets, &progress)?;
            zkey.write_file(&out)?;
            out
        }
    };
    eprintln!(
        "wrote {} (INSECURE known tau) in {:.1} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The secrets every point of the files is made from.
struct Secrets {
    tau: Fr,
    alpha: Fr,
    beta: Fr,
    /// Draws the contribution key's random points.
    rng: StdRng,
}

impl Secrets {
    fn from_seed(seed: u64) -> Secrets {
        let mut rng = StdRng::seed_from_u64(seed);
        let (tau, alpha, beta) = (Fr::rand(&mut rng), Fr::rand(&mut rng), Fr::rand(&mut rng));
        Secrets {
            tau,
            alpha,
            beta,
            rng,
        }
    }
}

/// Writes the phase-1 file of `power`, reporting each section written to
/// `progress`.
fn write_ptau<W: Write>(
    power: u32,
    secrets: &Secrets,
    out: W,
    progress: &dyn Fn(&str),
) -> Result<W> {
    let Secrets {
        tau, alpha, beta, ..
    } = *secrets;
    let mut rng = secrets.rng.clone();
    let n = 1usize << power;
    let mut w = BinWriter::new(out, b"ptau", 1, 11)?;
    w.section(1, &header(power))?;

    let powers = powers_of(tau, 2 * n - 1);
    w.section(2, &g1_section(&powers))?;
    progress("section 2: tau G1");
    w.section(3, &g2_section(&powers[..n]))?;
    progress("section 3: tau G2");
    w.section(4, &g1_section(&scaled(alpha, &powers[..n])))?;
    progress("section 4: alpha tau G1");
    w.section(5, &g1_section(&scaled(beta, &powers[..n])))?;
    progress("section 5: beta tau G1");
    drop(powers);
    let beta_g2 = (G2Projective::generator() * beta).into_affine();
    w.section(6, &encoding::g2s_to_lem(&[beta_g2]))?;
    w.section(7, &contribution(&mut rng, tau, alpha, beta))?;

    // Lagrange bases of domains 2^0 … 2^power (2^(power + 1) for tau G1),
    // each block at offset 2^k − 1, as `prepare phase2` writes them: the
    // inverse FFT of the block's powers of tau. The file holds
    // 2^(power+1) − 1 powers, so snarkjs's top block of section 12 is the
    // inverse FFT of those and a zero, not quite L_i(tau); so is this one.
    let lagrange = |top: u32| -> Vec<Fr> {
        (0..=top)
            .flat_map(|k| {
                let domain = Radix2EvaluationDomain::<Fr>::new(1 << k)
                    .expect("BN254's two-adicity covers power 28");
                let mut block = powers_of(tau, 1 << k);
                if k == power + 1 {
                    *block.last_mut().expect("a domain has points") = Fr::ZERO;
                }
                domain.ifft_in_place(&mut block);
                block
            })
            .collect()
    };
    let l = lagrange(power + 1);
    w.section(12, &g1_section(&l))?;
    progress("section 12: Lagrange tau G1");
    let l = lagrange(power);
    w.section(13, &g2_section(&l))?;
    progress("section 13: Lagrange tau G2");
    w.section(14, &g1_section(&scaled(alpha, &l)))?;
    progress("section 14: Lagrange alpha tau G1");
    w.section(15, &g1_section(&scaled(beta, &l)))?;
    progress("section 15: Lagrange beta tau G1");
    Ok(w.finish()?)
}

/// Section 1: field size, the base field's modulus, power, ceremony power.
fn header(power: u32) -> Vec<u8> {
    let mut h = 32u32.to_le_bytes().to_vec();
    h.extend_from_slice(&Fq::MODULUS.to_bytes_le());
    h.extend_from_slice(&power.to_le_bytes());
    h.extend_from_slice(&CEREMONY_POWER.to_le_bytes());
    h
}

fn powers_of(x: Fr, count: usize) -> Vec<Fr> {
    std::iter::successors(Some(Fr::ONE), |p| Some(*p * x))
        .take(count)
        .collect()
}

fn scaled(k: Fr, xs: &[Fr]) -> Vec<Fr> {
    xs.iter().map(|x| k * x).collect()
}

/// Each scalar times the generator of `G`, a chunk at a time.
fn times_generator<G: ScalarMul<ScalarField = Fr>>(scalars: &[Fr]) -> Vec<G::MulBase> {
    let table = BatchMulPreprocessing::new(G::generator(), CHUNK.min(scalars.len()).max(1));
    scalars
        .chunks(CHUNK)
        .flat_map(|chunk| table.batch_mul(chunk))
        .collect()
}

/// Each scalar times the G1 generator, in snarkjs's layout.
fn g1_section(scalars: &[Fr]) -> Vec<u8> {
    scalars
        .chunks(CHUNK)
        .flat_map(|c| encoding::g1s_to_lem(&times_generator::<G1Projective>(c)))
        .collect()
}

/// Each scalar times the G2 generator, in snarkjs's layout.
fn g2_section(scalars: &[Fr]) -> Vec<u8> {
    scalars
        .chunks(CHUNK)
        .flat_map(|c| encoding::g2s_to_lem(&times_generator::<G2Projective>(c)))
        .collect()
}

/// The initial key for `matrices` as [`Zkey::new`] makes it from a
/// known-tau file of a larger power than the domain: every point is the
/// generator times its polynomial's value at tau.
fn initial_zkey(
    matrices: &R1csMatrices,
    secrets: &Secrets,
    progress: &dyn Fn(&str),
) -> Result<Zkey> {
    let Secrets {
        tau, alpha, beta, ..
    } = *secrets;
    let rows = matrices.num_constraints();
    let n_public = matrices.num_instance - 1;
    let vars = matrices.num_variables();
    let log = domain_log2(rows, n_public);
    let n = 1usize << log;
    let lagrange = Radix2EvaluationDomain::<Fr>::new(n)
        .expect("BN254's two-adicity covers the circuit")
        .evaluate_all_lagrange_coefficients(tau);
    // A(tau), B(tau) and (beta·A + alpha·B + C)(tau) for every variable;
    // each public variable s (the one included) also has A's input row
    // rows + s with coefficient one.
    let (mut a, mut b, mut lin) = (
        vec![Fr::ZERO; vars],
        vec![Fr::ZERO; vars],
        vec![Fr::ZERO; vars],
    );
    let table = &matrices.coefficients;
    for (m, scale, target) in [
        (&matrices.a, beta, 0),
        (&matrices.b, alpha, 1),
        (&matrices.c, Fr::ONE, 2),
    ] {
        for (row, w) in m.starts.windows(2).enumerate() {
            for k in w[0] as usize..w[1] as usize {
                let v = table[m.coefficients[k] as usize] * lagrange[row];
                let s = m.columns[k] as usize;
                match target {
                    0 => a[s] += v,
                    1 => b[s] += v,
                    _ => {}
                }
                lin[s] += scale * v;
            }
        }
    }
    for s in 0..=n_public {
        a[s] += lagrange[rows + s];
        lin[s] += beta * lagrange[rows + s];
    }
    progress("A(tau), B(tau), C(tau)");
    let doubled = Radix2EvaluationDomain::<Fr>::new(2 * n)
        .expect("BN254's two-adicity covers the circuit")
        .evaluate_all_lagrange_coefficients(tau);
    let h: Vec<Fr> = doubled.into_iter().skip(1).step_by(2).collect();
    let points = InitialPoints {
        alpha_g1: (G1Affine::generator() * alpha).into_affine(),
        beta_g1: (G1Affine::generator() * beta).into_affine(),
        beta_g2: (G2Affine::generator() * beta).into_affine(),
        a: times_generator::<G1Projective>(&a),
        b1: times_generator::<G1Projective>(&b),
        b2: times_generator::<G2Projective>(&b),
        lin: times_generator::<G1Projective>(&lin),
        h: times_generator::<G1Projective>(&h),
    };
    progress("points");
    // The points snarkjs hashes for H: (tau^(i+n) − tau^i)·G1.
    let tau_n = tau.pow([n as u64]);
    let zkey = Zkey::assemble(matrices, points, &mut |start, len| {
        let first = tau.pow([start]);
        let scalars: Vec<Fr> = powers_of(tau, len as usize)
            .into_iter()
            .map(|p| first * p * (tau_n - Fr::ONE))
            .collect();
        Ok(times_generator::<G1Projective>(&scalars)
            .into_iter()
            .map(|p| p.into_group())
            .collect())
    })?;
    progress("circuit hash");
    Ok(zkey)
}

/// Section 7: one contribution (snarkjs's `writeContribution`) that moved
/// the generators by tau, alpha and beta, with proofs of knowledge for the
/// first challenge of [`CEREMONY_POWER`].
fn contribution(rng: &mut StdRng, tau: Fr, alpha: Fr, beta: Fr) -> Vec<u8> {
    let g1 = G1Affine::generator();
    let g2 = G2Affine::generator();
    let challenge = first_challenge_hash(CEREMONY_POWER);
    let mut body = 1u32.to_le_bytes().to_vec();
    let mut points = encoding::g1s_to_lem(&[(g1 * tau).into_affine()]);
    points.extend(encoding::g2s_to_lem(&[(g2 * tau).into_affine()]));
    points.extend(encoding::g1s_to_lem(&[
        (g1 * alpha).into_affine(),
        (g1 * beta).into_affine(),
    ]));
    points.extend(encoding::g2s_to_lem(&[(g2 * beta).into_affine()]));
    body.extend(points);

    // The public key: for each secret x, (s, s·x) in G1 and sp·x in G2.
    let mut key_g1 = Vec::new();
    let mut key_g2 = Vec::new();
    for (personalization, x) in [tau, alpha, beta].into_iter().enumerate() {
        let s = (g1 * Fr::rand(rng)).into_affine();
        let sx = (s * x).into_affine();
        let spx = (g2_sp(personalization as u8, &challenge, &s, &sx) * x).into_affine();
        key_g1.extend([s, sx]);
        key_g2.push(spx);
    }
    body.extend(encoding::g1s_to_lem(&key_g1));
    body.extend(encoding::g2s_to_lem(&key_g2));
    let mut key_u = Vec::new();
    for p in &key_g1 {
        key_u.extend_from_slice(&encoding::g1_to_u(p));
    }
    for p in &key_g2 {
        key_u.extend_from_slice(&encoding::g2_to_u(p));
    }

    // The BLAKE2b-512 state before the key is hashed (snarkjs's
    // `partialHash`): here the initial state, so the response hash is
    // BLAKE2b(key). buffer, h, t, buffer position.
    let mut partial = [0u8; 216];
    let mut iv = BLAKE2B_IV;
    // Parameter block: 64-byte digest, no key, fanout and depth 1.
    iv[0] ^= 0x0101_0040;
    for (i, word) in iv.iter().enumerate() {
        partial[128 + 8 * i..136 + 8 * i].copy_from_slice(&word.to_le_bytes());
    }
    body.extend_from_slice(&partial);
    let response = Blake2b512::digest(&key_u);
    // The next challenge would hash the whole power-28 accumulator, which
    // a truncated file does not hold; nothing checks it.
    body.extend_from_slice(&Blake2b512::digest(response));
    body.extend_from_slice(&0u32.to_le_bytes());
    let name = b"INSECURE known tau (benchmark only)";
    let mut params = vec![1u8, name.len() as u8];
    params.extend_from_slice(name);
    body.extend_from_slice(&(params.len() as u32).to_le_bytes());
    body.extend_from_slice(&params);
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use circuits::ceremony::ptau::Ptau;
    use circuits::ceremony::ptau_chain::verify_chain;
    use circuits::ceremony::ptau_verify::verify_powers;

    fn ptau(dir: &std::path::Path, power: u32, seed: u64) -> std::path::PathBuf {
        let path = dir.join(format!("pot{power}.ptau"));
        let file = File::create(&path).unwrap();
        write_ptau(power, &Secrets::from_seed(seed), file, &|_| {}).unwrap();
        path
    }

    /// The file passes the checks a ceremony runs on a public one: its
    /// powers, every Lagrange block a key of the file's power uses, and
    /// its contribution chain against ceremony power 28's first challenge.
    #[test]
    fn the_ptau_verifies_as_a_prepared_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut ptau = Ptau::open(&ptau(dir.path(), 5, 7)).unwrap();
        assert_eq!((ptau.power, ptau.ceremony_power), (5, 28));
        for log_size in 1..=5 {
            verify_powers(&mut ptau, log_size).unwrap();
        }
        let chain = verify_chain(&mut ptau).unwrap();
        assert_eq!(chain.contributions.len(), 1);
        assert!(chain.contributions[0]
            .name
            .as_deref()
            .unwrap()
            .starts_with("INSECURE"));
    }

    /// Another seed gives other secrets: the points are not the generators'.
    #[test]
    fn seeds_give_different_files() {
        let a = write_ptau(3, &Secrets::from_seed(1), Vec::new(), &|_| {}).unwrap();
        let b = write_ptau(3, &Secrets::from_seed(2), Vec::new(), &|_| {}).unwrap();
        assert_eq!(a.len(), b.len());
        assert_ne!(a, b);
    }

    /// The shortcut key is the one `ceremony new` makes from the file.
    #[test]
    fn the_zkey_is_the_one_new_makes_from_the_ptau() {
        let matrices = keys::build_matrices(PplnsParams::new(1).unwrap()).unwrap();
        let log = domain_log2(matrices.num_constraints(), matrices.num_instance - 1);
        let dir = tempfile::tempdir().unwrap();
        let mut file = Ptau::open(&ptau(dir.path(), log + 1, 3)).unwrap();
        let made = Zkey::new(&matrices, &mut file).unwrap();
        let known = initial_zkey(&matrices, &Secrets::from_seed(3), &|_| {}).unwrap();
        assert_eq!(made, known);
        let other = initial_zkey(&matrices, &Secrets::from_seed(4), &|_| {}).unwrap();
        assert_ne!(made.mpc.cs_hash, other.mpc.cs_hash);
    }
}
