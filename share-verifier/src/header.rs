//! Header reconstruction: coinbase → txid → Merkle root → 80-byte header →
//! double-SHA256, the proof of work of every share.
//!
//! [`PreparedJob`] is the hot path. It caches the SHA-256 midstate of
//! `coinb1` once per job and then hashes exactly the bytes that change per
//! share, calling the SHA-256 compression function directly (SHA-NI where
//! the CPU has it). [`PreparedJob::header`] builds the same header through
//! rust-bitcoin's types; tests keep the two paths equal.

use bitcoin::block::{Header, Version};
use bitcoin::hashes::Hash;
use bitcoin::pow::CompactTarget;
use bitcoin::{BlockHash, TxMerkleNode, Txid};
use sha2::block_api::compress256;

use crate::job::Job;
use crate::target::{ShareHash, ShareTarget};

/// SHA-256's initial state (FIPS 180-4, 5.3.3).
const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// The padding block that follows a 64-byte message: 0x80, zeros, length 512 bits.
const PAD_64: [u8; 64] = {
    let mut b = [0u8; 64];
    b[0] = 0x80;
    b[62] = 0x02;
    b
};

/// A job made ready for hashing many shares: coinb1's SHA-256 midstate and
/// the constant parts of the header, in the byte order they are hashed in.
#[derive(Debug, Clone)]
pub struct PreparedJob {
    /// SHA-256 state after coinb1's whole 64-byte blocks.
    midstate: [u32; 8],
    /// coinb1's bytes after its last whole block (fewer than 64).
    coinb1_tail: Vec<u8>,
    /// Bytes absorbed into `midstate`.
    coinb1_absorbed: u64,
    coinb2: Vec<u8>,
    branch: Vec<[u8; 32]>,
    prevhash: [u8; 32],
    /// The job's version before rolling.
    pub version: Version,
    /// The network target of the job, compact.
    pub nbits: CompactTarget,
}

impl PreparedJob {
    /// Caches coinb1's midstate and the header's constant fields.
    pub fn new(job: &Job) -> Self {
        let whole = job.coinb1.len() / 64 * 64;
        let mut midstate = IV;
        let (blocks, _) = job.coinb1[..whole].as_chunks::<64>();
        compress256(&mut midstate, blocks);
        PreparedJob {
            midstate,
            coinb1_tail: job.coinb1[whole..].to_vec(),
            coinb1_absorbed: whole as u64,
            coinb2: job.coinb2.clone(),
            branch: job
                .merkle_branch
                .iter()
                .map(|n| n.to_byte_array())
                .collect(),
            prevhash: job.prevhash.to_byte_array(),
            version: job.version,
            nbits: job.nbits,
        }
    }

    /// The coinbase's txid (sha256d of coinb1 || extranonce1 || extranonce2 || coinb2).
    pub fn coinbase_txid(&self, extranonce1: &[u8], extranonce2: &[u8]) -> Txid {
        let mut stream =
            Sha256Stream::resume(self.midstate, &self.coinb1_tail, self.coinb1_absorbed);
        stream.update(extranonce1);
        stream.update(extranonce2);
        stream.update(&self.coinb2);
        Txid::from_byte_array(sha256_of_digest(&stream.finish()))
    }

    /// The Merkle root: the coinbase txid folded with the branch.
    pub fn merkle_root(&self, extranonce1: &[u8], extranonce2: &[u8]) -> TxMerkleNode {
        let mut node = self.coinbase_txid(extranonce1, extranonce2).to_byte_array();
        for sibling in &self.branch {
            node = merkle_step(&node, sibling);
        }
        TxMerkleNode::from_byte_array(node)
    }

    /// The share's hash: the hot path, no allocation.
    #[inline]
    pub fn hash(
        &self,
        extranonce1: &[u8],
        extranonce2: &[u8],
        ntime: u32,
        nonce: u32,
        version: Version,
    ) -> ShareHash {
        let root = self.merkle_root(extranonce1, extranonce2).to_byte_array();
        let mut blocks = [[0u8; 64]; 2];
        blocks[0][..4].copy_from_slice(&version.to_consensus().to_le_bytes());
        blocks[0][4..36].copy_from_slice(&self.prevhash);
        blocks[0][36..64].copy_from_slice(&root[..28]);
        blocks[1][..4].copy_from_slice(&root[28..]);
        blocks[1][4..8].copy_from_slice(&ntime.to_le_bytes());
        blocks[1][8..12].copy_from_slice(&self.nbits.to_consensus().to_le_bytes());
        blocks[1][12..16].copy_from_slice(&nonce.to_le_bytes());
        blocks[1][16] = 0x80;
        blocks[1][62..].copy_from_slice(&(80u16 * 8).to_be_bytes());
        let mut state = IV;
        compress256(&mut state, &blocks);
        ShareHash::from_byte_array(sha256_of_digest(&state_bytes(&state)))
    }

    /// The header's first 76 bytes (everything but the nonce), in the order
    /// they are hashed: what a miner's nonce search ([`scan`]) starts from.
    pub fn header_prefix(
        &self,
        extranonce1: &[u8],
        extranonce2: &[u8],
        ntime: u32,
        version: Version,
    ) -> [u8; 76] {
        let root = self.merkle_root(extranonce1, extranonce2);
        let mut p = [0u8; 76];
        p[..4].copy_from_slice(&version.to_consensus().to_le_bytes());
        p[4..36].copy_from_slice(&self.prevhash);
        p[36..68].copy_from_slice(root.as_byte_array());
        p[68..72].copy_from_slice(&ntime.to_le_bytes());
        p[72..76].copy_from_slice(&self.nbits.to_consensus().to_le_bytes());
        p
    }

    /// The same header through rust-bitcoin's types (the reference path).
    pub fn header(
        &self,
        extranonce1: &[u8],
        extranonce2: &[u8],
        ntime: u32,
        nonce: u32,
        version: Version,
    ) -> Header {
        Header {
            version,
            prev_blockhash: BlockHash::from_byte_array(self.prevhash),
            merkle_root: self.merkle_root(extranonce1, extranonce2),
            time: ntime,
            bits: self.nbits,
            nonce,
        }
    }

    /// How many SHA-256 compressions [`PreparedJob::hash`] runs for a share
    /// with `extranonce_len` bytes of extranonce1 + extranonce2: the floor
    /// any implementation of share validation has to pay.
    pub fn compressions_per_share(&self, extranonce_len: usize) -> usize {
        let coinbase_bytes = self.coinb1_tail.len() + extranonce_len + self.coinb2.len();
        let coinbase = (coinbase_bytes + 9).div_ceil(64) + 1;
        coinbase + 3 * self.branch.len() + 3
    }
}

/// The nonce search: hashes `count` nonces from `start` after a header
/// prefix ([`PreparedJob::header_prefix`]) and calls `found` for each nonce
/// whose hash meets `target`, stopping early when it returns `false`.
/// Returns the nonces tried.
///
/// It hashes from the SHA-256 midstate of the prefix's first 64 bytes: two
/// compressions per nonce (SHA-NI where the CPU has it), and compares the
/// hash's top 32 bits before building the full hash. The built-in miner,
/// the load generator and the tests all mine with it.
pub fn scan(
    header_prefix: &[u8; 76],
    target: &ShareTarget,
    start: u32,
    count: u32,
    mut found: impl FnMut(u32, ShareHash) -> bool,
) -> u32 {
    let mut first = [0u8; 64];
    first.copy_from_slice(&header_prefix[..64]);
    let mut midstate = IV;
    compress256(&mut midstate, &[first]);
    let mut tail = [0u8; 64];
    tail[..12].copy_from_slice(&header_prefix[64..76]);
    tail[16] = 0x80;
    tail[62..].copy_from_slice(&(80u16 * 8).to_be_bytes());
    let mut second = [0u8; 64];
    second[32] = 0x80;
    second[62] = 0x01;
    let top = target.to_be_bytes()[..4]
        .iter()
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    let end = start.saturating_add(count);
    for nonce in start..end {
        tail[12..16].copy_from_slice(&nonce.to_le_bytes());
        let mut state = midstate;
        compress256(&mut state, &[tail]);
        for (chunk, word) in second[..32].chunks_exact_mut(4).zip(&state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        let mut out = IV;
        compress256(&mut out, &[second]);
        // The hash's most significant 32 bits (it is read little-endian).
        let high = out[7].swap_bytes();
        if high > top {
            continue;
        }
        let hash = ShareHash::from_byte_array(state_bytes(&out));
        if target.is_met_by(&hash) && !found(nonce, hash) {
            return nonce - start + 1;
        }
    }
    end - start
}

/// The first nonce in `start..start + count` whose hash meets `target`
/// ([`scan`] stopped at its first find).
pub fn first_nonce(
    header_prefix: &[u8; 76],
    target: &ShareTarget,
    start: u32,
    count: u32,
) -> Option<u32> {
    let mut hit = None;
    scan(header_prefix, target, start, count, |nonce, _| {
        hit = Some(nonce);
        false
    });
    hit
}

/// The Merkle branch of the coinbase (position 0) in a block whose other
/// transactions have `txids`, in block order: what `mining.notify` sends.
pub fn coinbase_merkle_branch(txids: &[Txid]) -> Vec<TxMerkleNode> {
    // Bitcoin's tree with a placeholder at position 0: at each level the
    // sibling of the leftmost node joins the branch; odd levels repeat their
    // last node.
    let mut level: Vec<[u8; 32]> = Vec::with_capacity(txids.len() + 1);
    level.push([0; 32]);
    level.extend(txids.iter().map(|t| t.to_byte_array()));
    let mut branch = Vec::new();
    while level.len() > 1 {
        if level.len() % 2 == 1 {
            level.push(*level.last().expect("non-empty"));
        }
        branch.push(TxMerkleNode::from_byte_array(level[1]));
        level = level
            .chunks_exact(2)
            .map(|pair| merkle_step(&pair[0], &pair[1]))
            .collect();
    }
    branch
}

/// sha256d of a header through rust-bitcoin, for the slow path and tests.
pub fn header_hash(header: &Header) -> ShareHash {
    ShareHash::from_byte_array(header.block_hash().to_byte_array())
}

/// One step up a Merkle tree: sha256d(left || right).
#[inline]
fn merkle_step(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(left);
    block[32..].copy_from_slice(right);
    let mut state = IV;
    compress256(&mut state, &[block, PAD_64]);
    sha256_of_digest(&state_bytes(&state))
}

/// SHA-256 of a 32-byte digest: the second half of every sha256d.
#[inline]
fn sha256_of_digest(digest: &[u8; 32]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(digest);
    block[32] = 0x80;
    block[62] = 0x01; // 256 bits
    let mut state = IV;
    compress256(&mut state, &[block]);
    state_bytes(&state)
}

#[inline]
fn state_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

/// A SHA-256 computation resumed from a midstate, fed by slices.
struct Sha256Stream {
    state: [u32; 8],
    buf: [u8; 64],
    buf_len: usize,
    total: u64,
}

impl Sha256Stream {
    #[inline]
    fn resume(state: [u32; 8], tail: &[u8], absorbed: u64) -> Self {
        let mut buf = [0u8; 64];
        buf[..tail.len()].copy_from_slice(tail);
        Sha256Stream {
            state,
            buf,
            buf_len: tail.len(),
            total: absorbed + tail.len() as u64,
        }
    }

    #[inline]
    fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.buf_len > 0 {
            let take = (64 - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < 64 {
                return;
            }
            compress256(&mut self.state, &[self.buf]);
            self.buf_len = 0;
        }
        let (blocks, rest) = data.as_chunks::<64>();
        if !blocks.is_empty() {
            compress256(&mut self.state, blocks);
        }
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    #[inline]
    fn finish(mut self) -> [u8; 32] {
        let bits = self.total * 8;
        self.buf[self.buf_len] = 0x80;
        self.buf[self.buf_len + 1..].fill(0);
        if self.buf_len >= 56 {
            compress256(&mut self.state, &[self.buf]);
            self.buf = [0u8; 64];
        }
        self.buf[56..].copy_from_slice(&bits.to_be_bytes());
        compress256(&mut self.state, &[self.buf]);
        state_bytes(&self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::JobId;
    use bitcoin::hashes::{sha256, sha256d};
    use proptest::prelude::*;

    fn job(coinb1: Vec<u8>, coinb2: Vec<u8>, branch: Vec<[u8; 32]>) -> Job {
        Job {
            id: JobId(1),
            prevhash: BlockHash::from_byte_array([7; 32]),
            coinb1,
            coinb2,
            merkle_branch: branch
                .into_iter()
                .map(TxMerkleNode::from_byte_array)
                .collect(),
            version: Version::from_consensus(0x2000_0000),
            nbits: CompactTarget::from_consensus(0x207f_ffff),
            ntime: 1_700_000_000,
            clean_jobs: true,
        }
    }

    #[test]
    fn stream_matches_sha256_at_every_split() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 200, 300] {
            let (a, b) = data.split_at(split);
            let whole = a.len() / 64 * 64;
            let mut state = IV;
            compress256(&mut state, a[..whole].as_chunks::<64>().0);
            let mut s = Sha256Stream::resume(state, &a[whole..], whole as u64);
            s.update(b);
            assert_eq!(
                s.finish(),
                sha256::Hash::hash(&data).to_byte_array(),
                "split {split}"
            );
        }
    }

    proptest! {
        #[test]
        fn fast_hash_equals_rust_bitcoin_header_hash(
            coinb1 in proptest::collection::vec(any::<u8>(), 0..200),
            coinb2 in proptest::collection::vec(any::<u8>(), 0..200),
            en1 in proptest::collection::vec(any::<u8>(), 0..9),
            en2 in proptest::collection::vec(any::<u8>(), 0..9),
            branch in proptest::collection::vec(any::<[u8; 32]>(), 0..13),
            ntime: u32, nonce: u32, version: i32,
        ) {
            let job = job(coinb1, coinb2, branch);
            let p = PreparedJob::new(&job);
            let coinbase = job.coinbase(&en1, &en2);
            prop_assert_eq!(p.coinbase_txid(&en1, &en2).to_byte_array(), sha256d::Hash::hash(&coinbase).to_byte_array());
            let v = Version::from_consensus(version);
            let header = p.header(&en1, &en2, ntime, nonce, v);
            prop_assert_eq!(p.hash(&en1, &en2, ntime, nonce, v), header_hash(&header));
        }
    }

    #[test]
    fn scan_finds_exactly_the_nonces_the_reference_hash_accepts() {
        let job = job(vec![2, 0], vec![0xff; 2], vec![[1; 32]]);
        let p = PreparedJob::new(&job);
        let target = crate::Difficulty::new(1.0 / 256.0 / 4_294_967_296.0 * 4096.0)
            .unwrap()
            .to_target();
        let (en1, en2) = ([1, 2, 3, 4], [0, 0, 0, 1]);
        let prefix = p.header_prefix(&en1, &en2, job.ntime, job.version);
        let mut found = Vec::new();
        scan(&prefix, &target, 0, 4096, |n, h| {
            found.push((n, h));
            true
        });
        let expected: Vec<(u32, ShareHash)> = (0..4096)
            .map(|n| {
                (
                    n,
                    header_hash(&p.header(&en1, &en2, job.ntime, n, job.version)),
                )
            })
            .filter(|(_, h)| target.is_met_by(h))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(found, expected);
        assert_eq!(first_nonce(&prefix, &target, 0, 4096), Some(expected[0].0));
    }

    #[test]
    fn scan_stops_when_told_and_counts_the_nonces_tried() {
        let prefix = [3u8; 76];
        let mut seen = 0;
        let tried = scan(&prefix, &ShareTarget::MAX, 100, 1000, |_, _| {
            seen += 1;
            seen < 3
        });
        assert_eq!((seen, tried), (3, 3), "every hash meets the easiest target");
        assert_eq!(
            scan(&prefix, &ShareTarget::MAX, u32::MAX - 1, 10, |_, _| true),
            1
        );
    }

    #[test]
    fn compressions_are_counted_for_a_twelve_level_branch() {
        let p = PreparedJob::new(&job(vec![0; 100], vec![0; 120], vec![[1; 32]; 12]));
        // coinbase: 36 + 12 + 120 = 168 bytes + 9 padding -> 3 blocks, +1 second hash;
        // branch 12 * 3; header 2 + 1.
        assert_eq!(p.compressions_per_share(12), 4 + 36 + 3);
    }
}
