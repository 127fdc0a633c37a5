//! The PPLNS window (DESIGN items 5 and 6): the last N = 2^k accepted
//! shares in a circular array of slots, and the 8-ary Poseidon tree whose
//! root goes into every coinbase.
//!
//! Share `s` lives in slot `s mod N`. A slot is two field elements,
//! `packed = address * 2^92 + weight` and the share hash; the tree's leaves
//! are the 2N elements in slot order. Appending a share only marks its leaf
//! group dirty; [`Window::root`] rehashes the dirty paths and nothing else.
//! A [`ShareReceipt`] proves one share's slot against a root.

use std::fmt;

use ark_bn254::Fr;
use ark_ff::{AdditiveGroup, Field};
use bitcoin::hashes::Hash;
use serde::{Deserialize, Serialize};

use crate::address::Address;
use crate::field::{self, FieldError};
use crate::poseidon::{Poseidon8, ARITY};
use crate::share::Checked;
use crate::target::ShareHash;
use crate::target::{Weight, WEIGHT_BITS};

/// Largest supported window: 2^24 slots (the circuit's limits are far lower).
pub const MAX_LOG2_SLOTS: u32 = 24;

/// Errors of window construction, appends and receipts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    /// N must be 2^k with 1 <= k <= 24.
    #[error("window size 2^{0} is outside 2^1..=2^24")]
    Size(u32),
    /// Shares must be appended in sequence.
    #[error("share {got} appended out of order: the window expects share {expected}")]
    OutOfOrder { expected: u64, got: u64 },
    /// A snapshot's entries hash to another root than the one it records.
    #[error("snapshot records root {recorded} but its entries hash to {computed}")]
    RootMismatch {
        recorded: WindowRoot,
        computed: WindowRoot,
    },
}

/// Errors of receipt verification, naming the level that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptError {
    /// The receipt has the wrong number of levels for its window size.
    #[error("receipt has {got} levels, a 2^{log2_slots}-slot window needs {expected}")]
    Depth {
        log2_slots: u32,
        expected: usize,
        got: usize,
    },
    /// The slot in the receipt is not the share's.
    #[error("receipt's slot elements do not match the share (packed or hash differs)")]
    SlotMismatch,
    /// A level does not contain the hash of the level below at the share's position.
    #[error("receipt level {0} does not contain the hash of level {below}", below = .0 - 1)]
    Path(usize),
    /// The path hashes to another root.
    #[error("receipt hashes to root {computed}, not {expected}")]
    Root {
        computed: WindowRoot,
        expected: WindowRoot,
    },
    /// The slot index is not the share's sequence number mod N.
    #[error("receipt places share {seq} in slot {slot}, expected slot {expected}")]
    Slot { seq: u64, slot: u64, expected: u64 },
}

/// The root of a window tree, a BN254 scalar; written as 32 big-endian bytes
/// in the coinbase (DESIGN item 7) and as `0x` hex in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct WindowRoot(#[serde(with = "field::serde_hex")] pub Fr);

impl WindowRoot {
    /// 32 big-endian bytes.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        field::to_be_bytes(&self.0)
    }

    /// From 32 big-endian bytes below r.
    ///
    /// # Errors
    /// [`FieldError::NotCanonical`] for values not below r.
    pub fn from_be_bytes(bytes: [u8; 32]) -> Result<Self, FieldError> {
        field::from_be_bytes(bytes).map(WindowRoot)
    }

    /// From `0x` + 64 hex digits.
    ///
    /// # Errors
    /// [`FieldError`] for malformed or non-canonical input.
    pub fn from_hex(input: &str) -> Result<Self, FieldError> {
        field::from_hex(input).map(WindowRoot)
    }
}

impl fmt::Display for WindowRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&field::to_hex(&self.0))
    }
}

impl fmt::Debug for WindowRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WindowRoot({self})")
    }
}

/// One slot's two leaf elements (DESIGN item 5). The empty slot is (0, 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Slot {
    /// `address * 2^92 + weight`.
    #[serde(with = "field::serde_hex")]
    pub packed: Fr,
    /// The share hash mod r (DESIGN item 3).
    #[serde(with = "field::serde_hex")]
    pub share_hash: Fr,
}

impl Slot {
    /// The empty slot.
    pub const EMPTY: Slot = Slot {
        packed: Fr::ZERO,
        share_hash: Fr::ZERO,
    };

    /// The slot of a share paying `address` with `weight`.
    pub fn new(address: &Address, weight: Weight, hash: &ShareHash) -> Slot {
        Slot {
            packed: pack(address, weight),
            share_hash: hash.to_field(),
        }
    }
}

/// `address * 2^92 + weight` as a field element (below 2^252 < r).
pub fn pack(address: &Address, weight: Weight) -> Fr {
    address.to_field() * Fr::from(2u64).pow([u64::from(WEIGHT_BITS)]) + Fr::from(weight.get())
}

/// What the window remembers of a share: who it pays, how much it weighs,
/// and its hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowEntry {
    /// The share's sequence number (its slot is `seq mod N`).
    pub seq: u64,
    /// The payout address.
    pub address: Address,
    /// The work of the share's assigned target.
    pub weight: Weight,
    /// The share's header hash.
    pub share_hash: ShareHash,
}

/// Errors of decoding a stored window entry.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EntryError {
    /// The bytes are not [`WindowEntry::ENCODED_LEN`] long.
    #[error("window entry {seq} is {got} bytes, not {}", WindowEntry::ENCODED_LEN)]
    Length { seq: u64, got: usize },
    /// The weight is not below 2^92.
    #[error("window entry {seq}: {source}")]
    Weight {
        seq: u64,
        #[source]
        source: crate::target::TargetError,
    },
}

impl WindowEntry {
    /// The entry of a validated share at `seq`, paying `address`: its
    /// weight and hash are the ones validation gave.
    pub fn of_share(seq: u64, address: Address, checked: &Checked) -> WindowEntry {
        WindowEntry {
            seq,
            address,
            weight: checked.weight,
            share_hash: checked.hash,
        }
    }

    /// Bytes of an encoded entry: address (20) | weight (16, LE) | share hash (32).
    pub const ENCODED_LEN: usize = 68;

    /// The slot's leaf elements.
    pub fn slot(&self) -> Slot {
        Slot::new(&self.address, self.weight, &self.share_hash)
    }

    /// The entry's bytes as the node stores them (its `seq` is the key, not
    /// part of the value).
    pub fn to_bytes(&self) -> [u8; Self::ENCODED_LEN] {
        let mut out = [0u8; Self::ENCODED_LEN];
        out[..20].copy_from_slice(&self.address.0);
        out[20..36].copy_from_slice(&self.weight.get().to_le_bytes());
        out[36..].copy_from_slice(self.share_hash.as_byte_array());
        out
    }

    /// Reads the entry of share `seq` back from [`WindowEntry::to_bytes`].
    ///
    /// # Errors
    /// [`EntryError`] for the wrong length or a weight out of range.
    pub fn from_bytes(seq: u64, bytes: &[u8]) -> Result<WindowEntry, EntryError> {
        let bytes: &[u8; Self::ENCODED_LEN] = bytes.try_into().map_err(|_| EntryError::Length {
            seq,
            got: bytes.len(),
        })?;
        let weight = u128::from_le_bytes(bytes[20..36].try_into().expect("16 bytes"));
        Ok(WindowEntry {
            seq,
            address: Address(bytes[..20].try_into().expect("20 bytes")),
            weight: Weight::new(weight).map_err(|source| EntryError::Weight { seq, source })?,
            share_hash: ShareHash::from_byte_array(bytes[36..].try_into().expect("32 bytes")),
        })
    }
}

/// The circular window of N = 2^k slots and its Poseidon tree.
#[derive(Debug)]
pub struct Window {
    log2_slots: u32,
    /// `levels[0]` holds the 2N leaf elements, each higher level the hashes
    /// of the groups of 8 below it; the last level is the root alone.
    levels: Vec<Vec<Fr>>,
    /// Per level, the groups whose hash is stale, listed once each.
    dirty: Vec<Vec<u32>>,
    /// Per level, whether a group is already in `dirty`.
    dirty_mark: Vec<Vec<bool>>,
    entries: Vec<Option<WindowEntry>>,
    next_seq: u64,
    hasher: Poseidon8,
}

/// Groups below this count are rehashed on the calling thread; above it the
/// work is split across the machine's cores.
const PARALLEL_GROUPS: usize = 512;

impl Window {
    /// An empty window of 2^`log2_slots` slots whose first share will be 0.
    ///
    /// # Errors
    /// [`WindowError::Size`] outside 2^1..=2^24.
    pub fn new(log2_slots: u32) -> Result<Self, WindowError> {
        Self::starting_at(log2_slots, 0)
    }

    /// An empty window whose next share is `next_seq` (to rebuild a window
    /// from the last N shares of a log).
    ///
    /// # Errors
    /// [`WindowError::Size`] outside 2^1..=2^24.
    pub fn starting_at(log2_slots: u32, next_seq: u64) -> Result<Self, WindowError> {
        if !(1..=MAX_LOG2_SLOTS).contains(&log2_slots) {
            return Err(WindowError::Size(log2_slots));
        }
        let mut levels = Vec::new();
        let mut len = 2usize << log2_slots;
        // Level sizes: 2N, ceil(2N/8), ... down to 1 (at least one hash level).
        loop {
            levels.push(vec![Fr::ZERO; len]);
            if len == 1 && levels.len() > 1 {
                break;
            }
            len = len.div_ceil(ARITY);
        }
        // An empty tree is not all zeros: hash every group once.
        let dirty: Vec<Vec<u32>> = levels
            .iter()
            .map(|l| (0..l.len().div_ceil(ARITY) as u32).collect())
            .collect();
        let dirty_mark = levels
            .iter()
            .map(|l| vec![true; l.len().div_ceil(ARITY)])
            .collect();
        let mut window = Window {
            log2_slots,
            levels,
            dirty,
            dirty_mark,
            entries: vec![None; 1usize << log2_slots],
            next_seq,
            hasher: Poseidon8::new(),
        };
        // The root level has no parent group to track.
        let top = window.levels.len() - 1;
        window.dirty[top].clear();
        window.dirty_mark[top].clear();
        Ok(window)
    }

    /// log2 of the number of slots.
    pub fn log2_slots(&self) -> u32 {
        self.log2_slots
    }

    /// The number of slots N.
    pub fn slots(&self) -> u64 {
        1u64 << self.log2_slots
    }

    /// The sequence number the next share will get: the number of shares
    /// appended since share 0.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Appends a share in slot `seq mod N`, evicting the share N before it.
    ///
    /// # Errors
    /// [`WindowError::OutOfOrder`] unless `entry.seq` is [`Window::next_seq`].
    pub fn push(&mut self, entry: WindowEntry) -> Result<(), WindowError> {
        if entry.seq != self.next_seq {
            return Err(WindowError::OutOfOrder {
                expected: self.next_seq,
                got: entry.seq,
            });
        }
        let slot = (entry.seq % self.slots()) as usize;
        let leaf = entry.slot();
        self.levels[0][2 * slot] = leaf.packed;
        self.levels[0][2 * slot + 1] = leaf.share_hash;
        self.entries[slot] = Some(entry);
        self.mark_dirty(0, (2 * slot / ARITY) as u32);
        self.next_seq += 1;
        Ok(())
    }

    fn mark_dirty(&mut self, level: usize, group: u32) {
        let mark = &mut self.dirty_mark[level][group as usize];
        if !*mark {
            *mark = true;
            self.dirty[level].push(group);
        }
    }

    /// The root, rehashing only the groups changed since the last call.
    pub fn root(&mut self) -> WindowRoot {
        for level in 0..self.levels.len() - 1 {
            let groups = std::mem::take(&mut self.dirty[level]);
            let hashes = self.hash_groups(level, &groups);
            for (&group, hash) in groups.iter().zip(hashes) {
                self.dirty_mark[level][group as usize] = false;
                self.levels[level + 1][group as usize] = hash;
                if level + 1 < self.levels.len() - 1 {
                    self.mark_dirty(level + 1, group / ARITY as u32);
                }
            }
        }
        WindowRoot(self.levels[self.levels.len() - 1][0])
    }

    fn hash_groups(&mut self, level: usize, groups: &[u32]) -> Vec<Fr> {
        let elements = &self.levels[level];
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        if groups.len() < PARALLEL_GROUPS || threads == 1 {
            return groups
                .iter()
                .map(|&g| self.hasher.hash(&group_elements(elements, g)))
                .collect();
        }
        let chunk = groups.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let workers: Vec<_> = groups
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut hasher = Poseidon8::new();
                        part.iter()
                            .map(|&g| hasher.hash(&group_elements(elements, g)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().expect("hashing threads do not panic"))
                .collect()
        })
    }

    /// What slot `slot` holds (`None` when empty).
    pub fn entry(&self, slot: u64) -> Option<&WindowEntry> {
        self.entries.get(slot as usize).and_then(Option::as_ref)
    }

    /// Every share in the window, in slot order.
    pub fn entries(&self) -> impl Iterator<Item = &WindowEntry> {
        self.entries.iter().flatten()
    }

    /// The inclusion proof of share `seq`, or `None` if it is not in the window.
    pub fn receipt(&mut self, seq: u64) -> Option<ShareReceipt> {
        let slot = seq % self.slots();
        let entry = *self.entry(slot)?;
        if entry.seq != seq {
            return None;
        }
        let root = self.root();
        let mut group = (2 * slot / ARITY as u64) as u32;
        let mut levels = Vec::with_capacity(self.levels.len() - 1);
        for level in 0..self.levels.len() - 1 {
            levels.push(group_elements(&self.levels[level], group));
            group /= ARITY as u32;
        }
        Some(ShareReceipt {
            entry,
            slot,
            log2_slots: self.log2_slots,
            levels,
            root,
        })
    }

    /// A copy of the window's contents and root, to prove or audit later.
    pub fn snapshot(&mut self) -> WindowSnapshot {
        let root = self.root();
        WindowSnapshot {
            log2_slots: self.log2_slots,
            next_seq: self.next_seq,
            root,
            entries: self.entries.iter().flatten().copied().collect(),
        }
    }
}

/// The 8 elements of group `group` of a level, zero-padded past its end.
fn group_elements(level: &[Fr], group: u32) -> [Fr; ARITY] {
    let start = group as usize * ARITY;
    let mut out = [Fr::ZERO; ARITY];
    let end = (start + ARITY).min(level.len());
    out[..end - start].copy_from_slice(&level[start..end]);
    out
}

/// A window's contents at one moment: what a block's coinbase committed to,
/// what the prover proves and what auditors recompute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSnapshot {
    /// log2 of the number of slots.
    pub log2_slots: u32,
    /// Shares appended before the snapshot (the sequence number it was taken at).
    pub next_seq: u64,
    /// The root of the tree over the slots.
    pub root: WindowRoot,
    /// The shares in the window, in slot order.
    pub entries: Vec<WindowEntry>,
}

impl WindowSnapshot {
    /// The N slots in slot order, empty ones as (0, 0).
    pub fn slots(&self) -> Vec<Slot> {
        let n = 1usize << self.log2_slots;
        let mut slots = vec![Slot::EMPTY; n];
        for e in &self.entries {
            slots[(e.seq % n as u64) as usize] = e.slot();
        }
        slots
    }

    /// Rebuilds the window and checks that it hashes to the recorded root.
    ///
    /// # Errors
    /// [`WindowError::RootMismatch`] when it does not; other [`WindowError`]s
    /// for entries that cannot be the last shares before `next_seq`.
    pub fn to_window(&self) -> Result<Window, WindowError> {
        let n = 1u64 << self.log2_slots;
        let mut window = Window::starting_at(self.log2_slots, self.next_seq.saturating_sub(n))?;
        let mut sorted = self.entries.clone();
        sorted.sort_by_key(|e| e.seq);
        for entry in sorted {
            window.push(entry)?;
        }
        if window.next_seq != self.next_seq {
            return Err(WindowError::OutOfOrder {
                expected: self.next_seq,
                got: window.next_seq,
            });
        }
        let computed = window.root();
        if computed != self.root {
            return Err(WindowError::RootMismatch {
                recorded: self.root,
                computed,
            });
        }
        Ok(window)
    }
}

/// The inclusion proof of one share against a window root: the share, and
/// for each level from the leaves up the 8 children of the group on its path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareReceipt {
    /// The share the receipt proves.
    pub entry: WindowEntry,
    /// Its slot, `seq mod N`.
    pub slot: u64,
    /// log2 of the window's number of slots.
    pub log2_slots: u32,
    /// Level 0: the 8 leaf elements (4 slots) around the share; level i: the
    /// 8 nodes whose hash is the parent on the path.
    #[serde(with = "levels_hex")]
    pub levels: Vec<[Fr; ARITY]>,
    /// The root the receipt was issued against (informational: verify
    /// against a root you trust, such as one read from a coinbase).
    pub root: WindowRoot,
}

impl ShareReceipt {
    /// Checks that the share sits at this receipt's position and that the
    /// path hashes to `root`.
    ///
    /// # Errors
    /// [`ReceiptError`] naming what does not match.
    pub fn verify(&self, root: &WindowRoot) -> Result<(), ReceiptError> {
        let n = 1u64 << self.log2_slots;
        let seq = self.entry.seq;
        if self.slot != seq % n {
            return Err(ReceiptError::Slot {
                seq,
                slot: self.slot,
                expected: seq % n,
            });
        }
        let expected = tree_depth(self.log2_slots);
        if self.levels.len() != expected {
            return Err(ReceiptError::Depth {
                log2_slots: self.log2_slots,
                expected,
                got: self.levels.len(),
            });
        }
        let slot = self.entry.slot();
        let position = (2 * self.slot % ARITY as u64) as usize;
        if self.levels[0][position] != slot.packed
            || self.levels[0][position + 1] != slot.share_hash
        {
            return Err(ReceiptError::SlotMismatch);
        }
        let mut hasher = Poseidon8::new();
        let mut node = hasher.hash(&self.levels[0]);
        let mut group = 2 * self.slot / ARITY as u64;
        for (i, level) in self.levels.iter().enumerate().skip(1) {
            if level[(group % ARITY as u64) as usize] != node {
                return Err(ReceiptError::Path(i));
            }
            node = hasher.hash(level);
            group /= ARITY as u64;
        }
        if node != root.0 {
            return Err(ReceiptError::Root {
                computed: WindowRoot(node),
                expected: *root,
            });
        }
        Ok(())
    }
}

/// The number of hash levels of a 2^k-slot tree.
pub fn tree_depth(log2_slots: u32) -> usize {
    let mut len = 2usize << log2_slots;
    let mut depth = 0;
    loop {
        len = len.div_ceil(ARITY);
        depth += 1;
        if len == 1 {
            return depth;
        }
    }
}

mod levels_hex {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(levels: &[[Fr; ARITY]], s: S) -> Result<S::Ok, S::Error> {
        let hex: Vec<Vec<String>> = levels
            .iter()
            .map(|l| l.iter().map(field::to_hex).collect())
            .collect();
        hex.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[Fr; ARITY]>, D::Error> {
        let hex: Vec<Vec<String>> = Vec::deserialize(d)?;
        hex.into_iter()
            .map(|level| {
                let values = level
                    .iter()
                    .map(|h| field::from_hex(h).map_err(serde::de::Error::custom))
                    .collect::<Result<Vec<Fr>, _>>()?;
                <[Fr; ARITY]>::try_from(values).map_err(|v| {
                    serde::de::Error::custom(format!(
                        "a receipt level has {} elements, not 8",
                        v.len()
                    ))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(seq: u64, addr: u8, weight: u128) -> WindowEntry {
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&seq.to_le_bytes());
        hash[31] = 0xff; // above r as a little-endian integer: exercises the reduction
        WindowEntry {
            seq,
            address: Address([addr; 20]),
            weight: Weight::new(weight).unwrap(),
            share_hash: ShareHash::from_byte_array(hash),
        }
    }

    /// The root straight from DESIGN item 6's definition, level by level.
    fn reference_root(log2_slots: u32, slots: &[Slot]) -> WindowRoot {
        assert_eq!(slots.len(), 1 << log2_slots);
        let mut level: Vec<Fr> = slots
            .iter()
            .flat_map(|s| [s.packed, s.share_hash])
            .collect();
        loop {
            level = level
                .chunks(8)
                .map(|c| {
                    let mut g = [Fr::ZERO; 8];
                    g[..c.len()].copy_from_slice(c);
                    crate::poseidon::hash(&g).unwrap()
                })
                .collect();
            if level.len() == 1 {
                return WindowRoot(level[0]);
            }
        }
    }

    #[test]
    fn empty_window_root_is_the_hash_of_zeros() {
        for k in 1..=5 {
            let mut w = Window::new(k).unwrap();
            assert_eq!(
                w.root(),
                reference_root(k, &vec![Slot::EMPTY; 1 << k]),
                "k = {k}"
            );
        }
    }

    #[test]
    fn small_windows_hash_their_padded_elements_once() {
        // 2N = 4 <= 8: the root is the hash of the 4 elements and 4 zeros.
        let mut w = Window::new(1).unwrap();
        w.push(entry(0, 1, 5)).unwrap();
        let s = entry(0, 1, 5).slot();
        let expected = crate::poseidon::hash(&[
            s.packed,
            s.share_hash,
            Fr::ZERO,
            Fr::ZERO,
            Fr::ZERO,
            Fr::ZERO,
            Fr::ZERO,
            Fr::ZERO,
        ])
        .unwrap();
        assert_eq!(w.root(), WindowRoot(expected));
        assert_eq!(tree_depth(1), 1);
        assert_eq!(tree_depth(2), 1);
        assert_eq!(tree_depth(3), 2);
        assert_eq!(tree_depth(4), 2);
        assert_eq!(tree_depth(6), 3);
    }

    #[test]
    fn out_of_order_appends_are_refused() {
        let mut w = Window::new(3).unwrap();
        assert_eq!(
            w.push(entry(1, 1, 1)),
            Err(WindowError::OutOfOrder {
                expected: 0,
                got: 1
            })
        );
        assert!(Window::new(0).is_err());
        assert!(Window::new(25).is_err());
    }

    #[test]
    fn packed_slot_is_address_times_2_pow_92_plus_weight() {
        let mut a = [0u8; 20];
        a[19] = 3;
        let p = pack(&Address(a), Weight::new(7).unwrap());
        assert_eq!(
            p,
            Fr::from(3u64) * Fr::from(2u64).pow([92]) + Fr::from(7u64)
        );
    }

    #[test]
    fn snapshot_round_trips_through_json_and_rebuilds_the_window() {
        let mut w = Window::new(3).unwrap();
        for seq in 0..13 {
            w.push(entry(seq, (seq % 3 + 1) as u8, seq as u128 + 1))
                .unwrap();
        }
        let snap = w.snapshot();
        assert_eq!(snap.entries.len(), 8);
        let json = serde_json::to_string(&snap).unwrap();
        let back: WindowSnapshot = serde_json::from_str(&json).unwrap();
        let mut rebuilt = back.to_window().unwrap();
        assert_eq!(rebuilt.root(), snap.root);
        assert_eq!(rebuilt.next_seq(), 13);
        let mut tampered = back.clone();
        tampered.entries[0].weight = Weight::new(999).unwrap();
        assert!(matches!(
            tampered.to_window(),
            Err(WindowError::RootMismatch { .. })
        ));
    }

    #[test]
    fn receipts_serialize_and_verify() {
        let mut w = Window::new(4).unwrap();
        for seq in 0..20 {
            w.push(entry(seq, 9, 100)).unwrap();
        }
        let r = w.receipt(17).unwrap();
        let json = serde_json::to_string(&r).unwrap();
        let r: ShareReceipt = serde_json::from_str(&json).unwrap();
        let root = w.root();
        assert_eq!(r.entry, entry(17, 9, 100));
        assert_eq!(r.verify(&root), Ok(()));
        // Share 3 was evicted by share 19.
        assert!(w.receipt(3).is_none());
        assert!(w.receipt(20).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn incremental_root_equals_full_recomputation(
            k in 1u32..6,
            weights in proptest::collection::vec(1u128..1 << 91, 0..80),
            checkpoints in proptest::collection::vec(0usize..80, 0..4),
        ) {
            let n = 1usize << k;
            let mut w = Window::new(k).unwrap();
            let mut slots = vec![Slot::EMPTY; n];
            for (seq, &weight) in weights.iter().enumerate() {
                let e = entry(seq as u64, (seq % 5 + 1) as u8, weight);
                w.push(e).unwrap();
                slots[seq % n] = e.slot();
                if checkpoints.contains(&seq) {
                    prop_assert_eq!(w.root(), reference_root(k, &slots));
                }
            }
            prop_assert_eq!(w.root(), reference_root(k, &slots));
        }

        #[test]
        fn receipts_verify_and_a_changed_leaf_fails(
            k in 1u32..7,
            count in 1u64..150,
            pick in any::<u64>(),
            tamper in 0usize..8,
        ) {
            let mut w = Window::new(k).unwrap();
            for seq in 0..count {
                w.push(entry(seq, (seq % 7 + 1) as u8, 1 + seq as u128)).unwrap();
            }
            let n = 1u64 << k;
            let first = count.saturating_sub(n);
            let seq = first + pick % (count - first);
            let receipt = w.receipt(seq).unwrap();
            let root = w.root();
            prop_assert_eq!(receipt.verify(&root), Ok(()));

            // Another weight for the same share: the slot no longer matches.
            let mut other = receipt.clone();
            other.entry.weight = Weight::new(other.entry.weight.get() + 1).unwrap();
            prop_assert_eq!(other.verify(&root), Err(ReceiptError::SlotMismatch));

            // A changed element anywhere in the path: verification fails.
            let mut bad = receipt.clone();
            let level = tamper % bad.levels.len();
            bad.levels[level][tamper] += Fr::ONE;
            prop_assert!(bad.verify(&root).is_err());

            // The right path against another root fails.
            let other_root = WindowRoot(root.0 + Fr::ONE);
            let is_root_mismatch = matches!(receipt.verify(&other_root), Err(ReceiptError::Root { .. }));
            prop_assert!(is_root_mismatch);
        }
    }

    #[test]
    fn an_entry_encodes_and_decodes_and_bad_bytes_are_errors() {
        let e = WindowEntry {
            seq: 9,
            address: Address([7; 20]),
            weight: Weight::new(12345).unwrap(),
            share_hash: ShareHash::from_byte_array([3; 32]),
        };
        assert_eq!(WindowEntry::from_bytes(9, &e.to_bytes()).unwrap(), e);
        assert!(matches!(
            WindowEntry::from_bytes(9, &e.to_bytes()[1..]),
            Err(EntryError::Length { seq: 9, got: 67 })
        ));
        let mut heavy = e.to_bytes();
        heavy[20..36].copy_from_slice(&u128::MAX.to_le_bytes());
        assert!(matches!(
            WindowEntry::from_bytes(9, &heavy),
            Err(EntryError::Weight { seq: 9, .. })
        ));
    }
}
