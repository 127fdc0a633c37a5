//! The PPLNS statement's parameters and native data (DESIGN items 8 to 10):
//! what the prover feeds the circuit, built from a window snapshot with
//! `share_verifier`'s allocation, and the native value of the in-circuit
//! log-derivative challenge.
//!
//! The circuit itself is [`constraints::PplnsCircuit`]; `docs/circuit.md`
//! states what it proves and why each check is there.

pub mod constraints;

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field, PrimeField};
use bitcoin::Amount;
use share_verifier::allocation::{allocate, Allocation, AllocationError, FeeBps};
use share_verifier::binding;
use share_verifier::target::WEIGHT_BITS;
use share_verifier::window::{Slot, WindowError, WindowSnapshot, MAX_LOG2_SLOTS};
use share_verifier::WindowRoot;

use crate::poseidon::PoseidonParams;

pub use constraints::PplnsCircuit;

/// Bits of a slot weight (DESIGN item 2): every weight is below 2^92.
pub const WEIGHT_BITS_USIZE: usize = WEIGHT_BITS as usize;
/// Bits of an EVM address.
pub const ADDRESS_BITS: usize = 160;
/// Bits of a reward in sats: Bitcoin's supply is below 2^51.
pub const REWARD_BITS: usize = 51;
/// Bits that hold a fee rate of at most 10,000 basis points.
pub const FEE_BITS: usize = 14;
/// The largest fee rate, 100%.
pub const MAX_FEE_BPS: u64 = 10_000;
/// Weight bits packed into one field element of the challenge hash
/// (2^253 < r, so the packing is injective).
pub const PACK_BITS: usize = 253;
/// Rate of the sponge that absorbs the challenge transcript: circomlib's
/// width-13 Poseidon permutation, 12 elements per call.
pub const SPONGE_RATE: usize = 12;

/// Errors of statement parameters and witness assignment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PplnsError {
    /// N must be 2^k with 1 <= k <= 24.
    #[error("window size 2^{0} is outside 2^1..=2^{max}", max = MAX_LOG2_SLOTS)]
    Slots(u32),
    /// The payout list needs at least one entry.
    #[error("the payout list must have at least one entry, got {0}")]
    Payouts(usize),
    /// The snapshot is for another window size than the key.
    #[error("the window has 2^{got} slots, the key proves 2^{expected}")]
    WindowSize { expected: u32, got: u32 },
    /// More distinct addresses than the key's payout entries.
    #[error("the window pays {got} addresses, the key holds at most {max} payout entries")]
    TooManyPayouts { max: usize, got: usize },
    /// The snapshot does not hash to its recorded root, or is inconsistent.
    #[error("invalid window snapshot: {0}")]
    Window(#[from] WindowError),
    /// The allocation refused its inputs.
    #[error("allocation failed: {0}")]
    Allocation(#[from] AllocationError),
    /// The reward does not fit the circuit's 51 bits.
    #[error("reward {0} sats does not fit 51 bits")]
    Reward(u64),
}

/// The shape of one statement: N = 2^k slots and M payout entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PplnsParams {
    log2_slots: u32,
    payouts: usize,
}

impl PplnsParams {
    /// N = 2^`log2_slots` slots, `payouts` entries.
    ///
    /// # Errors
    /// [`PplnsError::Slots`] outside 2^1..=2^24, [`PplnsError::Payouts`] for 0.
    pub fn new(log2_slots: u32, payouts: usize) -> Result<Self, PplnsError> {
        if !(1..=MAX_LOG2_SLOTS).contains(&log2_slots) {
            return Err(PplnsError::Slots(log2_slots));
        }
        if payouts == 0 {
            return Err(PplnsError::Payouts(payouts));
        }
        Ok(PplnsParams {
            log2_slots,
            payouts,
        })
    }

    /// log2 N.
    pub fn log2_slots(&self) -> u32 {
        self.log2_slots
    }

    /// N, the window's slots.
    pub fn slots(&self) -> usize {
        1 << self.log2_slots
    }

    /// M, the payout list's entries.
    pub fn payouts(&self) -> usize {
        self.payouts
    }

    /// Bits that hold any total weight: W <= N * (2^92 - 1) < 2^(92 + k).
    pub fn total_weight_bits(&self) -> usize {
        WEIGHT_BITS_USIZE + self.log2_slots as usize
    }

    /// Slots whose weight rides in a payout row's address element: the
    /// first min(M, N).
    pub fn weights_with_addresses(&self) -> usize {
        self.payouts.min(self.slots())
    }

    /// Field elements the other slot weights pack into, 253 bits each.
    pub fn weight_elements(&self) -> usize {
        ((self.slots() - self.weights_with_addresses()) * WEIGHT_BITS_USIZE).div_ceil(PACK_BITS)
    }

    /// Elements of the challenge transcript (see [`transcript`]).
    pub fn transcript_len(&self) -> usize {
        1 + 2 * self.payouts + self.weight_elements()
    }
}

/// Where slot `s`'s weight goes in the packed transcript elements: bits
/// `[92 s, 92 s + 92)` of the concatenated weights, 253 bits per element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightPlacement {
    /// The element holding the weight's low bits.
    pub element: usize,
    /// The bit position of the weight's bit 0 in that element.
    pub shift: usize,
    /// `Some(cut)`: only the low `cut` bits fit; bits `cut..92` start the next element.
    pub cut: Option<usize>,
}

/// The placement of slot `slot`'s weight.
pub fn weight_placement(slot: usize) -> WeightPlacement {
    let offset = slot * WEIGHT_BITS_USIZE;
    let element = offset / PACK_BITS;
    let shift = offset % PACK_BITS;
    let cut = (shift + WEIGHT_BITS_USIZE > PACK_BITS).then_some(PACK_BITS - shift);
    WeightPlacement {
        element,
        shift,
        cut,
    }
}

/// The slot weights packed 253 bits per element (weights below 2^92).
pub fn pack_weights(weights: &[u128], elements: usize) -> Vec<Fr> {
    let mut out = vec![Fr::ZERO; elements];
    let two = Fr::from(2u64);
    for (s, &w) in weights.iter().enumerate() {
        let p = weight_placement(s);
        match p.cut {
            None => out[p.element] += Fr::from(w) * two.pow([p.shift as u64]),
            Some(cut) => {
                let low = w & ((1u128 << cut) - 1);
                out[p.element] += Fr::from(low) * two.pow([p.shift as u64]);
                out[p.element + 1] += Fr::from(w >> cut);
            }
        }
    }
    out
}

/// The sponge over circomlib's width-13 Poseidon permutation: the state
/// starts at zero, each block of 12 elements (the last zero-padded) is added
/// to state elements 1..12 and the state permuted; the output is state
/// element 0. For up to 12 elements it is circomlib's 12-input hash.
pub fn sponge_hash(params: &PoseidonParams, elements: &[Fr]) -> Fr {
    let mut state = vec![Fr::ZERO; SPONGE_RATE + 1];
    for block in elements.chunks(SPONGE_RATE) {
        for (s, x) in state[1..].iter_mut().zip(block) {
            *s += x;
        }
        params.permute(&mut state);
    }
    state[0]
}

/// The challenge transcript, element by element:
/// 1. the window root;
/// 2. per payout row j, `A_j + w_j 2^160` (the weight of slot j rides in the
///    free bits above the address; just `A_j` for j >= N);
/// 3. the remaining slot weights (slots min(M, N)..N) packed 253 bits per
///    element;
/// 4. per payout row j, its weight sum `W_j`.
pub fn transcript(params: &PplnsParams, root: Fr, witness: &PplnsWitness) -> Vec<Fr> {
    let head = params.weights_with_addresses();
    let mut out = vec![root];
    for (j, row) in witness.payouts.iter().enumerate() {
        let w = if j < head {
            Fr::from(witness.weights[j])
        } else {
            Fr::ZERO
        };
        out.push(row.address + w * Fr::from(2u64).pow([ADDRESS_BITS as u64]));
    }
    out.extend(pack_weights(
        &witness.weights[head..],
        params.weight_elements(),
    ));
    out.extend(witness.payouts.iter().map(|r| Fr::from(r.weight)));
    out
}

/// One row of the circuit's payout list (active or zero padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PayoutRow {
    /// The address as a field element (0 for padding).
    pub address: Fr,
    /// The amount in sats.
    pub amount: u64,
    /// The address's weight sum W_a in the window (0 for padding).
    pub weight: u128,
}

/// The prover's private input: the slots, their split, the payout list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PplnsWitness {
    /// The N slots (packed, share hash) in slot order.
    pub slots: Vec<Slot>,
    /// Each slot's weight: the low 92 bits of its packed element.
    pub weights: Vec<u128>,
    /// M rows: the allocation's payouts ascending by address, then zeros.
    pub payouts: Vec<PayoutRow>,
    /// The block reward in sats.
    pub reward: u64,
    /// The fee rate in basis points.
    pub fee_bps: u64,
}

/// The four public inputs (DESIGN item 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicInputs {
    /// The window root.
    pub root: Fr,
    /// `reward + feeBps * 2^64`.
    pub reward_and_fee: Fr,
    /// The contract's challenge c.
    pub c: Fr,
    /// `S = sum_j c^j * (addr_j + amount_j * 2^160)`.
    pub s: Fr,
}

impl PublicInputs {
    /// In the verifier's order `[root, reward + feeBps * 2^64, c, S]`.
    pub fn to_array(&self) -> [Fr; 4] {
        [self.root, self.reward_and_fee, self.c, self.s]
    }

    /// From the verifier's order.
    pub fn from_array(a: [Fr; 4]) -> Self {
        PublicInputs {
            root: a[0],
            reward_and_fee: a[1],
            c: a[2],
            s: a[3],
        }
    }
}

/// An honest assignment: the witness, the public inputs and the allocation
/// the proof will attest.
#[derive(Debug, Clone)]
pub struct Assignment {
    /// The prover's private input.
    pub witness: PplnsWitness,
    /// The public inputs.
    pub public: PublicInputs,
    /// The native allocation (`share_verifier::allocate`).
    pub allocation: Allocation,
}

/// Builds the witness and public inputs for a snapshot, a reward and a fee.
/// `c` defaults to the contract's `binding::challenge` of the payout list.
///
/// # Errors
/// [`PplnsError`] for a snapshot of another size, a snapshot that does not
/// hash to its root, more addresses than M, or inputs the allocation refuses.
pub fn assign(
    params: &PplnsParams,
    snapshot: &WindowSnapshot,
    reward: Amount,
    fee_bps: FeeBps,
    c: Option<Fr>,
) -> Result<Assignment, PplnsError> {
    if snapshot.log2_slots != params.log2_slots {
        return Err(PplnsError::WindowSize {
            expected: params.log2_slots,
            got: snapshot.log2_slots,
        });
    }
    if reward.to_sat() >> REWARD_BITS != 0 {
        return Err(PplnsError::Reward(reward.to_sat()));
    }
    snapshot.to_window()?;
    let allocation = allocate(
        snapshot.entries.iter().map(|e| (e.address, e.weight)),
        reward,
        fee_bps,
    )?;
    if allocation.payouts.len() > params.payouts {
        return Err(PplnsError::TooManyPayouts {
            max: params.payouts,
            got: allocation.payouts.len(),
        });
    }
    let n = params.slots();
    let mut weights = vec![0u128; n];
    for e in &snapshot.entries {
        weights[(e.seq % n as u64) as usize] = e.weight.get();
    }
    let mut payouts: Vec<PayoutRow> = allocation
        .payouts
        .iter()
        .map(|p| PayoutRow {
            address: p.address.to_field(),
            amount: p.amount.to_sat(),
            weight: p.weight,
        })
        .collect();
    payouts.resize(params.payouts, PayoutRow::default());
    let root = snapshot.root;
    let c = c.unwrap_or_else(|| {
        binding::challenge(&root, reward.to_sat(), fee_bps, &allocation.payouts)
    });
    let public = PublicInputs {
        root: root.0,
        reward_and_fee: binding::reward_and_fee(reward.to_sat(), fee_bps),
        c,
        s: binding::payout_polynomial(c, &allocation.payouts),
    };
    Ok(Assignment {
        witness: PplnsWitness {
            slots: snapshot.slots(),
            weights,
            payouts,
            reward: reward.to_sat(),
            fee_bps: u64::from(fee_bps.get()),
        },
        public,
        allocation,
    })
}

/// The payout element `addr + amount * 2^160` of a row.
pub fn payout_element(row: &PayoutRow) -> Fr {
    row.address + Fr::from(row.amount) * Fr::from(2u64).pow([ADDRESS_BITS as u64])
}

/// The native log-derivative challenge: the sponge over [`transcript`].
pub fn logup_challenge(params: &PplnsParams, root: &WindowRoot, witness: &PplnsWitness) -> Fr {
    let poseidon = PoseidonParams::circom(SPONGE_RATE).expect("12-input parameters exist");
    sponge_hash(&poseidon, &transcript(params, root.0, witness))
}

/// The constraint count of a statement and its split per share and per
/// payout entry (from [`PplnsCircuit::constraint_count`] at N and 2N, M
/// and 2M).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConstraintCount {
    /// N.
    pub slots: usize,
    /// M.
    pub payouts: usize,
    /// All constraints.
    pub total: usize,
    /// The FFT domain (next power of two of constraints + inputs).
    pub domain: usize,
    /// Marginal constraints of one more share (averaged over doubling N).
    pub per_share: f64,
    /// Marginal constraints of one more payout entry (averaged over doubling M).
    pub per_payout: f64,
}

impl ConstraintCount {
    /// The counts for `params`.
    pub fn of(params: &PplnsParams) -> Self {
        let count = |k: u32, m: usize| -> usize {
            PplnsParams::new(k, m)
                .ok()
                .and_then(|p| PplnsCircuit::new(p).ok())
                .map_or(0, |c| c.constraint_count())
        };
        let k = params.log2_slots();
        let m = params.payouts();
        let total = count(k, m);
        let per_share = if k < MAX_LOG2_SLOTS {
            (count(k + 1, m) - total) as f64 / params.slots() as f64
        } else {
            (total - count(k - 1, m)) as f64 / (params.slots() / 2) as f64
        };
        ConstraintCount {
            slots: params.slots(),
            payouts: m,
            total,
            domain: (total + 5).next_power_of_two(),
            per_share,
            per_payout: (count(k, 2 * m) - total) as f64 / m as f64,
        }
    }
}

/// Canonical integer of a field element when it fits 128 bits.
pub fn to_u128(x: Fr) -> Option<u128> {
    let limbs = x.into_bigint().0;
    (limbs[2] == 0 && limbs[3] == 0).then(|| u128::from(limbs[0]) | (u128::from(limbs[1]) << 64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_pack_253_bits_per_element() {
        assert_eq!(
            weight_placement(0),
            WeightPlacement {
                element: 0,
                shift: 0,
                cut: None
            }
        );
        assert_eq!(
            weight_placement(1),
            WeightPlacement {
                element: 0,
                shift: 92,
                cut: None
            }
        );
        // Bits 184..276: 69 bits fit, the other 23 open element 1.
        assert_eq!(
            weight_placement(2),
            WeightPlacement {
                element: 0,
                shift: 184,
                cut: Some(69)
            }
        );
        assert_eq!(
            weight_placement(3),
            WeightPlacement {
                element: 1,
                shift: 23,
                cut: None
            }
        );
        let max = (1u128 << 92) - 1;
        let packed = pack_weights(&[max, max, max], 2);
        assert_eq!(packed[0], Fr::from(2u64).pow([253]) - Fr::ONE);
        assert_eq!(packed[1], Fr::from(2u64).pow([23]) - Fr::ONE);
        let params = PplnsParams::new(4, 4).unwrap();
        assert_eq!(params.weight_elements(), 5);
        assert_eq!(params.total_weight_bits(), 96);
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert_eq!(PplnsParams::new(0, 4), Err(PplnsError::Slots(0)));
        assert_eq!(PplnsParams::new(25, 4), Err(PplnsError::Slots(25)));
        assert_eq!(PplnsParams::new(4, 0), Err(PplnsError::Payouts(0)));
    }
}
