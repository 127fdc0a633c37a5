//! The settlement auditor: for every `BlockSettled` event of a pool, checks
//! from public data alone that the payees were the committed window's exact
//! grouping and the amounts its PPLNS allocation. It replays the share log
//! (checking every share's proof of work and every job's commitment with
//! share-verifier's [`Auditor`]), takes the window at each settled root,
//! recomputes the grouping's list hash, the fee and the dust, the weight
//! commitment, the challenge and the table sum, and asks the pool's
//! on-chain verifier whether the proof sent (in `settle`, or in the
//! `openSettlement` of a paged settlement) holds for those public inputs.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use alloy::consensus::Transaction as _;
use alloy::eips::BlockId;
use alloy::primitives::{B256, U256};
use alloy::providers::Provider;
use alloy::sol_types::SolCall;
use bitcoin::{Amount, ScriptBuf};
use circuits::pplns::{weight_commitment, PplnsParams};
use serde::Serialize;
use share_verifier::allocation::{allocate, group, FeeBps};
use share_verifier::log::{LogReader, Record};
use share_verifier::{binding, Auditor, WindowRoot, WindowSnapshot};

use crate::client::{field_word, EvmClient, EvmError};
use crate::contracts::{Groth16Verifier, SettlementPool};

/// Errors that stop an audit before any verdict.
#[derive(Debug, thiserror::Error)]
pub enum AuditRunError {
    /// The EVM side failed.
    #[error(transparent)]
    Chain(#[from] EvmError),
    /// The share log is unreadable or a record in it is invalid (a share
    /// without its proof of work, a job whose coinbase does not commit).
    #[error("share log: {0}")]
    Log(#[from] share_verifier::AuditError),
    /// The share log is unreadable.
    #[error("share log: {0}")]
    Read(#[from] share_verifier::log::LogError),
}

/// The verdict on one settled block.
#[derive(Debug, Clone, Serialize)]
pub struct BlockVerdict {
    /// The Bitcoin block (internal byte order).
    pub block_hash: B256,
    /// The `settle` transaction.
    pub tx: Option<B256>,
    /// The settled reward, sats.
    pub reward: u64,
    /// Every check that failed; empty when the settlement is sound.
    pub problems: Vec<String>,
}

impl BlockVerdict {
    /// Whether every check passed.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Audits every settlement of `client`'s pool against the share log `log`.
///
/// # Errors
/// [`AuditRunError`] when the log is invalid or the chain cannot be read;
/// a settlement that fails a check is a verdict with problems, not an error.
pub async fn audit_settlements<R: Read>(
    client: &EvmClient,
    log: R,
) -> Result<Vec<BlockVerdict>, AuditRunError> {
    let events = client.settled_logs().await?;
    let wanted: HashSet<B256> = events.iter().map(|(e, _, _)| e.windowRoot).collect();

    // Replay the log; keep the window at every root a settlement names.
    let mut reader = LogReader::new(log)?;
    let script = ScriptBuf::from_bytes(client.deployment.settlement_script.to_vec());
    let mut auditor = Auditor::new(reader.header(), Some(script))?;
    let mut windows: HashMap<B256, WindowSnapshot> = HashMap::new();
    for record in reader.by_ref() {
        let record = record?;
        if let Record::Job(_) = &record {
            let root = B256::from(auditor.window().root().to_be_bytes());
            if wanted.contains(&root) && !windows.contains_key(&root) {
                windows.insert(root, auditor.window().snapshot());
            }
        }
        auditor.check(&record)?;
    }

    let pool = SettlementPool::new(client.deployment.settlement_pool, client.provider().clone());
    let verifier = Groth16Verifier::new(client.deployment.verifier, client.provider().clone());
    let mut verdicts = Vec::with_capacity(events.len());
    for (event, tx, block_number) in events {
        let reward: u64 = event.reward.saturating_to();
        let mut v = BlockVerdict {
            block_hash: event.blockHash,
            tx,
            reward,
            problems: Vec::new(),
        };
        let Some(window) = windows.get(&event.windowRoot) else {
            v.problems.push(format!(
                "window root {} is not committed by any job of the share log",
                event.windowRoot
            ));
            verdicts.push(v);
            continue;
        };
        // The list hash is the grouping's, whatever the paging.
        let (payees, _) = match group(window.entries.iter().map(|e| (e.address, e.weight))) {
            Ok(g) => g,
            Err(e) => {
                v.problems.push(format!("grouping: {e}"));
                verdicts.push(v);
                continue;
            }
        };
        let list_hash = B256::from(binding::list_hash(&payees));
        if list_hash != event.listHash {
            v.problems.push(format!(
                "the event's list hash {} is not the window's grouping's {list_hash}",
                event.listHash
            ));
        }
        // The fee rate in force when it settled, and the allocation at it.
        let fee_bps = match pool
            .feeBps()
            .block(BlockId::number(block_number.unwrap_or(0)))
            .call()
            .await
        {
            Ok(f) => FeeBps::new(f.saturating_to()).ok(),
            Err(_) => None,
        };
        match fee_bps.map(|fee_bps| {
            allocate(
                window.entries.iter().map(|e| (e.address, e.weight)),
                Amount::from_sat(reward),
                fee_bps,
            )
        }) {
            None => v
                .problems
                .push("the pool's fee at the settlement cannot be read".to_owned()),
            Some(Err(e)) => v.problems.push(format!("allocation: {e}")),
            Some(Ok(allocation)) => {
                if U256::from(allocation.fee.to_sat()) != event.fee
                    || U256::from(allocation.dust.to_sat()) != event.dust
                {
                    v.problems.push(format!(
                        "fee {} and dust {} differ from the allocation's {} and {}",
                        event.fee, event.dust, allocation.fee, allocation.dust
                    ));
                }
            }
        }
        // The statement the contract verified, recomputed from the window.
        let Ok(root) = WindowRoot::from_be_bytes(event.windowRoot.0) else {
            v.problems
                .push("the window root is not a field element".to_owned());
            verdicts.push(v);
            continue;
        };
        let Ok(params) = PplnsParams::new(window.log2_slots) else {
            v.problems
                .push("the window size is out of range".to_owned());
            verdicts.push(v);
            continue;
        };
        let n = params.slots() as u64;
        let mut weights = vec![0u128; params.slots()];
        for e in &window.entries {
            weights[(e.seq % n) as usize] = e.weight.get();
        }
        let x = weight_commitment(&params, root.0, &weights);
        let Some(inputs) = binding::public_inputs(&root, &x, &list_hash.0, &payees) else {
            v.problems
                .push("the challenge equals an address: no proof can exist".to_owned());
            verdicts.push(v);
            continue;
        };
        let inputs = inputs.map(|f| field_word(&f));
        // The proof: in the `settle` call, or in the `openSettlement` of a paged settlement.
        let proofs = proofs_of(client, tx, &event).await;
        if proofs.is_empty() {
            v.problems
                .push("no settle or openSettlement transaction for it can be read".to_owned());
        } else {
            let mut accepted = false;
            for (weight_commitment, proof) in proofs {
                if weight_commitment != inputs[1] {
                    continue;
                }
                match verifier.verifyProof(proof, inputs).call().await {
                    Ok(true) => accepted = true,
                    Ok(false) => {}
                    Err(e) => v.problems.push(format!("verifier call failed: {e}")),
                }
            }
            if !accepted {
                v.problems.push(
                    "the on-chain verifier accepts no proof of this settlement for the window's statement"
                        .to_owned(),
                );
            }
        }
        verdicts.push(v);
    }
    Ok(verdicts)
}

/// The (weight commitment, proof) pairs a settlement was sent with: the
/// `settle` call of the event's transaction, or every `openSettlement` of
/// the block's coinbase for the event's list hash (a paged settlement; a
/// griefer's bogus opening may sit beside the one that completed).
async fn proofs_of(
    client: &EvmClient,
    tx: Option<B256>,
    event: &SettlementPool::BlockSettled,
) -> Vec<(U256, [U256; 8])> {
    let input = |t: alloy::rpc::types::Transaction| t.input().clone();
    if let Some(tx) = tx {
        if let Ok(Some(t)) = client.provider().get_transaction_by_hash(tx).await {
            if let Ok(call) = SettlementPool::settleCall::abi_decode(&input(t)) {
                return vec![(call.weightCommitment, call.proof)];
            }
        }
    }
    let Ok(opened) = client.opened_logs(event.blockHash, event.listHash).await else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for tx in opened {
        if let Ok(Some(t)) = client.provider().get_transaction_by_hash(tx).await {
            if let Ok(call) = SettlementPool::openSettlementCall::abi_decode(&input(t)) {
                out.push((call.weightCommitment, call.proof));
            }
        }
    }
    out
}
