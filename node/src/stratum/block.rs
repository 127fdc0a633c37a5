//! Found blocks: a share that meets the network target is submitted as a
//! block at once, before anything else is done with it. The single node
//! submits from the session that accepted the share; the accounting node of
//! a scaled-out pool submits when the share arrives from an edge (only it
//! holds the job's template).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bitcoin::hashes::Hash;
use bitcoin::BlockHash;
use share_verifier::Submission;
use shareproof_sources::{SubmitOutcome, TemplateSource};

use crate::ledger::{FoundBlock, JobEntry, LedgerHandle, LedgerMsg};
use crate::metrics::Metrics;
use crate::store::BlockStatus;

/// The tip the pool last found a block on: shares on it are stale even
/// before the next job arrives. Holds the tip hash's low 64 bits (0: none).
#[derive(Debug, Clone, Default)]
pub struct SpentTip(Arc<AtomicU64>);

impl SpentTip {
    /// Marks `prevhash` as extended by a block of ours.
    pub fn spend(&self, prevhash: &BlockHash) {
        self.0.store(tip_key(prevhash), Ordering::Release);
    }

    /// Whether the pool already found a block on `prevhash`.
    pub fn is_spent(&self, prevhash: &BlockHash) -> bool {
        self.0.load(Ordering::Acquire) == tip_key(prevhash)
    }
}

fn tip_key(hash: &BlockHash) -> u64 {
    u64::from_le_bytes(hash.as_byte_array()[..8].try_into().expect("8 bytes"))
}

/// What submitting a found block needs: where it goes, where its outcome
/// is recorded, and the tip it spends.
#[derive(Clone)]
pub struct Blocks {
    /// The template source that takes found blocks.
    pub source: Arc<dyn TemplateSource>,
    /// Records the submission's outcome.
    pub ledger: LedgerHandle,
    /// Counts outcomes.
    pub metrics: Arc<Metrics>,
    /// Marked when a block is accepted.
    pub spent: SpentTip,
}

impl Blocks {
    /// Submits a share that meets the network target as a block, at once:
    /// the block is assembled from the job's template and the share, handed
    /// to the template source, and its outcome (accepted, a lost race,
    /// refused) goes to the ledger and the metrics when the source answers.
    /// Returns what the ledger records of the block with the share; `None`
    /// when the job carries no template (it was not minted here).
    pub fn submit(
        &self,
        entry: &JobEntry,
        sub: &Submission,
        version: bitcoin::block::Version,
        hash: share_verifier::ShareHash,
    ) -> Option<FoundBlock> {
        let template = entry.template.as_ref()?;
        let header = entry.prepared.header(
            &sub.extranonce1,
            &sub.extranonce2,
            sub.ntime,
            sub.nonce,
            version,
        );
        let coinbase = entry.job.coinbase(&sub.extranonce1, &sub.extranonce2);
        let block_hash = hash.to_block_hash();
        match template.assemble(header, &coinbase) {
            Ok(block) => {
                let submitted = self.source.submit_block(block);
                let blocks = self.clone();
                let prevhash = entry.job.prevhash;
                tokio::spawn(async move {
                    let status = match submitted.await {
                        Ok(SubmitOutcome::Accepted) => {
                            blocks.spent.spend(&prevhash);
                            BlockStatus::Accepted
                        }
                        Ok(SubmitOutcome::LostRace(why)) => BlockStatus::LostRace(why),
                        Ok(SubmitOutcome::Rejected(why)) => BlockStatus::Rejected(why),
                        Err(e) => BlockStatus::Rejected(e.to_string()),
                    };
                    let outcome = match &status {
                        BlockStatus::Accepted => "accepted",
                        BlockStatus::LostRace(_) => "lost_race",
                        _ => "rejected",
                    };
                    blocks
                        .metrics
                        .blocks_submitted
                        .with_label_values(&[outcome])
                        .inc();
                    tracing::info!(hash = %block_hash, ?status, "block submission result");
                    let _ = blocks
                        .ledger
                        .send(LedgerMsg::BlockStatus {
                            hash: block_hash,
                            status,
                        })
                        .await;
                });
            }
            Err(e) => tracing::error!(error = %e, "cannot assemble a found block"),
        }
        Some(FoundBlock {
            hash: block_hash,
            height: template.height,
            reward: template.coinbase_value,
            window_seq: entry.window_seq,
            root: entry.root,
        })
    }
}
