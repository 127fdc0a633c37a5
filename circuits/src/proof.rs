//! Proving a settlement — the library call the node makes — and the JSON
//! form of its result (also the Foundry fixture's schema, see
//! `circuits/fixtures/README.md`).
//!
//! [`prove`] takes a window snapshot and the page size of its payee list,
//! and returns the proof with the paged list it attests. The witness comes from the values-only back end, the proof from
//! the stored matrices and proving key ([`crate::groth16`]); every proof is
//! verified before it is returned.

use std::path::Path;

use ark_bn254::{Bn254, Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{PrimeField, Zero};
use ark_groth16::{Proof, ProvingKey, VerifyingKey};
use ark_relations::gr1cs::SynthesisError;
use ark_std::rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use share_verifier::address::Address;
use share_verifier::allocation::Payee;
use share_verifier::binding::{self, PagedList};
use share_verifier::field;
use share_verifier::window::WindowSnapshot;
use share_verifier::WindowRoot;
use tracing::info_span;

use crate::groth16::{self, Reduction};
use crate::keys::{self, Key, KeyError};
use crate::matrices::R1csMatrices;
use crate::pplns::{assign, Assignment, PplnsCircuit, PplnsError, PplnsParams, PublicInputs};
use crate::r1cs::{Synthesize, WitnessR1cs};

/// Errors of proving and of reading proofs.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The statement could not be assigned.
    #[error(transparent)]
    Assign(#[from] PplnsError),
    /// The key is wrong or unreadable.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// Synthesis or the QAP failed.
    #[error("proving failed: {0}")]
    Synthesis(#[from] SynthesisError),
    /// The witness breaks a constraint: the inputs are not a valid statement.
    #[error("the witness does not satisfy constraint {0}")]
    Unsatisfied(usize),
    /// The witness generator and the key disagree on the circuit's size.
    #[error("the witness has {got} variables, the key's circuit {expected}")]
    WitnessSize { expected: usize, got: usize },
    /// The finished proof does not verify (a corrupt proving key).
    #[error("the proof does not verify against the key's verifying key")]
    SelfCheck,
    /// A proof file field is malformed.
    #[error("invalid proof JSON field {field}: {source}")]
    Json {
        /// The field, as the JSON names it.
        field: &'static str,
        /// What is wrong with it.
        source: JsonFault,
    },
}

/// What is wrong with a field of a settlement JSON.
#[derive(Debug, thiserror::Error)]
pub enum JsonFault {
    /// A field element that is not 64 hex digits below the modulus.
    #[error(transparent)]
    Field(#[from] share_verifier::field::FieldError),
    /// A number that is not written in decimal.
    #[error("{0:?} is not a decimal integer")]
    NotDecimal(String),
    /// A number at or above its field's modulus.
    #[error("{value:?} is not below the {field} field modulus")]
    NotBelowModulus {
        /// The number as written.
        value: String,
        /// `base` or `scalar`.
        field: &'static str,
    },
    /// A weight that is not a u128.
    #[error("{0:?} is not a u128")]
    NotU128(String),
    /// An account that is not 20 bytes of hex.
    #[error("{0:?} is not a 20-byte hex address")]
    NotAddress(String),
    /// A list of the wrong length.
    #[error("{got} items, expected {expected}")]
    Count {
        /// Its length.
        got: usize,
        /// The length the format fixes.
        expected: usize,
    },
    /// A page size of zero.
    #[error("a page holds at least one record")]
    EmptyPage,
    /// Payees out of order, or with a zero account or weight.
    #[error("accounts must be non-zero and strictly ascending, weights at least 1")]
    Unordered,
    /// A list hash that is not the pages' hash chain.
    #[error("it differs from the pages' hash chain")]
    ListHash,
    /// The challenge equals a payee's address (no statement exists).
    #[error("the challenge equals a payee's address")]
    ChallengeHitsAddress,
    /// Public inputs that are not those the payee list gives.
    #[error("they differ from the values the contract computes from the payee list")]
    InputsDiffer,
    /// A proof point off the curve or outside the prime-order subgroup.
    #[error("a {0} point is not on the curve or not in the subgroup")]
    Point(&'static str),
}

/// A proven settlement: the statement, its paged payee list and the proof.
#[derive(Debug, Clone)]
pub struct Settlement {
    /// The statement's shape.
    pub params: PplnsParams,
    /// The window root.
    pub root: WindowRoot,
    /// The four public inputs.
    pub public: PublicInputs,
    /// Every address with weight in the window, ascending, with its weight.
    pub payees: Vec<Payee>,
    /// The payee records in pages and their hash chain.
    pub list: PagedList,
    /// Records per page.
    pub page_records: usize,
    /// The Groth16 proof.
    pub proof: Proof<Bn254>,
}

/// The witness for `assignment`: `[1, inputs..., witness...]`.
///
/// # Errors
/// [`ProveError`] when synthesis fails or the size differs from `matrices`.
pub fn witness(
    circuit: &PplnsCircuit,
    assignment: &Assignment,
    matrices: &R1csMatrices,
) -> Result<Vec<Fr>, ProveError> {
    let _span = info_span!("witness").entered();
    let circuit = circuit.with_assignment(assignment.public, assignment.witness.clone());
    let mut cs = WitnessR1cs::with_capacity(matrices.num_witness);
    circuit.synthesize(&mut cs)?;
    let z = cs.full_assignment();
    if z.len() != matrices.num_variables() {
        return Err(ProveError::WitnessSize {
            expected: matrices.num_variables(),
            got: z.len(),
        });
    }
    Ok(z)
}

/// The h vector for `z` under the key's `reduction`, after checking that
/// `z` satisfies every constraint.
///
/// # Errors
/// [`ProveError::Unsatisfied`] for a witness that breaks a constraint.
pub fn quotient(
    matrices: &R1csMatrices,
    z: &[Fr],
    reduction: Reduction,
) -> Result<Vec<Fr>, ProveError> {
    if let Some(row) = groth16::unsatisfied_row(matrices, z) {
        return Err(ProveError::Unsatisfied(row));
    }
    Ok(reduction.quotient(matrices, z)?)
}

fn finish<R: RngCore + CryptoRng>(
    params: PplnsParams,
    assignment: Assignment,
    page_records: usize,
    pk: &ProvingKey<Bn254>,
    (h, z, num_instance): (&[Fr], &[Fr], usize),
    rng: &mut R,
) -> Result<Settlement, ProveError> {
    let _span = info_span!(
        "prove",
        slots = params.slots(),
        payees = assignment.payees.len()
    )
    .entered();
    let (r, s) = groth16::blinding(rng);
    let proof = groth16::create_proof(pk, h, z, num_instance, r, s)?;
    if !groth16::verify(&pk.vk, &assignment.public.to_array(), &proof)? {
        return Err(ProveError::SelfCheck);
    }
    Ok(Settlement {
        params,
        root: WindowRoot(assignment.public.root),
        public: assignment.public,
        payees: assignment.payees,
        list: assignment.list,
        page_records,
        proof,
    })
}

/// Proves the grouping of `snapshot` with a loaded key, for its payee list
/// cut into pages of `page_records` records (the contract's challenge is
/// drawn from the list hash of exactly those pages).
///
/// # Errors
/// [`ProveError`] for a snapshot the key cannot prove (size) or a broken key.
pub fn prove(
    key: &Key,
    snapshot: &WindowSnapshot,
    page_records: usize,
) -> Result<Settlement, ProveError> {
    let params = key.header.params()?;
    let assignment = assign(&params, snapshot, page_records)?;
    let circuit = PplnsCircuit::new(params)?;
    let z = witness(&circuit, &assignment, &key.matrices)?;
    let h = quotient(&key.matrices, &z, key.header.reduction)?;
    finish(
        params,
        assignment,
        page_records,
        &key.pk,
        (&h, &z, key.matrices.num_instance),
        &mut rand::rngs::OsRng,
    )
}

/// As [`prove`], loading the key from `dir` in stages so the matrices are
/// freed before the proving key is read (lower peak memory).
///
/// # Errors
/// As [`prove`], and [`KeyError`] for a key of another N.
pub fn prove_from_dir(
    dir: &Path,
    snapshot: &WindowSnapshot,
    page_records: usize,
) -> Result<Settlement, ProveError> {
    prove_from_dir_with_rng(dir, snapshot, page_records, &mut rand::rngs::OsRng)
}

/// As [`prove_from_dir`] with the proof's blinding drawn from `rng` (a
/// seeded `rng` makes the proof reproducible, as the fixture needs; the
/// blinding only hides the witness, it does not affect soundness).
///
/// # Errors
/// As [`prove_from_dir`].
pub fn prove_from_dir_with_rng<R: RngCore + CryptoRng>(
    dir: &Path,
    snapshot: &WindowSnapshot,
    page_records: usize,
    rng: &mut R,
) -> Result<Settlement, ProveError> {
    let header = keys::read_header(dir)?;
    let params = header.params()?;
    if snapshot.log2_slots != params.log2_slots() {
        return Err(PplnsError::WindowSize {
            expected: params.log2_slots(),
            got: snapshot.log2_slots,
        }
        .into());
    }
    let assignment = assign(&params, snapshot, page_records)?;
    let (z, h, num_instance) = {
        let matrices = keys::load_matrices(dir, &header)?;
        let circuit = PplnsCircuit::new(params)?;
        let z = witness(&circuit, &assignment, &matrices)?;
        let h = quotient(&matrices, &z, header.reduction)?;
        (z, h, matrices.num_instance)
    };
    let pk = keys::load_proving_key(dir)?;
    finish(
        params,
        assignment,
        page_records,
        &pk,
        (&h, &z, num_instance),
        rng,
    )
}

/// One payee record as the fixture lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayeeJson {
    /// EIP-55 address.
    pub account: String,
    /// `W_a`, decimal.
    pub weight: String,
}

/// The JSON of a settlement proof (and of the Foundry fixture,
/// `contracts/test/fixtures/README.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettlementJson {
    /// Free text: the key, the window, the command that wrote it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// N.
    pub slots: usize,
    /// `0x` + 64 hex digits.
    pub window_root: String,
    /// Records per page the list hash was built with.
    pub page_size: usize,
    /// Every address with weight in the window, ascending, with its weight.
    pub payees: Vec<PayeeJson>,
    /// X, `0x` + 64 hex digits.
    pub weight_commitment: String,
    /// The pages' hash chain `h_0`, `0x` + 64 hex digits.
    pub list_hash: String,
    /// The block reward in sats the amounts below are for (fixtures only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<u64>,
    /// The fee rate in basis points the amounts are for (fixtures only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_bps: Option<u32>,
    /// `share_verifier::allocate`'s amount per payee, decimal (fixtures only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amounts: Vec<String>,
    /// `net - sum(amounts)` (fixtures only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dust: Option<String>,
    /// `uint256[8]` as decimal strings:
    /// `[A.x, A.y, B.x.c1, B.x.c0, B.y.c1, B.y.c0, C.x, C.y]`.
    pub proof: Vec<String>,
    /// `uint256[4]` as decimal strings: `[windowRoot, X, beta, T]`.
    pub public_inputs: Vec<String>,
}

fn dec<F: PrimeField>(x: &F) -> String {
    x.into_bigint().to_string()
}

/// The proof as `uint256[8]` for the EVM (G2 imaginary part first).
pub fn proof_words(proof: &Proof<Bn254>) -> [String; 8] {
    let (ax, ay) = proof.a.xy().unwrap_or((Fq::zero(), Fq::zero()));
    let (bx, by) = proof.b.xy().unwrap_or((Fq2::zero(), Fq2::zero()));
    let (cx, cy) = proof.c.xy().unwrap_or((Fq::zero(), Fq::zero()));
    [
        dec(&ax),
        dec(&ay),
        dec(&bx.c1),
        dec(&bx.c0),
        dec(&by.c1),
        dec(&by.c0),
        dec(&cx),
        dec(&cy),
    ]
}

/// A decimal number below `modulus` (`which` names the field in errors).
fn parse_below(
    s: &str,
    field: &'static str,
    modulus: num_bigint::BigUint,
    which: &'static str,
) -> Result<num_bigint::BigUint, ProveError> {
    let big: num_bigint::BigUint = s
        .parse()
        .map_err(|_| json_error(field, JsonFault::NotDecimal(s.to_owned())))?;
    if big >= modulus {
        return Err(json_error(
            field,
            JsonFault::NotBelowModulus {
                value: s.to_owned(),
                field: which,
            },
        ));
    }
    Ok(big)
}

fn parse_fq(s: &str, field: &'static str) -> Result<Fq, ProveError> {
    parse_below(s, field, Fq::MODULUS.into(), "base").map(Fq::from)
}

fn parse_fr(s: &str, field: &'static str) -> Result<Fr, ProveError> {
    parse_below(s, field, Fr::MODULUS.into(), "scalar").map(Fr::from)
}

/// Reads `uint256[8]` back into a proof, refusing points off the curve or
/// outside the prime-order subgroup.
///
/// # Errors
/// [`ProveError::Json`] naming the bad word.
pub fn proof_from_words(words: &[String]) -> Result<Proof<Bn254>, ProveError> {
    if words.len() != 8 {
        return Err(json_error(
            "proof",
            JsonFault::Count {
                got: words.len(),
                expected: 8,
            },
        ));
    }
    let f = |i: usize| parse_fq(&words[i], "proof");
    let g1 = |x: Fq, y: Fq| -> Result<G1Affine, ProveError> {
        if x.is_zero() && y.is_zero() {
            return Ok(G1Affine::identity());
        }
        let p = G1Affine::new_unchecked(x, y);
        if !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve() {
            return Err(json_error("proof", JsonFault::Point("G1")));
        }
        Ok(p)
    };
    let a = g1(f(0)?, f(1)?)?;
    let bx = Fq2::new(f(3)?, f(2)?);
    let by = Fq2::new(f(5)?, f(4)?);
    let b = if bx.is_zero() && by.is_zero() {
        G2Affine::identity()
    } else {
        let p = G2Affine::new_unchecked(bx, by);
        if !p.is_on_curve() || !p.is_in_correct_subgroup_assuming_on_curve() {
            return Err(json_error("proof", JsonFault::Point("G2")));
        }
        p
    };
    let c = g1(f(6)?, f(7)?)?;
    Ok(Proof { a, b, c })
}

impl Settlement {
    /// The JSON form (without the fixture-only allocation fields).
    pub fn to_json(&self) -> SettlementJson {
        SettlementJson {
            description: String::new(),
            slots: self.params.slots(),
            window_root: field::to_hex(&self.root.0),
            page_size: self.page_records,
            payees: self
                .payees
                .iter()
                .map(|p| PayeeJson {
                    account: p.address.to_checksum(),
                    weight: p.weight.to_string(),
                })
                .collect(),
            weight_commitment: field::to_hex(&self.public.weight_commitment),
            list_hash: format!("0x{}", hex::encode(self.list.list_hash)),
            reward: None,
            fee_bps: None,
            amounts: Vec::new(),
            dust: None,
            proof: proof_words(&self.proof).to_vec(),
            public_inputs: self.public.to_array().iter().map(dec).collect(),
        }
    }
}

fn json_error(field: &'static str, source: JsonFault) -> ProveError {
    ProveError::Json { field, source }
}

/// Checks a settlement JSON the way the contract does: the list hash, beta
/// and T recomputed from the payee list and its pages, then the proof
/// against `vk`.
///
/// # Errors
/// [`ProveError::Json`] for a malformed file or inputs that do not match
/// the payee list.
pub fn verify_json(vk: &VerifyingKey<Bn254>, json: &SettlementJson) -> Result<bool, ProveError> {
    let root =
        WindowRoot::from_hex(&json.window_root).map_err(|e| json_error("windowRoot", e.into()))?;
    let x = field::from_hex(&json.weight_commitment)
        .map_err(|e| json_error("weightCommitment", e.into()))?;
    if json.page_size == 0 {
        return Err(json_error("pageSize", JsonFault::EmptyPage));
    }
    let payees = json
        .payees
        .iter()
        .map(|p| {
            Ok(Payee {
                address: parse_address(&p.account)?,
                weight: p.weight.parse().map_err(|_| {
                    json_error("payees.weight", JsonFault::NotU128(p.weight.clone()))
                })?,
            })
        })
        .collect::<Result<Vec<_>, ProveError>>()?;
    if payees.windows(2).any(|w| w[0].address >= w[1].address)
        || payees.iter().any(|p| p.weight == 0 || p.address.is_zero())
    {
        return Err(json_error("payees", JsonFault::Unordered));
    }
    let list = binding::paged_list(&payees, json.page_size);
    if format!("0x{}", hex::encode(list.list_hash)) != json.list_hash.to_lowercase() {
        return Err(json_error("listHash", JsonFault::ListHash));
    }
    let expected = binding::public_inputs(&root, &x, &list.list_hash, &payees)
        .ok_or_else(|| json_error("payees", JsonFault::ChallengeHitsAddress))?;
    if json.public_inputs.len() != 4 {
        return Err(json_error(
            "publicInputs",
            JsonFault::Count {
                got: json.public_inputs.len(),
                expected: 4,
            },
        ));
    }
    let inputs = json
        .public_inputs
        .iter()
        .map(|s| parse_fr(s, "publicInputs"))
        .collect::<Result<Vec<_>, _>>()?;
    if inputs != expected {
        return Err(json_error("publicInputs", JsonFault::InputsDiffer));
    }
    let proof = proof_from_words(&json.proof)?;
    Ok(groth16::verify(vk, &inputs, &proof)?)
}

fn parse_address(s: &str) -> Result<Address, ProveError> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    let mut bytes = [0u8; 20];
    hex::decode_to_slice(digits, &mut bytes)
        .map_err(|_| json_error("payees.account", JsonFault::NotAddress(s.to_owned())))?;
    Ok(Address(bytes))
}
