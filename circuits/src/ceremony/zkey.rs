//! Phase 2: snarkjs's Groth16 key file (`.zkey`), read, written and made
//! from a circuit and a phase-1 file exactly as `snarkjs zkey new` makes it.
//!
//! Sections (iden3 container, kind `zkey`, version 1):
//! 1. protocol (`u32` 1 = Groth16);
//! 2. header: field sizes and moduli, `u32` variables, public inputs and
//!    domain size, then alpha·G1, beta·G1, beta·G2, gamma·G2, delta·G1,
//!    delta·G2;
//! 3. IC: the public inputs' (beta·A + alpha·B + C)(tau)·G1 / gamma;
//! 4. the A and B matrix entries (`u32` matrix, constraint, signal and the
//!    value times R², a quirk of snarkjs kept for byte compatibility);
//! 5. A(tau)·G1, 6. B(tau)·G1, 7. B(tau)·G2 for every variable;
//! 8. C: the private variables' (beta·A + alpha·B + C)(tau)·G1 / delta;
//! 9. H: the Lagrange basis of the doubled domain at its odd points, times
//!    Z(tau)·G1 / delta — snarkjs's QAP ([`crate::groth16::Reduction::Circom`]);
//! 10. the MPC parameters: the circuit hash and every contribution.
//!
//! Variables and constraints are in the order of the circuit's matrices
//! (column 0 the constant one, then the public inputs, then the witness),
//! the order of the exported `.r1cs` ([`super::r1cs_file`]).

use std::io::Write;
use std::path::Path;

use ark_bn254::{Bn254, Fq, Fr, G1Affine, G1Projective, G2Affine, G2Projective};
use ark_ec::{AffineRepr, CurveGroup};
use ark_ff::{AdditiveGroup, BigInteger, Field, PrimeField, Zero};
use ark_groth16::{ProvingKey, VerifyingKey};
use blake2::{Blake2b512, Digest};
use rayon::prelude::*;
use tracing::info_span;

use super::binfile::{BinFile, BinFileError, BinWriter};
use super::encoding::{
    self, g1_to_lem, g1_to_u, g2_to_lem, g2_to_u, EncodingError, FR_BYTES, G1_BYTES, G2_BYTES,
};
use super::ptau::{G1Series, Ptau, PtauError};
use super::ptau_verify::{h_hash_reach, H_HASH_CHUNK};
use crate::matrices::{R1csMatrices, SparseMatrix};

/// Errors of reading, writing and making `.zkey` files.
#[derive(Debug, thiserror::Error)]
pub enum ZkeyError {
    /// The container could not be read.
    #[error(transparent)]
    File(#[from] BinFileError),
    /// The phase-1 file could not be used.
    #[error(transparent)]
    Ptau(#[from] PtauError),
    /// Writing failed.
    #[error("writing the zkey: {0}")]
    Write(#[source] std::io::Error),
    /// Not a Groth16 key over BN254, or inconsistent sizes.
    #[error("{path}: {problem}")]
    Format { path: String, problem: String },
    /// A point or scalar is malformed.
    #[error("{path}: {what} element {index}: {source}")]
    Element {
        path: String,
        what: &'static str,
        index: usize,
        #[source]
        source: EncodingError,
    },
    /// The circuit does not fit BN254's FFT domains.
    #[error("the circuit needs a domain of 2^{0}, beyond BN254's 2^28")]
    TooLarge(u32),
    /// snarkjs hashes the H points past the end of the phase-1 powers for
    /// this size; a file of one more power avoids it.
    #[error("a domain of 2^{log_size} with a phase-1 file of power {power} makes snarkjs hash past its powers; use a file of power {}", log_size + 1)]
    HashPastPowers { log_size: u32, power: u32 },
}

/// One entry of the A or B matrix, as section 4 holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coef {
    /// 0 for A, 1 for B.
    pub matrix: u32,
    /// The constraint (row); the input rows follow the circuit's.
    pub constraint: u32,
    /// The variable (column).
    pub signal: u32,
    /// The coefficient.
    pub value: Fr,
}

/// What kind of contribution a record is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContributionKind {
    /// A participant's secret (type 0).
    Secret,
    /// A public random beacon (type 1): its hash and log2 of its SHA-256
    /// iterations.
    Beacon { hash: Vec<u8>, iterations_exp: u8 },
}

/// One phase-2 contribution: delta multiplied by a secret x, and the proof
/// that the contributor knew x.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    /// delta·G1 after this contribution.
    pub delta_after: G1Affine,
    /// A random G1 point s.
    pub g1_s: G1Affine,
    /// x·s.
    pub g1_sx: G1Affine,
    /// x·hash_to_g2(transcript).
    pub g2_spx: G2Affine,
    /// BLAKE2b-512 of the circuit hash, every earlier contribution and s, x·s.
    pub transcript: [u8; 64],
    /// Secret or beacon.
    pub kind: ContributionKind,
    /// The contributor's name, if given.
    pub name: Option<String>,
}

/// Section 10: the circuit hash and the chain of contributions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpcParams {
    /// BLAKE2b-512 of the initial key (see [`Zkey::new`]).
    pub cs_hash: [u8; 64],
    /// Every contribution, oldest first.
    pub contributions: Vec<Contribution>,
}

/// A Groth16 key in snarkjs's layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zkey {
    /// Variables, the constant one included.
    pub n_vars: u32,
    /// Public inputs, the constant one excluded.
    pub n_public: u32,
    /// The QAP domain's size.
    pub domain_size: u32,
    /// alpha·G1.
    pub alpha_g1: G1Affine,
    /// beta·G1.
    pub beta_g1: G1Affine,
    /// beta·G2.
    pub beta_g2: G2Affine,
    /// gamma·G2 (the generator: snarkjs never randomizes gamma).
    pub gamma_g2: G2Affine,
    /// delta·G1.
    pub delta_g1: G1Affine,
    /// delta·G2.
    pub delta_g2: G2Affine,
    /// Section 3.
    pub ic: Vec<G1Affine>,
    /// Section 4.
    pub coefs: Vec<Coef>,
    /// Section 5.
    pub a: Vec<G1Affine>,
    /// Section 6.
    pub b1: Vec<G1Affine>,
    /// Section 7.
    pub b2: Vec<G2Affine>,
    /// Section 8.
    pub c: Vec<G1Affine>,
    /// Section 9.
    pub h: Vec<G1Affine>,
    /// Section 10.
    pub mpc: MpcParams,
}

/// The points of an initial key before [`Zkey::assemble`] lays them out
/// and hashes them: what [`Zkey::new`] computes from a phase-1 file's
/// Lagrange sections (and what a benchmark that knows tau can compute
/// directly).
#[derive(Debug, Clone)]
pub struct InitialPoints {
    /// alpha·G1.
    pub alpha_g1: G1Affine,
    /// beta·G1.
    pub beta_g1: G1Affine,
    /// beta·G2.
    pub beta_g2: G2Affine,
    /// A(tau)·G1 for every variable.
    pub a: Vec<G1Affine>,
    /// B(tau)·G1 for every variable.
    pub b1: Vec<G1Affine>,
    /// B(tau)·G2 for every variable.
    pub b2: Vec<G2Affine>,
    /// (beta·A + alpha·B + C)(tau)·G1 for every variable, the input rows
    /// included: IC for the one and the public inputs, C for the rest.
    pub lin: Vec<G1Affine>,
    /// L_(2i+1)(tau)·G1 of the doubled domain, i < n.
    pub h: Vec<G1Affine>,
}

/// 2^256 mod r squared: snarkjs stores each coefficient times it.
fn r2() -> Fr {
    let r = Fr::from(2u64).pow([256u64]);
    r * r
}

/// The transpose of a matrix: for each variable, its (constraint, coefficient).
fn by_variable(m: &SparseMatrix, table: &[Fr], vars: usize) -> Vec<Vec<(u32, Fr)>> {
    let mut out: Vec<Vec<(u32, Fr)>> = vec![Vec::new(); vars];
    for (row, w) in m.starts.windows(2).enumerate() {
        for k in w[0] as usize..w[1] as usize {
            out[m.columns[k] as usize].push((row as u32, table[m.coefficients[k] as usize]));
        }
    }
    out
}

/// Σ kᵢ·Pᵢ for a handful of terms (one variable's entries in a matrix):
/// Straus's interleaved method over width-5 NAFs, so the terms share one
/// chain of doublings. Each scalar is taken as the shorter of k and −k (the
/// point negated), since many coefficients are small negatives.
fn combine<G: AffineRepr<ScalarField = Fr>>(terms: &[(G, Fr)]) -> G::Group {
    const W: usize = 5;
    const TABLE: usize = 1 << (W - 2);
    if terms.is_empty() {
        return G::Group::zero();
    }
    let mut nafs = Vec::with_capacity(terms.len());
    let mut tables: Vec<G::Group> = Vec::with_capacity(terms.len() * TABLE);
    for (p, k) in terms {
        let (pos, neg) = (k.into_bigint(), (-*k).into_bigint());
        let (bits, base) = if pos.num_bits() <= neg.num_bits() {
            (pos, p.into_group())
        } else {
            (neg, -p.into_group())
        };
        nafs.push(bits.find_wnaf(W).expect("a width of 5 is supported"));
        // base, 3·base, 5·base, … 15·base
        let double = base.double();
        let mut odd = base;
        for _ in 0..TABLE {
            tables.push(odd);
            odd += double;
        }
    }
    let tables = G::Group::normalize_batch(&tables);
    let len = nafs.iter().map(Vec::len).max().unwrap_or(0);
    let mut acc = G::Group::zero();
    for i in (0..len).rev() {
        acc.double_in_place();
        for (t, naf) in nafs.iter().enumerate() {
            match naf.get(i).copied().unwrap_or(0) {
                0 => {}
                d if d > 0 => acc += &tables[t * TABLE + (d as usize) / 2],
                d => acc -= &tables[t * TABLE + (-d as usize) / 2],
            }
        }
    }
    acc
}

/// log2 of snarkjs's domain for `constraints` rows and `public` inputs:
/// the smallest power of two above `constraints + public`.
pub fn domain_log2(constraints: usize, public: usize) -> u32 {
    let x = (constraints + public) as u64;
    64 - x.leading_zeros()
}

struct Hasher(Blake2b512);

impl Hasher {
    fn u32(&mut self, n: usize) {
        self.0.update((n as u32).to_be_bytes());
    }
    fn g1s(&mut self, points: &[G1Affine]) {
        self.u32(points.len());
        for p in points {
            self.0.update(g1_to_u(p));
        }
    }
    fn g2s(&mut self, points: &[G2Affine]) {
        self.u32(points.len());
        for p in points {
            self.0.update(g2_to_u(p));
        }
    }
}

impl Zkey {
    /// The initial key (no contribution, delta = 1) for `matrices` from the
    /// phase-1 file, as `snarkjs zkey new` computes it, circuit hash
    /// included: deterministic for a circuit and a ptau.
    ///
    /// # Errors
    /// [`ZkeyError`] when the ptau is too small, unprepared or malformed.
    pub fn new(matrices: &R1csMatrices, ptau: &mut Ptau) -> Result<Zkey, ZkeyError> {
        let _span = info_span!("zkey new", constraints = matrices.num_constraints()).entered();
        let rows = matrices.num_constraints();
        let n_public = matrices.num_instance - 1;
        let vars = matrices.num_variables();
        let log = domain_log2(rows, n_public);
        if log > 28 {
            return Err(ZkeyError::TooLarge(log));
        }
        if log > ptau.power {
            return Err(PtauError::TooSmall {
                path: String::new(),
                power: ptau.power,
                needed: log,
            }
            .into());
        }
        if h_hash_reach(log) > (1u64 << (ptau.power + 1)) - 1 {
            return Err(ZkeyError::HashPastPowers {
                log_size: log,
                power: ptau.power,
            });
        }
        let n = 1usize << log;
        let (alpha_g1, beta_g1, beta_g2) = ptau.alpha_beta()?;
        let tau = ptau.lagrange_g1(G1Series::Tau, log)?;
        let tau2 = ptau.lagrange_g2(log)?;
        let alpha_tau = ptau.lagrange_g1(G1Series::AlphaTau, log)?;
        let beta_tau = ptau.lagrange_g1(G1Series::BetaTau, log)?;
        let h = {
            let _s = info_span!("H").entered();
            let doubled = ptau.lagrange_g1(G1Series::Tau, log + 1)?;
            (0..n).map(|i| doubled[2 * i + 1]).collect::<Vec<_>>()
        };

        let table = &matrices.coefficients;
        let a_cols = by_variable(&matrices.a, table, vars);
        let b_cols = by_variable(&matrices.b, table, vars);
        let c_cols = by_variable(&matrices.c, table, vars);
        let _s = info_span!("points", variables = vars).entered();
        let input_row = |s: usize| (s <= n_public).then_some((rows + s) as u32);
        let (a, (b1, b2)) = rayon::join(
            || {
                let p: Vec<G1Projective> = (0..vars)
                    .into_par_iter()
                    .map(|s| {
                        let mut t: Vec<_> = a_cols[s]
                            .iter()
                            .map(|&(c, k)| (tau[c as usize], k))
                            .collect();
                        if let Some(r) = input_row(s) {
                            t.push((tau[r as usize], Fr::ONE));
                        }
                        combine(&t)
                    })
                    .collect();
                G1Projective::normalize_batch(&p)
            },
            || {
                rayon::join(
                    || {
                        let p: Vec<G1Projective> = (0..vars)
                            .into_par_iter()
                            .map(|s| {
                                let t: Vec<_> = b_cols[s]
                                    .iter()
                                    .map(|&(c, k)| (tau[c as usize], k))
                                    .collect();
                                combine(&t)
                            })
                            .collect();
                        G1Projective::normalize_batch(&p)
                    },
                    || {
                        let p: Vec<G2Projective> = (0..vars)
                            .into_par_iter()
                            .map(|s| {
                                let t: Vec<_> = b_cols[s]
                                    .iter()
                                    .map(|&(c, k)| (tau2[c as usize], k))
                                    .collect();
                                combine(&t)
                            })
                            .collect();
                        G2Projective::normalize_batch(&p)
                    },
                )
            },
        );
        let lin: Vec<G1Projective> = (0..vars)
            .into_par_iter()
            .map(|s| {
                let mut t: Vec<_> = a_cols[s]
                    .iter()
                    .map(|&(c, k)| (beta_tau[c as usize], k))
                    .chain(b_cols[s].iter().map(|&(c, k)| (alpha_tau[c as usize], k)))
                    .chain(c_cols[s].iter().map(|&(c, k)| (tau[c as usize], k)))
                    .collect();
                if let Some(r) = input_row(s) {
                    t.push((beta_tau[r as usize], Fr::ONE));
                }
                combine(&t)
            })
            .collect();
        let lin = G1Projective::normalize_batch(&lin);
        drop(_s);
        let points = InitialPoints {
            alpha_g1,
            beta_g1,
            beta_g2,
            a,
            b1,
            b2,
            lin,
            h,
        };
        Zkey::assemble(matrices, points, &mut |start, len| {
            let high = ptau.tau_g1(start + n as u64, len)?;
            let low = ptau.tau_g1(start, len)?;
            Ok(high
                .par_iter()
                .zip(low.par_iter())
                .map(|(h, l)| h.into_group() - l)
                .collect())
        })
    }

    /// Lays out an initial key from its points (sections 3–9) and hashes
    /// it into the circuit hash as snarkjs does. `h_hash(start, len)` gives
    /// the points (tau^(i+n) − tau^i)·G1 for i in start..start + len that
    /// snarkjs hashes in place of the H query ([`Zkey::new`] reads them from
    /// the phase-1 powers).
    ///
    /// # Errors
    /// Whatever `h_hash` returns.
    ///
    /// # Panics
    /// If a query's length is not the matrices' variable count, or H's
    /// not a power of two.
    pub fn assemble(
        matrices: &R1csMatrices,
        points: InitialPoints,
        h_hash: &mut dyn FnMut(u64, u64) -> Result<Vec<G1Projective>, ZkeyError>,
    ) -> Result<Zkey, ZkeyError> {
        let InitialPoints {
            alpha_g1,
            beta_g1,
            beta_g2,
            a,
            b1,
            b2,
            lin,
            h,
        } = points;
        let rows = matrices.num_constraints();
        let n_public = matrices.num_instance - 1;
        let vars = matrices.num_variables();
        let n = h.len();
        assert!(
            [a.len(), b1.len(), b2.len(), lin.len()] == [vars; 4] && n.is_power_of_two(),
            "the points do not fit the matrices"
        );
        let table = &matrices.coefficients;
        let ic = lin[..=n_public].to_vec();
        let c = lin[n_public + 1..].to_vec();

        let mut coefs = Vec::with_capacity(matrices.a.nnz() + matrices.b.nnz() + n_public + 1);
        for (row, (wa, wb)) in matrices
            .a
            .starts
            .windows(2)
            .zip(matrices.b.starts.windows(2))
            .enumerate()
        {
            for (matrix, m, w) in [(0, &matrices.a, wa), (1, &matrices.b, wb)] {
                for k in w[0] as usize..w[1] as usize {
                    coefs.push(Coef {
                        matrix,
                        constraint: row as u32,
                        signal: m.columns[k],
                        value: table[m.coefficients[k] as usize],
                    });
                }
            }
        }
        for s in 0..=n_public {
            coefs.push(Coef {
                matrix: 0,
                constraint: (rows + s) as u32,
                signal: s as u32,
                value: Fr::ONE,
            });
        }

        let g1 = G1Affine::generator();
        let g2 = G2Affine::generator();
        let mut hasher = Hasher(Blake2b512::new());
        hasher.0.update(g1_to_u(&alpha_g1));
        hasher.0.update(g1_to_u(&beta_g1));
        hasher.0.update(g2_to_u(&beta_g2));
        hasher.0.update(g2_to_u(&g2));
        hasher.0.update(g1_to_u(&g1));
        hasher.0.update(g2_to_u(&g2));
        hasher.g1s(&ic);
        hash_h(&mut hasher, n, h_hash)?;
        hasher.g1s(&c);
        hasher.g1s(&a);
        hasher.g1s(&b1);
        hasher.g2s(&b2);
        let cs_hash: [u8; 64] = hasher.0.finalize().into();

        Ok(Zkey {
            n_vars: vars as u32,
            n_public: n_public as u32,
            domain_size: n as u32,
            alpha_g1,
            beta_g1,
            beta_g2,
            gamma_g2: g2,
            delta_g1: g1,
            delta_g2: g2,
            ic,
            coefs,
            a,
            b1,
            b2,
            c,
            h,
            mpc: MpcParams {
                cs_hash,
                contributions: Vec::new(),
            },
        })
    }

    /// The proving key for our prover (with [`crate::groth16::Reduction::Circom`]).
    pub fn proving_key(&self) -> ProvingKey<Bn254> {
        ProvingKey {
            vk: self.verifying_key(),
            beta_g1: self.beta_g1,
            delta_g1: self.delta_g1,
            a_query: self.a.clone(),
            b_g1_query: self.b1.clone(),
            b_g2_query: self.b2.clone(),
            h_query: self.h.clone(),
            l_query: self.c.clone(),
        }
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> VerifyingKey<Bn254> {
        VerifyingKey {
            alpha_g1: self.alpha_g1,
            beta_g2: self.beta_g2,
            gamma_g2: self.gamma_g2,
            delta_g2: self.delta_g2,
            gamma_abc_g1: self.ic.clone(),
        }
    }

    fn header_section(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(4 * 32 + 5 * 4 + 6 * G2_BYTES);
        b.extend_from_slice(&32u32.to_le_bytes());
        b.extend_from_slice(&Fq::MODULUS.to_bytes_le());
        b.extend_from_slice(&32u32.to_le_bytes());
        b.extend_from_slice(&Fr::MODULUS.to_bytes_le());
        b.extend_from_slice(&self.n_vars.to_le_bytes());
        b.extend_from_slice(&self.n_public.to_le_bytes());
        b.extend_from_slice(&self.domain_size.to_le_bytes());
        let mut p1 = [0u8; G1_BYTES];
        let mut p2 = [0u8; G2_BYTES];
        for (g1, g2) in [
            (Some(&self.alpha_g1), None),
            (Some(&self.beta_g1), None),
            (None, Some(&self.beta_g2)),
            (None, Some(&self.gamma_g2)),
            (Some(&self.delta_g1), None),
            (None, Some(&self.delta_g2)),
        ] {
            if let Some(p) = g1 {
                g1_to_lem(p, &mut p1);
                b.extend_from_slice(&p1);
            }
            if let Some(p) = g2 {
                g2_to_lem(p, &mut p2);
                b.extend_from_slice(&p2);
            }
        }
        b
    }

    fn coefs_section(&self) -> Vec<u8> {
        let r2 = r2();
        let mut b = Vec::with_capacity(4 + self.coefs.len() * (12 + FR_BYTES));
        b.extend_from_slice(&(self.coefs.len() as u32).to_le_bytes());
        for c in &self.coefs {
            b.extend_from_slice(&c.matrix.to_le_bytes());
            b.extend_from_slice(&c.constraint.to_le_bytes());
            b.extend_from_slice(&c.signal.to_le_bytes());
            b.extend_from_slice(&encoding::fr_to_le(&(c.value * r2)));
        }
        b
    }

    fn mpc_section(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&self.mpc.cs_hash);
        b.extend_from_slice(&(self.mpc.contributions.len() as u32).to_le_bytes());
        for c in &self.mpc.contributions {
            write_contribution(&mut b, c);
        }
        b
    }

    /// Writes the key. An initial key (no contribution) is written in the
    /// section order of `snarkjs zkey new`, a contributed one in that of
    /// `snarkjs zkey contribute`, so that both tools make identical bytes.
    ///
    /// # Errors
    /// [`ZkeyError::Write`].
    pub fn write<W: Write>(&self, out: W) -> Result<(), ZkeyError> {
        let _span = info_span!("write zkey").entered();
        let mut w = BinWriter::new(out, b"zkey", 1, 10).map_err(ZkeyError::Write)?;
        let order: [u32; 10] = if self.mpc.contributions.is_empty() {
            [1, 2, 4, 3, 9, 8, 5, 6, 7, 10]
        } else {
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        };
        for id in order {
            let body = match id {
                1 => 1u32.to_le_bytes().to_vec(),
                2 => self.header_section(),
                3 => encoding::g1s_to_lem(&self.ic),
                4 => self.coefs_section(),
                5 => encoding::g1s_to_lem(&self.a),
                6 => encoding::g1s_to_lem(&self.b1),
                7 => encoding::g2s_to_lem(&self.b2),
                8 => encoding::g1s_to_lem(&self.c),
                9 => encoding::g1s_to_lem(&self.h),
                _ => self.mpc_section(),
            };
            w.section(id, &body).map_err(ZkeyError::Write)?;
        }
        w.finish().map_err(ZkeyError::Write)?;
        Ok(())
    }

    /// Writes the key to `path`.
    ///
    /// # Errors
    /// [`ZkeyError::Write`].
    pub fn write_file(&self, path: &Path) -> Result<(), ZkeyError> {
        let file = std::fs::File::create(path).map_err(ZkeyError::Write)?;
        self.write(std::io::BufWriter::with_capacity(1 << 20, file))
    }

    /// Reads and checks a `.zkey` file: every point on the curve and in its
    /// subgroup (B2 on the curve only: see below), every size consistent
    /// with the header.
    ///
    /// # Errors
    /// [`ZkeyError`] naming the first problem.
    pub fn read(path: &Path) -> Result<Zkey, ZkeyError> {
        let _span = info_span!("read zkey").entered();
        let mut f = BinFile::open(path, b"zkey", 1)?;
        let p = path.display().to_string();
        let format = |problem: String| ZkeyError::Format {
            path: p.clone(),
            problem,
        };
        let protocol = f.read_all(1, "protocol")?;
        if protocol != 1u32.to_le_bytes() {
            return Err(format("not a Groth16 key".into()));
        }
        let h = f.read_all(2, "header")?;
        let expected_len = 4 + 32 + 4 + 32 + 12 + 3 * G1_BYTES + 3 * G2_BYTES;
        if h.len() != expected_len {
            return Err(format(format!(
                "header of {} bytes, BN254 needs {expected_len}",
                h.len()
            )));
        }
        if h[..4] != 32u32.to_le_bytes()
            || h[4..36] != Fq::MODULUS.to_bytes_le()[..]
            || h[36..40] != 32u32.to_le_bytes()
            || h[40..72] != Fr::MODULUS.to_bytes_le()[..]
        {
            return Err(format("not a key over BN254".into()));
        }
        let word = |o: usize| u32::from_le_bytes(h[o..o + 4].try_into().expect("4 bytes"));
        let (n_vars, n_public, domain_size) = (word(72), word(76), word(80));
        if !domain_size.is_power_of_two() || n_public >= n_vars {
            return Err(format(format!(
                "{n_vars} variables, {n_public} public, domain {domain_size}"
            )));
        }
        let el = |what: &'static str| {
            let p = p.clone();
            move |(index, source): (usize, EncodingError)| ZkeyError::Element {
                path: p.clone(),
                what,
                index,
                source,
            }
        };
        let g1s_at = |bytes: &[u8], what| encoding::g1s_from_lem(bytes).map_err(el(what));
        let g2s_at = |bytes: &[u8], what| encoding::g2s_from_lem(bytes).map_err(el(what));
        let mut o = 84;
        let mut next_g1 = |what| {
            let r = g1s_at(&h[o..o + G1_BYTES], what).map(|v| v[0]);
            o += G1_BYTES;
            r
        };
        let alpha_g1 = next_g1("alpha")?;
        let beta_g1 = next_g1("beta")?;
        let beta_g2 = g2s_at(&h[o..o + G2_BYTES], "beta2")?[0];
        let gamma_g2 = g2s_at(&h[o + G2_BYTES..o + 2 * G2_BYTES], "gamma2")?[0];
        let delta_g1 = g1s_at(&h[o + 2 * G2_BYTES..o + 2 * G2_BYTES + G1_BYTES], "delta")?[0];
        let delta_g2 = g2s_at(&h[o + 2 * G2_BYTES + G1_BYTES..], "delta2")?[0];

        let (vars, public, n) = (n_vars as usize, n_public as usize, domain_size as usize);
        let mut points_g1 = |id: u32, what: &'static str, count: usize| {
            let bytes = f.read_all(id, what)?;
            if bytes.len() != count * G1_BYTES {
                return Err(format(format!(
                    "section {id} ({what}) has {} bytes, {count} points need {}",
                    bytes.len(),
                    count * G1_BYTES
                )));
            }
            g1s_at(&bytes, what)
        };
        let ic = points_g1(3, "IC", public + 1)?;
        let a = points_g1(5, "A", vars)?;
        let b1 = points_g1(6, "B1", vars)?;
        let c = points_g1(8, "C", vars - public - 1)?;
        let hq = points_g1(9, "H", n)?;
        let b2_bytes = f.read_all(7, "B2")?;
        if b2_bytes.len() != vars * G2_BYTES {
            return Err(format(format!(
                "section 7 (B2) has {} bytes, {vars} points need {}",
                b2_bytes.len(),
                vars * G2_BYTES
            )));
        }
        // On the curve only: contribute and beacon pass B2 through, and
        // verify (hence finalize) requires it to equal the initial key's,
        // which is made from checked phase-1 points.
        let b2 = encoding::g2s_on_curve_from_lem(&b2_bytes).map_err(el("B2"))?;

        let cb = f.read_all(4, "coefficients")?;
        let count = cb
            .get(..4)
            .map(|w| u32::from_le_bytes(w.try_into().expect("4 bytes")) as usize)
            .ok_or_else(|| format("empty coefficient section".into()))?;
        if cb.len() != 4 + count * (12 + FR_BYTES) {
            return Err(format(format!(
                "coefficient section of {} bytes for {count} entries",
                cb.len()
            )));
        }
        let r2_inv = r2().inverse().expect("R² is invertible");
        let coefs = cb[4..]
            .chunks(12 + FR_BYTES)
            .enumerate()
            .map(|(i, e)| {
                let w = |o: usize| u32::from_le_bytes(e[o..o + 4].try_into().expect("4 bytes"));
                let value =
                    encoding::fr_from_le(&e[12..]).map_err(|source| ZkeyError::Element {
                        path: p.clone(),
                        what: "coefficient",
                        index: i,
                        source,
                    })? * r2_inv;
                let coef = Coef {
                    matrix: w(0),
                    constraint: w(4),
                    signal: w(8),
                    value,
                };
                if coef.matrix > 1 || coef.signal >= n_vars || coef.constraint >= domain_size {
                    return Err(format(format!("coefficient {i} is out of range: {coef:?}")));
                }
                Ok(coef)
            })
            .collect::<Result<Vec<_>, _>>()?;

        let mpc_bytes = f.read_all(10, "contributions")?;
        let mpc = read_mpc(&mpc_bytes).map_err(format)?;
        Ok(Zkey {
            n_vars,
            n_public,
            domain_size,
            alpha_g1,
            beta_g1,
            beta_g2,
            gamma_g2,
            delta_g1,
            delta_g2,
            ic,
            coefs,
            a,
            b1,
            b2,
            c,
            h: hq,
            mpc,
        })
    }
}

/// The H part of the circuit hash: snarkjs hashes (tau^(i+n) − tau^i)·G1,
/// i.e. the libsnark H query, in chunks of 2^14 points; every chunk has
/// min(n − 1, 2^14) points, so past 2^14 the last one runs on beyond n − 1.
fn hash_h(
    hasher: &mut Hasher,
    n: usize,
    points: &mut dyn FnMut(u64, u64) -> Result<Vec<G1Projective>, ZkeyError>,
) -> Result<(), ZkeyError> {
    let chunk = H_HASH_CHUNK as usize;
    let len = (n - 1).min(chunk);
    hasher.u32(n - 1);
    for start in (0..n - 1).step_by(chunk) {
        for p in G1Projective::normalize_batch(&points(start as u64, len as u64)?) {
            hasher.0.update(g1_to_u(&p));
        }
    }
    Ok(())
}

fn write_contribution(b: &mut Vec<u8>, c: &Contribution) {
    let mut p1 = [0u8; G1_BYTES];
    let mut p2 = [0u8; G2_BYTES];
    for p in [&c.delta_after, &c.g1_s, &c.g1_sx] {
        g1_to_lem(p, &mut p1);
        b.extend_from_slice(&p1);
    }
    g2_to_lem(&c.g2_spx, &mut p2);
    b.extend_from_slice(&p2);
    b.extend_from_slice(&c.transcript);
    let mut params = Vec::new();
    if let Some(name) = &c.name {
        let bytes = name.as_bytes();
        let len = bytes.len().min(255);
        params.push(1);
        params.push(len as u8);
        params.extend_from_slice(&bytes[..len]);
    }
    let kind = match &c.kind {
        ContributionKind::Secret => 0u32,
        ContributionKind::Beacon {
            hash,
            iterations_exp,
        } => {
            params.extend_from_slice(&[2, *iterations_exp, 3, hash.len() as u8]);
            params.extend_from_slice(hash);
            1
        }
    };
    b.extend_from_slice(&kind.to_le_bytes());
    b.extend_from_slice(&(params.len() as u32).to_le_bytes());
    b.extend_from_slice(&params);
}

/// Reads section 10; the error says what is wrong.
fn read_mpc(b: &[u8]) -> Result<MpcParams, String> {
    let mut r = Reader { b, o: 0 };
    let cs_hash: [u8; 64] = r.take(64)?.try_into().expect("64 bytes");
    let n = r.u32()?;
    let mut contributions = Vec::new();
    for i in 0..n {
        let g1 = |bytes: &[u8], what: &str| {
            encoding::g1_from_lem(bytes).map_err(|e| format!("contribution {}: {what}: {e}", i + 1))
        };
        let delta_after = g1(r.take(G1_BYTES)?, "delta after")?;
        let g1_s = g1(r.take(G1_BYTES)?, "s")?;
        let g1_sx = g1(r.take(G1_BYTES)?, "s·x")?;
        let g2_spx = encoding::g2_from_lem(r.take(G2_BYTES)?)
            .map_err(|e| format!("contribution {}: sp·x: {e}", i + 1))?;
        let transcript: [u8; 64] = r.take(64)?.try_into().expect("64 bytes");
        let kind = r.u32()?;
        let len = r.u32()? as usize;
        let mut params = Reader {
            b: r.take(len)?,
            o: 0,
        };
        let (mut name, mut exp, mut hash, mut last) = (None, None, None, 0u8);
        while params.o < params.b.len() {
            let t = params.take(1)?[0];
            if t <= last {
                return Err(format!("contribution {}: parameters out of order", i + 1));
            }
            last = t;
            match t {
                1 => {
                    let l = params.take(1)?[0] as usize;
                    name = Some(String::from_utf8_lossy(params.take(l)?).into_owned());
                }
                2 => exp = Some(params.take(1)?[0]),
                3 => {
                    let l = params.take(1)?[0] as usize;
                    hash = Some(params.take(l)?.to_vec());
                }
                other => return Err(format!("contribution {}: unknown parameter {other}", i + 1)),
            }
        }
        let kind = match (kind, hash, exp) {
            (0, None, None) => ContributionKind::Secret,
            (1, Some(hash), Some(iterations_exp)) => ContributionKind::Beacon {
                hash,
                iterations_exp,
            },
            (k, ..) => {
                return Err(format!(
                    "contribution {}: type {k} with wrong parameters",
                    i + 1
                ))
            }
        };
        contributions.push(Contribution {
            delta_after,
            g1_s,
            g1_sx,
            g2_spx,
            transcript,
            kind,
            name,
        });
    }
    if r.o != b.len() {
        return Err("bytes after the last contribution".into());
    }
    Ok(MpcParams {
        cs_hash,
        contributions,
    })
}

struct Reader<'a> {
    b: &'a [u8],
    o: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let s = self
            .b
            .get(self.o..self.o + n)
            .ok_or_else(|| "the contribution section is truncated".to_owned())?;
        self.o += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
}
