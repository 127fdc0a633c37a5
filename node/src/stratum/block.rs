//! Found blocks: a share that meets the network target is submitted as a
//! block at once, before anything else is done with it.

use std::sync::Arc;

use share_verifier::Submission;
use shareproof_sources::SubmitOutcome;

use crate::ledger::{FoundBlock, JobEntry, LedgerMsg};
use crate::store::BlockStatus;
use crate::stratum::shared::Shared;

/// Submits a share that meets the network target as a block, at once: the
/// block is assembled from the job's template and the share, handed to the
/// template source, and its outcome (accepted, a lost race, refused) goes
/// to the ledger and the metrics when the source answers. Returns what the
/// ledger records of the block with the share.
pub fn submit(
    shared: &Arc<Shared>,
    entry: &JobEntry,
    sub: &Submission,
    version: bitcoin::block::Version,
    hash: share_verifier::ShareHash,
) -> FoundBlock {
    let header = entry.prepared.header(
        &sub.extranonce1,
        &sub.extranonce2,
        sub.ntime,
        sub.nonce,
        version,
    );
    let coinbase = entry.job.coinbase(&sub.extranonce1, &sub.extranonce2);
    let block_hash = hash.to_block_hash();
    match entry.template.assemble(header, &coinbase) {
        Ok(block) => {
            let submitted = shared.source.submit_block(block);
            let ledger = shared.ledger.clone();
            let shared = shared.clone();
            let prevhash = entry.job.prevhash;
            tokio::spawn(async move {
                let status = match submitted.await {
                    Ok(SubmitOutcome::Accepted) => {
                        shared.spend_tip(&prevhash);
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
                shared
                    .metrics
                    .blocks_submitted
                    .with_label_values(&[outcome])
                    .inc();
                tracing::info!(hash = %block_hash, ?status, "block submission result");
                let _ = ledger
                    .send(LedgerMsg::BlockStatus {
                        hash: block_hash,
                        status,
                    })
                    .await;
            });
        }
        Err(e) => tracing::error!(error = %e, "cannot assemble a found block"),
    }
    FoundBlock {
        hash: block_hash,
        height: entry.template.height,
        reward: entry.template.coinbase_value,
    }
}
