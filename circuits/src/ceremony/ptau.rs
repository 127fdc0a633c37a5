//! Phase 1: snarkjs's powers-of-tau file (`.ptau`), the format of the public
//! Perpetual Powers of Tau and Hermez ceremonies.
//!
//! Sections (iden3 container, kind `ptau`, version 1):
//! 1. header: `u32` field size, the base field's modulus, `u32` power,
//!    `u32` ceremony power;
//! 2. tau·G1 for tau⁰ … tau^(2^(power+1) − 2);
//! 3. tau·G2, 4. alpha·tau·G1, 5. beta·tau·G1 for tau⁰ … tau^(2^power − 1);
//! 6. beta·G2;
//! 7. the contributions (read by [`crate::ceremony::ptau_verify`]);
//!
//! and, after `prepare phase2`, sections 12 to 15: the same four series in
//! the Lagrange basis of every domain 2^0 … 2^power (section 12 also
//! 2^(power+1)), domain 2^k starting at point 2^k − 1.
//!
//! [`Ptau`] reads the header and the points a circuit needs, checking each
//! point; nothing is loaded that is not asked for.

use std::path::Path;

use ark_bn254::{Fq, G1Affine, G2Affine};
use ark_ff::PrimeField;

use super::binfile::{BinFile, BinFileError};
use super::encoding::{self, EncodingError, G1_BYTES, G2_BYTES};

/// Errors of reading a `.ptau` file.
#[derive(Debug, thiserror::Error)]
pub enum PtauError {
    /// The container could not be read.
    #[error(transparent)]
    File(#[from] BinFileError),
    /// The header is not BN254's.
    #[error("{path}: the header is not a BN254 powers of tau ({problem})")]
    Header { path: String, problem: &'static str },
    /// A section's size does not match the header's power.
    #[error("{path}: section {section} has {found} bytes, power {power} needs {expected}")]
    SectionSize {
        path: String,
        section: u32,
        power: u32,
        expected: u64,
        found: u64,
    },
    /// The file has too few powers for the circuit.
    #[error("{path}: power {power} holds circuits of up to 2^{power} constraints; this one needs 2^{needed}")]
    TooSmall {
        path: String,
        power: u32,
        needed: u32,
    },
    /// The Lagrange sections are absent.
    #[error("{path}: not prepared for phase 2 (run `snarkjs powersoftau prepare phase2` first)")]
    NotPrepared { path: String },
    /// A point is malformed.
    #[error("{path}: {what} point {index}: {source}")]
    Point {
        path: String,
        what: &'static str,
        index: u64,
        #[source]
        source: EncodingError,
    },
}

/// The sections of G1 series in the Lagrange basis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G1Series {
    /// tau (section 12).
    Tau,
    /// alpha·tau (section 14).
    AlphaTau,
    /// beta·tau (section 15).
    BetaTau,
}

impl G1Series {
    fn section(self) -> (u32, &'static str) {
        match self {
            G1Series::Tau => (12, "Lagrange tau G1"),
            G1Series::AlphaTau => (14, "Lagrange alpha tau G1"),
            G1Series::BetaTau => (15, "Lagrange beta tau G1"),
        }
    }
}

/// An open `.ptau` file.
#[derive(Debug)]
pub struct Ptau {
    file: BinFile,
    /// log2 of the largest circuit it holds.
    pub power: u32,
    /// The power the ceremony was run at (the file may be truncated).
    pub ceremony_power: u32,
}

/// The largest power read (BN254's two-adicity is 28).
pub const MAX_POWER: u32 = 28;

impl Ptau {
    /// Opens `path` and checks its header and section sizes.
    ///
    /// # Errors
    /// [`PtauError`] for a foreign, truncated or inconsistent file.
    pub fn open(path: &Path) -> Result<Ptau, PtauError> {
        let mut file = BinFile::open(path, b"ptau", 1)?;
        let p = path.display().to_string();
        let header = file.read_all(1, "header")?;
        let bad = |problem| PtauError::Header {
            path: p.clone(),
            problem,
        };
        if header.len() != 4 + 32 + 8 {
            return Err(bad("its size is not that of a 32-byte field"));
        }
        if u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) != 32 {
            return Err(bad("the field size is not 32 bytes"));
        }
        let modulus = ark_ff::BigInteger::to_bytes_le(&Fq::MODULUS);
        if header[4..36] != modulus[..] {
            return Err(bad("another curve's base field"));
        }
        let power = u32::from_le_bytes(header[36..40].try_into().expect("4 bytes"));
        let ceremony_power = u32::from_le_bytes(header[40..44].try_into().expect("4 bytes"));
        if power == 0 || power > MAX_POWER || ceremony_power < power {
            return Err(bad("its power is out of range"));
        }
        let n = 1u64 << power;
        let expect = [
            (2, (2 * n - 1) * G1_BYTES as u64),
            (3, n * G2_BYTES as u64),
            (4, n * G1_BYTES as u64),
            (5, n * G1_BYTES as u64),
            (6, G2_BYTES as u64),
        ];
        for (section, expected) in expect {
            let found = file.section(section, "powers")?.size;
            if found != expected {
                return Err(PtauError::SectionSize {
                    path: p,
                    section,
                    power,
                    expected,
                    found,
                });
            }
        }
        Ok(Ptau {
            file,
            power,
            ceremony_power,
        })
    }

    fn path(&self) -> String {
        self.file.path().display().to_string()
    }

    fn g1s(
        &mut self,
        section: u32,
        what: &'static str,
        first: u64,
        count: u64,
    ) -> Result<Vec<G1Affine>, PtauError> {
        let bytes = self.file.read(
            section,
            what,
            first * G1_BYTES as u64,
            count * G1_BYTES as u64,
        )?;
        encoding::g1s_from_lem(&bytes).map_err(|(i, source)| PtauError::Point {
            path: self.path(),
            what,
            index: first + i as u64,
            source,
        })
    }

    fn g2s(
        &mut self,
        section: u32,
        what: &'static str,
        first: u64,
        count: u64,
    ) -> Result<Vec<G2Affine>, PtauError> {
        let bytes = self.file.read(
            section,
            what,
            first * G2_BYTES as u64,
            count * G2_BYTES as u64,
        )?;
        encoding::g2s_from_lem(&bytes).map_err(|(i, source)| PtauError::Point {
            path: self.path(),
            what,
            index: first + i as u64,
            source,
        })
    }

    /// alpha·G1, beta·G1 and beta·G2.
    ///
    /// # Errors
    /// [`PtauError`] for a malformed point.
    pub fn alpha_beta(&mut self) -> Result<(G1Affine, G1Affine, G2Affine), PtauError> {
        let alpha = self.g1s(4, "alpha tau G1", 0, 1)?[0];
        let beta = self.g1s(5, "beta tau G1", 0, 1)?[0];
        let beta2 = self.g2s(6, "beta G2", 0, 1)?[0];
        Ok((alpha, beta, beta2))
    }

    /// tau^first … tau^(first + count − 1) in G1 (section 2).
    ///
    /// # Errors
    /// [`PtauError`] beyond the file's powers or for a malformed point.
    pub fn tau_g1(&mut self, first: u64, count: u64) -> Result<Vec<G1Affine>, PtauError> {
        self.g1s(2, "tau G1", first, count)
    }

    /// tau^first … tau^(first + count − 1) in G2 (section 3).
    ///
    /// # Errors
    /// As [`Ptau::tau_g1`].
    pub fn tau_g2(&mut self, first: u64, count: u64) -> Result<Vec<G2Affine>, PtauError> {
        self.g2s(3, "tau G2", first, count)
    }

    /// alpha·tau^i (`alpha`) or beta·tau^i in G1 for i in `first..first+count`
    /// (sections 4 and 5).
    ///
    /// # Errors
    /// As [`Ptau::tau_g1`].
    pub fn scaled_tau_g1(
        &mut self,
        alpha: bool,
        first: u64,
        count: u64,
    ) -> Result<Vec<G1Affine>, PtauError> {
        if alpha {
            self.g1s(4, "alpha tau G1", first, count)
        } else {
            self.g1s(5, "beta tau G1", first, count)
        }
    }

    fn check_lagrange(&self, section: u32, log_size: u32) -> Result<(), PtauError> {
        if !self.file.has(section) {
            return Err(PtauError::NotPrepared { path: self.path() });
        }
        let top = if section == 12 {
            self.power + 1
        } else {
            self.power
        };
        if log_size > top {
            return Err(PtauError::TooSmall {
                path: self.path(),
                power: self.power,
                needed: log_size,
            });
        }
        Ok(())
    }

    /// The Lagrange basis of the domain 2^`log_size` at tau, in G1.
    ///
    /// # Errors
    /// [`PtauError::NotPrepared`], [`PtauError::TooSmall`] or a malformed point.
    pub fn lagrange_g1(
        &mut self,
        series: G1Series,
        log_size: u32,
    ) -> Result<Vec<G1Affine>, PtauError> {
        let (section, what) = series.section();
        self.check_lagrange(section, log_size)?;
        let n = 1u64 << log_size;
        self.g1s(section, what, n - 1, n)
    }

    /// The Lagrange basis of the domain 2^`log_size` at tau, in G2.
    ///
    /// # Errors
    /// As [`Ptau::lagrange_g1`].
    pub fn lagrange_g2(&mut self, log_size: u32) -> Result<Vec<G2Affine>, PtauError> {
        self.check_lagrange(13, log_size)?;
        let n = 1u64 << log_size;
        self.g2s(13, "Lagrange tau G2", n - 1, n)
    }

    /// The open container, for the contribution reader.
    pub fn file_mut(&mut self) -> &mut BinFile {
        &mut self.file
    }
}
