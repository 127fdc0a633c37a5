//! The settlement statement's parameters and native data (docs/circuit.md):
//! what the prover feeds the circuit, built from a window snapshot, and the
//! native values of its public inputs — the weight commitment X, the
//! contract's challenge beta and the table sum T.
//!
//! The circuit itself is [`constraints::PplnsCircuit`]; `docs/circuit.md`
//! states what it proves and why each check is there.

pub mod constraints;

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field, PrimeField};
use share_verifier::allocation::{group, AllocationError, Payee};
use share_verifier::binding::{self, PagedList};
use share_verifier::target::WEIGHT_BITS;
use share_verifier::window::{Slot, WindowError, WindowSnapshot, MAX_LOG2_SLOTS};

use crate::poseidon::PoseidonParams;

pub use constraints::PplnsCircuit;

/// Bits of a slot weight (DESIGN item 2): every weight is below 2^92.
pub const WEIGHT_BITS_USIZE: usize = WEIGHT_BITS as usize;
/// Weight bits packed into one field element of the weight commitment
/// (2^253 < r, so the packing is injective).
pub const PACK_BITS: usize = 253;
/// Rate of the sponge that absorbs the weight commitment: circomlib's
/// width-13 Poseidon permutation, 12 elements per call.
pub const SPONGE_RATE: usize = 12;

/// Errors of statement parameters and witness assignment.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PplnsError {
    /// N must be 2^k with 1 <= k <= 24.
    #[error("window size 2^{0} is outside 2^1..=2^{max}", max = MAX_LOG2_SLOTS)]
    Slots(u32),
    /// The snapshot is for another window size than the key.
    #[error("the window has 2^{got} slots, the key proves 2^{expected}")]
    WindowSize { expected: u32, got: u32 },
    /// The snapshot does not hash to its recorded root, or is inconsistent.
    #[error("invalid window snapshot: {0}")]
    Window(#[from] WindowError),
    /// The window's shares cannot be grouped (zero address, weight overflow).
    #[error("the window cannot be grouped by address: {0}")]
    Grouping(#[from] AllocationError),
    /// A page holds at least one record.
    #[error("a page must hold at least one payee record")]
    PageSize,
    /// The contract's challenge equals a payee's address or a slot's split
    /// address: no proof exists for this statement (probability below
    /// 2N / 2^253 for an honest window; never seen in practice).
    #[error("the challenge equals an address of the window: no proof exists for this statement")]
    ChallengeHitsAddress,
}

/// The shape of one statement: N = 2^k slots. There is no payout capacity:
/// the contract evaluates the payee list itself, so any number of distinct
/// addresses from 0 to N settles with the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PplnsParams {
    log2_slots: u32,
}

impl PplnsParams {
    /// N = 2^`log2_slots` slots.
    ///
    /// # Errors
    /// [`PplnsError::Slots`] outside 2^1..=2^24.
    pub fn new(log2_slots: u32) -> Result<Self, PplnsError> {
        if !(1..=MAX_LOG2_SLOTS).contains(&log2_slots) {
            return Err(PplnsError::Slots(log2_slots));
        }
        Ok(PplnsParams { log2_slots })
    }

    /// log2 N.
    pub fn log2_slots(&self) -> u32 {
        self.log2_slots
    }

    /// N, the window's slots.
    pub fn slots(&self) -> usize {
        1 << self.log2_slots
    }

    /// Field elements the slot weights pack into, 253 bits each.
    pub fn weight_elements(&self) -> usize {
        (self.slots() * WEIGHT_BITS_USIZE).div_ceil(PACK_BITS)
    }

    /// Elements the weight commitment absorbs: the root, then the packed weights.
    pub fn transcript_len(&self) -> usize {
        1 + self.weight_elements()
    }
}

/// Where slot `s`'s weight goes in the packed elements: bits
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

/// The weight commitment X: the sponge over the root and the N slot weights
/// packed 253 bits per element. It fixes every slot's split before the
/// contract draws its challenge.
pub fn weight_commitment(params: &PplnsParams, root: Fr, weights: &[u128]) -> Fr {
    let poseidon = PoseidonParams::circom(SPONGE_RATE).expect("12-input parameters exist");
    let mut transcript = vec![root];
    transcript.extend(pack_weights(weights, params.weight_elements()));
    sponge_hash(&poseidon, &transcript)
}

/// The prover's private input: the slots and their split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PplnsWitness {
    /// The N slots (packed, share hash) in slot order.
    pub slots: Vec<Slot>,
    /// Each slot's weight: the low 92 bits of its packed element.
    pub weights: Vec<u128>,
}

/// The four public inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicInputs {
    /// The window root.
    pub root: Fr,
    /// X, the weight commitment.
    pub weight_commitment: Fr,
    /// The contract's challenge beta.
    pub beta: Fr,
    /// T, the contract's table sum at beta.
    pub table_sum: Fr,
}

impl PublicInputs {
    /// In the verifier's order `[root, X, beta, T]`.
    pub fn to_array(&self) -> [Fr; 4] {
        [self.root, self.weight_commitment, self.beta, self.table_sum]
    }

    /// From the verifier's order.
    pub fn from_array(a: [Fr; 4]) -> Self {
        PublicInputs {
            root: a[0],
            weight_commitment: a[1],
            beta: a[2],
            table_sum: a[3],
        }
    }
}

/// An honest assignment: the witness, the public inputs, and the payee
/// list (paged) that the contract will be handed.
#[derive(Debug, Clone)]
pub struct Assignment {
    /// The prover's private input.
    pub witness: PplnsWitness,
    /// The public inputs.
    pub public: PublicInputs,
    /// Every address with weight in the window, ascending, with its weight.
    pub payees: Vec<Payee>,
    /// The payee records cut into pages and their hash chain.
    pub list: PagedList,
}

/// Builds the witness and public inputs for a snapshot whose payee list is
/// cut into pages of `page_records` records.
///
/// # Errors
/// [`PplnsError`] for a snapshot of another size, a snapshot that does not
/// hash to its root, a window that cannot be grouped, a zero page size, or
/// a challenge that hits an address.
pub fn assign(
    params: &PplnsParams,
    snapshot: &WindowSnapshot,
    page_records: usize,
) -> Result<Assignment, PplnsError> {
    if snapshot.log2_slots != params.log2_slots {
        return Err(PplnsError::WindowSize {
            expected: params.log2_slots,
            got: snapshot.log2_slots,
        });
    }
    if page_records == 0 {
        return Err(PplnsError::PageSize);
    }
    snapshot.to_window()?;
    let (payees, _) = group(snapshot.entries.iter().map(|e| (e.address, e.weight)))?;
    let n = params.slots();
    let mut weights = vec![0u128; n];
    for e in &snapshot.entries {
        weights[(e.seq % n as u64) as usize] = e.weight.get();
    }
    let slots = snapshot.slots();
    let root = snapshot.root;
    let x = weight_commitment(params, root.0, &weights);
    let list = binding::paged_list(&payees, page_records);
    let beta = binding::challenge(&root, &x, &list.list_hash);
    let table_sum = binding::table_sum(beta, &payees).ok_or(PplnsError::ChallengeHitsAddress)?;
    let witness = PplnsWitness { slots, weights };
    // The circuit divides by beta - a_s for every slot, empty ones (a_s = 0) too.
    slot_sum(&witness, beta).ok_or(PplnsError::ChallengeHitsAddress)?;
    Ok(Assignment {
        witness,
        public: PublicInputs {
            root: root.0,
            weight_commitment: x,
            beta,
            table_sum,
        },
        payees,
        list,
    })
}

/// The native value of the slot side of the identity,
/// `sum_s w_s / (beta - a_s)` with `a_s = (packed_s - w_s) / 2^92`, or
/// `None` when beta equals a slot's address.
pub fn slot_sum(witness: &PplnsWitness, beta: Fr) -> Option<Fr> {
    let inv = Fr::from(2u64).pow([u64::from(WEIGHT_BITS)]).inverse()?;
    let mut sum = Fr::ZERO;
    for (slot, &w) in witness.slots.iter().zip(&witness.weights) {
        let w = Fr::from(w);
        sum += w * (beta - (slot.packed - w) * inv).inverse()?;
    }
    Some(sum)
}

/// The constraint count of a statement and its cost per share.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConstraintCount {
    /// N.
    pub slots: usize,
    /// All constraints.
    pub total: usize,
    /// The FFT domain (next power of two of constraints + inputs).
    pub domain: usize,
    /// Constraints per share, `total / N` (every address count from 0 to N
    /// uses this same circuit).
    pub per_share: f64,
}

impl ConstraintCount {
    /// The counts for `params`.
    pub fn of(params: &PplnsParams) -> Self {
        let total = PplnsCircuit::new(*params).map_or(0, |c| c.constraint_count());
        ConstraintCount {
            slots: params.slots(),
            total,
            domain: (total + 5).next_power_of_two(),
            per_share: total as f64 / params.slots() as f64,
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
        let params = PplnsParams::new(4).unwrap();
        assert_eq!(params.weight_elements(), 6);
        assert_eq!(params.transcript_len(), 7);
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert_eq!(PplnsParams::new(0), Err(PplnsError::Slots(0)));
        assert_eq!(PplnsParams::new(25), Err(PplnsError::Slots(25)));
    }
}
