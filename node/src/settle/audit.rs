//! The settlement auditor: for every `BlockSettled` event of a pool, checks
//! from public data alone that the payouts were the PPLNS allocation of the
//! committed window. It replays the share log (checking every share's proof
//! of work and every job's commitment with share-verifier's [`Auditor`]),
//! takes the window at each settled root, recomputes the allocation and the
//! payout hash, and asks the pool's on-chain verifier whether the proof in
//! the `settle` transaction holds for those public inputs.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use alloy::consensus::Transaction as _;
use alloy::eips::BlockId;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::Provider;
use alloy::sol_types::SolCall;
use bitcoin::{Amount, ScriptBuf};
use serde::Serialize;
use share_verifier::allocation::{allocate, FeeBps, Payout};
use share_verifier::log::{LogReader, Record};
use share_verifier::{binding, Auditor, WindowRoot, WindowSnapshot};

use super::chain::{ChainClient, ChainError};
use super::contracts::{Groth16Verifier, SettlementPool};

/// Errors that stop an audit before any verdict.
#[derive(Debug, thiserror::Error)]
pub enum AuditRunError {
    /// The EVM side failed.
    #[error(transparent)]
    Chain(#[from] ChainError),
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
    client: &ChainClient,
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
        // The settle call as sent.
        let call = match tx {
            Some(tx) => match client.provider().get_transaction_by_hash(tx).await {
                Ok(Some(t)) => SettlementPool::settleCall::abi_decode(t.input()).ok(),
                _ => None,
            },
            None => None,
        };
        let Some(call) = call else {
            v.problems
                .push("the settle transaction cannot be read or decoded".to_owned());
            verdicts.push(v);
            continue;
        };
        // The fee rate in force when it settled.
        let fee_bps = match pool
            .feeBps()
            .block(BlockId::number(block_number.unwrap_or(0)))
            .call()
            .await
        {
            Ok(f) => FeeBps::new(f.saturating_to()).ok(),
            Err(_) => None,
        };
        let Some(fee_bps) = fee_bps else {
            v.problems
                .push("the pool's fee at the settlement cannot be read".to_owned());
            verdicts.push(v);
            continue;
        };
        let paid: Vec<Payout> = call
            .payouts
            .iter()
            .map(|p| Payout {
                address: share_verifier::Address(p.account.into_array()),
                amount: Amount::from_sat(p.amount),
                weight: 0,
            })
            .collect();
        match allocate(
            window.entries.iter().map(|e| (e.address, e.weight)),
            Amount::from_sat(reward),
            fee_bps,
        ) {
            Ok(allocation) => {
                let expected: Vec<(Address, u64)> = allocation
                    .payouts
                    .iter()
                    .map(|p| (Address::from(p.address.0), p.amount.to_sat()))
                    .collect();
                let got: Vec<(Address, u64)> =
                    call.payouts.iter().map(|p| (p.account, p.amount)).collect();
                if expected != got {
                    v.problems.push(format!(
                        "payouts {got:?} differ from the window's allocation {expected:?}"
                    ));
                }
                if U256::from(allocation.fee.to_sat()) != event.fee
                    || U256::from(allocation.dust.to_sat()) != event.dust
                {
                    v.problems.push(format!(
                        "fee {} and dust {} differ from the allocation's {} and {}",
                        event.fee, event.dust, allocation.fee, allocation.dust
                    ));
                }
            }
            Err(e) => v.problems.push(format!("allocation: {e}")),
        }
        if B256::from(binding::payout_hash(&paid)) != event.payoutHash {
            v.problems
                .push("the event's payout hash is not that of the paid list".to_owned());
        }
        let root = WindowRoot::from_be_bytes(event.windowRoot.0);
        match root {
            Ok(root) => {
                let inputs = binding::public_inputs(&root, reward, fee_bps, &paid).map(|x| {
                    U256::from_str_radix(&binding::to_decimal(&x), 10)
                        .expect("a field element is a decimal integer")
                });
                match verifier.verifyProof(call.proof, inputs).call().await {
                    Ok(true) => {}
                    Ok(false) => v
                        .problems
                        .push("the on-chain verifier rejects the proof".to_owned()),
                    Err(e) => v.problems.push(format!("verifier call failed: {e}")),
                }
            }
            Err(e) => v.problems.push(format!("window root: {e}")),
        }
        verdicts.push(v);
    }
    Ok(verdicts)
}
