//! The circomlib Poseidon permutation as constraints: exactly the hash of
//! `share_verifier::poseidon` (same constants, same output), 3 constraints
//! per S-box and nothing else.
//!
//! Cost of one hash of `t - 1` inputs: `3 * (t * R_F + R_P)` constraints,
//! less 3 for every S-box whose input is a constant (the capacity element
//! in the first round, zero padding). The 8-input hash of the window tree
//! costs 3 * (9 * 8 + 63 - 1) = 402.
//!
//! Only S-box outputs are allocated. The linear layers are folded into the
//! linear combinations of the next S-box inputs: full rounds give
//! combinations of `t` variables, and the partial phase uses the
//! precomputed [`PartialPlan`](super::PartialPlan), so a partial-round
//! S-box input is one combination of at most `t + 63` variables.

use ark_bn254::Fr;
use ark_ff::AdditiveGroup;
use ark_relations::gr1cs::SynthesisError;

use super::{sbox, PoseidonParams, PoseidonParamsError};
use crate::r1cs::{compact_lc, FieldVar, Lc, R1cs, Var};

/// The Poseidon hash of a fixed number of inputs, as constraints.
#[derive(Clone, Debug)]
pub struct PoseidonGadget {
    params: PoseidonParams,
}

impl PoseidonGadget {
    /// The gadget for circomlib's `inputs`-input Poseidon.
    ///
    /// # Errors
    /// [`PoseidonParamsError`] outside 1..=12 inputs.
    pub fn new(inputs: usize) -> Result<Self, PoseidonParamsError> {
        Ok(PoseidonGadget {
            params: PoseidonParams::circom(inputs)?,
        })
    }

    /// The parameters (width, rounds, constants).
    pub fn params(&self) -> &PoseidonParams {
        &self.params
    }

    /// The number of inputs, `t - 1`.
    pub fn arity(&self) -> usize {
        self.params.width - 1
    }

    /// The hash of exactly [`Self::arity`] inputs.
    ///
    /// # Errors
    /// [`SynthesisError::Unsatisfiable`] for another number of inputs;
    /// back-end errors otherwise.
    pub fn hash<R: R1cs>(
        &self,
        cs: &mut R,
        inputs: &[FieldVar],
    ) -> Result<FieldVar, SynthesisError> {
        if inputs.len() != self.params.width - 1 {
            return Err(SynthesisError::Unsatisfiable);
        }
        // circomlib's initial state: [0, inputs...].
        let mut state = Vec::with_capacity(self.params.width);
        state.push(FieldVar::zero());
        state.extend(inputs.iter().cloned());
        Ok(self.permute(cs, state)?.swap_remove(0))
    }

    /// The permutation of a whole state of width t (a sponge's step).
    ///
    /// # Errors
    /// [`SynthesisError::Unsatisfiable`] for a state of another width;
    /// back-end errors otherwise.
    pub fn permute<R: R1cs>(
        &self,
        cs: &mut R,
        mut state: Vec<FieldVar>,
    ) -> Result<Vec<FieldVar>, SynthesisError> {
        let p = &self.params;
        if state.len() != p.width {
            return Err(SynthesisError::Unsatisfiable);
        }
        if let Some(values) = state
            .iter()
            .map(|s| s.constant)
            .collect::<Option<Vec<Fr>>>()
        {
            // All inputs constant: so is the hash.
            let mut values = values;
            p.permute(&mut values);
            return Ok(values.into_iter().map(FieldVar::constant).collect());
        }
        let half = p.full_rounds / 2;
        for round in 0..half {
            state = self.full_round(cs, &state, round)?;
        }
        state = self.partial_phase(cs, &state)?;
        for round in half + p.partial_rounds..p.full_rounds + p.partial_rounds {
            state = self.full_round(cs, &state, round)?;
        }
        Ok(state)
    }

    /// x_i = s_i + ark; y_i = x_i^5; s'_i = sum_j mds[i][j] * y_j.
    fn full_round<R: R1cs>(
        &self,
        cs: &mut R,
        state: &[FieldVar],
        round: usize,
    ) -> Result<Vec<FieldVar>, SynthesisError> {
        let p = &self.params;
        let mut y = Vec::with_capacity(p.width);
        for (i, s) in state.iter().enumerate() {
            let x = s.add_constant(p.ark[round * p.width + i]);
            y.push(SboxGadget::apply(cs, &x)?);
        }
        Ok(self.mix(&y))
    }

    fn mix(&self, y: &[FieldVar]) -> Vec<FieldVar> {
        self.params
            .mds
            .iter()
            .map(|row| FieldVar::linear_sum(row.iter().copied().zip(y.iter())).compact())
            .collect()
    }

    /// The partial rounds: one S-box per round on the first element, the
    /// rest linear (see [`super::PartialPlan`]).
    fn partial_phase<R: R1cs>(
        &self,
        cs: &mut R,
        u: &[FieldVar],
    ) -> Result<Vec<FieldVar>, SynthesisError> {
        let p = &self.params;
        let t = p.width;
        let half = p.full_rounds / 2;
        // Values: the native rounds, recording each S-box input.
        let values = u.iter().map(|s| s.value).collect::<Option<Vec<Fr>>>();
        let (sbox_in_values, out_values) = match values {
            Some(mut state) => {
                let mut inputs = Vec::with_capacity(p.partial_rounds);
                for k in 0..p.partial_rounds {
                    let round = half + k;
                    for (i, s) in state.iter_mut().enumerate() {
                        *s += p.ark[round * t + i];
                    }
                    inputs.push(state[0]);
                    state[0] = sbox(state[0]);
                    p.mix(&mut state);
                }
                (Some(inputs), Some(state))
            }
            None => (None, None),
        };
        let symbolic = cs.is_symbolic();
        let basis_lc = |coeffs: &[Fr], outputs: &[FieldVar]| -> Lc {
            if !symbolic {
                return Vec::new();
            }
            let mut lc: Lc = Vec::new();
            for (i, ui) in u.iter().enumerate() {
                if coeffs[i] != Fr::ZERO {
                    lc.extend(ui.lc.iter().map(|&(c, v)| (c * coeffs[i], v)));
                }
            }
            for (k, pk) in outputs.iter().enumerate() {
                if coeffs[t + k] != Fr::ZERO {
                    lc.extend(pk.lc.iter().map(|&(c, v)| (c * coeffs[t + k], v)));
                }
            }
            let constant = coeffs[coeffs.len() - 1];
            if constant != Fr::ZERO {
                lc.push((constant, Var::One));
            }
            compact_lc(&mut lc);
            lc
        };
        let mut outputs: Vec<FieldVar> = Vec::with_capacity(p.partial_rounds);
        for k in 0..p.partial_rounds {
            let mut coeffs = p.plan.sbox_inputs[k].clone();
            // Only p_0 .. p_{k-1} can appear; keep the constant last.
            let constant = coeffs[coeffs.len() - 1];
            coeffs.truncate(t + k);
            coeffs.push(constant);
            let x = FieldVar {
                lc: basis_lc(&coeffs, &outputs),
                value: sbox_in_values.as_ref().map(|v| v[k]),
                constant: None,
            };
            outputs.push(SboxGadget::apply(cs, &x)?);
        }
        Ok((0..t)
            .map(|i| FieldVar {
                lc: basis_lc(&p.plan.outputs[i], &outputs),
                value: out_values.as_ref().map(|v| v[i]),
                constant: None,
            })
            .collect())
    }
}

/// `y = x^5` in 3 constraints (x^2, x^4, x^5), free for a constant x.
pub struct SboxGadget;

impl SboxGadget {
    /// The S-box of `x`.
    ///
    /// # Errors
    /// Back-end errors.
    pub fn apply<R: R1cs>(cs: &mut R, x: &FieldVar) -> Result<FieldVar, SynthesisError> {
        if let Some(c) = x.constant {
            return Ok(FieldVar::constant(sbox(c)));
        }
        // x * x = x2
        let x2 = cs.mul(x, x)?;
        // x2 * x2 = x4
        let x4 = cs.mul(&x2, &x2)?;
        // x4 * x = y  (x4 on the A side keeps it out of the B matrix)
        let y = cs.alloc(x4.value.zip(x.value).map(|(a, b)| a * b))?;
        cs.enforce(&x4, x, &y)?;
        Ok(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::r1cs::{ArkR1cs, WitnessR1cs};
    use ark_ff::UniformRand;
    use ark_relations::gr1cs::ConstraintSystem;
    use ark_std::rand::SeedableRng;
    use std::str::FromStr;

    fn check(inputs: &[Fr], expected: Fr) -> usize {
        let gadget = PoseidonGadget::new(inputs.len()).unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let mut r = ArkR1cs(cs.clone());
        let vars: Vec<FieldVar> = inputs.iter().map(|x| r.alloc(Some(*x)).unwrap()).collect();
        let out = gadget.hash(&mut r, &vars).unwrap();
        assert_eq!(out.value, Some(expected));
        // Bind the output so the check covers the output combination too.
        let claimed = r.alloc(Some(expected)).unwrap();
        r.enforce_equal(&out, &claimed).unwrap();
        assert!(cs.is_satisfied().unwrap());
        // The values-only back end computes the same output.
        let mut w = WitnessR1cs::new();
        let vars: Vec<FieldVar> = inputs.iter().map(|x| w.alloc(Some(*x)).unwrap()).collect();
        assert_eq!(gadget.hash(&mut w, &vars).unwrap().value, Some(expected));
        assert_eq!(w.constraints + 1, cs.num_constraints());
        cs.num_constraints() - 1
    }

    #[test]
    fn gadget_equals_the_native_hash_on_random_inputs() {
        let mut rng = ark_std::rand::rngs::StdRng::seed_from_u64(7);
        for n in [2usize, 8, 12] {
            for _ in 0..2 {
                let x: Vec<Fr> = (0..n).map(|_| Fr::rand(&mut rng)).collect();
                check(&x, share_verifier::poseidon::hash(&x).unwrap());
            }
        }
    }

    #[test]
    fn gadget_reproduces_circomlibs_published_vectors() {
        // circomlibjs: poseidon([1, 2]) and poseidon([1..8]).
        let two = check(
            &[Fr::from(1u64), Fr::from(2u64)],
            Fr::from_str(
                "7853200120776062878684798364095072458815029376092732009249414926327459813530",
            )
            .unwrap(),
        );
        let eight: Vec<Fr> = (1..=8u64).map(Fr::from).collect();
        let n8 = check(
            &eight,
            Fr::from_str(
                "18604317144381847857886385684060986177838410221561136253933256952257712543953",
            )
            .unwrap(),
        );
        // Pinned costs: 3 per S-box, the capacity's first S-box free.
        assert_eq!(two, 3 * (3 * 8 + 57 - 1));
        assert_eq!(n8, 402);
    }

    #[test]
    fn constant_inputs_cost_nothing_and_padding_is_folded() {
        let gadget = PoseidonGadget::new(8).unwrap();
        let mut w = WitnessR1cs::new();
        let zeros = vec![FieldVar::zero(); 8];
        let out = gadget.hash(&mut w, &zeros).unwrap();
        assert_eq!(w.constraints, 0);
        assert_eq!(
            out.constant,
            Some(share_verifier::poseidon::hash(&[Fr::ZERO; 8]).unwrap())
        );
        // Two variable inputs and six zeros: six more S-boxes folded.
        let mut inputs = vec![
            w.alloc(Some(Fr::from(1u64))).unwrap(),
            w.alloc(Some(Fr::from(2u64))).unwrap(),
        ];
        inputs.extend(vec![FieldVar::zero(); 6]);
        let out = gadget.hash(&mut w, &inputs).unwrap();
        let mut native = [Fr::ZERO; 8];
        native[0] = Fr::from(1u64);
        native[1] = Fr::from(2u64);
        assert_eq!(
            out.value,
            Some(share_verifier::poseidon::hash(&native).unwrap())
        );
        assert_eq!(w.constraints, 402 - 18);
    }
}
