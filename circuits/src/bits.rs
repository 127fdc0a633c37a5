//! Range checks by bit decomposition: a value is below 2^n exactly when it
//! is the sum of n allocated bits, each constrained to 0 or 1.

use ark_bn254::Fr;
use ark_ff::{BigInteger, Field, PrimeField};
use ark_relations::gr1cs::SynthesisError;

use crate::r1cs::{FieldVar, R1cs};

/// n allocated bits and the value they compose.
#[derive(Clone, Debug)]
pub struct BitsVar {
    /// Bit i has weight 2^i.
    pub bits: Vec<FieldVar>,
    /// `sum bits[i] * 2^i`, as a linear combination.
    pub value: FieldVar,
}

/// The low `n` bits of a field element's canonical integer, least significant first.
pub fn low_bits(value: Fr, n: usize) -> Vec<bool> {
    let bits = value.into_bigint().to_bits_le();
    (0..n)
        .map(|i| bits.get(i).copied().unwrap_or(false))
        .collect()
}

/// 2^i as a field element.
pub fn pow2(i: usize) -> Fr {
    Fr::from(2u64).pow([i as u64])
}

/// Bit decompositions and range checks.
pub struct BitsGadget;

impl BitsGadget {
    /// Allocates the low `n` bits of `value` (n constraints) and returns them
    /// with their composition. When `value` is not below 2^n the composition
    /// differs from it, so a caller's equality constraint fails.
    ///
    /// # Errors
    /// [`SynthesisError`] from the back end.
    pub fn alloc<R: R1cs>(
        cs: &mut R,
        value: Option<Fr>,
        n: usize,
    ) -> Result<BitsVar, SynthesisError> {
        let bits_value = value.map(|v| low_bits(v, n));
        let mut bits = Vec::with_capacity(n);
        for i in 0..n {
            let b = cs.alloc(bits_value.as_ref().map(|b| Fr::from(b[i])))?;
            // b * b = b  (b is 0 or 1)
            cs.enforce(&b, &b, &b)?;
            bits.push(b);
        }
        let value = FieldVar::linear_sum(bits.iter().enumerate().map(|(i, b)| (pow2(i), b)));
        Ok(BitsVar { bits, value })
    }

    /// Enforces `0 <= x < 2^n` in n constraints: n - 1 allocated bits, and
    /// the top bit `(x - low) / 2^(n-1)` constrained boolean. Returns the
    /// low bits (the top bit is not allocated).
    ///
    /// # Errors
    /// [`SynthesisError`] from the back end.
    pub fn range_check<R: R1cs>(
        cs: &mut R,
        x: &FieldVar,
        n: usize,
    ) -> Result<BitsVar, SynthesisError> {
        let low = Self::alloc(cs, x.value, n - 1)?;
        let inv = pow2(n - 1)
            .inverse()
            .ok_or(SynthesisError::DivisionByZero)?;
        let top = x.sub(&low.value).scale(inv);
        // top * (top - 1) = 0, top = (x - sum_{i<n-1} b_i 2^i) / 2^(n-1)
        cs.enforce(&top, &top.add_constant(-Fr::ONE), &FieldVar::zero())?;
        Ok(low)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::r1cs::ArkR1cs;
    use ark_relations::gr1cs::ConstraintSystem;

    #[test]
    fn a_value_below_2_pow_n_passes_and_2_pow_n_fails() {
        for (value, ok) in [
            (Fr::from(255u64), true),
            (Fr::from(256u64), false),
            (-Fr::from(1u64), false),
        ] {
            let cs = ConstraintSystem::<Fr>::new_ref();
            let mut r = ArkR1cs(cs.clone());
            let x = r.alloc(Some(value)).unwrap();
            BitsGadget::range_check(&mut r, &x, 8).unwrap();
            assert_eq!(cs.is_satisfied().unwrap(), ok, "{value}");
            assert_eq!(cs.num_constraints(), 8);
        }
    }
}
