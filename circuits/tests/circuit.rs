//! The PPLNS circuit on small windows: honest assignments satisfy it and
//! match share-verifier's allocation; every tampering of the list
//! leaves it unsatisfied; constraint counts are pinned.

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field};
use ark_relations::gr1cs::ConstraintSystem;
use bitcoin::Amount;
use circuits::matrices::MatrixBuilder;
use circuits::pplns::{
    assign, logup_challenge, payout_element, Assignment, PayoutRow, PplnsCircuit, PplnsError,
    PplnsParams, PublicInputs,
};
use circuits::r1cs::{ArkR1cs, Synthesize, WitnessR1cs};
use share_verifier::allocation::{allocate, FeeBps};
use share_verifier::window::{Slot, WindowSnapshot};
use share_verifier::WindowRoot;

fn params(k: u32, m: usize) -> PplnsParams {
    PplnsParams::new(k, m).unwrap()
}

fn fee(bps: u32) -> FeeBps {
    FeeBps::new(bps).unwrap()
}

/// Synthesizes with arkworks; `true` when every constraint holds.
fn satisfied(
    circuit: &PplnsCircuit,
    public: PublicInputs,
    w: &circuits::pplns::PplnsWitness,
) -> bool {
    let cs = ConstraintSystem::<Fr>::new_ref();
    match circuit
        .with_assignment(public, w.clone())
        .synthesize(&mut ArkR1cs(cs.clone()))
    {
        Ok(()) => cs.is_satisfied().unwrap(),
        Err(_) => false,
    }
}

/// S over the circuit's rows with challenge c.
fn s_of(c: Fr, rows: &[PayoutRow]) -> Fr {
    rows.iter()
        .rev()
        .fold(Fr::ZERO, |acc, r| acc * c + payout_element(r))
}

fn honest(
    k: u32,
    m: usize,
    shares: u64,
    miners: u64,
    bits: u32,
    reward: u64,
    bps: u32,
) -> (PplnsCircuit, Assignment) {
    let snapshot = circuits::fixture::sample_window(k, shares, miners, bits, 42 + shares);
    let p = params(k, m);
    let a = assign(&p, &snapshot, Amount::from_sat(reward), fee(bps), None).unwrap();
    (PplnsCircuit::new(p).unwrap(), a)
}

/// Rebinds S to a tampered list, as a cheating prover would.
fn rebind(a: &Assignment, rows: &[PayoutRow]) -> PublicInputs {
    PublicInputs {
        s: s_of(a.public.c, rows),
        ..a.public
    }
}

#[test]
fn random_windows_satisfy_the_circuit_and_pay_the_native_allocation() {
    let cases = [
        (4, 4, 19, 3, 60, 5_000_000_000, 200), // many shares, few miners
        (4, 4, 16, 1, 92, 312_500_000, 0),     // one miner
        (4, 4, 0, 1, 30, 5_000_000_000, 200),  // empty window
        (4, 4, 7, 4, 92, 2_100_000_000_000_000, 10_000), // all to the fee
        (4, 4, 40, 4, 92, 2_099_999_997_690_000, 1), // maximum money, big weights
        (6, 8, 70, 8, 50, 625_000_000, 150),
    ];
    for (k, m, shares, miners, bits, reward, bps) in cases {
        let (circuit, a) = honest(k, m, shares, miners, bits, reward, bps);
        assert!(
            satisfied(&circuit, a.public, &a.witness),
            "case k={k} shares={shares} miners={miners}"
        );
        // The rows are the native allocation, then zero padding.
        let native = &a.allocation.payouts;
        for (row, p) in a.witness.payouts.iter().zip(native) {
            assert_eq!(row.address, p.address.to_field());
            assert_eq!(row.amount, p.amount.to_sat());
            assert_eq!(row.weight, p.weight);
        }
        assert!(a.witness.payouts[native.len()..]
            .iter()
            .all(|r| *r == PayoutRow::default()));
    }
}

#[test]
fn maximum_weights_in_every_slot_are_provable() {
    let p = params(4, 4);
    let mut window = share_verifier::window::Window::new(4).unwrap();
    for seq in 0..16 {
        use bitcoin::hashes::Hash;
        window
            .push(share_verifier::window::WindowEntry {
                seq,
                address: circuits::fixture::sample_address(1, seq % 4),
                weight: share_verifier::Weight::MAX,
                share_hash: share_verifier::ShareHash::from_byte_array([seq as u8; 32]),
            })
            .unwrap();
    }
    let a = assign(&p, &window.snapshot(), Amount::MAX_MONEY, fee(300), None).unwrap();
    assert!(satisfied(
        &PplnsCircuit::new(p).unwrap(),
        a.public,
        &a.witness
    ));
}

#[test]
fn the_three_back_ends_agree_and_the_count_is_pinned() {
    for (k, m, pinned) in [(4u32, 4usize, 6_482usize), (6, 8, 19_310)] {
        let (circuit, a) = honest(k, m, 1 << k, 5, 80, 5_000_000_000, 100);
        let cs = ConstraintSystem::<Fr>::new_ref();
        let full = circuit.with_assignment(a.public, a.witness.clone());
        full.synthesize(&mut ArkR1cs(cs.clone())).unwrap();
        assert!(cs.is_satisfied().unwrap());
        let mut builder = MatrixBuilder::new();
        circuit.synthesize(&mut builder).unwrap();
        let matrices = builder.finish();
        let mut w = WitnessR1cs::new();
        full.synthesize(&mut w).unwrap();
        let z = w.full_assignment();
        assert_eq!(matrices.num_constraints(), cs.num_constraints());
        assert_eq!(matrices.num_constraints(), circuit.constraint_count());
        assert_eq!(z.len(), matrices.num_variables());
        assert_eq!(matrices.first_unsatisfied(&z), None);
        assert_eq!(matrices.num_constraints(), pinned, "N = 2^{k}, M = {m}");
    }
}

#[test]
fn the_in_circuit_challenge_equals_the_native_transcript_hash() {
    let (circuit, a) = honest(4, 4, 20, 3, 70, 1_000_000, 100);
    let mut w = WitnessR1cs::new();
    let out = circuit
        .with_assignment(a.public, a.witness.clone())
        .synthesize_with_outputs(&mut w)
        .unwrap();
    let native = logup_challenge(circuit.params(), &WindowRoot(a.public.root), &a.witness);
    assert_eq!(out.beta, Some(native));
}

#[test]
fn a_wrong_amount_by_one_sat_is_rejected() {
    let (circuit, a) = honest(4, 4, 20, 3, 70, 5_000_000_000, 100);
    for delta in [1i64, -1] {
        let mut w = a.witness.clone();
        w.payouts[1].amount = (w.payouts[1].amount as i64 + delta) as u64;
        assert!(
            !satisfied(&circuit, rebind(&a, &w.payouts), &w),
            "delta {delta}"
        );
    }
}

#[test]
fn unsorted_or_duplicated_addresses_are_rejected() {
    let (circuit, a) = honest(4, 4, 20, 3, 70, 5_000_000_000, 100);
    let mut w = a.witness.clone();
    w.payouts.swap(0, 1);
    assert!(!satisfied(&circuit, rebind(&a, &w.payouts), &w));
    // A duplicate that splits one miner's weight and amount in two rows.
    let mut w = a.witness.clone();
    let first = w.payouts[0];
    w.payouts[3] = w.payouts[2];
    w.payouts[2] = w.payouts[1];
    w.payouts[1] = PayoutRow {
        weight: first.weight / 2,
        amount: first.amount / 2,
        ..first
    };
    w.payouts[0] = PayoutRow {
        weight: first.weight - first.weight / 2,
        amount: first.amount - first.amount / 2,
        ..first
    };
    assert!(!satisfied(&circuit, rebind(&a, &w.payouts), &w));
}

#[test]
fn a_dropped_or_added_share_is_rejected() {
    let snapshot = circuits::fixture::sample_window(4, 12, 3, 60, 5);
    let p = params(4, 4);
    let circuit = PplnsCircuit::new(p).unwrap();
    let a = assign(&p, &snapshot, Amount::from_sat(1_000_000), fee(100), None).unwrap();
    // Dropped: the list is the allocation of the window without share 3.
    let mut fewer: WindowSnapshot = snapshot.clone();
    fewer.entries.remove(3);
    let alloc = allocate(
        fewer.entries.iter().map(|e| (e.address, e.weight)),
        Amount::from_sat(1_000_000),
        fee(100),
    )
    .unwrap();
    let mut w = a.witness.clone();
    for (row, p) in w.payouts.iter_mut().zip(&alloc.payouts) {
        *row = PayoutRow {
            address: p.address.to_field(),
            amount: p.amount.to_sat(),
            weight: p.weight,
        };
    }
    assert!(!satisfied(&circuit, rebind(&a, &w.payouts), &w));
    // ... or the slot itself emptied: the root no longer matches.
    let mut w = a.witness.clone();
    w.slots[3] = Slot::EMPTY;
    w.weights[3] = 0;
    assert!(!satisfied(&circuit, a.public, &w));
    // Added: an extra share in an empty slot (12 of 16 are used).
    let mut w = a.witness.clone();
    w.slots[14] = w.slots[2];
    w.weights[14] = w.weights[2];
    assert!(!satisfied(&circuit, a.public, &w));
}

#[test]
fn weights_at_or_above_2_pow_92_are_rejected() {
    let (circuit, a) = honest(4, 4, 16, 2, 60, 1_000_000, 0);
    // The split (a - 1, w + 2^92) of the same packed element.
    let mut w = a.witness.clone();
    w.weights[5] += 1u128 << 92;
    assert!(!satisfied(&circuit, a.public, &w));
    // A slot whose weight is exactly 2^92.
    let mut w = a.witness.clone();
    w.weights[5] = 1u128 << 92;
    assert!(!satisfied(&circuit, a.public, &w));
}

#[test]
fn a_slot_moved_to_another_address_by_another_split_is_rejected() {
    let (circuit, a) = honest(4, 4, 16, 2, 60, 1_000_000, 0);
    let victim = 5;
    let moved = a.witness.weights[victim];
    let owner = a.witness.slots[victim].packed - Fr::from(moved);
    let owner = owner * Fr::from(2u64).pow([92]).inverse().unwrap();
    // Split the victim's slot as weight 0 (so "no address"), and credit its
    // weight to the other miner in the table.
    let mut w = a.witness.clone();
    w.weights[victim] = 0;
    let (from, to) = if w.payouts[0].address == owner {
        (0, 1)
    } else {
        (1, 0)
    };
    w.payouts[from].weight -= moved;
    w.payouts[to].weight += moved;
    let total: u128 = w.payouts.iter().map(|r| r.weight).sum();
    let net = a.allocation.net().to_sat() as u128;
    for r in w.payouts.iter_mut().take(2) {
        r.amount = (net * r.weight / total) as u64;
    }
    assert!(!satisfied(&circuit, rebind(&a, &w.payouts), &w));
    // Or a nearby split (weight - 1): its address is no table entry.
    let mut w = a.witness.clone();
    w.weights[victim] -= 1;
    assert!(!satisfied(&circuit, a.public, &w));
}

#[test]
fn a_different_root_c_or_s_is_rejected() {
    let (circuit, a) = honest(4, 4, 20, 3, 70, 5_000_000_000, 100);
    for tweak in 0..3 {
        let mut public = a.public;
        match tweak {
            0 => public.root += Fr::ONE,
            1 => public.c += Fr::ONE,
            _ => public.s += Fr::ONE,
        }
        assert!(!satisfied(&circuit, public, &a.witness), "tweak {tweak}");
    }
}

#[test]
fn a_list_longer_than_m_is_refused_and_cannot_match_s() {
    let snapshot = circuits::fixture::sample_window(4, 16, 8, 60, 9);
    let p = params(4, 4);
    let err = assign(&p, &snapshot, Amount::from_sat(1_000_000), fee(0), None).unwrap_err();
    assert!(matches!(err, PplnsError::TooManyPayouts { max: 4, got } if got > 4));
    // A fifth entry in the contract's list changes S: the circuit's S over
    // its M rows no longer matches.
    let (circuit, a) = honest(4, 4, 20, 3, 70, 5_000_000_000, 100);
    let mut longer = a.witness.payouts.clone();
    longer.push(PayoutRow {
        address: Fr::from(99u64),
        amount: 1,
        weight: 1,
    });
    assert!(!satisfied(&circuit, rebind(&a, &longer), &a.witness));
}

#[test]
fn a_fee_above_the_stated_bps_is_rejected() {
    let snapshot = circuits::fixture::sample_window(4, 20, 3, 70, 11);
    let p = params(4, 4);
    let circuit = PplnsCircuit::new(p).unwrap();
    let a = assign(
        &p,
        &snapshot,
        Amount::from_sat(5_000_000_000),
        fee(100),
        None,
    )
    .unwrap();
    let greedy = allocate(
        snapshot.entries.iter().map(|e| (e.address, e.weight)),
        Amount::from_sat(5_000_000_000),
        fee(300),
    )
    .unwrap();
    let mut w = a.witness.clone();
    for (row, p) in w.payouts.iter_mut().zip(&greedy.payouts) {
        row.amount = p.amount.to_sat();
    }
    assert!(!satisfied(&circuit, rebind(&a, &w.payouts), &w));
    // A fee rate above 10,000 cannot even be stated.
    let mut w = a.witness.clone();
    w.fee_bps = 10_001;
    let public = PublicInputs {
        reward_and_fee: Fr::from(w.reward) + Fr::from(10_001u64) * Fr::from(2u64).pow([64]),
        ..a.public
    };
    assert!(!satisfied(&circuit, public, &w));
}

#[test]
fn padding_must_be_zero() {
    let (circuit, a) = honest(4, 4, 20, 2, 70, 5_000_000_000, 100);
    assert_eq!(a.witness.payouts[3], PayoutRow::default());
    // A zero-weight entry with an address, or with an amount.
    for row in [
        PayoutRow {
            address: Fr::from(u64::MAX),
            amount: 0,
            weight: 0,
        },
        PayoutRow {
            address: Fr::ZERO,
            amount: 5,
            weight: 0,
        },
    ] {
        let mut w = a.witness.clone();
        w.payouts[3] = row;
        assert!(!satisfied(&circuit, rebind(&a, &w.payouts), &w));
    }
}
