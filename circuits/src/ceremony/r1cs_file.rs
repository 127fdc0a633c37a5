//! circom's binary `.r1cs` format, written from and read back into
//! [`R1csMatrices`], so snarkjs's ceremony tools (`snarkjs r1cs info`,
//! `snarkjs groth16 setup`, `zkey contribute`) can work on our circuit.
//!
//! The file is an iden3 binfile: the magic `r1cs`, a `u32` version (1), a
//! `u32` section count, then per section a `u32` type, a `u64` byte size
//! and the body; every integer little endian
//! (<https://github.com/iden3/r1csfile/blob/master/doc/r1cs_bin_format.md>).
//! We write three sections:
//! 1. the header: `u32` field size (32), the prime r (32 bytes), `u32`
//!    wires, `u32` public outputs (0), `u32` public inputs, `u32` private
//!    inputs (0), `u64` labels (= wires), `u32` constraints;
//! 2. the constraints, in our row order: for each of A, B and C a `u32`
//!    term count, then per term a `u32` wire and the coefficient as 32
//!    bytes little endian, in normal (not Montgomery) form;
//! 3. the wire-to-label map, the identity (`u64` per wire).
//!
//! Wires are our columns unchanged: wire 0 is the constant one, wires
//! `1..num_instance` the public inputs, then the witness. That is circom's
//! order with no outputs, so the snarkjs key's queries line up with ours.
//! Terms keep the matrices' entry order.

use std::collections::HashMap;
use std::io::{self, BufWriter, Read, Write};

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};

use crate::matrices::{R1csMatrices, SparseMatrix};

/// The file's magic bytes.
const MAGIC: &[u8; 4] = b"r1cs";
/// The only binfile version circom writes.
const VERSION: u32 = 1;
/// Bytes of a BN254 scalar.
const FIELD_BYTES: u32 = 32;
/// Section types (iden3 r1cs format).
const SECTION_HEADER: u32 = 1;
const SECTION_CONSTRAINTS: u32 = 2;
const SECTION_WIRE_TO_LABEL: u32 = 3;
/// Size of the header section's body with 32-byte field elements.
const HEADER_SIZE: u64 = 4 + FIELD_BYTES as u64 + 4 * 4 + 8 + 4;
/// Most entries preallocated from counts a file declares (larger vectors
/// grow as their data actually arrives, so a hostile count costs nothing).
const MAX_PREALLOCATION: usize = 1 << 16;

/// Errors of writing or reading a `.r1cs` file.
#[derive(Debug, thiserror::Error)]
pub enum R1csFileError {
    /// Reading or writing failed.
    #[error("r1cs file i/o: {0}")]
    Io(#[from] io::Error),
    /// The file ends inside the named part.
    #[error("r1cs file truncated in the {0}")]
    Truncated(&'static str),
    /// The file does not start with `r1cs`.
    #[error("not an r1cs file: magic {0:02x?}")]
    Magic([u8; 4]),
    /// A binfile version other than 1.
    #[error("r1cs file version {0}, only version 1 is supported")]
    Version(u32),
    /// A field element size other than 32 bytes.
    #[error("r1cs field elements of {0} bytes, BN254 needs 32")]
    FieldSize(u32),
    /// The header's prime is not BN254's scalar field modulus.
    #[error("r1cs prime 0x{0} is not BN254's scalar field modulus")]
    Prime(String),
    /// A section declares a size its contents do not have.
    #[error("r1cs section {section} declares {declared} bytes, its contents take {expected}")]
    SectionSize {
        /// The section type.
        section: u32,
        /// The size the file declares.
        declared: u64,
        /// The size its contents need.
        expected: u64,
    },
    /// A section appears twice.
    #[error("r1cs section {0} appears twice")]
    DuplicateSection(u32),
    /// A required section is missing, or comes before the header.
    #[error("r1cs section {0} is missing or precedes the header")]
    MissingSection(u32),
    /// The header's counts contradict each other.
    #[error("r1cs header: {public} public wires besides the one, but only {wires} wires")]
    PublicWires {
        /// Public outputs and inputs.
        public: u64,
        /// All wires.
        wires: u32,
    },
    /// A term names a wire beyond the header's count.
    #[error("r1cs constraint {constraint}: wire {wire} of {wires}")]
    Wire {
        /// The constraint's index.
        constraint: u32,
        /// The wire named.
        wire: u32,
        /// Wires in the header.
        wires: u32,
    },
    /// A coefficient that is not below the prime.
    #[error("r1cs constraint {0}: a coefficient is not below the prime")]
    Coefficient(u32),
    /// A count does not fit the format's `u32`.
    #[error("{what} = {count} does not fit the r1cs format's u32")]
    TooLarge {
        /// What is counted.
        what: &'static str,
        /// The count.
        count: usize,
    },
    /// The matrices to write are inconsistent (an index outside its table).
    #[error("matrices are inconsistent: {0}")]
    Inconsistent(&'static str),
}

/// `u32` of a count, or [`R1csFileError::TooLarge`].
fn to_u32(what: &'static str, count: usize) -> Result<u32, R1csFileError> {
    u32::try_from(count).map_err(|_| R1csFileError::TooLarge { what, count })
}

/// Writes `m` as a circom `.r1cs` file (buffered internally).
///
/// # Errors
/// [`R1csFileError::Io`] for write errors, [`R1csFileError::TooLarge`]
/// for more than `u32::MAX` wires, constraints or terms in one linear
/// combination, [`R1csFileError::Inconsistent`] for malformed matrices.
pub fn write_r1cs<W: Write>(m: &R1csMatrices, w: W) -> Result<(), R1csFileError> {
    let wires = to_u32("wires", m.num_variables())?;
    let rows = m.num_constraints();
    let constraints = to_u32("constraints", rows)?;
    let public = to_u32("public inputs", m.num_instance.saturating_sub(1))?;
    for matrix in [&m.a, &m.b, &m.c] {
        if matrix.starts.len() != rows + 1
            || matrix.starts.last().copied() != Some(matrix.nnz() as u64)
            || matrix.coefficients.len() != matrix.nnz()
            || matrix.starts.windows(2).any(|s| s[0] > s[1])
        {
            return Err(R1csFileError::Inconsistent("row starts"));
        }
        if matrix.columns.iter().any(|&c| c >= wires) {
            return Err(R1csFileError::Inconsistent("column out of range"));
        }
        if matrix
            .coefficients
            .iter()
            .any(|&c| c as usize >= m.coefficients.len())
        {
            return Err(R1csFileError::Inconsistent(
                "coefficient index out of range",
            ));
        }
    }
    // Normal-form bytes of each distinct coefficient, computed once.
    let table: Vec<[u8; 32]> = m.coefficients.iter().map(normal_bytes).collect();
    let mut w = BufWriter::with_capacity(1 << 20, w);

    w.write_all(MAGIC)?;
    w.write_all(&VERSION.to_le_bytes())?;
    w.write_all(&3u32.to_le_bytes())?;

    // Section 1: the header.
    write_section_start(&mut w, SECTION_HEADER, HEADER_SIZE)?;
    w.write_all(&FIELD_BYTES.to_le_bytes())?;
    w.write_all(&prime_bytes())?;
    for n in [wires, 0, public, 0] {
        w.write_all(&n.to_le_bytes())?;
    }
    w.write_all(&u64::from(wires).to_le_bytes())?;
    w.write_all(&constraints.to_le_bytes())?;

    // Section 2: per constraint, A, B and C as term lists.
    let terms = (m.nnz() as u64) * (4 + u64::from(FIELD_BYTES));
    write_section_start(&mut w, SECTION_CONSTRAINTS, 12 * rows as u64 + terms)?;
    let mut buf = Vec::new();
    for row in 0..rows {
        buf.clear();
        for matrix in [&m.a, &m.b, &m.c] {
            let (s, e) = (matrix.starts[row] as usize, matrix.starts[row + 1] as usize);
            buf.extend_from_slice(&to_u32("terms in a linear combination", e - s)?.to_le_bytes());
            for k in s..e {
                buf.extend_from_slice(&matrix.columns[k].to_le_bytes());
                buf.extend_from_slice(&table[matrix.coefficients[k] as usize]);
            }
        }
        w.write_all(&buf)?;
    }

    // Section 3: wire i has label i.
    write_section_start(&mut w, SECTION_WIRE_TO_LABEL, 8 * u64::from(wires))?;
    for i in 0..u64::from(wires) {
        w.write_all(&i.to_le_bytes())?;
    }
    w.flush()?;
    Ok(())
}

fn write_section_start<W: Write>(w: &mut W, kind: u32, size: u64) -> io::Result<()> {
    w.write_all(&kind.to_le_bytes())?;
    w.write_all(&size.to_le_bytes())
}

/// `x` as 32 little-endian bytes in normal form.
fn normal_bytes(x: &Fr) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&x.into_bigint().to_bytes_le());
    out
}

/// BN254's scalar field modulus r, 32 bytes little endian.
fn prime_bytes() -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&Fr::MODULUS.to_bytes_le());
    out
}

/// The header section's counts.
struct Header {
    wires: u32,
    public_outputs: u32,
    public_inputs: u32,
    constraints: u32,
}

/// Reads a circom `.r1cs` file into [`R1csMatrices`]: public outputs and
/// public inputs become instance columns after the one (circom's wire
/// order), everything else witness. The coefficient table is rebuilt with
/// each distinct coefficient once, in order of first use (A, B, C of each
/// constraint in turn), which is the order [`crate::matrices::MatrixBuilder`]
/// uses: matrices it built come back equal. Sections other than 1 to 3
/// (custom gates) are skipped; the label map is not checked beyond its size.
///
/// # Errors
/// [`R1csFileError`] for a file that is not a well-formed BN254 r1cs file;
/// never panics, and allocates only as data actually arrives.
pub fn read_r1cs<R: Read>(mut r: R) -> Result<R1csMatrices, R1csFileError> {
    let magic: [u8; 4] = read_array(&mut r, "magic")?;
    if &magic != MAGIC {
        return Err(R1csFileError::Magic(magic));
    }
    let version = read_u32(&mut r, "version")?;
    if version != VERSION {
        return Err(R1csFileError::Version(version));
    }
    let sections = read_u32(&mut r, "section count")?;
    let mut header: Option<Header> = None;
    let mut matrices: Option<R1csMatrices> = None;
    let mut labels = false;
    for _ in 0..sections {
        let kind = read_u32(&mut r, "section header")?;
        let size = read_u64(&mut r, "section header")?;
        let mut body = (&mut r).take(size);
        match kind {
            SECTION_HEADER => {
                if header.is_some() {
                    return Err(R1csFileError::DuplicateSection(kind));
                }
                header = Some(read_header(&mut body, size)?);
            }
            SECTION_CONSTRAINTS => {
                if matrices.is_some() {
                    return Err(R1csFileError::DuplicateSection(kind));
                }
                let h = header
                    .as_ref()
                    .ok_or(R1csFileError::MissingSection(SECTION_HEADER))?;
                matrices = Some(read_constraints(&mut body, h)?);
            }
            SECTION_WIRE_TO_LABEL => {
                if labels {
                    return Err(R1csFileError::DuplicateSection(kind));
                }
                let h = header
                    .as_ref()
                    .ok_or(R1csFileError::MissingSection(SECTION_HEADER))?;
                let expected = 8 * u64::from(h.wires);
                if size != expected {
                    return Err(R1csFileError::SectionSize {
                        section: kind,
                        declared: size,
                        expected,
                    });
                }
                labels = true;
            }
            _ => {}
        }
        // Skip what the section holds beyond what was parsed (the label
        // map, unknown sections); a section cut short is a truncation.
        let rest = body.limit();
        if matches!(kind, SECTION_HEADER | SECTION_CONSTRAINTS) && rest != 0 {
            return Err(R1csFileError::SectionSize {
                section: kind,
                declared: size,
                expected: size - rest,
            });
        }
        if io::copy(&mut body, &mut io::sink())? != rest {
            return Err(R1csFileError::Truncated("section body"));
        }
    }
    if header.is_none() {
        return Err(R1csFileError::MissingSection(SECTION_HEADER));
    }
    matrices.ok_or(R1csFileError::MissingSection(SECTION_CONSTRAINTS))
}

fn read_header<R: Read>(r: &mut R, size: u64) -> Result<Header, R1csFileError> {
    let what = "header section";
    let n8 = read_u32(r, what)?;
    if n8 != FIELD_BYTES {
        return Err(R1csFileError::FieldSize(n8));
    }
    if size != HEADER_SIZE {
        return Err(R1csFileError::SectionSize {
            section: SECTION_HEADER,
            declared: size,
            expected: HEADER_SIZE,
        });
    }
    let prime: [u8; 32] = read_array(r, what)?;
    if prime != prime_bytes() {
        let mut be = prime;
        be.reverse();
        return Err(R1csFileError::Prime(hex::encode(be)));
    }
    let wires = read_u32(r, what)?;
    let public_outputs = read_u32(r, what)?;
    let public_inputs = read_u32(r, what)?;
    let _private_inputs = read_u32(r, what)?;
    let _labels = read_u64(r, what)?;
    let constraints = read_u32(r, what)?;
    let public = u64::from(public_outputs) + u64::from(public_inputs);
    if public + 1 > u64::from(wires) {
        return Err(R1csFileError::PublicWires { public, wires });
    }
    Ok(Header {
        wires,
        public_outputs,
        public_inputs,
        constraints,
    })
}

fn read_constraints<R: Read>(r: &mut R, h: &Header) -> Result<R1csMatrices, R1csFileError> {
    let what = "constraints section";
    let rows = h.constraints as usize;
    let new_matrix = || {
        let mut starts = Vec::with_capacity((rows + 1).min(MAX_PREALLOCATION));
        starts.push(0u64);
        SparseMatrix {
            starts,
            columns: Vec::new(),
            coefficients: Vec::new(),
        }
    };
    let mut abc = [new_matrix(), new_matrix(), new_matrix()];
    let mut coefficients: Vec<Fr> = Vec::new();
    let mut index: HashMap<[u8; 32], u32> = HashMap::new();
    for constraint in 0..h.constraints {
        for matrix in &mut abc {
            let terms = read_u32(r, what)?;
            for _ in 0..terms {
                let wire = read_u32(r, what)?;
                if wire >= h.wires {
                    return Err(R1csFileError::Wire {
                        constraint,
                        wire,
                        wires: h.wires,
                    });
                }
                let bytes: [u8; 32] = read_array(r, what)?;
                let coefficient = match index.get(&bytes) {
                    Some(&i) => i,
                    None => {
                        let value = Fr::from_bigint(ark_ff::BigInt::new(limbs(&bytes)))
                            .ok_or(R1csFileError::Coefficient(constraint))?;
                        let i = to_u32("distinct coefficients", coefficients.len())?;
                        coefficients.push(value);
                        index.insert(bytes, i);
                        i
                    }
                };
                matrix.columns.push(wire);
                matrix.coefficients.push(coefficient);
            }
            matrix.starts.push(matrix.columns.len() as u64);
        }
    }
    let [a, b, c] = abc;
    let num_instance = 1 + h.public_outputs as usize + h.public_inputs as usize;
    Ok(R1csMatrices {
        num_instance,
        num_witness: h.wires as usize - num_instance,
        coefficients,
        a,
        b,
        c,
    })
}

/// Four little-endian `u64` limbs of 32 little-endian bytes.
fn limbs(bytes: &[u8; 32]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for (limb, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(b);
    }
    out
}

fn read_array<R: Read, const K: usize>(
    r: &mut R,
    what: &'static str,
) -> Result<[u8; K], R1csFileError> {
    let mut b = [0u8; K];
    r.read_exact(&mut b).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => R1csFileError::Truncated(what),
        _ => R1csFileError::Io(e),
    })?;
    Ok(b)
}

fn read_u32<R: Read>(r: &mut R, what: &'static str) -> Result<u32, R1csFileError> {
    read_array(r, what).map(u32::from_le_bytes)
}

fn read_u64<R: Read>(r: &mut R, what: &'static str) -> Result<u64, R1csFileError> {
    read_array(r, what).map(u64::from_le_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys;
    use crate::pplns::PplnsParams;
    use ark_ff::Field;

    /// `x·y = z` and `(x + 2)·1 = w + (-1)·one` over one public input x
    /// (wires: one, x, then the witness y, z, w).
    fn tiny() -> R1csMatrices {
        // Table: 1, 2, -1.
        let coefficients = vec![Fr::ONE, Fr::from(2u64), -Fr::ONE];
        R1csMatrices {
            num_instance: 2,
            num_witness: 3,
            coefficients,
            a: SparseMatrix {
                starts: vec![0, 1, 3],
                columns: vec![1, 1, 0],
                coefficients: vec![0, 0, 1],
            },
            b: SparseMatrix {
                starts: vec![0, 1, 2],
                columns: vec![2, 0],
                coefficients: vec![0, 0],
            },
            c: SparseMatrix {
                starts: vec![0, 1, 3],
                columns: vec![3, 4, 0],
                coefficients: vec![0, 0, 2],
            },
        }
    }

    fn le32(n: u32) -> Vec<u8> {
        n.to_le_bytes().to_vec()
    }

    fn le64(n: u64) -> Vec<u8> {
        n.to_le_bytes().to_vec()
    }

    fn scalar(n: u64) -> Vec<u8> {
        let mut b = n.to_le_bytes().to_vec();
        b.resize(32, 0);
        b
    }

    /// The exact bytes of [`tiny`], spelled out field by field.
    fn tiny_bytes() -> Vec<u8> {
        // r = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001
        let mut r = hex::decode("30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001")
            .unwrap();
        r.reverse();
        let mut minus_one = r.clone();
        minus_one[0] -= 1;
        let term = |wire: u32, coeff: &[u8]| [le32(wire), coeff.to_vec()].concat();
        let mut out = b"r1cs".to_vec();
        out.extend(le32(1));
        out.extend(le32(3));
        // Header.
        out.extend(le32(1));
        out.extend(le64(64));
        out.extend(le32(32));
        out.extend(&r);
        out.extend(le32(5)); // wires
        out.extend(le32(0)); // public outputs
        out.extend(le32(1)); // public inputs
        out.extend(le32(0)); // private inputs
        out.extend(le64(5)); // labels
        out.extend(le32(2)); // constraints
                             // Constraints: 2 rows, 3 LCs each, 8 terms.
        out.extend(le32(2));
        out.extend(le64(12 * 2 + 36 * 8));
        out.extend(le32(1));
        out.extend(term(1, &scalar(1)));
        out.extend(le32(1));
        out.extend(term(2, &scalar(1)));
        out.extend(le32(1));
        out.extend(term(3, &scalar(1)));
        out.extend(le32(2));
        out.extend(term(1, &scalar(1)));
        out.extend(term(0, &scalar(2)));
        out.extend(le32(1));
        out.extend(term(0, &scalar(1)));
        out.extend(le32(2));
        out.extend(term(4, &scalar(1)));
        out.extend(term(0, &minus_one));
        // Wire-to-label map.
        out.extend(le32(3));
        out.extend(le64(40));
        for i in 0..5 {
            out.extend(le64(i));
        }
        out
    }

    fn written(m: &R1csMatrices) -> Vec<u8> {
        let mut out = Vec::new();
        write_r1cs(m, &mut out).unwrap();
        out
    }

    /// `m` with its coefficient table rebuilt in order of first use, as
    /// [`read_r1cs`] rebuilds it.
    fn canonical(m: &R1csMatrices) -> R1csMatrices {
        let mut out = m.clone();
        let mut table: Vec<Fr> = Vec::new();
        let rows = m.num_constraints();
        let mut remap = |matrix: &SparseMatrix, into: &mut SparseMatrix, row: usize| {
            for k in matrix.starts[row] as usize..matrix.starts[row + 1] as usize {
                let value = m.coefficients[matrix.coefficients[k] as usize];
                let i = table.iter().position(|&t| t == value).unwrap_or_else(|| {
                    table.push(value);
                    table.len() - 1
                });
                into.coefficients[k] = i as u32;
            }
        };
        for row in 0..rows {
            remap(&m.a, &mut out.a, row);
            remap(&m.b, &mut out.b, row);
            remap(&m.c, &mut out.c, row);
        }
        out.coefficients = table;
        out
    }

    #[test]
    fn tiny_matrices_write_exactly_the_expected_bytes() {
        let m = tiny();
        let bytes = written(&m);
        assert_eq!(hex::encode(&bytes), hex::encode(tiny_bytes()));
        // x = 3, y = 5: z = x·y = 15, and w - 1 = x + 2 gives w = 6.
        let z = [
            Fr::ONE,
            Fr::from(3u64),
            Fr::from(5u64),
            Fr::from(15u64),
            Fr::from(6u64),
        ];
        let back = read_r1cs(&bytes[..]).unwrap();
        assert_eq!(back.first_unsatisfied(&z), None);
        assert_eq!(back, m);
        let mut bad = z;
        bad[4] = Fr::from(7u64);
        assert_eq!(back.first_unsatisfied(&bad), Some(1));
    }

    #[test]
    fn a_shuffled_table_reads_back_canonical_and_evaluates_the_same() {
        let mut m = tiny();
        // Table 2, -1, 1, with an unused entry: same matrices, other indices.
        m.coefficients = vec![Fr::from(2u64), -Fr::ONE, Fr::ONE, Fr::from(9u64)];
        let map = [2u32, 0, 1];
        for matrix in [&mut m.a, &mut m.b, &mut m.c] {
            for c in &mut matrix.coefficients {
                *c = map[*c as usize];
            }
        }
        assert_eq!(written(&m), tiny_bytes());
        let back = read_r1cs(&written(&m)[..]).unwrap();
        assert_eq!(back, canonical(&m));
        let z: Vec<Fr> = (1..=5u64).map(Fr::from).collect();
        assert_eq!(back.evaluate(&z), m.evaluate(&z));
    }

    #[test]
    fn the_circuit_round_trips_exactly() {
        let m = keys::build_matrices(PplnsParams::new(1).unwrap()).unwrap();
        let bytes = written(&m);
        let back = read_r1cs(&bytes[..]).unwrap();
        assert_eq!(back, canonical(&m));
        // The builder's table is already in first-use order.
        assert_eq!(back, m);
        assert_eq!(back.digest(), m.digest());
        assert_eq!(written(&back), bytes);
    }

    #[test]
    fn malformed_files_are_errors_not_panics() {
        let good = tiny_bytes();
        let read = |b: &[u8]| read_r1cs(b).unwrap_err();
        // Every truncation.
        for len in 0..good.len() {
            let err = read(&good[..len]);
            assert!(
                matches!(
                    err,
                    R1csFileError::Truncated(_) | R1csFileError::MissingSection(_)
                ),
                "{len}: {err}"
            );
        }
        let patch = |at: usize, with: &[u8]| {
            let mut b = good.clone();
            b[at..at + with.len()].copy_from_slice(with);
            b
        };
        assert!(matches!(read(&patch(0, b"wasm")), R1csFileError::Magic(_)));
        assert!(matches!(
            read(&patch(4, &le32(2))),
            R1csFileError::Version(2)
        ));
        // Header body starts at 24: n8, then the prime.
        assert!(matches!(
            read(&patch(24, &le32(48))),
            R1csFileError::FieldSize(48)
        ));
        assert!(matches!(read(&patch(28, &[0x02])), R1csFileError::Prime(_)));
        // Wires = 1 with one public input.
        assert!(matches!(
            read(&patch(60, &le32(1))),
            R1csFileError::PublicWires { .. }
        ));
        // The first term's wire (constraints body at 24 + 64 + 12 = 100, after the term count).
        assert!(matches!(
            read(&patch(104, &le32(5))),
            R1csFileError::Wire { wire: 5, .. }
        ));
        // Its coefficient = r.
        let r = prime_bytes();
        assert!(matches!(
            read(&patch(108, &r)),
            R1csFileError::Coefficient(0)
        ));
        // A huge constraint count with no data behind it.
        assert!(matches!(
            read(&patch(84, &le32(u32::MAX))),
            R1csFileError::Truncated(_)
        ));
        // A huge term count: the terms read on into the next ones' bytes.
        assert!(matches!(
            read(&patch(100, &le32(u32::MAX))),
            R1csFileError::Truncated(_)
                | R1csFileError::Wire { .. }
                | R1csFileError::Coefficient(_)
        ));
        // A constraints section declaring more bytes than it holds.
        assert!(matches!(
            read(&patch(92, &le64(12 * 2 + 36 * 8 + 4))),
            R1csFileError::Truncated(_) | R1csFileError::SectionSize { .. }
        ));
        // Constraints before the header.
        let mut swapped = good[..12].to_vec();
        swapped.extend(&good[88..88 + 12 + 312]);
        swapped.extend(&good[12..88]);
        swapped.extend(&good[88 + 12 + 312..]);
        assert!(matches!(
            read(&swapped),
            R1csFileError::MissingSection(SECTION_HEADER)
        ));
        // A duplicated header.
        let mut twice = patch(8, &le32(4));
        twice.splice(88..88, good[12..88].iter().copied());
        assert!(matches!(
            read(&twice),
            R1csFileError::DuplicateSection(SECTION_HEADER)
        ));
        // An unknown section is skipped.
        let mut extra = patch(8, &le32(4));
        extra.extend(le32(9));
        extra.extend(le64(3));
        extra.extend([1, 2, 3]);
        assert_eq!(read_r1cs(&extra[..]).unwrap(), tiny());
        // Any single corrupted byte: an error or some matrices, never a panic.
        for at in 0..good.len() {
            for v in [0x00, 0x01, 0x7f, 0xff] {
                let _ = read_r1cs(&patch(at, &[v])[..]);
            }
        }
    }
}
