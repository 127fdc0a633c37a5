//! A deterministic sample window and settlement, for the contracts' Foundry
//! tests (`circuits fixture`) and this crate's own tests and benchmarks.
//!
//! The window is filled by a fixed pseudo-random sequence (SplitMix64 of a
//! seed): `miners` payout addresses, weights of difficulty 1 to about 2^40,
//! share hashes from the sequence. Same arguments, same window.

use bitcoin::hashes::Hash;
use share_verifier::address::Address;
use share_verifier::target::Weight;
use share_verifier::window::{Window, WindowEntry, WindowSnapshot};
use share_verifier::ShareHash;

/// SplitMix64: a small, fixed generator (the sample must never change with a
/// dependency's version).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A share hash from the next four words.
    pub fn next_hash(&mut self) -> ShareHash {
        let mut hash = [0u8; 32];
        for chunk in hash.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        ShareHash::from_byte_array(hash)
    }
}

/// The `i`-th sample miner's address (never zero).
pub fn sample_address(seed: u64, i: u64) -> Address {
    let mut rng = SplitMix64::new(seed ^ 0xadd7_e55e_5eed ^ i.wrapping_mul(0x1000_0001));
    let mut bytes = [0u8; 20];
    for chunk in bytes.chunks_mut(8) {
        let word = rng.next_u64().to_be_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    bytes[19] |= 1;
    Address(bytes)
}

/// A window of 2^`log2_slots` slots after `shares` shares from `miners`
/// addresses; weights up to 2^`max_weight_bits` (at most 92).
///
/// # Panics
/// Never for `log2_slots` in 1..=24, `miners >= 1` and `max_weight_bits <= 92`.
pub fn sample_window(
    log2_slots: u32,
    shares: u64,
    miners: u64,
    max_weight_bits: u32,
    seed: u64,
) -> WindowSnapshot {
    let mut window = Window::new(log2_slots).expect("the caller passes a supported window size");
    let mut rng = SplitMix64::new(seed);
    let bits = max_weight_bits.min(92);
    for seq in 0..shares {
        let miner = rng.next_u64() % miners.max(1);
        let raw = (u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64());
        let weight = if bits == 0 {
            1
        } else {
            (raw >> (128 - bits)).max(1)
        };
        window
            .push(WindowEntry {
                seq,
                address: sample_address(seed, miner),
                weight: Weight::new(weight).expect("weights are drawn below 2^92"),
                share_hash: rng.next_hash(),
            })
            .expect("shares are appended in sequence");
    }
    window.snapshot()
}

/// The fixture's window: 2^`log2_slots` slots, full and then some, from
/// three miners, weights up to 2^40.
pub fn fixture_window(log2_slots: u32) -> WindowSnapshot {
    fixture_window_with(log2_slots, 3)
}

/// A full window of 2^`log2_slots` slots (and then some) in which exactly
/// `payees` distinct addresses hold weight (at most N; 0 gives an empty
/// window): the first `payees` shares of the last N go one to each
/// address, the rest to addresses drawn among them. Weights up to 2^40.
pub fn fixture_window_with(log2_slots: u32, payees: u64) -> WindowSnapshot {
    let n = 1u64 << log2_slots;
    let mut window = Window::new(log2_slots).expect("the caller passes a supported window size");
    if payees == 0 {
        return window.snapshot();
    }
    let seed = 0x5348_5046;
    let mut rng = SplitMix64::new(seed ^ payees);
    let shares = n + 3;
    for seq in 0..shares {
        // Slot order: the window keeps seq >= 3; give each address one of those first.
        let in_window = seq.checked_sub(shares - n);
        let miner = match in_window {
            Some(i) if i < payees => i,
            _ => rng.next_u64() % payees,
        };
        let raw = rng.next_u64() >> 24;
        window
            .push(WindowEntry {
                seq,
                address: sample_address(seed, miner),
                weight: Weight::new(u128::from(raw.max(1))).expect("weights are below 2^40"),
                share_hash: rng.next_hash(),
            })
            .expect("shares are appended in sequence");
    }
    window.snapshot()
}

/// The fixture's reward: 3.125 BTC plus fees.
pub const FIXTURE_REWARD: u64 = 312_512_345;
/// The fixture's fee rate: 2%.
pub const FIXTURE_FEE_BPS: u32 = 200;
