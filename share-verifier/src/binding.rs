//! Binding a payee list to a proof (docs/circuit.md, "Statement"): the
//! values the settlement contract computes from the (address, weight) list
//! it is handed, and the four public inputs of the Groth16 statement.
//!
//! The list travels as packed records (20-byte address, 16-byte big-endian
//! weight), hashed record by record as a chain from the back:
//! `h_D = 0`, `h_j = keccak(record_j || h_{j+1})`, `listHash = h_0`. A
//! settlement too long for one transaction is cut into pages; a page of
//! records `[s, e)` travels with `h_e`, so the contract checks each page
//! against the list hash as it arrives, and the list hash does not depend
//! on how the list was cut. The contract then draws
//! `beta = keccak(windowRoot || X || listHash) mod r` (X is the circuit's
//! weight commitment) and evaluates the table side of the log-derivative
//! identity, `T = sum_j W_j / (beta - A_j)`. The proof shows that the
//! window's slots give the same sum at `beta`; since the list and the
//! weights are fixed before `beta` is drawn, the list is then the window's
//! exact grouping by address.

use std::ops::Range;

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field, PrimeField};
use tiny_keccak::{Hasher, Keccak};

use crate::allocation::Payee;
use crate::window::WindowRoot;

/// Bytes of one payee record: the address, then the weight as 16 big-endian bytes.
pub const RECORD_LEN: usize = 36;

/// Records per page when a node pages a settlement: a crediting page of
/// first-time payees stays near 12M gas, under the 15M a transaction may use.
pub const DEFAULT_PAGE_RECORDS: usize = 512;

/// The payee records of `payees`, in list order.
pub fn encode_records(payees: &[Payee]) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_LEN * payees.len());
    for p in payees {
        out.extend_from_slice(&p.address.0);
        out.extend_from_slice(&p.weight.to_be_bytes());
    }
    out
}

/// The record ranges of each page for `records` records, `page_records`
/// per page (the last page shorter; one empty page for an empty list).
///
/// # Panics
/// For `page_records == 0`.
pub fn page_ranges(records: usize, page_records: usize) -> Vec<Range<usize>> {
    assert!(page_records > 0, "a page holds at least one record");
    if records == 0 {
        // One empty page: `std::iter::once` rather than `vec![0..0]`, which reads as a range.
        return std::iter::once(0..0).collect();
    }
    (0..records)
        .step_by(page_records)
        .map(|start| start..(start + page_records).min(records))
        .collect()
}

/// The pages of a list: each page's bytes and the chain hash of the records
/// after it (`next`, zero after the last record), and the list hash `h_0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagedList {
    /// `(page bytes, next)` in submission order.
    pub pages: Vec<(Vec<u8>, [u8; 32])>,
    /// `h_0`, the hash the contract's challenge is drawn from.
    pub list_hash: [u8; 32],
}

/// `keccak(record || next)`: one step of the chain.
pub fn chain_step(record: &[u8], next: &[u8; 32]) -> [u8; 32] {
    let mut preimage = [0u8; RECORD_LEN + 32];
    preimage[..RECORD_LEN].copy_from_slice(record);
    preimage[RECORD_LEN..].copy_from_slice(next);
    keccak256(&preimage)
}

/// The chain hash of `records` (whole records) followed by `next`.
pub fn fold_records(records: &[u8], next: [u8; 32]) -> [u8; 32] {
    records
        .rchunks(RECORD_LEN)
        .fold(next, |h, record| chain_step(record, &h))
}

/// The list hash of `payees` (independent of paging).
pub fn list_hash(payees: &[Payee]) -> [u8; 32] {
    fold_records(&encode_records(payees), [0u8; 32])
}

/// Cuts `payees` into pages of `page_records` and gives each its `next`.
///
/// # Panics
/// For `page_records == 0`.
pub fn paged_list(payees: &[Payee], page_records: usize) -> PagedList {
    let ranges = page_ranges(payees.len(), page_records);
    let mut pages = Vec::with_capacity(ranges.len());
    let mut next = [0u8; 32];
    for range in ranges.into_iter().rev() {
        let bytes = encode_records(&payees[range]);
        let hash = fold_records(&bytes, next);
        pages.push((bytes, next));
        next = hash;
    }
    pages.reverse();
    PagedList {
        pages,
        list_hash: next,
    }
}

/// keccak256 of `bytes`.
pub fn keccak256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut k = Keccak::v256();
    k.update(bytes);
    k.finalize(&mut out);
    out
}

/// The challenge beta: `keccak256(windowRoot || X || listHash)` read as a
/// big-endian integer, mod r.
pub fn challenge(root: &WindowRoot, weight_commitment: &Fr, list_hash: &[u8; 32]) -> Fr {
    let mut preimage = Vec::with_capacity(96);
    preimage.extend_from_slice(&root.to_be_bytes());
    preimage.extend_from_slice(&crate::field::to_be_bytes(weight_commitment));
    preimage.extend_from_slice(list_hash);
    Fr::from_be_bytes_mod_order(&keccak256(&preimage))
}

/// The table side of the identity, `T = sum_j W_j / (beta - A_j)`, or `None`
/// when beta equals an address (then no proof exists for this window's
/// statement; the probability is about D / 2^254 per block).
pub fn table_sum(beta: Fr, payees: &[Payee]) -> Option<Fr> {
    let mut sum = Fr::ZERO;
    for p in payees {
        let inverse = (beta - p.address.to_field()).inverse()?;
        sum += Fr::from(p.weight) * inverse;
    }
    Some(sum)
}

/// The four public inputs in the verifier's order `[windowRoot, X, beta, T]`,
/// or `None` when beta equals an address.
pub fn public_inputs(
    root: &WindowRoot,
    weight_commitment: &Fr,
    list_hash: &[u8; 32],
    payees: &[Payee],
) -> Option<[Fr; 4]> {
    let beta = challenge(root, weight_commitment, list_hash);
    let t = table_sum(beta, payees)?;
    Some([root.0, *weight_commitment, beta, t])
}

/// The field element as a decimal string of its canonical integer.
pub fn to_decimal(value: &Fr) -> String {
    value.into_bigint().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;

    fn payee(a: u8, weight: u128) -> Payee {
        Payee {
            address: Address([a; 20]),
            weight,
        }
    }

    #[test]
    fn records_are_address_then_big_endian_weight() {
        let enc = encode_records(&[payee(0x11, 0x0102), payee(0x22, 7)]);
        assert_eq!(enc.len(), 2 * RECORD_LEN);
        assert_eq!(&enc[..20], &[0x11; 20]);
        assert_eq!(&enc[20..34], &[0; 14]);
        assert_eq!(&enc[34..36], &[1, 2]);
        assert_eq!(&enc[36..56], &[0x22; 20]);
        assert_eq!(enc[71], 7);
    }

    #[test]
    fn keccak_of_empty_input_is_the_known_constant() {
        assert_eq!(
            hex::encode(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn the_chain_runs_record_by_record_from_the_back() {
        let payees: Vec<Payee> = (1..=5).map(|a| payee(a, u128::from(a))).collect();
        assert_eq!(page_ranges(5, 2), vec![0..2, 2..4, 4..5]);
        assert_eq!(page_ranges(0, 2), std::iter::once(0..0).collect::<Vec<_>>());
        // h_0 by hand: keccak(r0 || keccak(r1 || ... keccak(r4 || 0))).
        let records = encode_records(&payees);
        let mut h = [0u8; 32];
        for j in (0..5).rev() {
            let mut preimage = records[j * RECORD_LEN..(j + 1) * RECORD_LEN].to_vec();
            preimage.extend_from_slice(&h);
            h = keccak256(&preimage);
        }
        assert_eq!(list_hash(&payees), h);
        // Any paging gives the same list hash; each page checks against it.
        for size in [1, 2, 3, 5, 512] {
            let list = paged_list(&payees, size);
            assert_eq!(list.list_hash, h, "pages of {size}");
            assert_eq!(list.pages.last().unwrap().1, [0; 32]);
            let mut cursor = list.list_hash;
            for (bytes, next) in &list.pages {
                assert_eq!(fold_records(bytes, *next), cursor);
                cursor = *next;
            }
        }
        // The empty list is one empty page with list hash 0.
        let empty = paged_list(&[], 512);
        assert_eq!(empty.list_hash, [0; 32]);
        assert_eq!(empty.pages, vec![(Vec::new(), [0; 32])]);
    }

    #[test]
    fn table_sum_is_the_sum_of_weights_over_beta_minus_address() {
        let payees = [payee(1, 3), payee(2, 5)];
        let beta = Fr::from(1_000_000u64);
        let expected = Fr::from(3u64) / (beta - payees[0].address.to_field())
            + Fr::from(5u64) / (beta - payees[1].address.to_field());
        assert_eq!(table_sum(beta, &payees), Some(expected));
        assert_eq!(table_sum(payees[1].address.to_field(), &payees), None);
        assert_eq!(table_sum(beta, &[]), Some(Fr::ZERO));
    }

    #[test]
    fn any_change_of_the_list_changes_beta() {
        let root = WindowRoot(Fr::from(5u64));
        let x = Fr::from(9u64);
        let a = paged_list(&[payee(1, 500), payee(2, 490)], 1);
        let b = paged_list(&[payee(1, 501), payee(2, 489)], 512);
        assert_ne!(
            challenge(&root, &x, &a.list_hash),
            challenge(&root, &x, &b.list_hash)
        );
        assert_ne!(
            challenge(&root, &x, &a.list_hash),
            challenge(&root, &Fr::from(10u64), &a.list_hash)
        );
    }
}
