//! The settlement circuit (docs/circuit.md): given the public inputs
//! `[windowRoot, X, beta, T]`, there exist N slots whose 8-ary Poseidon tree
//! has root windowRoot, each split as `packed = a * 2^92 + w` with
//! `w < 2^92` and `w = 0 => a = 0`, whose weights hash to the commitment X,
//! and whose log-derivative sum at beta is T:
//! `sum_s w_s / (beta - a_s) = T`.
//!
//! The contract draws beta from the root, X and the payee list, and
//! evaluates T over that list itself; the identity then holds only if the
//! list is the window's exact grouping by address. `docs/circuit.md` gives
//! the soundness argument.
//!
//! Constraints per slot: 92 (weight bits) + 1 (empty-slot rule) + 1
//! (log-derivative term), its share of the tree (402 per 8-element group)
//! and of the weight commitment (92 of every 253 bits absorbed at 507
//! constraints per 12 elements). [`PplnsCircuit::constraint_count`] gives
//! the exact figure; the tests pin it.

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field};
use ark_relations::gr1cs::SynthesisError;
use share_verifier::poseidon::ARITY;

use super::{
    weight_placement, PplnsParams, PplnsWitness, PublicInputs, SPONGE_RATE, WEIGHT_BITS_USIZE,
};
use crate::bits::{pow2, BitsGadget, BitsVar};
use crate::poseidon::PoseidonGadget;
use crate::r1cs::{FieldVar, R1cs, Synthesize};

/// The synthesizer of one statement of N slots, with or without an assignment.
#[derive(Clone, Debug)]
pub struct PplnsCircuit {
    params: PplnsParams,
    tree: PoseidonGadget,
    sponge: PoseidonGadget,
    assignment: Option<(PublicInputs, PplnsWitness)>,
}

/// One slot's variables between the passes that need them.
struct SlotVar {
    weight: FieldVar,
    address: FieldVar,
    bits: BitsVar,
}

impl PplnsCircuit {
    /// The circuit for `params`, without values (setup).
    ///
    /// # Errors
    /// Never for valid `params`; [`SynthesisError::Unsatisfiable`] if the
    /// Poseidon parameters were missing.
    pub fn new(params: PplnsParams) -> Result<Self, SynthesisError> {
        Ok(PplnsCircuit {
            params,
            tree: PoseidonGadget::new(ARITY).map_err(|_| SynthesisError::Unsatisfiable)?,
            sponge: PoseidonGadget::new(SPONGE_RATE).map_err(|_| SynthesisError::Unsatisfiable)?,
            assignment: None,
        })
    }

    /// The same circuit with values to prove.
    pub fn with_assignment(&self, public: PublicInputs, witness: PplnsWitness) -> Self {
        PplnsCircuit {
            assignment: Some((public, witness)),
            ..self.clone()
        }
    }

    /// The statement's shape.
    pub fn params(&self) -> &PplnsParams {
        &self.params
    }

    /// The exact number of constraints, without synthesizing.
    pub fn constraint_count(&self) -> usize {
        let n = self.params.slots();
        // Root, X and the log-derivative sum equal their inputs.
        let global = 3;
        // Weight bits, the empty-slot rule, the log-derivative term.
        let per_slot = WEIGHT_BITS_USIZE + 2;
        global + n * per_slot + self.tree_constraints() + self.transcript_constraints()
    }

    fn tree_constraints(&self) -> usize {
        let per_hash = 3 * (self.tree.params().sboxes() - 1);
        let mut len = 2 * self.params.slots();
        let mut total = 0;
        loop {
            let groups = len.div_ceil(ARITY);
            total += groups * per_hash;
            // The last group's zero padding folds its first-round S-boxes.
            total -= 3 * (groups * ARITY - len);
            len = groups;
            if len == 1 {
                return total;
            }
        }
    }

    fn transcript_constraints(&self) -> usize {
        let sboxes = self.sponge.params().sboxes();
        let len = self.params.transcript_len();
        let calls = len.div_ceil(SPONGE_RATE);
        // The first call starts from a zero state: its capacity S-box, and
        // those of zero padding when the whole transcript fits one block,
        // are constants.
        let constant_first = 1 + SPONGE_RATE.saturating_sub(len);
        3 * (calls * sboxes - constant_first)
    }
}

impl Synthesize for PplnsCircuit {
    fn synthesize<R: R1cs>(&self, cs: &mut R) -> Result<(), SynthesisError> {
        let p = &self.params;
        let n = p.slots();
        let (public, w) = match &self.assignment {
            Some((public, w)) => (Some(public), Some(w)),
            None => (None, None),
        };
        if let Some(w) = w {
            if w.slots.len() != n || w.weights.len() != n {
                return Err(SynthesisError::Unsatisfiable);
            }
        }

        // Public inputs, in the verifier's order.
        let root = cs.alloc_input(public.map(|x| x.root))?;
        let commitment = cs.alloc_input(public.map(|x| x.weight_commitment))?;
        let beta = cs.alloc_input(public.map(|x| x.beta))?;
        let table_sum = cs.alloc_input(public.map(|x| x.table_sum))?;

        // Slots: packed = a * 2^92 + w with w < 2^92.
        let inv_2_92 = pow2(WEIGHT_BITS_USIZE)
            .inverse()
            .ok_or(SynthesisError::DivisionByZero)?;
        let mut leaves = Vec::with_capacity(2 * n);
        let mut slots = Vec::with_capacity(n);
        for s in 0..n {
            let packed = cs.alloc(w.map(|w| w.slots[s].packed))?;
            let hash = cs.alloc(w.map(|w| w.slots[s].share_hash))?;
            let weight = cs.alloc(w.map(|w| Fr::from(w.weights[s])))?;
            // w < 2^92: w = sum_{i<91} b_i 2^i + b_91 2^91, each b_i in {0, 1}
            let bits = BitsGadget::range_check(cs, &weight, WEIGHT_BITS_USIZE)?;
            // a = (packed - w) / 2^92
            let address = packed.sub(&weight).scale(inv_2_92);
            // An empty slot carries no address:  w * k = a
            // (w = 0 forces a = 0; for w != 0, k = a / w)
            let k = cs.alloc(
                address
                    .value
                    .zip(weight.value)
                    .map(|(a, wt)| wt.inverse().map_or(Fr::ZERO, |i| a * i)),
            )?;
            cs.enforce(&weight, &k, &address)?;
            leaves.push(packed);
            leaves.push(hash);
            slots.push(SlotVar {
                weight,
                address,
                bits,
            });
        }

        // The 8-ary tree (DESIGN item 6):  root(leaves) = windowRoot
        let computed_root = self.tree_root(cs, leaves)?;
        cs.enforce_equal(&computed_root, &root)?;

        // X = H(root, the N weights packed 253 bits per element)
        let mut transcript = Vec::with_capacity(p.transcript_len());
        transcript.push(root.clone());
        transcript.extend(self.packed_weights(&slots));
        let computed_commitment = self.sponge_hash(cs, &transcript)?;
        cs.enforce_equal(&computed_commitment, &commitment)?;

        // sum_s w_s / (beta - a_s) = T:  t_s * (beta - a_s) = w_s,  sum_s t_s = T
        let mut terms = Vec::with_capacity(n);
        for slot in &slots {
            let denominator = beta.sub(&slot.address);
            let t = cs.alloc(quotient(slot.weight.value, denominator.value))?;
            cs.enforce(&t, &denominator, &slot.weight)?;
            terms.push(t);
        }
        let sum = FieldVar::linear_sum(terms.iter().map(|t| (Fr::ONE, t)));
        cs.enforce_equal(&sum, &table_sum)
    }
}

impl PplnsCircuit {
    /// Hashes groups of 8 level by level, zero-padding a short last group.
    fn tree_root<R: R1cs>(
        &self,
        cs: &mut R,
        mut level: Vec<FieldVar>,
    ) -> Result<FieldVar, SynthesisError> {
        loop {
            let mut next = Vec::with_capacity(level.len().div_ceil(ARITY));
            for group in level.chunks(ARITY) {
                let mut inputs = group.to_vec();
                inputs.resize(ARITY, FieldVar::zero());
                next.push(self.tree.hash(cs, &inputs)?);
            }
            level = next;
            if level.len() == 1 {
                return Ok(level.swap_remove(0));
            }
        }
    }

    /// The slot weights packed 253 bits per element (PACK_BITS < 254, so each
    /// element stays below r): a weight that fits is
    /// added whole, one that straddles two elements is cut at a bit boundary
    /// (its low bits from the decomposition, the rest by subtraction).
    fn packed_weights(&self, slots: &[SlotVar]) -> Vec<FieldVar> {
        let mut out = vec![FieldVar::zero(); self.params.weight_elements()];
        for (s, slot) in slots.iter().enumerate() {
            let place = weight_placement(s);
            match place.cut {
                None => {
                    out[place.element] =
                        out[place.element].add_scaled(&slot.weight, pow2(place.shift));
                }
                Some(cut) => {
                    let low = FieldVar::linear_sum(
                        slot.bits.bits[..cut]
                            .iter()
                            .enumerate()
                            .map(|(i, b)| (pow2(i), b)),
                    );
                    let inv = pow2(cut).inverse().unwrap_or(Fr::ZERO);
                    let high = slot.weight.sub(&low).scale(inv);
                    out[place.element] = out[place.element].add_scaled(&low, pow2(place.shift));
                    out[place.element + 1] = out[place.element + 1].add(&high);
                }
            }
        }
        out.into_iter().map(FieldVar::compact).collect()
    }

    /// The sponge of [`super::sponge_hash`]: blocks of 12 added to state
    /// elements 1..12, the state permuted after each; output element 0.
    fn sponge_hash<R: R1cs>(
        &self,
        cs: &mut R,
        elements: &[FieldVar],
    ) -> Result<FieldVar, SynthesisError> {
        let mut state = vec![FieldVar::zero(); SPONGE_RATE + 1];
        for block in elements.chunks(SPONGE_RATE) {
            for (s, x) in state[1..].iter_mut().zip(block) {
                *s = s.add(x).compact();
            }
            state = self.sponge.permute(cs, state)?;
        }
        Ok(state.swap_remove(0))
    }
}

/// `x / d`, or 0 where d = 0 (the constraint then fails unless x = 0).
fn quotient(x: Option<Fr>, d: Option<Fr>) -> Option<Fr> {
    x.zip(d)
        .map(|(x, d)| d.inverse().map_or(Fr::ZERO, |i| x * i))
}
