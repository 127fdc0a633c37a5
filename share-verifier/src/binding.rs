//! Binding a payout list to a proof (DESIGN item 9): the values the
//! settlement contract computes from the payout list it is handed, and the
//! four public inputs of the Groth16 statement.
//!
//! `c = uint256(keccak256(abi.encode(windowRoot, reward, feeBps, payouts))) mod r`
//! and `S = sum_j c^j * (addr_j + amount_j * 2^160) mod r`, j counting from 0.
//! The contract recomputes both; the circuit recomputes S from its own
//! payout list, so a proof for one list cannot settle another.

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field, PrimeField};
use tiny_keccak::{Hasher, Keccak};

use crate::allocation::{FeeBps, Payout};
use crate::window::WindowRoot;

/// The Solidity ABI encoding of `abi.encode(bytes32, uint256, uint256, Payout[])`
/// with `struct Payout { address account; uint64 amount; }`.
pub fn abi_encode_settlement(
    root: &WindowRoot,
    reward: u64,
    fee_bps: FeeBps,
    payouts: &[Payout],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * (5 + 2 * payouts.len()));
    out.extend_from_slice(&root.to_be_bytes());
    out.extend_from_slice(&word(u128::from(reward)));
    out.extend_from_slice(&word(u128::from(fee_bps.get())));
    out.extend_from_slice(&word(4 * 32)); // offset of the array's tail
    encode_payout_array(&mut out, payouts);
    out
}

/// `abi.encode(payouts)`.
pub fn abi_encode_payouts(payouts: &[Payout]) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 * (2 + 2 * payouts.len()));
    out.extend_from_slice(&word(32));
    encode_payout_array(&mut out, payouts);
    out
}

fn encode_payout_array(out: &mut Vec<u8>, payouts: &[Payout]) {
    out.extend_from_slice(&word(payouts.len() as u128));
    for p in payouts {
        let mut address = [0u8; 32];
        address[12..].copy_from_slice(&p.address.0);
        out.extend_from_slice(&address);
        out.extend_from_slice(&word(u128::from(p.amount.to_sat())));
    }
}

fn word(value: u128) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[16..].copy_from_slice(&value.to_be_bytes());
    w
}

/// keccak256 of `bytes`.
pub fn keccak256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut k = Keccak::v256();
    k.update(bytes);
    k.finalize(&mut out);
    out
}

/// The payout list's hash as the `BlockSettled` event carries it:
/// `keccak256(abi.encode(payouts))`.
pub fn payout_hash(payouts: &[Payout]) -> [u8; 32] {
    keccak256(&abi_encode_payouts(payouts))
}

/// The challenge c: the settlement's keccak read as a big-endian integer, mod r.
pub fn challenge(root: &WindowRoot, reward: u64, fee_bps: FeeBps, payouts: &[Payout]) -> Fr {
    Fr::from_be_bytes_mod_order(&keccak256(&abi_encode_settlement(
        root, reward, fee_bps, payouts,
    )))
}

/// One payout as a field element: `addr + amount * 2^160`.
pub fn payout_element(payout: &Payout) -> Fr {
    payout.address.to_field() + Fr::from(payout.amount.to_sat()) * Fr::from(2u64).pow([160])
}

/// `S = sum_j c^j * (addr_j + amount_j * 2^160)`, j from 0.
pub fn payout_polynomial(c: Fr, payouts: &[Payout]) -> Fr {
    // Horner from the last entry down: S = e_0 + c(e_1 + c(e_2 + ...)).
    payouts
        .iter()
        .rev()
        .fold(Fr::ZERO, |acc, p| acc * c + payout_element(p))
}

/// The packed public input `reward + feeBps * 2^64`.
pub fn reward_and_fee(reward: u64, fee_bps: FeeBps) -> Fr {
    Fr::from(reward) + Fr::from(u64::from(fee_bps.get())) * Fr::from(2u64).pow([64])
}

/// The four public inputs in the verifier's order:
/// `[windowRoot, reward + feeBps * 2^64, c, S]`.
pub fn public_inputs(
    root: &WindowRoot,
    reward: u64,
    fee_bps: FeeBps,
    payouts: &[Payout],
) -> [Fr; 4] {
    let c = challenge(root, reward, fee_bps, payouts);
    [
        root.0,
        reward_and_fee(reward, fee_bps),
        c,
        payout_polynomial(c, payouts),
    ]
}

/// The field element as a decimal string of its canonical integer.
pub fn to_decimal(value: &Fr) -> String {
    value.into_bigint().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use bitcoin::Amount;

    fn payout(a: u8, amount: u64) -> Payout {
        Payout {
            address: Address([a; 20]),
            amount: Amount::from_sat(amount),
            weight: 1,
        }
    }

    #[test]
    fn abi_encoding_has_solidity_layout() {
        let root = WindowRoot(Fr::from(5u64));
        let enc = abi_encode_settlement(&root, 7, FeeBps::new(200).unwrap(), &[payout(0x11, 9)]);
        assert_eq!(enc.len(), 32 * 7);
        assert_eq!(enc[31], 5);
        assert_eq!(enc[63], 7);
        assert_eq!(&enc[94..96], &[0, 200]);
        assert_eq!(enc[127], 0x80);
        assert_eq!(enc[159], 1);
        assert_eq!(&enc[172..192], &[0x11; 20]);
        assert_eq!(enc[223], 9);
        let only = abi_encode_payouts(&[payout(0x11, 9)]);
        assert_eq!(only.len(), 32 * 4);
        assert_eq!(only[31], 0x20);
    }

    #[test]
    fn keccak_of_empty_input_is_the_known_constant() {
        assert_eq!(
            hex::encode(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn s_is_the_polynomial_in_c() {
        let ps = [payout(1, 2), payout(3, 4), payout(5, 6)];
        let c = Fr::from(10u64);
        let expected =
            payout_element(&ps[0]) + c * payout_element(&ps[1]) + c * c * payout_element(&ps[2]);
        assert_eq!(payout_polynomial(c, &ps), expected);
        assert_eq!(payout_polynomial(c, &[]), Fr::ZERO);
    }

    #[test]
    fn any_change_of_the_list_changes_c_and_s() {
        let root = WindowRoot(Fr::from(5u64));
        let fee = FeeBps::new(100).unwrap();
        let a = public_inputs(&root, 1000, fee, &[payout(1, 500), payout(2, 490)]);
        let b = public_inputs(&root, 1000, fee, &[payout(1, 501), payout(2, 489)]);
        assert_ne!(a[2], b[2]);
        assert_ne!(a[3], b[3]);
        assert_eq!(
            a[1],
            Fr::from(1000u64) + Fr::from(100u64) * Fr::from(2u64).pow([64])
        );
    }
}
