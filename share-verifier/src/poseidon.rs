//! Poseidon over the BN254 scalar field with circomlib's parameters
//! (DESIGN item 4), the hash of every window tree.
//!
//! `light-poseidon`'s `new_circom` is the reference: any circomlib, Solidity
//! or JS Poseidon recomputes the same values. [`Poseidon8`] is the 8-input
//! instance the window tree uses: the same permutation in its optimized
//! (sparse partial rounds) form, checked against the reference in tests.

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field, Zero};
use light_poseidon::parameters::bn254_x5::get_poseidon_parameters;
use light_poseidon::{Poseidon, PoseidonHasher};

/// The window tree's arity: elements per hashed group.
pub const ARITY: usize = 8;

/// Errors of the generic [`hash`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoseidonError {
    /// circomlib's Poseidon takes 1 to 12 inputs.
    #[error("poseidon takes 1 to 12 inputs, got {0}")]
    Arity(usize),
}

/// State width of the 8-input instance.
const WIDTH: usize = ARITY + 1;

type Matrix = [[Fr; WIDTH]; WIDTH];

/// The 8-input circomlib Poseidon (state width 9), computed with the
/// sparse-matrix form of the partial rounds (Poseidon paper, appendix B):
/// the same permutation and outputs as `light-poseidon`'s `new_circom(8)`,
/// which it takes its constants from, at about a third of the
/// multiplications and without allocating.
pub struct Poseidon8 {
    full_rounds: usize,
    partial_rounds: usize,
    /// Round constants, one vector per round; the partial rounds' are
    /// transformed to follow the factored matrices.
    constants: Vec<[Fr; WIDTH]>,
    /// The MDS matrix, for every full round but the last before the partial ones.
    mds: Matrix,
    /// The matrix of that last full round: the MDS followed by the dense
    /// factor pushed out of the partial rounds.
    pre_partial: Matrix,
    /// Per partial round, the sparse factor `[[d, u^T], [w, I]]`.
    sparse: Vec<SparseMatrix>,
}

/// `[[d, u^T], [w, I]]`: first row and first column, identity elsewhere.
#[derive(Clone, Copy)]
struct SparseMatrix {
    first_row: [Fr; WIDTH],
    first_column: [Fr; WIDTH],
}

impl Poseidon8 {
    /// Derives the optimized constants from circomlib's (once per instance).
    pub fn new() -> Self {
        let params =
            get_poseidon_parameters::<Fr>(WIDTH as u8).expect("light-poseidon supports width 9");
        let (full_rounds, partial_rounds) = (params.full_rounds, params.partial_rounds);
        let mds: Matrix = std::array::from_fn(|i| std::array::from_fn(|j| params.mds[i][j]));
        let mut constants: Vec<[Fr; WIDTH]> = params
            .ark
            .chunks_exact(WIDTH)
            .map(|c| std::array::from_fn(|i| c[i]))
            .collect();
        let first_partial = full_rounds / 2;

        // From the last partial round backwards: factor the round's dense
        // matrix D = sparse * [[1, 0], [0, D_hat]]; the right factor acts only
        // on elements 1.. and so commutes with the partial S-box, which lets
        // it move (with the round constant) into the previous round's matrix.
        let mut sparse = vec![
            SparseMatrix {
                first_row: [Fr::ZERO; WIDTH],
                first_column: [Fr::ZERO; WIDTH]
            };
            partial_rounds
        ];
        let mut dense = mds;
        for p in (0..partial_rounds).rev() {
            let (sparse_factor, right) = factor(&dense);
            sparse[p] = sparse_factor;
            let round = first_partial + p;
            constants[round] = mul_vector(&right, &constants[round]);
            dense = mul_matrix(&right, &mds);
        }
        Poseidon8 {
            full_rounds,
            partial_rounds,
            constants,
            mds,
            pre_partial: dense,
            sparse,
        }
    }

    /// Poseidon of exactly 8 elements.
    pub fn hash(&mut self, inputs: &[Fr; ARITY]) -> Fr {
        let mut state = [Fr::ZERO; WIDTH];
        state[1..].copy_from_slice(inputs);
        let half = self.full_rounds / 2;
        for round in 0..half {
            add_constants(&mut state, &self.constants[round]);
            state.iter_mut().for_each(sbox);
            let matrix = if round + 1 == half {
                &self.pre_partial
            } else {
                &self.mds
            };
            state = mul_vector(matrix, &state);
        }
        for p in 0..self.partial_rounds {
            add_constants(&mut state, &self.constants[half + p]);
            sbox(&mut state[0]);
            let m = &self.sparse[p];
            let x0 = state[0];
            let mut first = m.first_row[0] * x0;
            for ((s, row), column) in state
                .iter_mut()
                .zip(&m.first_row)
                .zip(&m.first_column)
                .skip(1)
            {
                first += *row * *s;
                *s += *column * x0;
            }
            state[0] = first;
        }
        for round in half + self.partial_rounds..self.full_rounds + self.partial_rounds {
            add_constants(&mut state, &self.constants[round]);
            state.iter_mut().for_each(sbox);
            state = mul_vector(&self.mds, &state);
        }
        state[0]
    }
}

#[inline]
fn sbox(x: &mut Fr) {
    let x2 = x.square();
    *x *= x2.square();
}

#[inline]
fn add_constants(state: &mut [Fr; WIDTH], constants: &[Fr; WIDTH]) {
    for (s, c) in state.iter_mut().zip(constants) {
        *s += c;
    }
}

fn mul_vector(m: &Matrix, v: &[Fr; WIDTH]) -> [Fr; WIDTH] {
    std::array::from_fn(|i| {
        m[i].iter()
            .zip(v)
            .fold(Fr::ZERO, |acc, (a, b)| acc + *a * b)
    })
}

fn mul_matrix(a: &Matrix, b: &Matrix) -> Matrix {
    std::array::from_fn(|i| {
        std::array::from_fn(|j| (0..WIDTH).fold(Fr::ZERO, |acc, k| acc + a[i][k] * b[k][j]))
    })
}

/// Splits `D = [[d, v^T], [w, D_hat]]` into `S * R` with the sparse
/// `S = [[d, v^T D_hat^-1], [w, I]]` and `R = [[1, 0], [0, D_hat]]`.
fn factor(dense: &Matrix) -> (SparseMatrix, Matrix) {
    const N: usize = WIDTH - 1;
    let d_hat: [[Fr; N]; N] = std::array::from_fn(|i| std::array::from_fn(|j| dense[i + 1][j + 1]));
    let inverse = invert(d_hat);
    let mut first_row = [Fr::ZERO; WIDTH];
    first_row[0] = dense[0][0];
    for j in 0..N {
        // (v^T D_hat^-1)_j = sum_k v_k * inv[k][j]
        first_row[j + 1] = (0..N).fold(Fr::ZERO, |acc, k| acc + dense[0][k + 1] * inverse[k][j]);
    }
    let first_column = std::array::from_fn(|i| if i == 0 { Fr::ZERO } else { dense[i][0] });
    let mut right = [[Fr::ZERO; WIDTH]; WIDTH];
    right[0][0] = Fr::ONE;
    for i in 0..N {
        right[i + 1][1..].copy_from_slice(&d_hat[i]);
    }
    (
        SparseMatrix {
            first_row,
            first_column,
        },
        right,
    )
}

/// Gauss–Jordan inverse; every square submatrix of an MDS matrix (and of the
/// products formed here) is invertible, as the Poseidon paper shows.
fn invert<const N: usize>(mut m: [[Fr; N]; N]) -> [[Fr; N]; N] {
    let mut inv: [[Fr; N]; N] =
        std::array::from_fn(|i| std::array::from_fn(|j| if i == j { Fr::ONE } else { Fr::ZERO }));
    for col in 0..N {
        let pivot = (col..N)
            .find(|&r| !m[r][col].is_zero())
            .expect("Poseidon's MDS submatrices are invertible");
        m.swap(col, pivot);
        inv.swap(col, pivot);
        let scale = m[col][col].inverse().expect("pivot is non-zero");
        for j in 0..N {
            m[col][j] *= scale;
            inv[col][j] *= scale;
        }
        for r in 0..N {
            if r != col && !m[r][col].is_zero() {
                let f = m[r][col];
                for j in 0..N {
                    let (mc, ic) = (m[col][j], inv[col][j]);
                    m[r][j] -= f * mc;
                    inv[r][j] -= f * ic;
                }
            }
        }
    }
    inv
}

impl Default for Poseidon8 {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Poseidon8 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Poseidon8")
    }
}

/// circomlib's Poseidon of 1 to 12 inputs (builds the constants on each call;
/// keep a [`Poseidon8`] for repeated 8-input hashing).
///
/// # Errors
/// [`PoseidonError::Arity`] for 0 or more than 12 inputs.
pub fn hash(inputs: &[Fr]) -> Result<Fr, PoseidonError> {
    let mut p =
        Poseidon::<Fr>::new_circom(inputs.len()).map_err(|_| PoseidonError::Arity(inputs.len()))?;
    p.hash(inputs)
        .map_err(|_| PoseidonError::Arity(inputs.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{BigInteger, PrimeField};
    use std::str::FromStr;

    fn fr(s: &str) -> Fr {
        Fr::from_str(s).unwrap()
    }

    fn hex(f: Fr) -> String {
        hex::encode(f.into_bigint().to_bytes_be())
    }

    // circomlib's published outputs of Poseidon(1, 2, ..., n) for n = 1..8
    // (circomlibjs test/poseidon.js and ports of it); n = 2 is DESIGN item 4's H(1,2).
    const CIRCOMLIB: [&str; 8] = [
        "18586133768512220936620570745912940619677854269274689475585506675881198879027",
        "7853200120776062878684798364095072458815029376092732009249414926327459813530",
        "6542985608222806190361240322586112750744169038454362455181422643027100751666",
        "18821383157269793795438455681495246036402687001665670618754263018637548127333",
        "6183221330272524995739186171720101788151706631170188140075976616310159254464",
        "20400040500897583745843009878988256314335038853985262692600694741116813247201",
        "12748163991115452309045839028154629052133952896122405799815156419278439301912",
        "18604317144381847857886385684060986177838410221561136253933256952257712543953",
    ];

    #[test]
    fn circomlib_vectors_match() {
        assert_eq!(
            hex(hash(&[fr("1"), fr("2")]).unwrap()),
            "115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"
        );
        for (n, expected) in CIRCOMLIB.iter().enumerate() {
            let inputs: Vec<Fr> = (1..=n as u64 + 1).map(Fr::from).collect();
            assert_eq!(
                hash(&inputs).unwrap(),
                fr(expected),
                "Poseidon(1..={})",
                n + 1
            );
        }
        let eight: [Fr; 8] = std::array::from_fn(|i| Fr::from(i as u64 + 1));
        assert_eq!(Poseidon8::new().hash(&eight), fr(CIRCOMLIB[7]));
    }

    #[test]
    fn the_kept_instance_equals_the_generic_hash() {
        let inputs: [Fr; 8] = std::array::from_fn(|i| Fr::from(i as u64 * 1_000_003 + 17));
        let mut p = Poseidon8::new();
        assert_eq!(p.hash(&inputs), hash(&inputs).unwrap());
        // Reusable: the same result twice.
        assert_eq!(p.hash(&inputs), hash(&inputs).unwrap());
    }

    proptest::proptest! {
        #[test]
        fn the_optimized_permutation_equals_light_poseidon(seed in proptest::prelude::any::<[[u8; 32]; 8]>()) {
            static OPTIMIZED: std::sync::Mutex<Option<Poseidon8>> = std::sync::Mutex::new(None);
            let inputs: [Fr; 8] = std::array::from_fn(|i| Fr::from_le_bytes_mod_order(&seed[i]));
            let mut reference = Poseidon::<Fr>::new_circom(8).unwrap();
            let mut optimized = OPTIMIZED.lock().unwrap();
            let optimized = optimized.get_or_insert_with(Poseidon8::new);
            proptest::prop_assert_eq!(optimized.hash(&inputs), reference.hash(&inputs).unwrap());
        }
    }

    #[test]
    fn arity_outside_1_to_12_is_an_error() {
        assert_eq!(hash(&[]), Err(PoseidonError::Arity(0)));
        assert_eq!(hash(&[Fr::from(1u64); 13]), Err(PoseidonError::Arity(13)));
    }
}
