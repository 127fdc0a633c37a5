//! The settlement circuit on small windows (docs/circuit.md).
//!
//! - Completeness: windows with every number of distinct addresses from 0
//!   to N satisfy the circuit with the inputs the contract computes.
//! - Soundness through the contract: any payee list other than the
//!   window's exact grouping gets inputs (beta, T) that no honest or
//!   re-split witness satisfies.
//! - Soundness through the witness: tampered splits fail even with every
//!   public input recomputed for them, and the adversarial harness
//!   overwrites witness variables directly (no synthesizer recomputing the
//!   helpers) — one targeted mutation per check and a sweep over every
//!   variable — and counts what the constraints catch.

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field, UniformRand};
use ark_relations::gr1cs::ConstraintSystem;
use circuits::matrices::{MatrixBuilder, R1csMatrices};
use circuits::pplns::{
    assign, slot_sum, weight_commitment, Assignment, ConstraintCount, PplnsCircuit, PplnsParams,
    PplnsWitness, PublicInputs, WEIGHT_BITS_USIZE,
};
use circuits::proof;
use circuits::r1cs::{ArkR1cs, Synthesize, WitnessR1cs};
use rand::SeedableRng;
use share_verifier::address::Address;
use share_verifier::allocation::Payee;
use share_verifier::binding;
use share_verifier::window::WindowSnapshot;
use share_verifier::WindowRoot;

const PAGE: usize = 512;

fn params(k: u32) -> PplnsParams {
    PplnsParams::new(k).unwrap()
}

fn matrices(k: u32) -> R1csMatrices {
    let mut builder = MatrixBuilder::new();
    PplnsCircuit::new(params(k))
        .unwrap()
        .synthesize(&mut builder)
        .unwrap();
    builder.finish()
}

/// Synthesizes with arkworks; `true` when every constraint holds.
fn satisfied(k: u32, public: PublicInputs, w: &PplnsWitness) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    match PplnsCircuit::new(params(k))
        .unwrap()
        .with_assignment(public, w.clone())
        .synthesize(&mut ArkR1cs(cs.clone()))
    {
        Ok(()) => cs.is_satisfied().unwrap(),
        Err(_) => false,
    }
}

/// The inputs the contract computes for `payees` handed in one page, with
/// the prover's weights (which fix X).
fn contract_inputs(k: u32, root: Fr, weights: &[u128], payees: &[Payee]) -> PublicInputs {
    let x = weight_commitment(&params(k), root, weights);
    let list = binding::paged_list(payees, PAGE);
    let [root, x, beta, t] =
        binding::public_inputs(&WindowRoot(root), &x, &list.list_hash, payees).unwrap();
    PublicInputs {
        root,
        weight_commitment: x,
        beta,
        table_sum: t,
    }
}

fn honest_window(k: u32, payees: u64) -> (WindowSnapshot, Assignment) {
    let snapshot = circuits::fixture::fixture_window_with(k, payees);
    let a = assign(&params(k), &snapshot, PAGE).unwrap();
    (snapshot, a)
}

#[test]
fn every_address_count_from_zero_to_n_satisfies_the_circuit() {
    for payees in 0..=16 {
        let (_, a) = honest_window(4, payees);
        assert_eq!(a.payees.len() as u64, payees);
        assert!(satisfied(4, a.public, &a.witness), "D = {payees}");
        // The inputs are exactly what the contract computes from the list.
        assert_eq!(
            a.public,
            contract_inputs(4, a.public.root, &a.witness.weights, &a.payees)
        );
        assert_eq!(
            slot_sum(&a.witness, a.public.beta),
            Some(a.public.table_sum)
        );
    }
    // A partly filled window and maximum weights.
    let snapshot = circuits::fixture::sample_window(4, 9, 4, 92, 5);
    let a = assign(&params(4), &snapshot, 2).unwrap();
    assert!(satisfied(4, a.public, &a.witness));
    assert_eq!(a.list.pages.len(), a.payees.len().div_ceil(2));
}

#[test]
fn the_three_back_ends_agree_and_the_count_is_pinned() {
    for (k, pinned) in [(3u32, 2_423usize), (4, 3_994), (6, 15_157)] {
        let (_, a) = honest_window(k, 5);
        let circuit = PplnsCircuit::new(params(k)).unwrap();
        let cs = ConstraintSystem::<Fr>::new_ref();
        let full = circuit.with_assignment(a.public, a.witness.clone());
        full.synthesize(&mut ArkR1cs(cs.clone())).unwrap();
        assert!(cs.is_satisfied().unwrap());
        let m = matrices(k);
        let mut w = WitnessR1cs::new();
        full.synthesize(&mut w).unwrap();
        let z = w.full_assignment();
        assert_eq!(m.num_constraints(), cs.num_constraints());
        assert_eq!(m.num_constraints(), circuit.constraint_count());
        assert_eq!(z.len(), m.num_variables());
        assert_eq!(m.first_unsatisfied(&z), None);
        assert_eq!(m.num_constraints(), pinned, "N = 2^{k}");
    }
    // The bound: at most 300 constraints per share at N = 2^10..2^14
    // (the predicted count is the synthesized one, checked above).
    for k in [10, 12, 14] {
        let c = ConstraintCount::of(&params(k));
        assert!(c.per_share <= 300.0, "N = 2^{k}: {} per share", c.per_share);
    }
}

/// Lists the contract would accept (ascending, non-zero weights) that are
/// not the grouping: every one gets inputs the honest witness fails.
#[test]
fn a_list_other_than_the_grouping_is_rejected() {
    let (_, a) = honest_window(4, 5);
    let honest = a.payees.clone();
    let root = a.public.root;
    let w = &a.witness;
    let mut lists: Vec<(&str, Vec<Payee>)> = Vec::new();
    let mut l = honest.clone();
    l[0].weight += 1;
    lists.push(("a weight one too high", l));
    let mut l = honest.clone();
    l[2].weight -= 1;
    lists.push(("a weight one too low", l));
    let mut l = honest.clone();
    l[0].weight += l[1].weight / 2;
    l[1].weight -= l[1].weight / 2;
    lists.push(("weight moved between payees, total kept", l));
    let mut l = honest.clone();
    l.remove(3);
    lists.push(("a payee dropped", l));
    let mut l = honest.clone();
    let mut extra = [0xffu8; 20];
    extra[0] = 0xfe;
    l.push(Payee {
        address: Address(extra),
        weight: 1,
    });
    lists.push(("a payee added", l));
    let mut l = honest.clone();
    let mut other = l[4].address.0;
    other[19] ^= 0x02;
    l[4].address = Address(other);
    l.sort();
    lists.push(("an address replaced", l));
    let mut l = honest.clone();
    let half = l[1].weight / 2;
    l[1].weight -= half;
    let mut twin = l[1].address.0;
    twin[19] = twin[19].wrapping_add(1);
    l.push(Payee {
        address: Address(twin),
        weight: half,
    });
    l.sort();
    lists.push(("a payee's weight split with a neighbouring address", l));
    lists.push(("the empty list", Vec::new()));
    for (name, list) in lists {
        assert_ne!(list, honest);
        let public = contract_inputs(4, root, &w.weights, &list);
        assert!(!satisfied(4, public, w), "{name} was accepted");
    }
    // And the other inputs one at a time.
    let mut p = a.public;
    p.root += Fr::ONE;
    assert!(!satisfied(4, p, w), "another root");
    let mut p = a.public;
    p.weight_commitment += Fr::ONE;
    assert!(!satisfied(4, p, w), "another weight commitment");
    let mut p = a.public;
    p.beta += Fr::ONE;
    assert!(!satisfied(4, p, w), "another beta");
    let mut p = a.public;
    p.table_sum += Fr::ONE;
    assert!(!satisfied(4, p, w), "another T");
}

/// Re-split slots, with X, beta and T recomputed for the re-split and for
/// the list it would credit: the range and empty-slot checks stop them.
#[test]
fn a_slot_cannot_be_moved_by_another_split() {
    let (snapshot, a) = honest_window(4, 4);
    let root = a.public.root;
    let victim = snapshot.entries.last().unwrap();
    let s = (victim.seq % 16) as usize;
    let w = victim.weight.get();

    // (a - 1, w + 2^92): the slot's weight moves to address a - 1.
    let mut shifted = victim.address.0;
    let mut i = 19;
    loop {
        let (v, borrow) = shifted[i].overflowing_sub(1);
        shifted[i] = v;
        if !borrow {
            break;
        }
        i -= 1;
    }
    let mut witness = a.witness.clone();
    witness.weights[s] = w + (1u128 << WEIGHT_BITS_USIZE);
    let mut list: Vec<Payee> = a.payees.clone();
    let j = list
        .iter()
        .position(|p| p.address == victim.address)
        .unwrap();
    list[j].weight -= w;
    list.retain(|p| p.weight > 0);
    list.push(Payee {
        address: Address(shifted),
        weight: w + (1u128 << WEIGHT_BITS_USIZE),
    });
    list.sort();
    let public = contract_inputs(4, root, &witness.weights, &list);
    // The identity itself holds for this list: only the range check stops it.
    assert_eq!(slot_sum(&witness, public.beta), Some(public.table_sum));
    assert!(!satisfied(4, public, &witness));

    // (packed / 2^92, 0): the slot drops out, its weight with it.
    let mut witness = a.witness.clone();
    witness.weights[s] = 0;
    let mut list: Vec<Payee> = a.payees.clone();
    list[j].weight -= w;
    list.retain(|p| p.weight > 0);
    let public = contract_inputs(4, root, &witness.weights, &list);
    assert_eq!(slot_sum(&witness, public.beta), Some(public.table_sum));
    assert!(!satisfied(4, public, &witness));

    // Off by one: (a, w + 1) no longer hashes to the root's packed element
    // once split (the split is of the committed packed value).
    let mut witness = a.witness.clone();
    witness.weights[s] = w + 1;
    let mut list: Vec<Payee> = a.payees.clone();
    list[j].weight += 1;
    let public = contract_inputs(4, root, &witness.weights, &list);
    assert!(!satisfied(4, public, &witness));
}

/// The rows where `A z * B z != C z`.
fn unsatisfied_rows(m: &R1csMatrices, z: &[Fr]) -> Vec<usize> {
    let (a, b, c) = m.evaluate(z);
    (0..m.num_constraints())
        .filter(|&i| a[i] * b[i] != c[i])
        .collect()
}

/// Where the circuit allocates a slot's variables: the constant and the four
/// inputs first, then per slot packed, hash, weight, 91 weight bits and k,
/// then the tree and the commitment, then one log-derivative term per slot.
#[derive(Clone, Copy)]
struct Layout {
    slots: usize,
    vars: usize,
}

const SLOT_VARS: usize = 3 + (WEIGHT_BITS_USIZE - 1) + 1;

impl Layout {
    fn slot(&self, s: usize) -> usize {
        5 + SLOT_VARS * s
    }
    fn packed(&self, s: usize) -> usize {
        self.slot(s)
    }
    fn hash(&self, s: usize) -> usize {
        self.slot(s) + 1
    }
    fn weight(&self, s: usize) -> usize {
        self.slot(s) + 2
    }
    fn bit(&self, s: usize, i: usize) -> usize {
        self.slot(s) + 3 + i
    }
    fn k(&self, s: usize) -> usize {
        self.slot(s) + 3 + WEIGHT_BITS_USIZE - 1
    }
    fn term(&self, s: usize) -> usize {
        self.vars - self.slots + s
    }
    /// The first witness variable of the tree and commitment hashes.
    fn hashes(&self) -> std::ops::Range<usize> {
        self.slot(self.slots)..self.term(0)
    }
}

/// The adversarial harness: the honest witness of a partly filled window
/// (so that empty slots exist), overwritten variable by variable.
#[test]
fn adversarial_witness_mutations_are_caught() {
    let k = 3;
    let n = 8;
    let snapshot = circuits::fixture::sample_window(k, 5, 3, 60, 11);
    let a = assign(&params(k), &snapshot, PAGE).unwrap();
    let m = matrices(k);
    let circuit = PplnsCircuit::new(params(k)).unwrap();
    let z = proof::witness(&circuit, &a, &m).unwrap();
    assert!(unsatisfied_rows(&m, &z).is_empty());
    let layout = Layout {
        slots: n,
        vars: z.len(),
    };
    // The layout matches the honest values.
    for s in 0..n {
        assert_eq!(z[layout.packed(s)], a.witness.slots[s].packed);
        assert_eq!(z[layout.hash(s)], a.witness.slots[s].share_hash);
        assert_eq!(z[layout.weight(s)], Fr::from(a.witness.weights[s]));
    }
    let filled: Vec<usize> = (0..n).filter(|&s| a.witness.weights[s] != 0).collect();
    let empty: Vec<usize> = (0..n).filter(|&s| a.witness.weights[s] == 0).collect();
    assert!(!filled.is_empty() && !empty.is_empty());
    let s = filled[0];
    let e = empty[0];
    let inv = |x: Fr| x.inverse().unwrap();
    let two92 = Fr::from(2u64).pow([WEIGHT_BITS_USIZE as u64]);

    // Targeted mutations, one or more per check of docs/circuit.md. Each
    // changes a few variables coherently (as a cheating prover would) and
    // names the check that must catch it.
    type Mutation = Box<dyn Fn(&mut Vec<Fr>)>;
    let targeted: Vec<(&str, Mutation)> = vec![
        (
            "weight bits: a bit set to 2",
            Box::new(move |z: &mut Vec<Fr>| z[layout.bit(s, 0)] = Fr::from(2u64)),
        ),
        (
            "weight range: weight + 2^92 (top bit 2), k and t recomputed",
            Box::new(move |z: &mut Vec<Fr>| {
                let w = z[layout.weight(s)] + two92;
                z[layout.weight(s)] = w;
                let addr = (z[layout.packed(s)] - w) * inv(two92);
                z[layout.k(s)] = addr * inv(w);
            }),
        ),
        (
            "weight range: a negative weight (-1) with its bits",
            Box::new(move |z: &mut Vec<Fr>| z[layout.weight(s)] = -Fr::ONE),
        ),
        (
            "empty-slot rule: weight 0 with a non-zero address (bits zeroed, term zeroed)",
            Box::new(move |z: &mut Vec<Fr>| {
                z[layout.weight(s)] = Fr::ZERO;
                for i in 0..WEIGHT_BITS_USIZE - 1 {
                    z[layout.bit(s, i)] = Fr::ZERO;
                }
                z[layout.term(s)] = Fr::ZERO;
            }),
        ),
        (
            "empty-slot rule: k of a filled slot changed",
            Box::new(move |z: &mut Vec<Fr>| z[layout.k(s)] += Fr::ONE),
        ),
        (
            "tree: a packed element changed",
            Box::new(move |z: &mut Vec<Fr>| z[layout.packed(s)] += Fr::ONE),
        ),
        (
            "tree: a share hash changed",
            Box::new(move |z: &mut Vec<Fr>| z[layout.hash(e)] += Fr::ONE),
        ),
        (
            "log-derivative: a free term",
            Box::new(move |z: &mut Vec<Fr>| z[layout.term(s)] += Fr::ONE),
        ),
        (
            "log-derivative: an empty slot's term made non-zero",
            Box::new(move |z: &mut Vec<Fr>| z[layout.term(e)] = Fr::ONE),
        ),
        (
            "log-derivative: a free term when beta equals the slot's address",
            Box::new(move |z: &mut Vec<Fr>| {
                // beta := a_s (input 3), T kept: t_s (beta - a_s) = 0 != w_s.
                let addr = (z[layout.packed(s)] - z[layout.weight(s)]) * inv(two92);
                z[3] = addr;
            }),
        ),
        ("inputs: root", Box::new(|z: &mut Vec<Fr>| z[1] += Fr::ONE)),
        (
            "inputs: weight commitment",
            Box::new(|z: &mut Vec<Fr>| z[2] += Fr::ONE),
        ),
        ("inputs: T", Box::new(|z: &mut Vec<Fr>| z[4] += Fr::ONE)),
    ];
    let mut caught = 0;
    for (name, mutate) in &targeted {
        let mut bad = z.clone();
        mutate(&mut bad);
        assert_ne!(bad, z, "{name} changed nothing");
        assert!(
            !unsatisfied_rows(&m, &bad).is_empty(),
            "{name} was not caught"
        );
        caught += 1;
    }

    // The sweep: every variable, +1 and a random value. The only variables
    // the constraints leave free are k of empty slots (docs/circuit.md,
    // "Free variables"): k appears only in `w * k = a`, and w = a = 0 there.
    let free: Vec<usize> = empty.iter().map(|&s| layout.k(s)).collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut tried = 0;
    let mut uncaught = Vec::new();
    for i in 1..z.len() {
        for value in [z[i] + Fr::ONE, Fr::rand(&mut rng)] {
            let mut bad = z.clone();
            bad[i] = value;
            tried += 1;
            if unsatisfied_rows(&m, &bad).is_empty() {
                uncaught.push(i);
            }
        }
    }
    uncaught.dedup();
    assert_eq!(
        uncaught, free,
        "variables that change without breaking the system"
    );
    // The hash internals are all covered by the sweep.
    assert!(layout.hashes().len() > 1000);
    println!(
        "adversarial harness: {} targeted mutations caught of {}; sweep: {tried} mutations over {} variables, {} caught, {} uncaught (k of {} empty slots)",
        caught,
        targeted.len(),
        z.len() - 1,
        tried - 2 * free.len(),
        2 * free.len(),
        free.len()
    );
}
