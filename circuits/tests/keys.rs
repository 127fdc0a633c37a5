//! Keys, proofs and the verifier export end to end on N = 16: a seeded
//! setup, proofs of windows with 0 to N distinct addresses that verify
//! natively and against ark-groth16's own prover, refusal of a key for
//! another N, and deterministic outputs.

use ark_bn254::{Bn254, Fr};
use ark_relations::gr1cs::{ConstraintSystem, SynthesisMode, R1CS_PREDICATE_LABEL};
use circuits::keys::{self, KeyError};
use circuits::pplns::{assign, PplnsCircuit, PplnsParams};
use circuits::proof::{self, ProveError};
use circuits::r1cs::{ArkR1cs, Synthesize};
use circuits::{export, fixture, groth16};
use share_verifier::allocation::group;

const PAGE: usize = 512;

fn setup_16_4(dir: &std::path::Path) -> keys::KeyHeader {
    keys::setup(PplnsParams::new(4).unwrap(), Some("test"), dir).unwrap()
}

/// One seeded N = 16 key shared by the tests of this binary (setups are
/// the slow part of the suite).
fn shared_key() -> &'static (tempfile::TempDir, keys::KeyHeader) {
    static KEY: std::sync::OnceLock<(tempfile::TempDir, keys::KeyHeader)> =
        std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let header = setup_16_4(dir.path());
        (dir, header)
    })
}

#[test]
fn seeded_keys_prove_verify_and_refuse_other_shapes() {
    let (dir, header) = shared_key();
    let header = header.clone();
    assert!(header.insecure);
    let params = header.params().unwrap();
    let key = keys::load(dir.path(), &params).unwrap();

    // The sample window: proof, payees equal to the native grouping.
    let snapshot = fixture::fixture_window(4);
    let settlement = proof::prove(&key, &snapshot, PAGE).unwrap();
    let (native, _) = group(snapshot.entries.iter().map(|e| (e.address, e.weight))).unwrap();
    assert_eq!(settlement.payees, native);
    let json = settlement.to_json();
    assert!(proof::verify_json(&key.pk.vk, &json).unwrap());
    // The staged loader proves the same statement.
    let again = proof::prove_from_dir(dir.path(), &snapshot, PAGE).unwrap();
    assert_eq!(again.public, settlement.public);

    // Tampered proof word, tampered input, a point off the curve.
    let mut bad = json.clone();
    bad.proof[6] = json.proof[0].clone();
    bad.proof[7] = json.proof[1].clone();
    assert!(!proof::verify_json(&key.pk.vk, &bad).unwrap());
    // A weight changed in the list: the list hash no longer matches; with
    // the list hash and the inputs recomputed, the proof fails.
    let mut bad = json.clone();
    bad.payees[0].weight = (bad.payees[0].weight.parse::<u128>().unwrap() + 1).to_string();
    assert!(matches!(
        proof::verify_json(&key.pk.vk, &bad),
        Err(ProveError::Json {
            field: "listHash",
            ..
        })
    ));
    let mut payees = settlement.payees.clone();
    payees[0].weight += 1;
    let list = share_verifier::binding::paged_list(&payees, PAGE);
    bad.list_hash = format!("0x{}", hex::encode(list.list_hash));
    let x = settlement.public.weight_commitment;
    bad.public_inputs =
        share_verifier::binding::public_inputs(&settlement.root, &x, &list.list_hash, &payees)
            .unwrap()
            .iter()
            .map(share_verifier::binding::to_decimal)
            .collect();
    assert!(!proof::verify_json(&key.pk.vk, &bad).unwrap());
    let mut bad = json.clone();
    bad.proof[1] = "1".into();
    assert!(matches!(
        proof::verify_json(&key.pk.vk, &bad),
        Err(ProveError::Json { .. })
    ));

    // A key for N = 16 refuses a 64-slot window and N = 64 parameters.
    let big = fixture::fixture_window(6);
    let err = proof::prove(&key, &big, PAGE).unwrap_err();
    assert!(matches!(err, ProveError::Assign(_)), "{err}");
    let err = keys::load(dir.path(), &PplnsParams::new(6).unwrap()).unwrap_err();
    assert!(
        matches!(
            err,
            KeyError::Shape {
                key_slots: 16,
                slots: 64,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("N = 16"));
    let err = proof::prove_from_dir(dir.path(), &big, PAGE).unwrap_err();
    assert!(err.to_string().contains("2^6"), "{err}");

    // Corrupt matrices are refused by the circuit hash.
    let mut header2 = header.clone();
    header2.circuit_hash = "00".repeat(32);
    assert!(matches!(
        keys::load_matrices(dir.path(), &header2),
        Err(KeyError::CircuitHash { .. })
    ));
}

/// Every number of distinct addresses from 0 to N proves with the one key,
/// in one page or in pages of 3 records.
#[test]
fn every_address_count_from_zero_to_n_proves_and_verifies() {
    let (dir, header) = shared_key();
    let key = keys::load(dir.path(), &header.params().unwrap()).unwrap();
    for payees in 0..=16u64 {
        for page in [PAGE, 3] {
            let snapshot = fixture::fixture_window_with(4, payees);
            let s = proof::prove(&key, &snapshot, page).unwrap();
            assert_eq!(s.payees.len() as u64, payees);
            assert_eq!(s.list.pages.len(), (payees as usize).div_ceil(page).max(1));
            assert!(
                proof::verify_json(&key.pk.vk, &s.to_json()).unwrap(),
                "D = {payees}"
            );
        }
    }
}

#[test]
fn seeded_setups_and_exports_are_deterministic() {
    let (a, ha) = shared_key();
    let b = tempfile::tempdir().unwrap();
    let hb = setup_16_4(b.path());
    assert_eq!(ha, &hb);
    let (_, vka) = keys::load_verifying_key(a.path()).unwrap();
    let (_, vkb) = keys::load_verifying_key(b.path()).unwrap();
    let sol = export::solidity_verifier(&vka, ha);
    assert_eq!(sol, export::solidity_verifier(&vkb, &hb));
    let pka = std::fs::read(a.path().join("proving_key.bin")).unwrap();
    assert_eq!(
        pka,
        std::fs::read(b.path().join("proving_key.bin")).unwrap()
    );
    assert!(
        sol.contains("function verifyProof(uint256[8] calldata proof, uint256[4] calldata input)")
    );
    assert!(sol.contains("INSECURE KEY"));
    assert!(sol.contains(&ha.circuit_hash));
}

/// ark-groth16's own prover, fed arkworks' matrices of the same circuit
/// and our proving key, gives a proof our verifier accepts: the key follows
/// ark-groth16's reduction exactly.
#[test]
fn ark_groth16s_prover_agrees_with_our_key() {
    let (dir, _) = shared_key();
    let params = PplnsParams::new(4).unwrap();
    let key = keys::load(dir.path(), &params).unwrap();
    let a = assign(&params, &fixture::fixture_window(4), PAGE).unwrap();
    let circuit = PplnsCircuit::new(params)
        .unwrap()
        .with_assignment(a.public, a.witness.clone());
    let cs = ConstraintSystem::<Fr>::new_ref();
    cs.set_mode(SynthesisMode::Prove {
        construct_matrices: true,
        generate_lc_assignments: false,
    });
    circuit.synthesize(&mut ArkR1cs(cs.clone())).unwrap();
    cs.finalize();
    let matrices = &cs.to_matrices().unwrap()[R1CS_PREDICATE_LABEL];
    let z = {
        let inner = cs.borrow().unwrap();
        [
            inner.instance_assignment().unwrap(),
            inner.witness_assignment().unwrap(),
        ]
        .concat()
    };
    let proof = ark_groth16::Groth16::<Bn254>::create_proof_with_reduction_and_matrices(
        &key.pk,
        Fr::from(3u64),
        Fr::from(5u64),
        matrices,
        cs.num_instance_variables(),
        cs.num_constraints(),
        &z,
    )
    .unwrap();
    assert!(groth16::verify(&key.pk.vk, &a.public.to_array(), &proof).unwrap());
    // And our prover from the stored matrices gives the same proof for the same blinding.
    let h = groth16::quotient(&key.matrices, &z).unwrap();
    let ours = groth16::create_proof(
        &key.pk,
        &h,
        &z,
        key.matrices.num_instance,
        Fr::from(3u64),
        Fr::from(5u64),
    )
    .unwrap();
    assert_eq!(ours, proof);
}

/// The prover takes the reduction from `key.json`: a directory whose
/// proving key is replaced by a circom-layout key (as a snarkjs ceremony
/// gives) proves once the header says `circom`, and fails its self-check
/// while the header still says `libsnark`.
#[test]
fn the_prover_follows_the_headers_reduction() {
    use ark_serialize::CanonicalSerialize;
    use circuits::groth16::Reduction;

    let dir = tempfile::tempdir().unwrap();
    let params = PplnsParams::new(1).unwrap();
    let header = keys::setup(params, Some("circom"), dir.path()).unwrap();
    assert_eq!(header.reduction, Reduction::Libsnark);
    let json = std::fs::read_to_string(dir.path().join("key.json")).unwrap();
    assert!(json.contains("\"reduction\": \"libsnark\""), "{json}");

    let matrices = keys::build_matrices(params).unwrap();
    let pk = groth16::generate_parameters_for(
        &matrices,
        Reduction::Circom,
        &mut keys::seeded_rng("ceremony"),
    )
    .unwrap();
    let mut bytes = Vec::new();
    pk.serialize_uncompressed(&mut bytes).unwrap();
    std::fs::write(dir.path().join("proving_key.bin"), bytes).unwrap();
    let snapshot = fixture::fixture_window(1);
    let err = proof::prove_from_dir(dir.path(), &snapshot, PAGE).unwrap_err();
    assert!(matches!(err, ProveError::SelfCheck), "{err}");

    std::fs::write(
        dir.path().join("key.json"),
        json.replace("\"libsnark\"", "\"circom\""),
    )
    .unwrap();
    let settlement = proof::prove_from_dir(dir.path(), &snapshot, PAGE).unwrap();
    assert!(proof::verify_json(&pk.vk, &settlement.to_json()).unwrap());
    let key = keys::load(dir.path(), &params).unwrap();
    assert_eq!(key.header.reduction, Reduction::Circom);
    let again = proof::prove(&key, &snapshot, PAGE).unwrap();
    assert!(proof::verify_json(&pk.vk, &again.to_json()).unwrap());
}
