//! The embedded regtest chain: a real chain kept in-process, starting from
//! Bitcoin's regtest genesis block, persisted in sled.
//!
//! It builds templates for the next block (BIP34 height, nBits from its
//! [`DifficultyRule`], regtest subsidy) and accepts a submitted block only
//! after full checks: its parent is known, it carries the nBits its branch
//! requires, its hash meets that target, its time is after the median of the
//! last 11 blocks of its branch and at most two hours ahead, its Merkle root
//! matches, its coinbase starts with the height and pays at most subsidy +
//! fees. No block appears unless a miner finds it. There is no mempool, so
//! blocks hold only their coinbase and fees are zero.
//!
//! Like a Bitcoin node it keeps side branches: a valid block whose parent
//! is not the tip is stored, and when its branch has more work than the
//! best chain the chain reorganises onto it (the replaced blocks become a
//! side branch in turn). Blocks of the pool that leave the best chain this
//! way are orphaned and never settled.

mod difficulty;

pub use difficulty::{pow_limit, retarget, DifficultyError, DifficultyRule};

use std::collections::HashMap;

use bitcoin::block::{Header, Version};
use bitcoin::blockdata::constants::genesis_block;
use bitcoin::blockdata::script::Builder;
use bitcoin::hashes::Hash;
use bitcoin::pow::{CompactTarget, Target, Work};
use bitcoin::{Amount, Block, BlockHash, Network};

use crate::Template;

/// Regtest's subsidy halving interval (Bitcoin Core `chainparams.cpp`).
pub const REGTEST_HALVING_INTERVAL: u32 = 150;
/// How far ahead of the local clock a block's time may be (Bitcoin Core's `MAX_FUTURE_BLOCK_TIME`).
pub const MAX_FUTURE_BLOCK_TIME: u32 = 2 * 60 * 60;
/// Blocks in the median-time-past window (BIP113).
const MEDIAN_TIME_SPAN: usize = 11;
/// First byte of a side-branch block's key (`s`, height, hash); best-chain
/// blocks are keyed by their 4-byte height alone.
const SIDE_PREFIX: u8 = b's';

/// Why a block was refused, with the values involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The block's parent is not a block this chain knows.
    #[error("block's parent {0} is not a known block")]
    UnknownParent(BlockHash),
    /// The block is already stored (on the best chain or a side branch).
    #[error("block {0} is already known")]
    Duplicate(BlockHash),
    /// nBits is not what the difficulty rule requires.
    #[error("block nBits {got:08x}, the rule requires {expected:08x}")]
    BadBits { expected: u32, got: u32 },
    /// The hash does not meet the target.
    #[error("block hash {0} does not meet its target")]
    HighHash(BlockHash),
    /// The time is not after the median of the last 11 blocks.
    #[error("block time {time} is not after the median time past {median}")]
    TimeTooOld { time: u32, median: u32 },
    /// The time is more than two hours ahead.
    #[error("block time {time} is more than two hours after now ({now})")]
    TimeTooNew { time: u32, now: u32 },
    /// The Merkle root does not commit to the transactions.
    #[error("block Merkle root does not match its transactions")]
    BadMerkleRoot,
    /// The first transaction is not a coinbase, or a later one is.
    #[error("block must hold exactly one coinbase, first")]
    BadCoinbase,
    /// The coinbase does not start with the BIP34 height.
    #[error("coinbase scriptSig does not start with height {0} (BIP34)")]
    BadHeight(u32),
    /// The coinbase pays more than subsidy + fees.
    #[error("coinbase pays {paid}, above subsidy + fees {allowed}")]
    CoinbaseValue { paid: Amount, allowed: Amount },
    /// The embedded chain has no mempool: only coinbase-only blocks.
    #[error(
        "block holds {0} transactions besides the coinbase; the embedded chain has no mempool"
    )]
    UnexpectedTransactions(usize),
    /// The version is below 2 (BIP34).
    #[error("block version {0} is below 2")]
    OldVersion(i32),
    /// The store failed.
    #[error("chain store: {0}")]
    Store(#[source] StoreFailure),
    /// A stored block or key does not decode.
    #[error("chain store: corrupt {what}: {detail}")]
    Corrupt {
        /// What is corrupt (a block at a key, the height sequence, a key).
        what: &'static str,
        /// Where.
        detail: String,
    },
}

/// A sled failure, shared so that errors holding it stay `Clone`; two are
/// equal only when they are the same failure. The one way every crate of
/// the pool wraps a sled error.
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct StoreFailure(std::sync::Arc<sled::Error>);

impl From<sled::Error> for StoreFailure {
    fn from(e: sled::Error) -> Self {
        StoreFailure(std::sync::Arc::new(e))
    }
}

impl PartialEq for StoreFailure {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StoreFailure {}

/// Where an accepted block went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// It extended the best chain and is the new tip.
    Extended {
        /// Its height.
        height: u32,
    },
    /// It is valid but its branch has no more work than the best chain:
    /// stored on a side branch.
    SideBranch {
        /// Its height.
        height: u32,
    },
    /// Its branch now has the most work: the chain switched to it and it is
    /// the new tip.
    Reorganised {
        /// Its height.
        height: u32,
        /// The last block both branches share.
        fork_height: u32,
        /// The blocks that left the best chain, lowest first.
        disconnected: Vec<BlockHash>,
    },
}

impl Accepted {
    /// The accepted block's height.
    pub fn height(&self) -> u32 {
        match *self {
            Accepted::Extended { height }
            | Accepted::SideBranch { height }
            | Accepted::Reorganised { height, .. } => height,
        }
    }

    /// Whether the block is now the tip.
    pub fn is_tip(&self) -> bool {
        !matches!(self, Accepted::SideBranch { .. })
    }
}

/// The regtest subsidy at `height`: 50 BTC halved every 150 blocks.
pub fn subsidy(height: u32) -> Amount {
    let halvings = height / REGTEST_HALVING_INTERVAL;
    if halvings >= 64 {
        return Amount::ZERO;
    }
    Amount::from_sat((50 * 100_000_000u64) >> halvings)
}

/// The headers a new block builds on: the best chain up to `fork`, then a
/// side branch's `path`.
struct Branch<'a> {
    main: &'a [Header],
    fork: usize,
    path: Vec<Header>,
}

impl Branch<'_> {
    /// Blocks on the branch (the new block's height).
    fn len(&self) -> usize {
        self.fork + 1 + self.path.len()
    }

    fn at(&self, height: usize) -> &Header {
        if height <= self.fork {
            &self.main[height]
        } else {
            &self.path[height - self.fork - 1]
        }
    }

    /// The nBits the next block on this branch must carry.
    fn next_nbits(&self, rule: DifficultyRule) -> CompactTarget {
        let next = self.len() as u32;
        let parent = self.at(next as usize - 1).bits;
        if next == 1 {
            // Genesis carries regtest's powLimit; a fixed rule takes over from block 1.
            return match rule {
                DifficultyRule::Fixed { nbits } => nbits,
                DifficultyRule::Retarget { .. } => parent,
            };
        }
        rule.next_nbits(next, parent, |first| {
            (
                self.at(first as usize).time,
                self.at(next as usize - 1).time,
            )
        })
    }

    /// The median time of the branch's last 11 blocks (BIP113).
    fn median_time_past(&self) -> u32 {
        let len = self.len();
        let mut times: Vec<u32> = (len.saturating_sub(MEDIAN_TIME_SPAN)..len)
            .map(|h| self.at(h).time)
            .collect();
        times.sort_unstable();
        times[times.len() / 2]
    }
}

/// The chain: best-chain headers and side-branch headers in memory, whole
/// blocks in sled (best chain keyed by height, side branches by
/// `s`‖height‖hash).
#[derive(Debug)]
pub struct Chain {
    rule: DifficultyRule,
    tree: sled::Tree,
    headers: Vec<Header>,
    /// Side-branch headers by hash.
    side: HashMap<BlockHash, Header>,
}

fn side_key(height: u32, hash: &BlockHash) -> Vec<u8> {
    let mut key = Vec::with_capacity(37);
    key.push(SIDE_PREFIX);
    key.extend_from_slice(&height.to_be_bytes());
    key.extend_from_slice(hash.as_byte_array());
    key
}

fn store_error(e: sled::Error) -> BlockError {
    BlockError::Store(e.into())
}

impl Chain {
    /// Opens the chain stored in `tree`, or starts it at regtest's genesis.
    ///
    /// # Errors
    /// [`sled::Error`] from the store, or a stored block that does not decode.
    pub fn open(tree: sled::Tree, rule: DifficultyRule) -> Result<Self, BlockError> {
        let mut headers = Vec::new();
        let mut side = HashMap::new();
        for item in tree.iter() {
            let (key, value) = item.map_err(store_error)?;
            let block: Block =
                bitcoin::consensus::deserialize(&value).map_err(|e| BlockError::Corrupt {
                    what: "block",
                    detail: format!("at key {}: {e}", hex::encode(&key)),
                })?;
            match key.len() {
                4 => {
                    let height = u32::from_be_bytes(key.as_ref().try_into().expect("4 bytes"));
                    if height as usize != headers.len() {
                        return Err(BlockError::Corrupt {
                            what: "height sequence",
                            detail: format!("a gap before height {height}"),
                        });
                    }
                    headers.push(block.header);
                }
                37 if key[0] == SIDE_PREFIX => {
                    side.insert(block.block_hash(), block.header);
                }
                _ => {
                    return Err(BlockError::Corrupt {
                        what: "key",
                        detail: hex::encode(&key),
                    })
                }
            }
        }
        let mut chain = Chain {
            rule,
            tree,
            headers,
            side,
        };
        if chain.headers.is_empty() {
            let genesis = genesis_block(Network::Regtest);
            chain.persist(0, &genesis)?;
            chain.headers.push(genesis.header);
        }
        Ok(chain)
    }

    fn persist(&self, height: u32, block: &Block) -> Result<(), BlockError> {
        self.tree
            .insert(height.to_be_bytes(), bitcoin::consensus::serialize(block))
            .map_err(store_error)?;
        self.tree.flush().map_err(store_error)?;
        Ok(())
    }

    /// The tip's height.
    pub fn height(&self) -> u32 {
        (self.headers.len() - 1) as u32
    }

    /// The tip's hash.
    pub fn tip(&self) -> BlockHash {
        self.headers[self.headers.len() - 1].block_hash()
    }

    /// The header at `height` on the best chain.
    pub fn header(&self, height: u32) -> Option<&Header> {
        self.headers.get(height as usize)
    }

    /// The whole block at `height` on the best chain.
    pub fn block(&self, height: u32) -> Option<Block> {
        let bytes = self.tree.get(height.to_be_bytes()).ok()??;
        bitcoin::consensus::deserialize(&bytes).ok()
    }

    /// Blocks stored on side branches.
    pub fn side_blocks(&self) -> usize {
        self.side.len()
    }

    /// The difficulty rule.
    pub fn rule(&self) -> DifficultyRule {
        self.rule
    }

    /// The best chain as a branch to build on.
    fn best(&self) -> Branch<'_> {
        Branch {
            main: &self.headers,
            fork: self.headers.len() - 1,
            path: Vec::new(),
        }
    }

    /// The branch ending at `parent`, if the block is known.
    fn branch_to(&self, parent: &BlockHash) -> Option<Branch<'_>> {
        if let Some(height) = self.height_of(parent) {
            return Some(Branch {
                main: &self.headers,
                fork: height as usize,
                path: Vec::new(),
            });
        }
        let mut path = Vec::new();
        let mut cursor = *parent;
        while let Some(header) = self.side.get(&cursor) {
            path.push(*header);
            cursor = header.prev_blockhash;
            if let Some(height) = self.height_of(&cursor) {
                path.reverse();
                return Some(Branch {
                    main: &self.headers,
                    fork: height as usize,
                    path,
                });
            }
        }
        None
    }

    /// The nBits the next block must carry.
    pub fn next_nbits(&self) -> CompactTarget {
        self.best().next_nbits(self.rule)
    }

    /// The median time of the last 11 blocks (BIP113).
    pub fn median_time_past(&self) -> u32 {
        self.best().median_time_past()
    }

    /// The template for the next block at wall-clock time `now` (Unix seconds).
    pub fn template(&self, now: u32) -> Template {
        let height = self.headers.len() as u32;
        let min_time = self.median_time_past() + 1;
        Template {
            height,
            prevhash: self.tip(),
            version: Version::from_consensus(0x2000_0000),
            nbits: self.next_nbits(),
            time: now.max(min_time),
            min_time,
            coinbase_value: subsidy(height),
            transactions: Vec::new(),
            witness_commitment: None,
            merkle_branch: Vec::new(),
        }
    }

    /// Checks `block` against every rule and stores it: on the best chain
    /// when it extends the tip or its branch gets the most work (a
    /// reorganisation), on a side branch otherwise.
    ///
    /// # Errors
    /// [`BlockError`] naming the first rule broken.
    pub fn submit(&mut self, block: &Block, now: u32) -> Result<Accepted, BlockError> {
        let hash = block.block_hash();
        if self.side.contains_key(&hash) {
            return Err(BlockError::Duplicate(hash));
        }
        let parent = block.header.prev_blockhash;
        let branch = if parent == self.tip() {
            self.best()
        } else {
            let branch = self
                .branch_to(&parent)
                .ok_or(BlockError::UnknownParent(parent))?;
            // On the best chain, a block sits right above its parent.
            if branch.path.is_empty() && self.hash_at(branch.fork as u32 + 1) == Some(hash) {
                return Err(BlockError::Duplicate(hash));
            }
            branch
        };
        let height = check_block(block, &branch, self.rule, now)?;
        if branch.path.is_empty() && branch.fork == self.headers.len() - 1 {
            self.persist(height, block)?;
            self.headers.push(block.header);
            return Ok(Accepted::Extended { height });
        }
        let fork = branch.fork;
        let path = branch.path;
        let branch_work = path
            .iter()
            .chain(std::iter::once(&block.header))
            .fold(zero_work(), |w, h| w + h.work());
        let best_work = self.headers[fork + 1..]
            .iter()
            .fold(zero_work(), |w, h| w + h.work());
        if branch_work <= best_work {
            self.tree
                .insert(
                    side_key(height, &hash),
                    bitcoin::consensus::serialize(block),
                )
                .map_err(store_error)?;
            self.tree.flush().map_err(store_error)?;
            self.side.insert(hash, block.header);
            return Ok(Accepted::SideBranch { height });
        }
        self.reorganise(fork, path, block)
    }

    /// Makes the branch `path` + `block` above `fork` the best chain, in one
    /// atomic store batch.
    fn reorganise(
        &mut self,
        fork: usize,
        path: Vec<Header>,
        block: &Block,
    ) -> Result<Accepted, BlockError> {
        let mut batch = sled::Batch::default();
        let mut disconnected = Vec::new();
        for (h, header) in self.headers.iter().enumerate().skip(fork + 1) {
            let height = h as u32;
            let hash = header.block_hash();
            let bytes = self
                .tree
                .get(height.to_be_bytes())
                .map_err(store_error)?
                .ok_or_else(|| BlockError::Corrupt {
                    what: "best chain",
                    detail: format!("block {height} is missing"),
                })?;
            batch.remove(&height.to_be_bytes());
            batch.insert(side_key(height, &hash), bytes);
            disconnected.push(hash);
        }
        for (i, header) in path.iter().enumerate() {
            let height = (fork + 1 + i) as u32;
            let key = side_key(height, &header.block_hash());
            let bytes =
                self.tree
                    .get(&key)
                    .map_err(store_error)?
                    .ok_or_else(|| BlockError::Corrupt {
                        what: "side branch",
                        detail: format!("block {height} is missing"),
                    })?;
            batch.remove(key);
            batch.insert(&height.to_be_bytes(), bytes);
        }
        let height = (fork + 1 + path.len()) as u32;
        batch.insert(&height.to_be_bytes(), bitcoin::consensus::serialize(block));
        self.tree.apply_batch(batch).map_err(store_error)?;
        self.tree.flush().map_err(store_error)?;

        for header in self.headers.drain(fork + 1..) {
            self.side.insert(header.block_hash(), header);
        }
        for header in &path {
            self.side.remove(&header.block_hash());
        }
        self.headers.extend(path);
        self.headers.push(block.header);
        Ok(Accepted::Reorganised {
            height,
            fork_height: fork as u32,
            disconnected,
        })
    }

    /// The hash of the block at `height` on the best chain.
    pub fn hash_at(&self, height: u32) -> Option<BlockHash> {
        self.header(height).map(Header::block_hash)
    }

    /// Whether `hash` is on the best chain (and at which height).
    pub fn height_of(&self, hash: &BlockHash) -> Option<u32> {
        // Blocks are few and recent lookups dominate: scan from the tip.
        self.headers
            .iter()
            .rposition(|h| h.block_hash() == *hash)
            .map(|h| h as u32)
    }
}

fn zero_work() -> Work {
    Work::from_be_bytes([0; 32])
}

/// Every consensus check of `block` on top of `branch`; returns its height.
fn check_block(
    block: &Block,
    branch: &Branch<'_>,
    rule: DifficultyRule,
    now: u32,
) -> Result<u32, BlockError> {
    let header = &block.header;
    let height = branch.len() as u32;
    if header.version.to_consensus() < 2 {
        return Err(BlockError::OldVersion(header.version.to_consensus()));
    }
    let expected = branch.next_nbits(rule);
    if header.bits != expected {
        return Err(BlockError::BadBits {
            expected: expected.to_consensus(),
            got: header.bits.to_consensus(),
        });
    }
    header
        .validate_pow(Target::from_compact(expected))
        .map_err(|_| BlockError::HighHash(header.block_hash()))?;
    let median = branch.median_time_past();
    if header.time <= median {
        return Err(BlockError::TimeTooOld {
            time: header.time,
            median,
        });
    }
    if header.time > now.saturating_add(MAX_FUTURE_BLOCK_TIME) {
        return Err(BlockError::TimeTooNew {
            time: header.time,
            now,
        });
    }
    if !block.check_merkle_root() {
        return Err(BlockError::BadMerkleRoot);
    }
    let coinbase = block.txdata.first().ok_or(BlockError::BadCoinbase)?;
    if !coinbase.is_coinbase() || block.txdata[1..].iter().any(|t| t.is_coinbase()) {
        return Err(BlockError::BadCoinbase);
    }
    if block.txdata.len() > 1 {
        return Err(BlockError::UnexpectedTransactions(block.txdata.len() - 1));
    }
    let bip34 = Builder::new().push_int(i64::from(height)).into_script();
    if !coinbase.input[0]
        .script_sig
        .as_bytes()
        .starts_with(bip34.as_bytes())
    {
        return Err(BlockError::BadHeight(height));
    }
    let paid = coinbase
        .output
        .iter()
        .try_fold(Amount::ZERO, |acc, o| acc.checked_add(o.value))
        .unwrap_or(Amount::MAX);
    let allowed = subsidy(height);
    if paid > allowed {
        return Err(BlockError::CoinbaseValue { paid, allowed });
    }
    Ok(height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coinbase::CoinbaseBuilder;
    use bitcoin::hashes::Hash;
    use bitcoin::ScriptBuf;
    use share_verifier::WindowRoot;

    fn open(rule: DifficultyRule) -> (tempfile::TempDir, Chain) {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let chain = Chain::open(db.open_tree("chain").unwrap(), rule).unwrap();
        (dir, chain)
    }

    fn easy() -> DifficultyRule {
        DifficultyRule::Fixed {
            nbits: CompactTarget::from_consensus(0x207f_ffff),
        }
    }

    /// Mines the next block of `chain` from its template.
    fn mine(chain: &Chain, now: u32) -> Block {
        mine_template(&chain.template(now), b"t")
    }

    /// Mines a block on `parent` (at `height`) on the easy rule, its
    /// coinbase tagged `tag` so that branches differ.
    fn mine_on(parent: &Header, height: u32, tag: &[u8]) -> Block {
        let t = Template {
            height,
            prevhash: parent.block_hash(),
            version: Version::from_consensus(0x2000_0000),
            nbits: CompactTarget::from_consensus(0x207f_ffff),
            time: parent.time + 1,
            min_time: parent.time + 1,
            coinbase_value: subsidy(height),
            transactions: Vec::new(),
            witness_commitment: None,
            merkle_branch: Vec::new(),
        };
        mine_template(&t, tag)
    }

    fn mine_template(t: &Template, tag: &[u8]) -> Block {
        let parts = CoinbaseBuilder {
            settlement_script: ScriptBuf::from_hex("51").unwrap(),
            pool_tag: tag.to_vec(),
            extranonce1_size: 4,
            extranonce2_size: 8,
        }
        .build(t, &WindowRoot::default())
        .unwrap();
        let mut cb = parts.coinb1.clone();
        cb.extend_from_slice(&[0; 12]);
        cb.extend_from_slice(&parts.coinb2);
        let tx: bitcoin::Transaction = bitcoin::consensus::deserialize(&cb).unwrap();
        let mut header = Header {
            version: t.version,
            prev_blockhash: t.prevhash,
            merkle_root: bitcoin::TxMerkleNode::from_raw_hash(tx.compute_txid().to_raw_hash()),
            time: t.time,
            bits: t.nbits,
            nonce: 0,
        };
        while header.validate_pow(Target::from_compact(t.nbits)).is_err() {
            header.nonce += 1;
        }
        t.assemble(header, &cb).unwrap()
    }

    #[test]
    fn starts_at_regtest_genesis_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let db = sled::open(dir.path()).unwrap();
            let mut chain = Chain::open(db.open_tree("chain").unwrap(), easy()).unwrap();
            assert_eq!(chain.tip(), genesis_block(Network::Regtest).block_hash());
            for i in 0..3 {
                let b = mine(&chain, 1_700_000_000 + i);
                assert_eq!(
                    chain.submit(&b, 1_700_000_000 + i).unwrap(),
                    Accepted::Extended { height: i + 1 }
                );
            }
        }
        let db = sled::open(dir.path()).unwrap();
        let chain = Chain::open(db.open_tree("chain").unwrap(), easy()).unwrap();
        assert_eq!(chain.height(), 3);
        assert_eq!(
            chain.block(2).unwrap().header.prev_blockhash,
            chain.hash_at(1).unwrap()
        );
    }

    #[test]
    fn every_rule_is_checked() {
        let (_d, mut chain) = open(easy());
        let now = 1_700_000_000;
        let good = mine(&chain, now);

        let mut b = good.clone();
        b.header.prev_blockhash = BlockHash::all_zeros();
        assert_eq!(
            chain.submit(&b, now),
            Err(BlockError::UnknownParent(BlockHash::all_zeros()))
        );

        let mut b = good.clone();
        b.header.bits = CompactTarget::from_consensus(0x1d00_ffff);
        assert!(matches!(
            chain.submit(&b, now),
            Err(BlockError::BadBits { .. })
        ));

        let mut b = good.clone();
        b.header.time = now + MAX_FUTURE_BLOCK_TIME + 10;
        assert!(matches!(
            chain.submit(&b, now),
            Err(BlockError::TimeTooNew { .. }) | Err(BlockError::HighHash(_))
        ));

        let mut b = good.clone();
        b.txdata[0].output[0].value = Amount::from_sat(50 * 100_000_000 + 1);
        // The Merkle root is checked before the value.
        assert_eq!(chain.submit(&b, now), Err(BlockError::BadMerkleRoot));

        chain.submit(&good, now).unwrap();
        assert_eq!(
            chain.submit(&good, now),
            Err(BlockError::Duplicate(good.block_hash()))
        );
    }

    #[test]
    fn a_hard_target_refuses_an_easy_hash() {
        let rule = DifficultyRule::Fixed {
            nbits: CompactTarget::from_consensus(0x1d00_ffff),
        };
        let (_d, mut chain) = open(rule);
        let t = chain.template(1_700_000_000);
        assert_eq!(t.nbits.to_consensus(), 0x1d00_ffff);
        let block = t
            .assemble(
                Header {
                    version: t.version,
                    prev_blockhash: t.prevhash,
                    merkle_root: bitcoin::TxMerkleNode::all_zeros(),
                    time: t.time,
                    bits: t.nbits,
                    nonce: 0,
                },
                &bitcoin::consensus::serialize(&genesis_block(Network::Regtest).txdata[0]),
            )
            .unwrap();
        assert!(matches!(
            chain.submit(&block, 1_700_000_000),
            Err(BlockError::HighHash(_))
        ));
    }

    #[test]
    fn subsidy_halves_every_150_blocks() {
        assert_eq!(subsidy(1), Amount::from_sat(5_000_000_000));
        assert_eq!(subsidy(150), Amount::from_sat(2_500_000_000));
        assert_eq!(subsidy(150 * 64), Amount::ZERO);
    }

    #[test]
    fn retarget_chain_starts_at_genesis_bits() {
        let (_d, chain) = open(DifficultyRule::Retarget {
            interval: 5,
            spacing_secs: 30,
        });
        assert_eq!(chain.next_nbits().to_consensus(), 0x207f_ffff);
    }

    #[test]
    fn a_branch_with_more_work_reorganises_the_chain_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let now = 1_700_000_000;
        let (main, branch) = {
            let db = sled::open(dir.path()).unwrap();
            let mut chain = Chain::open(db.open_tree("chain").unwrap(), easy()).unwrap();
            let mut main = Vec::new();
            for i in 0..3 {
                let b = mine(&chain, now + i);
                chain.submit(&b, now).unwrap();
                main.push(b.block_hash());
            }
            // A competing branch from height 1: as much work is not enough.
            let fork = *chain.header(1).unwrap();
            let b2 = mine_on(&fork, 2, b"other");
            assert_eq!(
                chain.submit(&b2, now),
                Ok(Accepted::SideBranch { height: 2 })
            );
            let b3 = mine_on(&b2.header, 3, b"other");
            assert_eq!(
                chain.submit(&b3, now),
                Ok(Accepted::SideBranch { height: 3 })
            );
            assert_eq!(chain.tip(), main[2]);
            assert_eq!(
                chain.submit(&b3, now),
                Err(BlockError::Duplicate(b3.block_hash()))
            );
            // A side block is held to every rule of its own branch.
            let mut bad = mine_on(&b3.header, 5, b"other");
            bad.header.nonce = 0;
            assert!(matches!(
                chain.submit(&bad, now),
                Err(BlockError::BadHeight(4) | BlockError::HighHash(_) | BlockError::BadMerkleRoot)
            ));
            let b4 = mine_on(&b3.header, 4, b"other");
            assert_eq!(
                chain.submit(&b4, now),
                Ok(Accepted::Reorganised {
                    height: 4,
                    fork_height: 1,
                    disconnected: vec![main[1], main[2]],
                })
            );
            assert_eq!(chain.tip(), b4.block_hash());
            assert_eq!(chain.hash_at(2), Some(b2.block_hash()));
            assert_eq!(chain.block(3).unwrap(), b3);
            assert_eq!(chain.height_of(&main[2]), None);
            assert_eq!(chain.side_blocks(), 2);
            // The old branch can come back with more work.
            let old = chain_block_on_side(&chain, &main[2]);
            let c4 = mine_on(&old, 4, b"t");
            assert_eq!(
                chain.submit(&c4, now),
                Ok(Accepted::SideBranch { height: 4 })
            );
            (main, [b2.block_hash(), b3.block_hash(), b4.block_hash()])
        };
        let db = sled::open(dir.path()).unwrap();
        let chain = Chain::open(db.open_tree("chain").unwrap(), easy()).unwrap();
        assert_eq!(chain.height(), 4);
        assert_eq!(chain.tip(), branch[2]);
        assert_eq!(chain.hash_at(1), Some(main[0]));
        assert_eq!(chain.hash_at(2), Some(branch[0]));
        assert_eq!(chain.side_blocks(), 3);
        assert!(chain.side.contains_key(&main[1]));
    }

    fn chain_block_on_side(chain: &Chain, hash: &BlockHash) -> Header {
        chain.side[hash]
    }

    #[test]
    fn a_block_on_an_unknown_parent_is_refused() {
        let (_d, mut chain) = open(easy());
        let stranger = mine_on(&genesis_block(Network::Testnet).header, 1, b"x");
        assert_eq!(
            chain.submit(&stranger, 1_700_000_000),
            Err(BlockError::UnknownParent(stranger.header.prev_blockhash))
        );
    }
}
