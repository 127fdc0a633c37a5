//! Block templates and where they come from: what a source (the embedded
//! regtest [`chain`] through [`embedded`], or [`bitcoind`]) says the next
//! block may contain, the [`TemplateSource`] trait both implement, the
//! [`coinbase`] builder that turns a template and a window root into a
//! Stratum job, and the [`best_chain`] reads settlement relays to the EVM.
//!
//! Data flow: a source's task pushes [`Template`]s to the ledger, which
//! mints a job from each (window root at that moment + coinbase) and
//! broadcasts it; a share that meets the network target comes back here as a
//! full block through [`TemplateSource::submit_block`].

pub mod answer;
pub mod best_chain;
pub mod bitcoind;
pub mod chain;
pub mod clock;
pub mod coinbase;
pub mod embedded;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bitcoin::block::{Header, Version};
use bitcoin::pow::CompactTarget;
use bitcoin::{Amount, Block, BlockHash, ScriptBuf, Transaction, TxMerkleNode, Txid, Witness};
use share_verifier::header::coinbase_merkle_branch;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use answer::AnswerFault;
pub use best_chain::{BestChain, BestChainError};
pub use chain::StoreFailure;
pub use coinbase::{CoinbaseBuilder, CoinbaseParts};

/// A boxed future, so that [`TemplateSource`] can be used as a trait object.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Everything needed to build a block on top of `prevhash`, except the coinbase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Height of the block to build (BIP34).
    pub height: u32,
    /// The tip the block extends.
    pub prevhash: BlockHash,
    /// Block version (before any rolling).
    pub version: Version,
    /// Network target, compact.
    pub nbits: CompactTarget,
    /// The header time to start from (`curtime`).
    pub time: u32,
    /// The smallest header time the network accepts (`mintime`, median time past + 1).
    pub min_time: u32,
    /// Subsidy plus fees: what the coinbase may pay out in total.
    pub coinbase_value: Amount,
    /// The transactions after the coinbase, in block order.
    pub transactions: Vec<Transaction>,
    /// The witness commitment output script (`default_witness_commitment`),
    /// when the block must carry one.
    pub witness_commitment: Option<ScriptBuf>,
    /// The Merkle branch of the coinbase (index 0), bottom first.
    pub merkle_branch: Vec<TxMerkleNode>,
}

impl Template {
    /// Builds the coinbase's Merkle branch from the transactions' txids.
    pub fn with_branch_from_transactions(mut self) -> Self {
        let txids: Vec<Txid> = self
            .transactions
            .iter()
            .map(Transaction::compute_txid)
            .collect();
        self.merkle_branch = coinbase_merkle_branch(&txids);
        self
    }

    /// Assembles the block a share found: its header and the coinbase
    /// (legacy serialisation from the job), plus the witness reserved value
    /// when the template carries a witness commitment (BIP141).
    ///
    /// # Errors
    /// [`bitcoin::consensus::encode::Error`] if the coinbase bytes do not parse.
    pub fn assemble(
        &self,
        header: Header,
        coinbase: &[u8],
    ) -> Result<Block, bitcoin::consensus::encode::Error> {
        let mut coinbase: Transaction = bitcoin::consensus::deserialize(coinbase)?;
        if self.witness_commitment.is_some() {
            coinbase.input[0].witness = Witness::from_slice(&[[0u8; 32]]);
        }
        let mut txdata = Vec::with_capacity(1 + self.transactions.len());
        txdata.push(coinbase);
        txdata.extend(self.transactions.iter().cloned());
        Ok(Block { header, txdata })
    }
}

/// What a source answered to a submitted block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitOutcome {
    /// The block is valid and became the tip (or the source already had it
    /// as the tip: bitcoind's `duplicate`).
    Accepted,
    /// The block is valid but another block at its height was there first:
    /// it is kept on a side branch (bitcoind's `inconclusive`, the embedded
    /// chain's side branch). Settlement follows whichever branch is best.
    LostRace(String),
    /// The block was refused, with the reason the source gave.
    Rejected(String),
}

impl SubmitOutcome {
    /// Reads bitcoind's `submitblock` result: `null` is accepted,
    /// `duplicate` (the node already had the block) counts as accepted,
    /// `inconclusive` (valid, not on the best chain) and
    /// `duplicate-inconclusive` are a lost race, anything else a refusal
    /// with bitcoind's reason (BIP22).
    pub fn from_bip22(result: Option<&str>) -> Self {
        match result {
            None | Some("duplicate") => SubmitOutcome::Accepted,
            Some(reason @ ("inconclusive" | "duplicate-inconclusive")) => {
                SubmitOutcome::LostRace(reason.to_owned())
            }
            Some(reason) => SubmitOutcome::Rejected(reason.to_owned()),
        }
    }
}

/// Errors of template sources.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// No bitcoind node is configured.
    #[error("no bitcoind node configured")]
    NoNode,
    /// No configured bitcoind answered; why, node by node.
    #[error("no bitcoind node answered: {}", list(.0))]
    Unreachable(Vec<Unanswered>),
    /// The RPC cookie file cannot be read.
    #[error("cookie file {}: {source}", .path.display())]
    Cookie {
        /// The file.
        path: std::path::PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// The RPC cookie file is not `user:password`.
    #[error("cookie file {} is not user:password", .0.display())]
    CookieFormat(std::path::PathBuf),
    /// A node answered something that is not a usable template.
    #[error("bad getblocktemplate answer: {field}: {source}")]
    BadTemplate {
        /// The field (`bits`, `transactions[3].data`, …).
        field: String,
        /// What is wrong with it.
        source: AnswerFault,
    },
    /// An RPC returned an error.
    #[error("rpc {method} failed: {message}")]
    Rpc {
        /// The method called.
        method: &'static str,
        /// The node's message.
        message: String,
    },
    /// The embedded chain's store failed.
    #[error("chain store: {0}")]
    Store(#[from] StoreFailure),
}

/// One node that did not answer an RPC: its URL and the HTTP error.
#[derive(Debug, thiserror::Error)]
#[error("{url}: {}{source}", .status.map(|s| format!("HTTP {s}: ")).unwrap_or_default())]
pub struct Unanswered {
    /// The node's URL.
    pub url: String,
    /// The HTTP status, when the node answered with a body that is not JSON.
    pub status: Option<reqwest::StatusCode>,
    /// The transport or decoding error.
    pub source: reqwest::Error,
}

impl From<sled::Error> for SourceError {
    fn from(e: sled::Error) -> Self {
        SourceError::Store(e.into())
    }
}

fn list(failures: &[Unanswered]) -> String {
    failures
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Where templates come from and where blocks go.
pub trait TemplateSource: Send + Sync + 'static {
    /// A short name for logs (`embedded`, `bitcoind`).
    fn name(&self) -> &'static str;

    /// Runs until `shutdown`: sends a template at once, then one on every
    /// new tip (immediately) and every `refresh` on the same tip.
    fn run(
        self: Arc<Self>,
        templates: mpsc::Sender<Arc<Template>>,
        refresh: std::time::Duration,
        shutdown: CancellationToken,
    ) -> BoxFuture<'static, ()>;

    /// Submits a block found by a share. Once answered, the source sends a
    /// fresh template whenever the tip may have moved (bitcoind: after every
    /// answer, accepted, lost race, refused or none): miners get new work
    /// right after a found block, not at the next long poll or refresh.
    fn submit_block(&self, block: Block) -> BoxFuture<'static, Result<SubmitOutcome, SourceError>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::{sha256d, Hash};

    fn template(transactions: Vec<Transaction>) -> Template {
        Template {
            height: 1,
            prevhash: BlockHash::all_zeros(),
            version: Version::TWO,
            nbits: CompactTarget::from_consensus(0x207f_ffff),
            time: 0,
            min_time: 0,
            coinbase_value: Amount::ZERO,
            transactions,
            witness_commitment: None,
            merkle_branch: Vec::new(),
        }
        .with_branch_from_transactions()
    }

    fn tx(lock_time: u32) -> Transaction {
        Transaction {
            version: bitcoin::transaction::Version::TWO,
            lock_time: bitcoin::absolute::LockTime::from_consensus(lock_time),
            input: Vec::new(),
            output: Vec::new(),
        }
    }

    #[test]
    fn branch_of_one_two_and_three_transactions() {
        let h = |a: [u8; 32], b: [u8; 32]| {
            let mut buf = [0u8; 64];
            buf[..32].copy_from_slice(&a);
            buf[32..].copy_from_slice(&b);
            sha256d::Hash::hash(&buf).to_byte_array()
        };
        let id = |t: &Transaction| t.compute_txid().to_byte_array();
        let (t1, t2, t3) = (tx(1), tx(2), tx(3));
        assert!(template(vec![]).merkle_branch.is_empty());
        assert_eq!(template(vec![t1.clone()]).merkle_branch.len(), 1);
        let b = template(vec![t1.clone(), t2.clone()]).merkle_branch;
        assert_eq!(b[0].to_byte_array(), id(&t1));
        assert_eq!(b[1].to_byte_array(), h(id(&t2), id(&t2)));
        let b = template(vec![t1, t2.clone(), t3.clone()]).merkle_branch;
        assert_eq!(b[1].to_byte_array(), h(id(&t2), id(&t3)));
    }
}
