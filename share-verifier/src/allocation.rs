//! PPLNS allocation (DESIGN item 8): how a block reward is split over the
//! window's shares, in exact integer arithmetic and a deterministic order.
//!
//! `fee = floor(R * fee_bps / 10000)`, `net = R - fee`, and each distinct
//! address `a` with window weight `W_a` gets `floor(net * W_a / W)`. What the
//! floors leave over (the dust) goes to the fee recipient, as does
//! everything when the window is empty. The payout list is sorted strictly
//! ascending by address: the order the circuit and the contract check.

use std::collections::BTreeMap;
use std::fmt;

use bitcoin::Amount;
use ruint::aliases::U256;
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::target::Weight;

/// Errors of allocation inputs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllocationError {
    /// The fee is above 100%.
    #[error("fee of {0} basis points is above 10000")]
    FeeBps(u32),
    /// The reward is above Bitcoin's 21 million BTC (and the circuit's 2^51 sats).
    #[error("reward {0} sats is above 21,000,000 BTC")]
    Reward(u64),
    /// The zero address holds weight; it cannot be paid (it marks padding).
    #[error("the window credits the zero address")]
    ZeroAddress,
    /// The window's total weight does not fit 128 bits.
    #[error("total window weight overflows 128 bits")]
    WeightOverflow,
}

/// A pool fee in basis points (1/100 of a percent), at most 10,000.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(try_from = "u32", into = "u32")]
pub struct FeeBps(u16);

impl FeeBps {
    /// A fee of `bps` basis points.
    ///
    /// # Errors
    /// [`AllocationError::FeeBps`] above 10,000.
    pub fn new(bps: u32) -> Result<Self, AllocationError> {
        if bps > 10_000 {
            return Err(AllocationError::FeeBps(bps));
        }
        Ok(FeeBps(bps as u16))
    }

    /// The fee in basis points.
    pub fn get(self) -> u16 {
        self.0
    }
}

impl TryFrom<u32> for FeeBps {
    type Error = AllocationError;
    fn try_from(bps: u32) -> Result<Self, Self::Error> {
        FeeBps::new(bps)
    }
}

impl From<FeeBps> for u32 {
    fn from(f: FeeBps) -> u32 {
        f.0.into()
    }
}

impl fmt::Display for FeeBps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bps", self.0)
    }
}

/// One entry of the payout list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payout {
    /// Who is paid.
    pub address: Address,
    /// How much, `floor(net * weight / W)`.
    #[serde(with = "bitcoin::amount::serde::as_sat")]
    pub amount: Amount,
    /// The address's total weight in the window (what the circuit sums per
    /// address; not part of the on-chain payout).
    #[serde(with = "u128_string")]
    pub weight: u128,
}

/// One address of the window and its total weight: what the settlement
/// contract is handed (docs/circuit.md); it computes the amount itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Payee {
    /// The payout address.
    pub address: Address,
    /// `W_a`, the address's total weight in the window (at least 1).
    #[serde(with = "u128_string")]
    pub weight: u128,
}

/// The allocation of one block reward over one window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allocation {
    /// The block reward R paid to the settlement script.
    #[serde(with = "bitcoin::amount::serde::as_sat")]
    pub reward: Amount,
    /// The pool fee rate.
    pub fee_bps: FeeBps,
    /// `floor(R * fee_bps / 10000)`.
    #[serde(with = "bitcoin::amount::serde::as_sat")]
    pub fee: Amount,
    /// What the floors of the payouts leave over, `net - sum(amounts)`.
    #[serde(with = "bitcoin::amount::serde::as_sat")]
    pub dust: Amount,
    /// W, the window's total weight.
    #[serde(with = "u128_string")]
    pub total_weight: u128,
    /// Every address with weight in the window, strictly ascending.
    pub payouts: Vec<Payout>,
}

impl Allocation {
    /// The payee list the contract is handed: every paid address with its weight.
    pub fn payees(&self) -> Vec<Payee> {
        self.payouts
            .iter()
            .map(|p| Payee {
                address: p.address,
                weight: p.weight,
            })
            .collect()
    }

    /// What the fee recipient is credited: fee and dust.
    pub fn fee_recipient_amount(&self) -> Amount {
        self.fee + self.dust
    }

    /// `R - fee`, shared among the miners.
    pub fn net(&self) -> Amount {
        self.reward - self.fee
    }
}

/// Allocates `reward` over the window's shares (address, weight).
///
/// # Errors
/// [`AllocationError`] for a reward above 21M BTC, the zero address in the
/// window, or a total weight beyond 128 bits.
pub fn allocate(
    shares: impl IntoIterator<Item = (Address, Weight)>,
    reward: Amount,
    fee_bps: FeeBps,
) -> Result<Allocation, AllocationError> {
    if reward > Amount::MAX_MONEY {
        return Err(AllocationError::Reward(reward.to_sat()));
    }
    let (payees, total_weight) = group(shares)?;
    // R < 2^51 and bps <= 10^4: the product needs up to 65 bits, the quotient fits 64.
    let fee =
        Amount::from_sat((u128::from(reward.to_sat()) * u128::from(fee_bps.get()) / 10_000) as u64);
    let net = reward - fee;
    let mut paid = Amount::ZERO;
    let payouts: Vec<Payout> = payees
        .into_iter()
        .map(|Payee { address, weight }| {
            let amount = share_of(net, weight, total_weight);
            paid += amount;
            Payout {
                address,
                amount,
                weight,
            }
        })
        .collect();
    Ok(Allocation {
        reward,
        fee_bps,
        fee,
        dust: net - paid,
        total_weight,
        payouts,
    })
}

/// Groups the window's shares (address, weight) by address: every address
/// with weight, strictly ascending, with its total; and the window's total W.
///
/// # Errors
/// [`AllocationError::ZeroAddress`] for the zero address in the window,
/// [`AllocationError::WeightOverflow`] for a total beyond 128 bits.
pub fn group(
    shares: impl IntoIterator<Item = (Address, Weight)>,
) -> Result<(Vec<Payee>, u128), AllocationError> {
    let mut per_address: BTreeMap<Address, u128> = BTreeMap::new();
    let mut total_weight: u128 = 0;
    for (address, weight) in shares {
        if address.is_zero() {
            return Err(AllocationError::ZeroAddress);
        }
        total_weight = total_weight
            .checked_add(weight.get())
            .ok_or(AllocationError::WeightOverflow)?;
        *per_address.entry(address).or_default() += weight.get();
    }
    let payees = per_address
        .into_iter()
        .filter(|&(_, weight)| weight > 0)
        .map(|(address, weight)| Payee { address, weight })
        .collect();
    Ok((payees, total_weight))
}

/// `floor(net * weight / total)` without overflow (the product needs up to 179 bits).
fn share_of(net: Amount, weight: u128, total: u128) -> Amount {
    let product = U256::from(net.to_sat()) * U256::from(weight);
    let quotient = product / U256::from(total);
    // quotient <= net because weight <= total.
    Amount::from_sat(quotient.as_limbs()[0])
}

mod u128_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn addr(i: u8) -> Address {
        let mut a = [0u8; 20];
        a[0] = i;
        a[19] = 1;
        Address(a)
    }

    fn w(v: u128) -> Weight {
        Weight::new(v).unwrap()
    }

    #[test]
    fn two_miners_split_the_net_reward_by_weight() {
        let a = allocate(
            [(addr(2), w(3)), (addr(1), w(1))],
            Amount::from_sat(10_000),
            FeeBps::new(100).unwrap(),
        )
        .unwrap();
        assert_eq!(a.fee, Amount::from_sat(100));
        assert_eq!(
            a.payouts.iter().map(|p| p.address).collect::<Vec<_>>(),
            vec![addr(1), addr(2)]
        );
        // net 9900: 2475 and 7425.
        assert_eq!(a.payouts[0].amount, Amount::from_sat(2475));
        assert_eq!(a.payouts[1].amount, Amount::from_sat(7425));
        assert_eq!(a.dust, Amount::ZERO);
    }

    #[test]
    fn floors_leave_dust_for_the_fee_recipient() {
        let a = allocate(
            [(addr(1), w(1)), (addr(2), w(1)), (addr(3), w(1))],
            Amount::from_sat(100),
            FeeBps::new(0).unwrap(),
        )
        .unwrap();
        assert!(a.payouts.iter().all(|p| p.amount == Amount::from_sat(33)));
        assert_eq!(a.dust, Amount::from_sat(1));
        assert_eq!(a.fee_recipient_amount(), Amount::from_sat(1));
    }

    #[test]
    fn an_empty_window_pays_everything_to_the_fee_recipient() {
        let a = allocate(
            [],
            Amount::from_sat(5_000_000_000),
            FeeBps::new(200).unwrap(),
        )
        .unwrap();
        assert!(a.payouts.is_empty());
        assert_eq!(a.fee_recipient_amount(), Amount::from_sat(5_000_000_000));
    }

    #[test]
    fn bad_inputs_are_rejected() {
        assert_eq!(FeeBps::new(10_001), Err(AllocationError::FeeBps(10_001)));
        assert!(FeeBps::new(10_000).is_ok());
        let too_much = Amount::MAX_MONEY + Amount::from_sat(1);
        assert!(matches!(
            allocate([], too_much, FeeBps::default()),
            Err(AllocationError::Reward(_))
        ));
        assert_eq!(
            allocate([(Address::ZERO, w(1))], Amount::ONE_BTC, FeeBps::default()),
            Err(AllocationError::ZeroAddress)
        );
    }

    #[test]
    fn maximum_weights_do_not_overflow() {
        let shares = (0..1000).map(|i| (addr((i % 200) as u8 + 1), Weight::MAX));
        let a = allocate(shares, Amount::MAX_MONEY, FeeBps::new(1).unwrap()).unwrap();
        let total: u64 = a.payouts.iter().map(|p| p.amount.to_sat()).sum();
        assert_eq!(
            total + a.fee.to_sat() + a.dust.to_sat(),
            Amount::MAX_MONEY.to_sat()
        );
    }

    proptest! {
        #[test]
        fn payouts_fee_and_dust_add_up_to_the_reward_and_are_proportional(
            shares in proptest::collection::vec((1u8..40, 1u128..1 << 91), 0..300),
            reward in 0u64..=Amount::MAX_MONEY.to_sat(),
            bps in 0u32..=10_000,
        ) {
            let shares: Vec<(Address, Weight)> = shares.into_iter().map(|(a, wt)| (addr(a), w(wt))).collect();
            let a = allocate(shares.clone(), Amount::from_sat(reward), FeeBps::new(bps).unwrap()).unwrap();
            let paid: u64 = a.payouts.iter().map(|p| p.amount.to_sat()).sum();
            prop_assert_eq!(paid + a.fee.to_sat() + a.dust.to_sat(), reward);
            if a.payouts.is_empty() {
                prop_assert_eq!(a.dust, a.net());
            } else {
                prop_assert!(a.dust.to_sat() < a.payouts.len() as u64);
            }
            prop_assert!(a.payouts.windows(2).all(|p| p[0].address < p[1].address));
            let net = a.net().to_sat() as f64;
            let total: u128 = shares.iter().map(|s| s.1.get()).sum();
            prop_assert_eq!(a.total_weight, total);
            for p in &a.payouts {
                let exact = net * (p.weight as f64 / total as f64);
                prop_assert!((p.amount.to_sat() as f64 - exact).abs() <= 1.0 + exact * 1e-12);
            }
            // Deterministic and independent of share order.
            let mut reversed = shares.clone();
            reversed.reverse();
            prop_assert_eq!(allocate(reversed, Amount::from_sat(reward), FeeBps::new(bps).unwrap()).unwrap(), a);
        }
    }
}
