//! The embedded chain's difficulty rule, in a form the light-client contract
//! can check header by header (docs/ARCHITECTURE.md, "Contracts' interfaces").
//!
//! - [`DifficultyRule::Fixed`]: every block after genesis carries the same
//!   nBits (no retargeting).
//! - [`DifficultyRule::Retarget`]: Bitcoin's rule with a configurable
//!   interval: at heights that are multiples of `interval` the new target is
//!   `old × actual / expected`, with `actual = time(h-1) − time(h-interval)`
//!   (Bitcoin's off-by-one), `expected = interval × spacing`, actual clamped
//!   to `[expected/4, expected×4]`, capped at regtest's powLimit and rounded
//!   through the compact encoding; elsewhere a block carries its parent's nBits.

use bitcoin::pow::{CompactTarget, Target};
use ruint::aliases::{U256, U512};

/// Regtest's powLimit, `0x7fffff << 232` (Bitcoin Core `chainparams.cpp`).
pub fn pow_limit() -> U256 {
    U256::from(0x7f_ffffu64) << 232
}

/// The rule deciding each block's nBits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DifficultyRule {
    /// Every block after genesis has this nBits.
    Fixed {
        /// The compact target.
        nbits: CompactTarget,
    },
    /// Bitcoin's retargeting every `interval` blocks aiming at `spacing_secs`.
    Retarget {
        /// Blocks per period.
        interval: u32,
        /// Seconds per block aimed at.
        spacing_secs: u32,
    },
}

/// Why a fixed nBits is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DifficultyError {
    /// The compact value is zero, negative or overflows.
    #[error("nBits does not encode a positive target")]
    NotATarget,
    /// The target is easier than regtest's powLimit.
    #[error("target is above regtest's powLimit 7fffff0000…")]
    AbovePowLimit,
}

impl DifficultyRule {
    /// A fixed rule after checking the target is valid and within powLimit.
    ///
    /// # Errors
    /// [`DifficultyError`].
    pub fn fixed(nbits: CompactTarget) -> Result<Self, DifficultyError> {
        let bits = nbits.to_consensus();
        // Negative (sign bit set) or zero mantissa.
        if bits & 0x0080_0000 != 0 || bits & 0x007f_ffff == 0 {
            return Err(DifficultyError::NotATarget);
        }
        let target = U256::from_be_bytes(Target::from_compact(nbits).to_be_bytes());
        if target.is_zero() {
            return Err(DifficultyError::NotATarget);
        }
        if target > pow_limit() {
            return Err(DifficultyError::AbovePowLimit);
        }
        Ok(DifficultyRule::Fixed { nbits })
    }

    /// The nBits required of the block at `height` (≥ 1), given its parent's
    /// nBits and, at a retarget height, the times of the period's first and
    /// last blocks (`time(height - interval)`, `time(height - 1)`).
    pub fn next_nbits(
        &self,
        height: u32,
        parent_nbits: CompactTarget,
        period_times: impl FnOnce(u32) -> (u32, u32),
    ) -> CompactTarget {
        match *self {
            DifficultyRule::Fixed { nbits } => nbits,
            DifficultyRule::Retarget {
                interval,
                spacing_secs,
            } => {
                if !height.is_multiple_of(interval) {
                    return parent_nbits;
                }
                let (first, last) = period_times(height - interval);
                retarget(parent_nbits, first, last, interval, spacing_secs)
            }
        }
    }

    /// Whether the rule can change nBits at `height`.
    pub fn is_retarget_height(&self, height: u32) -> bool {
        matches!(*self, DifficultyRule::Retarget { interval, .. } if height.is_multiple_of(interval))
    }
}

/// Bitcoin's retarget (`CalculateNextWorkRequired`) with 512-bit
/// intermediates, so that targets near powLimit do not overflow.
pub fn retarget(
    last_nbits: CompactTarget,
    first_time: u32,
    last_time: u32,
    interval: u32,
    spacing_secs: u32,
) -> CompactTarget {
    let expected = u64::from(interval) * u64::from(spacing_secs);
    let actual = (i64::from(last_time) - i64::from(first_time))
        .clamp((expected / 4) as i64, (expected * 4) as i64) as u64;
    let old = U512::from(U256::from_be_bytes(
        Target::from_compact(last_nbits).to_be_bytes(),
    ));
    let new = old * U512::from(actual) / U512::from(expected);
    let limit = U512::from(pow_limit());
    let new = if new > limit { limit } else { new };
    let new = U256::from_limbs_slice(&new.as_limbs()[..4]);
    Target::from_be_bytes(new.to_be_bytes()).to_compact_lossy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::Network;

    #[test]
    fn retarget_matches_rust_bitcoin_on_mainnet_parameters() {
        // Mainnet: 2016 blocks of 600 s; rust-bitcoin implements Core's rule.
        let params = bitcoin::params::Params::new(Network::Bitcoin);
        for (bits, span) in [
            (0x1d00ffffu32, 1_209_600u32),
            (0x1b0404cb, 100_000),
            (0x1b0404cb, 9_000_000),
            (0x1703a30c, 1_300_000),
        ] {
            let ours = retarget(
                CompactTarget::from_consensus(bits),
                1000,
                1000 + span,
                2016,
                600,
            );
            let theirs = CompactTarget::from_next_work_required(
                CompactTarget::from_consensus(bits),
                u64::from(span),
                &params,
            );
            assert_eq!(ours, theirs, "bits {bits:08x} span {span}");
        }
    }

    #[test]
    fn retarget_is_capped_at_regtest_pow_limit_without_overflow() {
        let easy = CompactTarget::from_consensus(0x207f_ffff);
        assert_eq!(retarget(easy, 0, 1_000_000, 10, 30), easy);
        // Four times harder when blocks come instantly.
        let next = retarget(easy, 5, 5, 10, 30);
        assert_eq!(next, CompactTarget::from_consensus(0x201f_ffff));
    }

    #[test]
    fn fixed_rule_refuses_zero_negative_and_too_easy_targets() {
        assert!(DifficultyRule::fixed(CompactTarget::from_consensus(0x1d0b_bf8c)).is_ok());
        assert_eq!(
            DifficultyRule::fixed(CompactTarget::from_consensus(0x2100_ffff)),
            Err(DifficultyError::AbovePowLimit)
        );
        assert_eq!(
            DifficultyRule::fixed(CompactTarget::from_consensus(0x1d80_ffff)),
            Err(DifficultyError::NotATarget)
        );
    }

    #[test]
    fn only_multiples_of_the_interval_retarget() {
        let rule = DifficultyRule::Retarget {
            interval: 10,
            spacing_secs: 30,
        };
        let parent = CompactTarget::from_consensus(0x1e00_ffff);
        assert_eq!(rule.next_nbits(9, parent, |_| unreachable!()), parent);
        let next = rule.next_nbits(10, parent, |first| {
            assert_eq!(first, 0);
            (100, 100 + 600)
        });
        // Twice the expected 300 s: twice the target.
        assert_eq!(next, CompactTarget::from_consensus(0x1e01_fffe));
    }
}
