//! Pool difficulty, share targets and share weight (DESIGN item 2).
//!
//! A miner is assigned a pool [`Difficulty`]; the node turns it into a
//! [`ShareTarget`] that every share's hash must meet, and the share is
//! credited with the [`Weight`] (work) of that assigned target, never of the
//! hash it happened to reach. Difficulty 1 is Bitcoin's difficulty-1 target
//! `0x00000000FFFF0000…` (the `bdiff` convention every Stratum pool uses).

use std::fmt;

use bitcoin::hashes::{sha256d, Hash};
use bitcoin::pow::{CompactTarget, Target};
use bitcoin::BlockHash;
use ruint::aliases::{U256, U512};
use serde::{Deserialize, Serialize};

/// The target of pool difficulty 1: `0xFFFF << 208`
/// (`0x00000000FFFF0000000000000000000000000000000000000000000000000000`).
pub const DIFFICULTY_1_TARGET: U256 = U256::from_limbs([0, 0, 0, 0xFFFF_u64 << 16]);

bitcoin::hashes::hash_newtype! {
    /// The double-SHA256 of a share's 80-byte header. The same bytes as the
    /// block hash the header would have, but a distinct type so that a share
    /// hash cannot pass for a block hash by accident.
    pub struct ShareHash(sha256d::Hash);
}

impl ShareHash {
    /// The hash as a 256-bit integer, reading the digest little-endian (how
    /// Bitcoin compares hashes with targets).
    #[inline]
    pub fn to_u256(&self) -> U256 {
        U256::from_le_bytes(self.to_byte_array())
    }

    /// The hash as a BN254 scalar: the little-endian integer reduced mod r
    /// (DESIGN item 3).
    #[cfg(feature = "window")]
    pub fn to_field(&self) -> ark_bn254::Fr {
        use ark_ff::PrimeField;
        ark_bn254::Fr::from_le_bytes_mod_order(self.as_byte_array())
    }

    /// The block hash this header would have if it met the network target.
    pub fn to_block_hash(self) -> BlockHash {
        BlockHash::from_byte_array(self.to_byte_array())
    }

    /// The pool difficulty the hash achieved, `DIFFICULTY_1_TARGET / hash`
    /// (lossy; infinite for a zero hash).
    pub fn difficulty_lossy(&self) -> f64 {
        let to_f64 = |v: U256| {
            v.as_limbs()
                .iter()
                .rev()
                .fold(0.0, |acc, &l| acc * 18_446_744_073_709_551_616.0 + l as f64)
        };
        to_f64(DIFFICULTY_1_TARGET) / to_f64(self.to_u256())
    }
}

/// Share weights are below 2^92 (DESIGN item 2), so that a slot's packed
/// field element `address * 2^92 + weight` splits uniquely.
pub const WEIGHT_BITS: u32 = 92;

/// Errors of difficulty, target and weight conversions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    /// The difficulty is zero, negative, NaN or infinite.
    #[error("difficulty {0} is not a positive finite number")]
    InvalidDifficulty(f64),
    /// The target is zero: no hash can meet it.
    #[error("target is zero")]
    ZeroTarget,
    /// The target's work is 2^92 or more (difficulty above about 1.1e18).
    #[error("target {target:#x} is too small: its work {work:#x} is not below 2^92")]
    WeightTooLarge { target: U256, work: U256 },
    /// A hex target did not parse.
    #[error("target {input:?} is not 64 hex digits: {source}")]
    Hex {
        /// The text given.
        input: String,
        /// Why it does not decode.
        source: hex::FromHexError,
    },
}

/// A pool difficulty: difficulty 1 = target `0x00000000FFFF0000…`.
///
/// Fractional values are allowed (CPU miners, regtest's minimum difficulty is
/// about 4.66e-10). Always positive and finite.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Difficulty(f64);

impl Difficulty {
    /// Difficulty 1.
    pub const ONE: Difficulty = Difficulty(1.0);

    /// A difficulty from a positive finite number.
    ///
    /// # Errors
    /// [`TargetError::InvalidDifficulty`] for zero, negative, NaN or infinite values.
    pub fn new(value: f64) -> Result<Self, TargetError> {
        if value.is_finite() && value > 0.0 {
            Ok(Difficulty(value))
        } else {
            Err(TargetError::InvalidDifficulty(value))
        }
    }

    /// The difficulty as a float.
    pub fn as_f64(self) -> f64 {
        self.0
    }

    /// The share target of this difficulty: `floor(DIFFICULTY_1_TARGET / d)`,
    /// saturated to `2^256 - 1` for difficulties below about 2^-32 and to 1
    /// above 2^224.
    pub fn to_target(self) -> ShareTarget {
        // d = mantissa * 2^exponent exactly, with a 53-bit integer mantissa.
        let bits = self.0.to_bits();
        let raw_exponent = ((bits >> 52) & 0x7ff) as i32;
        let fraction = bits & ((1u64 << 52) - 1);
        let (mantissa, exponent) = if raw_exponent == 0 {
            (fraction, -1074)
        } else {
            (fraction | (1u64 << 52), raw_exponent - 1075)
        };
        let numerator = U512::from(DIFFICULTY_1_TARGET);
        let mantissa = U512::from(mantissa);
        let quotient = if exponent >= 0 {
            // Divisor mantissa * 2^exponent; above 2^512 the quotient is 0.
            match mantissa.checked_shl(exponent as usize) {
                Some(divisor) if divisor >> exponent as usize == mantissa => numerator / divisor,
                _ => U512::ZERO,
            }
        } else {
            let shift = (-exponent) as usize;
            if shift > 512 - 224 {
                U512::MAX
            } else {
                (numerator << shift) / mantissa
            }
        };
        let value = if quotient > U512::from(U256::MAX) {
            U256::MAX
        } else {
            U256::from_limbs_slice(&quotient.as_limbs()[..4])
        };
        // Difficulties above 2^224 would round to target 0; the hardest
        // representable target is 1.
        ShareTarget(value.max(U256::from(1u8)))
    }
}

impl TryFrom<f64> for Difficulty {
    type Error = TargetError;
    fn try_from(value: f64) -> Result<Self, Self::Error> {
        Difficulty::new(value)
    }
}

impl From<Difficulty> for f64 {
    fn from(d: Difficulty) -> f64 {
        d.0
    }
}

impl fmt::Display for Difficulty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// A 256-bit target that a share's hash (read as a little-endian integer)
/// must not exceed. Never zero.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShareTarget(U256);

impl ShareTarget {
    /// The target of difficulty 1.
    pub const DIFFICULTY_1: ShareTarget = ShareTarget(DIFFICULTY_1_TARGET);
    /// The easiest possible target, `2^256 - 1`: every hash meets it.
    pub const MAX: ShareTarget = ShareTarget(U256::MAX);

    /// A target from its integer value.
    ///
    /// # Errors
    /// [`TargetError::ZeroTarget`] for zero.
    pub fn from_u256(value: U256) -> Result<Self, TargetError> {
        if value.is_zero() {
            Err(TargetError::ZeroTarget)
        } else {
            Ok(ShareTarget(value))
        }
    }

    /// A target from 32 big-endian bytes (how targets are written in logs and hex).
    ///
    /// # Errors
    /// [`TargetError::ZeroTarget`] for zero.
    pub fn from_be_bytes(bytes: [u8; 32]) -> Result<Self, TargetError> {
        Self::from_u256(U256::from_be_bytes(bytes))
    }

    /// A target from 64 hex digits, big-endian as `getblocktemplate` writes it.
    ///
    /// # Errors
    /// [`TargetError::Hex`] for anything but 64 hex digits, [`TargetError::ZeroTarget`] for zero.
    pub fn from_hex(input: &str) -> Result<Self, TargetError> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(input, &mut bytes).map_err(|source| TargetError::Hex {
            input: input.to_owned(),
            source,
        })?;
        Self::from_be_bytes(bytes)
    }

    /// The target encoded in a header's compact `nBits`.
    ///
    /// # Errors
    /// [`TargetError::ZeroTarget`] when the compact value decodes to zero.
    pub fn from_compact(nbits: CompactTarget) -> Result<Self, TargetError> {
        Self::from_be_bytes(Target::from_compact(nbits).to_be_bytes())
    }

    /// The closest compact encoding; loses all but the top 23 bits.
    pub fn to_compact_lossy(self) -> CompactTarget {
        self.to_bitcoin().to_compact_lossy()
    }

    /// The same value as a rust-bitcoin [`Target`].
    pub fn to_bitcoin(self) -> Target {
        Target::from_be_bytes(self.0.to_be_bytes())
    }

    /// The target's integer value.
    pub fn to_u256(self) -> U256 {
        self.0
    }

    /// 32 big-endian bytes.
    pub fn to_be_bytes(self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    /// The pool difficulty of this target, `DIFFICULTY_1_TARGET / target`, as a
    /// float (lossy).
    pub fn difficulty_lossy(self) -> f64 {
        u256_to_f64(DIFFICULTY_1_TARGET) / u256_to_f64(self.0)
    }

    /// Whether a share hash, read as a little-endian integer, is at most this target.
    #[inline]
    pub fn is_met_by(&self, hash: &ShareHash) -> bool {
        hash.to_u256() <= self.0
    }

    /// The share weight of this target, `floor(2^256 / (target + 1))`.
    ///
    /// # Errors
    /// [`TargetError::WeightTooLarge`] when the work is not below 2^92.
    pub fn weight(self) -> Result<Weight, TargetError> {
        let work = work_of(self.0);
        if work >> WEIGHT_BITS != U256::ZERO {
            return Err(TargetError::WeightTooLarge {
                target: self.0,
                work,
            });
        }
        let limbs = work.as_limbs();
        Ok(Weight(u128::from(limbs[0]) | (u128::from(limbs[1]) << 64)))
    }
}

impl fmt::Debug for ShareTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShareTarget({:064x})", self.0)
    }
}

impl fmt::Display for ShareTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:064x}", self.0)
    }
}

impl Serialize for ShareTarget {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ShareTarget {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        ShareTarget::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

/// `floor(2^256 / (target + 1))` for any 256-bit target; `2^256 / (2^256)`
/// = 1 for the maximum target.
pub fn work_of(target: U256) -> U256 {
    // 2^256 / (t + 1) = (2^256 - 1 - t) / (t + 1) + 1 = !t / (t + 1) + 1,
    // which stays inside 256 bits (Bitcoin Core's GetBlockProof).
    match target.checked_add(U256::from(1u8)) {
        Some(divisor) => (!target) / divisor + U256::from(1u8),
        None => U256::from(1u8),
    }
}

/// The weight a share adds to the window: the work of its assigned target
/// (DESIGN item 2), always below 2^92.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Weight(u128);

impl Weight {
    /// Zero weight (an empty slot).
    pub const ZERO: Weight = Weight(0);
    /// The largest weight a slot can hold, `2^92 - 1`.
    pub const MAX: Weight = Weight((1u128 << WEIGHT_BITS) - 1);

    /// A weight from its value.
    ///
    /// # Errors
    /// [`TargetError::WeightTooLarge`] for values of 2^92 or more.
    pub fn new(value: u128) -> Result<Self, TargetError> {
        if value >> WEIGHT_BITS != 0 {
            return Err(TargetError::WeightTooLarge {
                target: U256::ZERO,
                work: U256::from(value),
            });
        }
        Ok(Weight(value))
    }

    /// The weight's value, below 2^92.
    pub fn get(self) -> u128 {
        self.0
    }
}

impl fmt::Display for Weight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

fn u256_to_f64(value: U256) -> f64 {
    value.as_limbs().iter().rev().fold(0.0, |acc, &limb| {
        acc * 18_446_744_073_709_551_616.0 + limb as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn share_hash_reads_little_endian() {
        let mut bytes = [0u8; 32];
        bytes[0] = 5;
        assert_eq!(ShareHash::from_byte_array(bytes).to_u256(), U256::from(5u8));
        #[cfg(feature = "window")]
        assert_eq!(
            ShareHash::from_byte_array(bytes).to_field(),
            ark_bn254::Fr::from(5u64)
        );
    }

    #[test]
    fn difficulty_one_is_bitcoins_difficulty_one_target() {
        assert_eq!(Difficulty::ONE.to_target(), ShareTarget::DIFFICULTY_1);
        assert_eq!(ShareTarget::DIFFICULTY_1.to_bitcoin(), Target::MAX);
        assert_eq!(
            ShareTarget::DIFFICULTY_1.to_string(),
            "00000000ffff0000000000000000000000000000000000000000000000000000"
        );
        assert_eq!(ShareTarget::DIFFICULTY_1.difficulty_lossy(), 1.0);
    }

    #[test]
    fn difficulty_two_halves_the_target() {
        let t = Difficulty::new(2.0).unwrap().to_target();
        assert_eq!(t.to_u256(), DIFFICULTY_1_TARGET >> 1);
    }

    #[test]
    fn regtest_minimum_difficulty_round_trips() {
        let regtest = ShareTarget::from_compact(CompactTarget::from_consensus(0x207fffff)).unwrap();
        let d = regtest.difficulty_lossy();
        assert!((d - 4.656542373906925e-10).abs() < 1e-20, "{d}");
        let back = Difficulty::new(d).unwrap().to_target();
        // Within one part in 2^50 of the original.
        let diff = back.to_u256().abs_diff(regtest.to_u256());
        assert!(diff < regtest.to_u256() >> 50, "{back:?} vs {regtest:?}");
    }

    #[test]
    fn tiny_difficulty_saturates_to_max_target() {
        assert_eq!(
            Difficulty::new(1e-30).unwrap().to_target(),
            ShareTarget::MAX
        );
        assert_eq!(ShareTarget::MAX.weight().unwrap(), Weight(1));
    }

    #[test]
    fn invalid_difficulties_are_rejected() {
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Difficulty::new(bad).is_err());
        }
        assert_eq!(
            ShareTarget::from_u256(U256::ZERO),
            Err(TargetError::ZeroTarget)
        );
    }

    #[test]
    fn weight_of_difficulty_one_is_2_pow_32_plus_change() {
        // floor(2^256 / (0xFFFF * 2^208 + 1)) = 4295032833 = 0x100010001
        assert_eq!(
            ShareTarget::DIFFICULTY_1.weight().unwrap(),
            Weight(0x1_0001_0001)
        );
        // Same as rust-bitcoin's work for the same target.
        let w = Target::MAX.to_work();
        assert_eq!(w.to_be_bytes()[24..], 0x1_0001_0001u64.to_be_bytes());
    }

    #[test]
    fn weights_at_or_above_2_pow_92_are_refused() {
        // Target 2^164 - 1 has work exactly 2^92; target 2^164 has 2^92 - 1.
        let t = ShareTarget::from_u256((U256::from(1u8) << 164) - U256::from(1u8)).unwrap();
        assert!(matches!(
            t.weight(),
            Err(TargetError::WeightTooLarge { .. })
        ));
        let t = ShareTarget::from_u256(U256::from(1u8) << 164).unwrap();
        assert_eq!(t.weight().unwrap(), Weight::MAX);
        let t = ShareTarget::from_u256((U256::from(1u8) << 165) - U256::from(1u8)).unwrap();
        assert_eq!(t.weight().unwrap().get(), 1u128 << 91);
        assert!(Weight::new(1u128 << 92).is_err());
        assert!(Weight::new((1u128 << 92) - 1).is_ok());
    }

    #[test]
    fn hex_targets_parse_and_print() {
        let hex = "00000377ae000000000000000000000000000000000000000000000000000000";
        let t = ShareTarget::from_hex(hex).unwrap();
        assert_eq!(t.to_string(), hex);
        assert_eq!(
            t.to_compact_lossy(),
            CompactTarget::from_consensus(0x1e0377ae)
        );
        assert!(matches!(
            ShareTarget::from_hex("zz"),
            Err(TargetError::Hex { .. })
        ));
    }

    proptest! {
        #[test]
        fn difficulty_to_target_to_difficulty_round_trips(exp in -30i32..60, frac in 1.0f64..2.0) {
            let d = frac * 2f64.powi(exp);
            let t = Difficulty::new(d).unwrap().to_target();
            let back = t.difficulty_lossy();
            prop_assert!(((back - d) / d).abs() < 1e-12, "{d} -> {back}");
        }

        #[test]
        fn target_bytes_round_trip(bytes in any::<[u8; 32]>()) {
            prop_assume!(bytes.iter().any(|&b| b != 0));
            let t = ShareTarget::from_be_bytes(bytes).unwrap();
            prop_assert_eq!(t.to_be_bytes(), bytes);
            prop_assert_eq!(ShareTarget::from_hex(&t.to_string()).unwrap(), t);
        }

        #[test]
        fn weight_is_floor_of_2_pow_256_over_target_plus_one(bytes in any::<[u8; 32]>()) {
            let t = U256::from_be_bytes(bytes);
            let w = U512::from(work_of(t));
            let t1 = U512::from(t) + U512::from(1u8);
            let two256 = U512::from(1u8) << 256;
            prop_assert!(w * t1 <= two256);
            prop_assert!((w + U512::from(1u8)) * t1 > two256);
        }

        #[test]
        fn harder_difficulty_means_smaller_target(a in 1e-9f64..1e12, b in 1e-9f64..1e12) {
            prop_assume!(a < b);
            let ta = Difficulty::new(a).unwrap().to_target();
            let tb = Difficulty::new(b).unwrap().to_target();
            prop_assert!(tb <= ta);
            prop_assert!(tb.weight().unwrap() >= ta.weight().unwrap());
        }
    }
}
