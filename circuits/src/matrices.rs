//! The circuit's R1CS matrices in a compact form, built once at setup and
//! stored with the key, so proving never synthesizes constraints again.
//!
//! Each non-zero entry costs 8 bytes (a `u32` column and a `u32` index into
//! a table of distinct coefficients) instead of arkworks' 40 (`(Fr, usize)`):
//! the circuit's coefficients repeat (powers of two, the Poseidon plan's
//! coefficients are the same in every hash), so the table stays small.
//! Column 0 is the constant one, then the public inputs, then the witness,
//! as in arkworks.

use std::collections::HashMap;
use std::io::{Read, Write};

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, One};
use ark_relations::gr1cs::SynthesisError;
use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::r1cs::{compact_lc, FieldVar, Lc, R1cs, Var};

/// Errors of reading stored matrices.
#[derive(Debug, thiserror::Error)]
pub enum MatricesError {
    /// Reading or writing failed.
    #[error("matrix file i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not a matrix file of this version.
    #[error("not a circuits matrix file (bad magic or version)")]
    Magic,
    /// A coefficient failed to deserialize.
    #[error("bad coefficient in the matrix file: {0}")]
    Coefficient(#[from] ark_serialize::SerializationError),
    /// An index points outside its table.
    #[error("matrix file is inconsistent: {0}")]
    Inconsistent(&'static str),
}

const MAGIC: &[u8; 8] = b"SHPFR1C1";

/// One sparse matrix in compressed-row form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SparseMatrix {
    /// Row i's entries are `starts[i]..starts[i + 1]`.
    pub starts: Vec<u64>,
    /// Column of each entry.
    pub columns: Vec<u32>,
    /// Index of each entry's coefficient in [`R1csMatrices::coefficients`].
    pub coefficients: Vec<u32>,
}

impl SparseMatrix {
    fn new() -> Self {
        SparseMatrix {
            starts: vec![0],
            columns: Vec::new(),
            coefficients: Vec::new(),
        }
    }

    /// Non-zero entries.
    pub fn nnz(&self) -> usize {
        self.columns.len()
    }

    /// `row . z`.
    fn row_dot(&self, row: usize, table: &[Fr], z: &[Fr]) -> Fr {
        let (s, e) = (self.starts[row] as usize, self.starts[row + 1] as usize);
        let mut acc = Fr::ZERO;
        for k in s..e {
            let coeff = &table[self.coefficients[k] as usize];
            let value = z[self.columns[k] as usize];
            if coeff.is_one() {
                acc += value;
            } else {
                acc += value * coeff;
            }
        }
        acc
    }
}

/// The A, B, C matrices of a circuit and its variable counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct R1csMatrices {
    /// Public inputs including the constant one (arkworks' instance count).
    pub num_instance: usize,
    /// Witness variables.
    pub num_witness: usize,
    /// Distinct coefficients.
    pub coefficients: Vec<Fr>,
    /// A.
    pub a: SparseMatrix,
    /// B.
    pub b: SparseMatrix,
    /// C.
    pub c: SparseMatrix,
}

impl R1csMatrices {
    /// Constraints (rows).
    pub fn num_constraints(&self) -> usize {
        self.a.starts.len() - 1
    }

    /// All variables, the constant included.
    pub fn num_variables(&self) -> usize {
        self.num_instance + self.num_witness
    }

    /// Non-zero entries of A, B and C together.
    pub fn nnz(&self) -> usize {
        self.a.nnz() + self.b.nnz() + self.c.nnz()
    }

    /// `(A z, B z, C z)` row by row, in parallel.
    pub fn evaluate(&self, z: &[Fr]) -> (Vec<Fr>, Vec<Fr>, Vec<Fr>) {
        let rows = self.num_constraints();
        let eval = |m: &SparseMatrix| -> Vec<Fr> {
            (0..rows)
                .into_par_iter()
                .with_min_len(1024)
                .map(|i| m.row_dot(i, &self.coefficients, z))
                .collect()
        };
        (eval(&self.a), eval(&self.b), eval(&self.c))
    }

    /// The first constraint that `z` does not satisfy, if any.
    pub fn first_unsatisfied(&self, z: &[Fr]) -> Option<usize> {
        (0..self.num_constraints()).find(|&i| {
            self.a.row_dot(i, &self.coefficients, z) * self.b.row_dot(i, &self.coefficients, z)
                != self.c.row_dot(i, &self.coefficients, z)
        })
    }

    /// Writes the matrices (little-endian integers, coefficients with ark-serialize).
    ///
    /// # Errors
    /// I/O errors.
    pub fn write<W: Write>(&self, mut w: W) -> Result<(), MatricesError> {
        w.write_all(MAGIC)?;
        for n in [
            self.num_instance as u64,
            self.num_witness as u64,
            self.num_constraints() as u64,
            self.coefficients.len() as u64,
        ] {
            w.write_all(&n.to_le_bytes())?;
        }
        let mut bytes = Vec::with_capacity(32 * self.coefficients.len());
        for c in &self.coefficients {
            c.serialize_uncompressed(&mut bytes)?;
        }
        w.write_all(&bytes)?;
        for m in [&self.a, &self.b, &self.c] {
            w.write_all(&(m.nnz() as u64).to_le_bytes())?;
            write_slice(&mut w, &m.starts, |x| x.to_le_bytes())?;
            write_slice(&mut w, &m.columns, |x| x.to_le_bytes())?;
            write_slice(&mut w, &m.coefficients, |x| x.to_le_bytes())?;
        }
        Ok(())
    }

    /// Reads what [`Self::write`] wrote.
    ///
    /// # Errors
    /// [`MatricesError`] for I/O errors or a malformed file.
    pub fn read<R: Read>(mut r: R) -> Result<Self, MatricesError> {
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(MatricesError::Magic);
        }
        let num_instance = read_u64(&mut r)? as usize;
        let num_witness = read_u64(&mut r)? as usize;
        let rows = read_u64(&mut r)? as usize;
        let table = read_u64(&mut r)? as usize;
        let mut coefficients = Vec::with_capacity(table);
        let mut buf = vec![0u8; 32 * table];
        r.read_exact(&mut buf)?;
        for chunk in buf.chunks(32) {
            coefficients.push(Fr::deserialize_uncompressed(chunk)?);
        }
        let mut read_matrix = || -> Result<SparseMatrix, MatricesError> {
            let nnz = read_u64(&mut r)? as usize;
            let starts = read_vec(&mut r, rows + 1, u64::from_le_bytes)?;
            let columns = read_vec(&mut r, nnz, u32::from_le_bytes)?;
            let coeffs = read_vec(&mut r, nnz, u32::from_le_bytes)?;
            if starts.last().copied() != Some(nnz as u64) || starts.windows(2).any(|w| w[0] > w[1])
            {
                return Err(MatricesError::Inconsistent("row starts"));
            }
            let vars = (num_instance + num_witness) as u32;
            if columns.iter().any(|&c| c >= vars) {
                return Err(MatricesError::Inconsistent("column out of range"));
            }
            if coeffs.iter().any(|&c| c as usize >= table) {
                return Err(MatricesError::Inconsistent(
                    "coefficient index out of range",
                ));
            }
            Ok(SparseMatrix {
                starts,
                columns,
                coefficients: coeffs,
            })
        };
        let a = read_matrix()?;
        let b = read_matrix()?;
        let c = read_matrix()?;
        Ok(R1csMatrices {
            num_instance,
            num_witness,
            coefficients,
            a,
            b,
            c,
        })
    }

    /// SHA-256 of the serialized matrices: the circuit's identity.
    pub fn digest(&self) -> [u8; 32] {
        let mut hasher = DigestWriter(Sha256::new());
        self.write(&mut hasher)
            .expect("writing into a hasher does not fail");
        hasher.0.finalize().into()
    }
}

struct DigestWriter(Sha256);

impl Write for DigestWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn write_slice<W: Write, T: Copy, const K: usize>(
    w: &mut W,
    items: &[T],
    f: impl Fn(T) -> [u8; K],
) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(K * 65536);
    for chunk in items.chunks(65536) {
        buf.clear();
        for &x in chunk {
            buf.extend_from_slice(&f(x));
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

fn read_u64<R: Read>(r: &mut R) -> std::io::Result<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(u64::from_le_bytes(b))
}

fn read_vec<R: Read, T, const K: usize>(
    r: &mut R,
    len: usize,
    f: impl Fn([u8; K]) -> T,
) -> std::io::Result<Vec<T>> {
    let mut out = Vec::with_capacity(len);
    let mut buf = vec![0u8; K * 65536];
    let mut left = len;
    while left > 0 {
        let take = left.min(65536);
        r.read_exact(&mut buf[..K * take])?;
        for chunk in buf[..K * take].chunks_exact(K) {
            let mut b = [0u8; K];
            b.copy_from_slice(chunk);
            out.push(f(b));
        }
        left -= take;
    }
    Ok(out)
}

/// The setup back end: records the constraints straight into
/// [`R1csMatrices`], values never needed.
#[derive(Debug)]
pub struct MatrixBuilder {
    matrices: R1csMatrices,
    table: HashMap<[u64; 4], u32>,
}

impl Default for MatrixBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl MatrixBuilder {
    /// An empty system with the constant one.
    pub fn new() -> Self {
        MatrixBuilder {
            matrices: R1csMatrices {
                num_instance: 1,
                num_witness: 0,
                coefficients: Vec::new(),
                a: SparseMatrix::new(),
                b: SparseMatrix::new(),
                c: SparseMatrix::new(),
            },
            table: HashMap::new(),
        }
    }

    /// The finished matrices.
    pub fn finish(self) -> R1csMatrices {
        self.matrices
    }

    fn coefficient(&mut self, c: Fr) -> u32 {
        let key = c.0 .0;
        if let Some(&i) = self.table.get(&key) {
            return i;
        }
        let i = self.matrices.coefficients.len() as u32;
        self.matrices.coefficients.push(c);
        self.table.insert(key, i);
        i
    }

    fn push_row(&mut self, which: usize, lc: &Lc) -> Result<(), SynthesisError> {
        let mut lc = lc.clone();
        compact_lc(&mut lc);
        let num_instance = self.matrices.num_instance as u32;
        let mut entries = Vec::with_capacity(lc.len());
        for (coeff, var) in lc {
            let column = match var {
                Var::One => 0,
                Var::Input(i) => i,
                Var::Witness(i) => num_instance + i,
            };
            entries.push((column, self.coefficient(coeff)));
        }
        let m = match which {
            0 => &mut self.matrices.a,
            1 => &mut self.matrices.b,
            _ => &mut self.matrices.c,
        };
        for (column, coeff) in entries {
            m.columns.push(column);
            m.coefficients.push(coeff);
        }
        m.starts.push(m.columns.len() as u64);
        Ok(())
    }
}

impl R1cs for MatrixBuilder {
    fn is_symbolic(&self) -> bool {
        true
    }

    fn has_values(&self) -> bool {
        false
    }

    fn new_input(&mut self, _: Option<Fr>) -> Result<Var, SynthesisError> {
        // Columns place the witness after the inputs: inputs come first.
        if self.matrices.num_witness > 0 {
            return Err(SynthesisError::Unsatisfiable);
        }
        self.matrices.num_instance += 1;
        Ok(Var::Input(self.matrices.num_instance as u32 - 1))
    }

    fn new_witness(&mut self, _: Option<Fr>) -> Result<Var, SynthesisError> {
        self.matrices.num_witness += 1;
        Ok(Var::Witness(self.matrices.num_witness as u32 - 1))
    }

    fn enforce(&mut self, a: &FieldVar, b: &FieldVar, c: &FieldVar) -> Result<(), SynthesisError> {
        self.push_row(0, &a.lc)?;
        self.push_row(1, &b.lc)?;
        self.push_row(2, &c.lc)
    }

    fn num_constraints(&self) -> usize {
        self.matrices.num_constraints()
    }
}
