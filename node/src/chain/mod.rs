//! The embedded regtest chain: a real chain kept in-process, starting from
//! Bitcoin's regtest genesis block, persisted in sled.
//!
//! It builds templates for the next block (BIP34 height, nBits from its
//! [`DifficultyRule`], regtest subsidy) and accepts a submitted block only
//! after full checks: it extends the tip, carries the required nBits, its
//! hash meets that target, its time is after the median of the last 11
//! blocks and at most two hours ahead, its Merkle root matches, its coinbase
//! starts with the height and pays at most subsidy + fees. No block appears
//! unless a miner finds it. There is no mempool, so blocks hold only their
//! coinbase and fees are zero.

mod difficulty;

pub use difficulty::{pow_limit, retarget, DifficultyError, DifficultyRule};

use bitcoin::block::{Header, Version};
use bitcoin::blockdata::constants::genesis_block;
use bitcoin::blockdata::script::Builder;
use bitcoin::pow::{CompactTarget, Target};
use bitcoin::{Amount, Block, BlockHash, Network};

use crate::template::Template;

/// Regtest's subsidy halving interval (Bitcoin Core `chainparams.cpp`).
pub const REGTEST_HALVING_INTERVAL: u32 = 150;
/// How far ahead of the local clock a block's time may be (Bitcoin Core's `MAX_FUTURE_BLOCK_TIME`).
pub const MAX_FUTURE_BLOCK_TIME: u32 = 2 * 60 * 60;
/// Blocks in the median-time-past window (BIP113).
const MEDIAN_TIME_SPAN: usize = 11;

/// Why a block was refused, with the values involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The block does not build on the current tip.
    #[error("block's parent {got} is not the tip {tip}")]
    NotOnTip { tip: BlockHash, got: BlockHash },
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
    Store(String),
}

/// The regtest subsidy at `height`: 50 BTC halved every 150 blocks.
pub fn subsidy(height: u32) -> Amount {
    let halvings = height / REGTEST_HALVING_INTERVAL;
    if halvings >= 64 {
        return Amount::ZERO;
    }
    Amount::from_sat((50 * 100_000_000u64) >> halvings)
}

/// The chain: headers in memory (main chain only; it never forks, since only
/// this node mines it), whole blocks in sled keyed by height.
#[derive(Debug)]
pub struct Chain {
    rule: DifficultyRule,
    tree: sled::Tree,
    headers: Vec<Header>,
}

impl Chain {
    /// Opens the chain stored in `tree`, or starts it at regtest's genesis.
    ///
    /// # Errors
    /// [`sled::Error`] from the store, or a stored block that does not decode.
    pub fn open(tree: sled::Tree, rule: DifficultyRule) -> Result<Self, BlockError> {
        let store = |e: sled::Error| BlockError::Store(e.to_string());
        let mut headers = Vec::new();
        for item in tree.iter() {
            let (key, value) = item.map_err(store)?;
            let height =
                u32::from_be_bytes(key.as_ref().try_into().map_err(|_| {
                    BlockError::Store(format!("bad chain key {}", hex::encode(&key)))
                })?);
            if height as usize != headers.len() {
                return Err(BlockError::Store(format!(
                    "chain store has a gap before height {height}"
                )));
            }
            let block: Block = bitcoin::consensus::deserialize(&value)
                .map_err(|e| BlockError::Store(format!("block {height}: {e}")))?;
            headers.push(block.header);
        }
        let mut chain = Chain {
            rule,
            tree,
            headers,
        };
        if chain.headers.is_empty() {
            let genesis = genesis_block(Network::Regtest);
            chain.persist(0, &genesis)?;
            chain.headers.push(genesis.header);
        }
        Ok(chain)
    }

    fn persist(&self, height: u32, block: &Block) -> Result<(), BlockError> {
        let store = |e: sled::Error| BlockError::Store(e.to_string());
        self.tree
            .insert(height.to_be_bytes(), bitcoin::consensus::serialize(block))
            .map_err(store)?;
        self.tree.flush().map_err(store)?;
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

    /// The header at `height` on the chain.
    pub fn header(&self, height: u32) -> Option<&Header> {
        self.headers.get(height as usize)
    }

    /// The whole block at `height`.
    pub fn block(&self, height: u32) -> Option<Block> {
        let bytes = self.tree.get(height.to_be_bytes()).ok()??;
        bitcoin::consensus::deserialize(&bytes).ok()
    }

    /// The difficulty rule.
    pub fn rule(&self) -> DifficultyRule {
        self.rule
    }

    /// The nBits the next block must carry.
    pub fn next_nbits(&self) -> CompactTarget {
        let next = self.headers.len() as u32;
        let parent = self.headers[next as usize - 1].bits;
        if next == 1 {
            // Genesis carries regtest's powLimit; a fixed rule takes over from block 1.
            return match self.rule {
                DifficultyRule::Fixed { nbits } => nbits,
                DifficultyRule::Retarget { .. } => parent,
            };
        }
        self.rule.next_nbits(next, parent, |first| {
            (
                self.headers[first as usize].time,
                self.headers[next as usize - 1].time,
            )
        })
    }

    /// The median time of the last 11 blocks (BIP113).
    pub fn median_time_past(&self) -> u32 {
        let start = self.headers.len().saturating_sub(MEDIAN_TIME_SPAN);
        let mut times: Vec<u32> = self.headers[start..].iter().map(|h| h.time).collect();
        times.sort_unstable();
        times[times.len() / 2]
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

    /// Checks `block` against every rule and appends it; returns its height.
    ///
    /// # Errors
    /// [`BlockError`] naming the first rule broken.
    pub fn submit(&mut self, block: &Block, now: u32) -> Result<u32, BlockError> {
        let header = &block.header;
        let tip = self.tip();
        if header.prev_blockhash != tip {
            return Err(BlockError::NotOnTip {
                tip,
                got: header.prev_blockhash,
            });
        }
        let height = self.headers.len() as u32;
        if header.version.to_consensus() < 2 {
            return Err(BlockError::OldVersion(header.version.to_consensus()));
        }
        let expected = self.next_nbits();
        if header.bits != expected {
            return Err(BlockError::BadBits {
                expected: expected.to_consensus(),
                got: header.bits.to_consensus(),
            });
        }
        header
            .validate_pow(Target::from_compact(expected))
            .map_err(|_| BlockError::HighHash(header.block_hash()))?;
        let median = self.median_time_past();
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
        self.persist(height, block)?;
        self.headers.push(*header);
        Ok(height)
    }

    /// The hash of the block at `height`.
    pub fn hash_at(&self, height: u32) -> Option<BlockHash> {
        self.header(height).map(Header::block_hash)
    }

    /// Whether `hash` is on the chain (and at which height).
    pub fn height_of(&self, hash: &BlockHash) -> Option<u32> {
        // Blocks are few and recent lookups dominate: scan from the tip.
        self.headers
            .iter()
            .rposition(|h| h.block_hash() == *hash)
            .map(|h| h as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::coinbase::CoinbaseBuilder;
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
        let t = chain.template(now);
        let parts = CoinbaseBuilder {
            settlement_script: ScriptBuf::from_hex("51").unwrap(),
            pool_tag: b"t".to_vec(),
            extranonce1_size: 4,
            extranonce2_size: 8,
        }
        .build(&t, &WindowRoot::default())
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
                assert_eq!(chain.submit(&b, 1_700_000_000 + i).unwrap(), i + 1);
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
        assert!(matches!(
            chain.submit(&b, now),
            Err(BlockError::NotOnTip { .. })
        ));

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
        assert!(matches!(
            chain.submit(&good, now),
            Err(BlockError::NotOnTip { .. })
        ));
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
}
