//! Poseidon over the BN254 scalar field with circomlib's parameters
//! (DESIGN item 4), the hash of every window tree.
//!
//! `light-poseidon`'s `new_circom` is the reference: any circomlib, Solidity
//! or JS Poseidon recomputes the same values. [`Poseidon8`] is the 8-input
//! instance the window tree uses, kept alive so its constants are built once.

use ark_bn254::Fr;
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

/// The 8-input circomlib Poseidon (state width 9).
pub struct Poseidon8(Poseidon<Fr>);

impl Poseidon8 {
    /// Builds the instance's round constants and MDS matrix.
    pub fn new() -> Self {
        Poseidon8(Poseidon::<Fr>::new_circom(ARITY).expect("light-poseidon supports 8 inputs"))
    }

    /// Poseidon of exactly 8 elements.
    #[inline]
    pub fn hash(&mut self, inputs: &[Fr; ARITY]) -> Fr {
        self.0
            .hash(inputs)
            .expect("the input count matches the instance's width")
    }
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

    #[test]
    fn arity_outside_1_to_12_is_an_error() {
        assert_eq!(hash(&[]), Err(PoseidonError::Arity(0)));
        assert_eq!(hash(&[Fr::from(1u64); 13]), Err(PoseidonError::Arity(13)));
    }
}
