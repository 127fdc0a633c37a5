//! What both protocols do with a share that passed validation: refuse a
//! duplicate, submit a block at once, and build the ledger's message with
//! the channel its durability is answered on. V1 sessions and V2 channels
//! call the same code, so a share is accepted the same way whichever
//! protocol carried it.

use std::collections::HashSet;
use std::sync::Arc;

use bitcoin::hashes::Hash;
use share_verifier::log::ShareRecord;
use share_verifier::{Address, Checked, Share};
use tokio::sync::oneshot;

use crate::ledger::{AcceptedShare, JobEntry, LedgerError};
use crate::stratum::shared::Shared;

/// The ledger's answer for one share: its sequence number once durable.
pub type Durable = oneshot::Receiver<Result<u64, LedgerError>>;

/// Shares already accepted on one job as sent (low 64 bits of their hashes).
#[derive(Debug, Default)]
pub struct Seen(HashSet<u64>);

impl Seen {
    /// Records `share`; `false` when it was seen before.
    pub fn insert(&mut self, share: &Share<Checked>) -> bool {
        let hash = share.checked().hash;
        let key = u64::from_le_bytes(hash.as_byte_array()[..8].try_into().expect("8 bytes"));
        self.0.insert(key)
    }
}

/// Turns a validated, non-duplicate share into the ledger's message. A
/// share that is also a block is submitted before this returns.
pub fn accept(
    shared: &Shared,
    entry: &JobEntry,
    share: Share<Checked>,
    address: Address,
    worker: Arc<str>,
) -> (AcceptedShare, Durable) {
    let checked = *share.checked();
    let block = match &shared.blocks {
        Some(blocks) if checked.is_block => {
            blocks.submit(entry, &share.submission, checked.version, checked.hash)
        }
        _ => None,
    };
    let (reply, rx) = oneshot::channel();
    (
        AcceptedShare {
            // Its seq is assigned by the ledger.
            record: ShareRecord::of_share(share, 0, address),
            checked,
            worker,
            stream_seq: None,
            block,
            reply,
        },
        rx,
    )
}
