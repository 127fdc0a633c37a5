//! The PPLNS allocation circuit (DESIGN item 10): given the public inputs
//! `[windowRoot, reward + feeBps * 2^64, c, S]`, there exist N slots whose
//! 8-ary Poseidon tree has root windowRoot, whose weights are below 2^92,
//! and an M-entry payout list, strictly ascending and zero-padded, that is
//! the allocation of DESIGN item 8 over those slots, with
//! `S = sum_j c^j * (addr_j + amount_j * 2^160)`.
//!
//! Per-address weight sums are matched to the slots by a log-derivative
//! argument: with a challenge beta,
//! `sum_s w_s / (beta - a_s) = sum_j W_j / (beta - A_j)`,
//! beta being the Poseidon hash of a transcript that fixes everything in
//! that identity (the root, every slot weight, every payout element and
//! weight sum). `docs/circuit.md` gives the soundness argument.
//!
//! Constraints, per slot: 92 (weight bits) + 1 (empty-slot rule) + 1
//! (log-derivative term) and its share of the tree (402 per 8-element
//! group) and of the transcript hash. Per payout entry: 160 (gap to the
//! previous address), 51 (amount), 2 (92 + k) (remainder), 9 others and two
//! transcript elements. [`PplnsCircuit::constraint_count`] gives the exact
//! figure; the tests pin it.

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field, Zero};
use ark_relations::gr1cs::SynthesisError;
use share_verifier::poseidon::ARITY;

use super::{
    weight_placement, PplnsParams, PplnsWitness, PublicInputs, ADDRESS_BITS, FEE_BITS, MAX_FEE_BPS,
    REWARD_BITS, SPONGE_RATE, WEIGHT_BITS_USIZE,
};
use crate::bits::{pow2, BitsGadget, BitsVar};
use crate::poseidon::PoseidonGadget;
use crate::r1cs::{FieldVar, R1cs, Synthesize};

/// The synthesizer of one (N, M) statement, with or without an assignment.
#[derive(Clone, Debug)]
pub struct PplnsCircuit {
    params: PplnsParams,
    tree: PoseidonGadget,
    sponge: PoseidonGadget,
    assignment: Option<(PublicInputs, PplnsWitness)>,
}

/// What synthesis leaves for inspection (tests and the prover's checks).
#[derive(Clone, Debug, Default)]
pub struct PplnsOutputs {
    /// The log-derivative challenge beta's value.
    pub beta: Option<Fr>,
}

/// One slot's variables between the passes that need them.
struct SlotVar {
    weight: FieldVar,
    address: FieldVar,
    bits: BitsVar,
}

/// One payout entry's variables.
struct EntryVar {
    weight: FieldVar,
    active: FieldVar,
    address: FieldVar,
    element: FieldVar,
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
        let p = &self.params;
        let n = p.slots();
        let m = p.payouts();
        let l = p.total_weight_bits();
        // Reward, fee, fee amount and its remainder, with their range checks.
        let global = (REWARD_BITS + FEE_BITS + 1)
            + FEE_BITS
            + (REWARD_BITS + 2 * FEE_BITS + 1)
            + 1 // W
            + ADDRESS_BITS // last address
            + 1 // root
            + 1; // log-derivative sums
        let per_slot = WEIGHT_BITS_USIZE + 2;
        // active (2), padding address (1), gap (161), log-derivative term
        // (1), product and division (2), amount bits, remainder bits, the
        // remainder's upper bound (L).
        let per_entry = 2 + 1 + (ADDRESS_BITS + 1) + 1 + 2 + REWARD_BITS + 2 * l;
        // Monotone flags and Horner steps between entries; one entry needs
        // S = e_0 instead.
        let between = 2 * (m - 1) + usize::from(m == 1);
        global
            + n * per_slot
            + m * per_entry
            + between
            + self.tree_constraints()
            + self.transcript_constraints()
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

    /// Synthesizes and reports beta (used by tests).
    ///
    /// # Errors
    /// As [`Synthesize::synthesize`].
    pub fn synthesize_with_outputs<R: R1cs>(
        &self,
        cs: &mut R,
    ) -> Result<PplnsOutputs, SynthesisError> {
        let p = &self.params;
        let n = p.slots();
        let m = p.payouts();
        let l = p.total_weight_bits();
        let (public, w) = match &self.assignment {
            Some((public, w)) => (Some(public), Some(w)),
            None => (None, None),
        };
        if let Some(w) = w {
            if w.slots.len() != n || w.weights.len() != n || w.payouts.len() != m {
                return Err(SynthesisError::Unsatisfiable);
            }
        }
        let one = FieldVar::constant(Fr::ONE);

        // Public inputs, in the verifier's order.
        let root = cs.alloc_input(public.map(|x| x.root))?;
        let reward_and_fee = cs.alloc_input(public.map(|x| x.reward_and_fee))?;
        let c = cs.alloc_input(public.map(|x| x.c))?;
        let s_input = cs.alloc_input(public.map(|x| x.s))?;

        // reward < 2^51, feeBps < 2^14:
        // reward + feeBps * 2^64 = rewardAndFee
        let reward = BitsGadget::alloc(cs, w.map(|w| Fr::from(w.reward)), REWARD_BITS)?;
        let fee_bps = BitsGadget::alloc(cs, w.map(|w| Fr::from(w.fee_bps)), FEE_BITS)?;
        cs.enforce_equal(
            &reward.value.add_scaled(&fee_bps.value, pow2(64)),
            &reward_and_fee,
        )?;
        // feeBps <= 10000:  10000 - feeBps < 2^14
        BitsGadget::range_check(
            cs,
            &FieldVar::constant(Fr::from(MAX_FEE_BPS)).sub(&fee_bps.value),
            FEE_BITS,
        )?;
        // fee = floor(reward * feeBps / 10000):
        // reward * feeBps = 10000 * fee + q,  0 <= q < 10000,  fee < 2^51
        let (fee_value, q_value) = match w {
            Some(w) => {
                let product = u128::from(w.reward) * u128::from(w.fee_bps);
                (
                    Some(Fr::from(product / u128::from(MAX_FEE_BPS))),
                    Some(Fr::from(product % u128::from(MAX_FEE_BPS))),
                )
            }
            None => (None, None),
        };
        let fee = BitsGadget::alloc(cs, fee_value, REWARD_BITS)?;
        let q = BitsGadget::alloc(cs, q_value, FEE_BITS)?;
        BitsGadget::range_check(
            cs,
            &FieldVar::constant(Fr::from(MAX_FEE_BPS - 1)).sub(&q.value),
            FEE_BITS,
        )?;
        cs.enforce(
            &reward.value,
            &fee_bps.value,
            &fee.value.scale(Fr::from(MAX_FEE_BPS)).add(&q.value),
        )?;
        // net = reward - fee
        let net = reward.value.sub(&fee.value);

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

        // Payout entries.
        let mut entries: Vec<EntryVar> = Vec::with_capacity(m);
        let mut gaps: Vec<FieldVar> = Vec::with_capacity(m);
        let mut previous_active: Option<FieldVar> = None;
        let mut previous_address = FieldVar::zero();
        for j in 0..m {
            let row = w.map(|w| w.payouts[j]);
            let weight = cs.alloc(row.map(|r| Fr::from(r.weight)))?;
            // active = (W_j != 0):  W_j * inv = active,  W_j * (1 - active) = 0
            let inv = cs.alloc(weight.value.map(|x| x.inverse().unwrap_or(Fr::ZERO)))?;
            let active = cs.alloc(weight.value.map(|x| Fr::from(!x.is_zero())))?;
            cs.enforce(&weight, &inv, &active)?;
            cs.enforce(&weight, &one.sub(&active), &FieldVar::zero())?;
            // Active entries come first:  active_j * (1 - active_{j-1}) = 0
            if let Some(prev) = &previous_active {
                cs.enforce(&active, &one.sub(prev), &FieldVar::zero())?;
            }
            // Padding has address 0:  A_j * (1 - active_j) = 0
            let address = cs.alloc(row.map(|r| r.address))?;
            cs.enforce(&address, &one.sub(&active), &FieldVar::zero())?;
            // Strictly ascending from A_{-1} = 0:
            // active_j * (A_j - A_{j-1} - 1) = D_j,  0 <= D_j < 2^160
            let step = address.sub(&previous_address).add_constant(-Fr::ONE);
            let gap_value = active.value.zip(step.value).map(|(a, d)| a * d);
            let gap = BitsGadget::alloc(cs, gap_value, ADDRESS_BITS)?;
            cs.enforce(&active, &step, &gap.value)?;
            gaps.push(gap.value);
            previous_address = address.clone();
            previous_active = Some(active.clone());
            entries.push(EntryVar {
                weight,
                active,
                address,
                element: FieldVar::zero(),
            });
        }
        // The last address is below 2^160, hence all of them:
        // A_last = sum_j (D_j + active_j) < 2^160
        let last_address = FieldVar::linear_sum(
            gaps.iter()
                .map(|g| (Fr::ONE, g))
                .chain(entries.iter().map(|e| (Fr::ONE, &e.active))),
        );
        BitsGadget::range_check(cs, &last_address.compact(), ADDRESS_BITS)?;

        // W = sum_j W_j
        let total_lc = FieldVar::linear_sum(entries.iter().map(|e| (Fr::ONE, &e.weight)));
        let total = cs.alloc(total_lc.value)?;
        cs.enforce_equal(&total, &total_lc)?;

        // amount_j = floor(net * W_j / W):
        // amount_j * (W + 1 - active_j) = net * W_j - r_j,
        // 0 <= r_j < 2^L,  0 <= W - active_j - r_j < 2^L,  amount_j < 2^51
        // (padding: W_j = 0 forces amount_j = r_j = 0, even when W = 0).
        for (j, entry) in entries.iter_mut().enumerate() {
            let product = cs.mul(&net, &entry.weight)?;
            let amount_value = w.map(|w| Fr::from(w.payouts[j].amount));
            let amount = BitsGadget::alloc(cs, amount_value, REWARD_BITS)?;
            let divisor = total.add(&one).sub(&entry.active);
            let r_value = product
                .value
                .zip(amount_value)
                .zip(divisor.value)
                .map(|((p, a), d)| p - a * d);
            let remainder = BitsGadget::alloc(cs, r_value, l)?;
            BitsGadget::range_check(
                cs,
                &total.sub(&entry.active).sub(&remainder.value).compact(),
                l,
            )?;
            cs.enforce(&amount.value, &divisor, &product.sub(&remainder.value))?;
            // e_j = A_j + amount_j * 2^160
            entry.element = entry.address.add_scaled(&amount.value, pow2(ADDRESS_BITS));
        }

        // S = sum_j c^j e_j, by Horner from the last entry:
        // acc_j = e_j + c * acc_{j+1},  acc_0 = S
        let mut acc = entries[m - 1].element.clone();
        if m == 1 {
            cs.enforce_equal(&acc, &s_input)?;
        }
        for j in (0..m - 1).rev() {
            let next = if j == 0 {
                s_input.clone()
            } else {
                let value = c
                    .value
                    .zip(acc.value)
                    .zip(entries[j].element.value)
                    .map(|((c, a), e)| e + c * a);
                cs.alloc(value)?
            };
            // c * acc_{j+1} = acc_j - e_j
            cs.enforce(&c, &acc, &next.sub(&entries[j].element))?;
            acc = next;
        }

        // beta = H(root, (A_j + w_j 2^160)_j, packed w_s for s >= M, (W_j)_j)
        // (pplns::transcript; every A_j < 2^160 and w_s < 2^92 is checked
        // above, so each element determines its parts)
        let head = p.weights_with_addresses();
        let mut transcript = Vec::with_capacity(p.transcript_len());
        transcript.push(root.clone());
        for (j, e) in entries.iter().enumerate() {
            let element = match slots.get(j).filter(|_| j < head) {
                Some(slot) => e.address.add_scaled(&slot.weight, pow2(ADDRESS_BITS)),
                None => e.address.clone(),
            };
            transcript.push(element.compact());
        }
        transcript.extend(self.packed_weights(&slots[head..]));
        transcript.extend(entries.iter().map(|e| e.weight.clone()));
        let beta = self.sponge_hash(cs, &transcript)?;

        // sum_s w_s / (beta - a_s) = sum_j W_j / (beta - A_j):
        // t_s * (beta - a_s) = w_s,  u_j * (beta - A_j) = W_j
        let mut terms = Vec::with_capacity(n + m);
        for slot in &slots {
            let denominator = beta.sub(&slot.address);
            let t = cs.alloc(quotient(slot.weight.value, denominator.value))?;
            cs.enforce(&t, &denominator, &slot.weight)?;
            terms.push((Fr::ONE, t));
        }
        for e in &entries {
            let denominator = beta.sub(&e.address);
            let u = cs.alloc(quotient(e.weight.value, denominator.value))?;
            cs.enforce(&u, &denominator, &e.weight)?;
            terms.push((-Fr::ONE, u));
        }
        let balance = FieldVar::linear_sum(terms.iter().map(|(k, x)| (*k, x)));
        cs.enforce_equal(&balance, &FieldVar::zero())?;
        Ok(PplnsOutputs { beta: beta.value })
    }

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

impl Synthesize for PplnsCircuit {
    fn synthesize<R: R1cs>(&self, cs: &mut R) -> Result<(), SynthesisError> {
        self.synthesize_with_outputs(cs).map(|_| ())
    }
}
