//! circomlib's Poseidon permutation as data the gadget needs: round
//! constants and MDS matrix (taken from `light-poseidon`, the reference that
//! `share_verifier::poseidon` also uses) and a precomputed plan of the
//! partial rounds.
//!
//! The native hash itself is `share_verifier::poseidon` (DESIGN item 4);
//! nothing here re-implements it. The gadget lives in [`constraints`].
//!
//! # The partial-round plan
//! In a partial round only the first state element goes through the S-box;
//! the other elements change linearly. Over the whole partial phase every
//! state element is therefore an affine function of the state `u` entering
//! the phase and of the S-box outputs `p_0, p_1, ...` of the rounds before.
//! [`PartialPlan`] holds those affine functions, computed once per width, so
//! the gadget writes each S-box input as one linear combination of at most
//! `t + k` variables instead of carrying `t` growing combinations round by
//! round.

pub mod constraints;

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field};
use light_poseidon::parameters::bn254_x5::get_poseidon_parameters;
use light_poseidon::PoseidonParameters;

pub use constraints::PoseidonGadget;

/// Errors of parameter lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoseidonParamsError {
    /// circomlib's parameters exist for 1 to 12 inputs (state width 2 to 13).
    #[error("no circomlib poseidon parameters for {0} inputs (1 to 12 exist)")]
    Inputs(usize),
}

/// circomlib's parameters for one state width `t` (`t - 1` inputs).
#[derive(Clone, Debug)]
pub struct PoseidonParams {
    /// State width t.
    pub width: usize,
    /// Full rounds (8: half before, half after the partial rounds).
    pub full_rounds: usize,
    /// Partial rounds (63 for t = 9, 65 for t = 13).
    pub partial_rounds: usize,
    /// `ark[r * t + i]`: the constant added to element i in round r.
    pub ark: Vec<Fr>,
    /// `mds[i][j]`: new element i = sum_j mds[i][j] * old element j.
    pub mds: Vec<Vec<Fr>>,
    /// The partial phase as affine functions (see the module docs).
    pub plan: PartialPlan,
}

/// The partial phase of the permutation as affine maps over the basis
/// `[u_0 .. u_{t-1}, p_0 .. p_{R_P-1}, 1]`: `u` the state entering the
/// phase, `p_k` the S-box output of partial round k.
#[derive(Clone, Debug)]
pub struct PartialPlan {
    /// `sbox_inputs[k]`: the S-box input of partial round k (coefficients on
    /// `u`, then on `p_0 .. p_{k-1}`, then the constant).
    pub sbox_inputs: Vec<Vec<Fr>>,
    /// The state leaving the phase, one affine map per element (full basis).
    pub outputs: Vec<Vec<Fr>>,
}

impl PoseidonParams {
    /// circomlib's parameters for `inputs` inputs (state width `inputs + 1`).
    ///
    /// # Errors
    /// [`PoseidonParamsError::Inputs`] outside 1..=12.
    pub fn circom(inputs: usize) -> Result<Self, PoseidonParamsError> {
        if !(1..=12).contains(&inputs) {
            return Err(PoseidonParamsError::Inputs(inputs));
        }
        let p: PoseidonParameters<Fr> = get_poseidon_parameters::<Fr>((inputs + 1) as u8)
            .map_err(|_| PoseidonParamsError::Inputs(inputs))?;
        let plan = PartialPlan::new(&p);
        Ok(PoseidonParams {
            width: p.width,
            full_rounds: p.full_rounds,
            partial_rounds: p.partial_rounds,
            ark: p.ark,
            mds: p.mds,
            plan,
        })
    }

    /// The number of S-boxes of one permutation, `t * R_F + R_P`.
    pub fn sboxes(&self) -> usize {
        self.width * self.full_rounds + self.partial_rounds
    }

    /// The permutation on values, round by round as circomlib defines it
    /// (used by the gadget to compute its witness; the hash is checked
    /// against `share_verifier::poseidon` in the tests).
    pub fn permute(&self, state: &mut [Fr]) {
        let half = self.full_rounds / 2;
        for r in 0..self.full_rounds + self.partial_rounds {
            let full = r < half || r >= half + self.partial_rounds;
            for (i, s) in state.iter_mut().enumerate() {
                *s += self.ark[r * self.width + i];
                if full || i == 0 {
                    *s = sbox(*s);
                }
            }
            self.mix(state);
        }
    }

    /// `state = mds * state`.
    pub fn mix(&self, state: &mut [Fr]) {
        let mixed: Vec<Fr> = self
            .mds
            .iter()
            .map(|row| row.iter().zip(state.iter()).map(|(m, s)| *m * s).sum())
            .collect();
        state.copy_from_slice(&mixed);
    }
}

/// `x^5`.
#[inline]
pub fn sbox(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

impl PartialPlan {
    fn new(p: &PoseidonParameters<Fr>) -> Self {
        let t = p.width;
        let rp = p.partial_rounds;
        let basis = t + rp + 1;
        let constant = basis - 1;
        let half = p.full_rounds / 2;
        // state[i] = u_i
        let mut state: Vec<Vec<Fr>> = (0..t)
            .map(|i| {
                let mut v = vec![Fr::ZERO; basis];
                v[i] = Fr::ONE;
                v
            })
            .collect();
        let mut sbox_inputs = Vec::with_capacity(rp);
        for k in 0..rp {
            let round = half + k;
            for (i, s) in state.iter_mut().enumerate() {
                s[constant] += p.ark[round * t + i];
            }
            sbox_inputs.push(state[0].clone());
            let mut p_k = vec![Fr::ZERO; basis];
            p_k[t + k] = Fr::ONE;
            state[0] = p_k;
            state = (0..t)
                .map(|i| {
                    let mut out = vec![Fr::ZERO; basis];
                    for (j, s) in state.iter().enumerate() {
                        let m = p.mds[i][j];
                        for (o, x) in out.iter_mut().zip(s) {
                            *o += m * x;
                        }
                    }
                    out
                })
                .collect();
        }
        PartialPlan {
            sbox_inputs,
            outputs: state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_matches_the_native_hash() {
        for inputs in [2usize, 8, 12] {
            let params = PoseidonParams::circom(inputs).unwrap();
            let x: Vec<Fr> = (0..inputs as u64).map(|i| Fr::from(i * 7 + 3)).collect();
            let mut state = vec![Fr::ZERO];
            state.extend(&x);
            params.permute(&mut state);
            assert_eq!(state[0], share_verifier::poseidon::hash(&x).unwrap());
        }
    }

    #[test]
    fn widths_have_circomlibs_round_counts() {
        let p9 = PoseidonParams::circom(8).unwrap();
        assert_eq!((p9.width, p9.full_rounds, p9.partial_rounds), (9, 8, 63));
        let p13 = PoseidonParams::circom(12).unwrap();
        assert_eq!(
            (p13.width, p13.full_rounds, p13.partial_rounds),
            (13, 8, 65)
        );
        assert!(PoseidonParams::circom(13).is_err());
    }
}
