//! The settlement state machine as a pure function: from a found block, its
//! record and what has been observed of the two chains so far, [`decide`]
//! names the next step: an observation to make, or an action. It reads no
//! chain and changes nothing; `Settler::advance` observes and acts, then
//! asks again. Unit tests drive every branch with plain values, the way
//! `vardiff.rs` is tested.

use alloy::primitives::B256;
use bitcoin::hashes::Hash as _;
use bitcoin::{Amount, BlockHash};

use crate::store::{BlockInfo, BlockStatus, SettlementRecord, SettlementStatus};

/// The settings a decision depends on, and the time.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// The light client's checkpoint height: blocks at or below it cannot be proven by SPV.
    pub checkpoint_height: u64,
    /// Confirmations the pool requires before settling.
    pub required_confirmations: u64,
    /// Whether this node delivers the coinbase through the dev peg-in.
    pub deliver_peg_in: bool,
    /// Unix time now.
    pub now: u64,
    /// Seconds a sent `settle` may stay unmined before it is sent again.
    pub resend_after: u64,
}

/// What has been observed so far (`None`: not asked yet).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// The best chain's block at the block's height (`Some(None)`: above the tip).
    pub best_at_height: Option<Option<BlockHash>>,
    /// The block the contract settled the coinbase with (`Some(ZERO)`: none).
    pub settled_with: Option<B256>,
    /// The recorded `settle` transaction's receipt: `Some(None)` not mined,
    /// `Some(Some(success))` mined.
    pub receipt: Option<Option<bool>>,
    /// Confirmations in the light client.
    pub confirmations: Option<u64>,
    /// What the bridge delivered for the coinbase.
    pub delivered: Option<Amount>,
}

/// An observation to make before deciding again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// The best chain's header at the block's height.
    BestAtHeight,
    /// `settledBlockOf(coinbase txid)`.
    SettledWith,
    /// The receipt of the recorded transaction.
    Receipt(B256),
    /// The block's confirmations in the light client.
    Confirmations,
    /// `delivered(coinbase txid)`.
    Delivered,
}

/// Why a sent `settle` is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResendReason {
    /// Mined and successful, yet the block is not settled: the EVM chain reorganised it away.
    ReorganisedAway,
    /// Mined and reverted.
    Reverted,
    /// Not mined within the resend timeout.
    NotMinedInTime,
    /// The record says sent but holds no transaction hash to follow.
    NoTransaction,
}

/// The next step for a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Observe, then decide again.
    Observe(Need),
    /// The block is orphaned for good (counted as orphaned), with the reason.
    Orphan(String),
    /// Its coinbase was settled with another block: never settled here.
    SettledElsewhere(B256),
    /// At or below the checkpoint.
    BeforeCheckpoint,
    /// Not on the best chain yet (its submission is still being answered): later.
    NotOnChainYet,
    /// Settled on chain already (by this node before a restart, or by anyone).
    AlreadySettled,
    /// The sent `settle` is not mined yet and not overdue: later.
    WaitForMined,
    /// Forget the sent transaction and go on as confirmed.
    Resend(ResendReason),
    /// Fewer confirmations than required: later.
    Unconfirmed,
    /// Just reached the required confirmations: record it and go on.
    NowConfirmed,
    /// The bridge has not delivered the reward and this node does not deliver it: later.
    WaitForPegIn {
        /// Delivered so far.
        delivered: Amount,
    },
    /// Deliver the coinbase through the dev peg-in, then go on.
    DeliverPegIn,
    /// Everything is in place: prove and settle.
    Prove,
}

/// The next step for `info`, whose record is `rec`, given `observed`.
pub fn decide(
    info: &BlockInfo,
    rec: &SettlementRecord,
    observed: &Observed,
    rules: &Rules,
) -> Step {
    if let BlockStatus::Rejected(reason) = &info.status {
        return Step::Orphan(format!("refused by the template source: {reason}"));
    }
    if u64::from(info.height) <= rules.checkpoint_height {
        return Step::BeforeCheckpoint;
    }
    match observed.best_at_height {
        None => return Step::Observe(Need::BestAtHeight),
        Some(None) => return Step::NotOnChainYet,
        Some(Some(best)) if best != info.hash => {
            return Step::Orphan(format!("height {} is now block {best}", info.height));
        }
        Some(Some(_)) => {}
    }
    match observed.settled_with {
        None => return Step::Observe(Need::SettledWith),
        Some(settled) if settled == B256::ZERO => {}
        Some(settled) if settled == B256::from(info.hash.to_byte_array()) => {
            return Step::AlreadySettled;
        }
        Some(settled) => return Step::SettledElsewhere(settled),
    }
    if rec.status == SettlementStatus::Sent {
        let Some(tx) = rec.tx_hash else {
            return Step::Resend(ResendReason::NoTransaction);
        };
        return match observed.receipt {
            None => Step::Observe(Need::Receipt(tx)),
            Some(Some(true)) => Step::Resend(ResendReason::ReorganisedAway),
            Some(Some(false)) => Step::Resend(ResendReason::Reverted),
            Some(None) => {
                let sent = rec.sent_at.unwrap_or(0);
                if rules.now.saturating_sub(sent) < rules.resend_after {
                    Step::WaitForMined
                } else {
                    Step::Resend(ResendReason::NotMinedInTime)
                }
            }
        };
    }
    let Some(confirmations) = observed.confirmations else {
        return Step::Observe(Need::Confirmations);
    };
    if confirmations < rules.required_confirmations {
        return Step::Unconfirmed;
    }
    if rec.status == SettlementStatus::Found {
        return Step::NowConfirmed;
    }
    let Some(delivered) = observed.delivered else {
        return Step::Observe(Need::Delivered);
    };
    if delivered < info.reward {
        return if rules.deliver_peg_in {
            Step::DeliverPegIn
        } else {
            Step::WaitForPegIn { delivered }
        };
    }
    Step::Prove
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: Rules = Rules {
        checkpoint_height: 10,
        required_confirmations: 6,
        deliver_peg_in: true,
        now: 1_000,
        resend_after: 120,
    };

    fn info() -> BlockInfo {
        BlockInfo {
            hash: BlockHash::from_byte_array([7; 32]),
            height: 20,
            job_id: share_verifier::JobId(1),
            share_seq: 1,
            window_seq: 1,
            root: share_verifier::WindowRoot(share_verifier::Fr::from(0u64)),
            reward: Amount::from_sat(5_000),
            finder: share_verifier::Address([1; 20]),
            found_at: 0,
            status: BlockStatus::Accepted,
        }
    }

    fn on_chain() -> Observed {
        Observed {
            best_at_height: Some(Some(info().hash)),
            settled_with: Some(B256::ZERO),
            ..Observed::default()
        }
    }

    /// Runs `decide` with `answer` observing, until it names an action.
    fn run(
        rec: &SettlementRecord,
        rules: &Rules,
        mut answer: impl FnMut(Need, &mut Observed),
    ) -> (Step, Vec<Need>) {
        let mut observed = Observed::default();
        let mut asked = Vec::new();
        loop {
            match decide(&info(), rec, &observed, rules) {
                Step::Observe(need) => {
                    assert!(!asked.contains(&need), "{need:?} asked twice");
                    asked.push(need);
                    answer(need, &mut observed);
                }
                step => return (step, asked),
            }
        }
    }

    fn healthy(need: Need, o: &mut Observed) {
        match need {
            Need::BestAtHeight => o.best_at_height = Some(Some(info().hash)),
            Need::SettledWith => o.settled_with = Some(B256::ZERO),
            Need::Receipt(_) => o.receipt = Some(None),
            Need::Confirmations => o.confirmations = Some(6),
            Need::Delivered => o.delivered = Some(Amount::from_sat(5_000)),
        }
    }

    #[test]
    fn a_confirmed_funded_block_is_proven_after_four_observations() {
        let rec = SettlementRecord {
            status: SettlementStatus::Confirmed,
            ..SettlementRecord::default()
        };
        let (step, asked) = run(&rec, &RULES, healthy);
        assert_eq!(step, Step::Prove);
        assert_eq!(
            asked,
            [
                Need::BestAtHeight,
                Need::SettledWith,
                Need::Confirmations,
                Need::Delivered
            ]
        );
    }

    #[test]
    fn refused_blocks_and_blocks_before_the_checkpoint_need_no_observation() {
        let mut refused = info();
        refused.status = BlockStatus::Rejected("bad-txns".into());
        let step = decide(
            &refused,
            &SettlementRecord::default(),
            &Observed::default(),
            &RULES,
        );
        assert_eq!(
            step,
            Step::Orphan("refused by the template source: bad-txns".into())
        );
        let low = Rules {
            checkpoint_height: 20,
            ..RULES
        };
        let step = decide(
            &info(),
            &SettlementRecord::default(),
            &Observed::default(),
            &low,
        );
        assert_eq!(step, Step::BeforeCheckpoint);
    }

    #[test]
    fn a_block_off_the_best_chain_is_orphaned_and_one_not_there_yet_waits() {
        let other = BlockHash::from_byte_array([8; 32]);
        let rec = SettlementRecord::default();
        let (step, _) = run(&rec, &RULES, |need, o| match need {
            Need::BestAtHeight => o.best_at_height = Some(Some(other)),
            _ => unreachable!("nothing else is asked"),
        });
        assert_eq!(
            step,
            Step::Orphan(format!("height 20 is now block {other}"))
        );
        let (step, _) = run(&rec, &RULES, |_, o| o.best_at_height = Some(None));
        assert_eq!(step, Step::NotOnChainYet);
    }

    #[test]
    fn a_coinbase_settled_already_is_recognised_as_ours_or_another_blocks() {
        let rec = SettlementRecord::default();
        let ours = B256::from(info().hash.to_byte_array());
        let observed = Observed {
            settled_with: Some(ours),
            ..on_chain()
        };
        assert_eq!(
            decide(&info(), &rec, &observed, &RULES),
            Step::AlreadySettled
        );
        let theirs = B256::repeat_byte(1);
        let observed = Observed {
            settled_with: Some(theirs),
            ..on_chain()
        };
        assert_eq!(
            decide(&info(), &rec, &observed, &RULES),
            Step::SettledElsewhere(theirs)
        );
    }

    #[test]
    fn a_sent_settle_waits_until_overdue_then_is_sent_again() {
        let tx = B256::repeat_byte(9);
        let sent = SettlementRecord {
            status: SettlementStatus::Sent,
            tx_hash: Some(tx),
            sent_at: Some(950),
            ..SettlementRecord::default()
        };
        let pending = Observed {
            receipt: Some(None),
            ..on_chain()
        };
        assert_eq!(
            decide(&info(), &sent, &on_chain(), &RULES),
            Step::Observe(Need::Receipt(tx))
        );
        assert_eq!(decide(&info(), &sent, &pending, &RULES), Step::WaitForMined);
        let later = Rules {
            now: 1_070,
            ..RULES
        };
        assert_eq!(
            decide(&info(), &sent, &pending, &later),
            Step::Resend(ResendReason::NotMinedInTime)
        );
        for (receipt, why) in [
            (true, ResendReason::ReorganisedAway),
            (false, ResendReason::Reverted),
        ] {
            let mined = Observed {
                receipt: Some(Some(receipt)),
                ..on_chain()
            };
            assert_eq!(decide(&info(), &sent, &mined, &RULES), Step::Resend(why));
        }
        let lost = SettlementRecord {
            tx_hash: None,
            ..sent
        };
        assert_eq!(
            decide(&info(), &lost, &on_chain(), &RULES),
            Step::Resend(ResendReason::NoTransaction)
        );
    }

    #[test]
    fn confirmations_gate_settlement_and_the_first_time_is_recorded() {
        let found = SettlementRecord::default();
        let few = Observed {
            confirmations: Some(5),
            ..on_chain()
        };
        assert_eq!(decide(&info(), &found, &few, &RULES), Step::Unconfirmed);
        let enough = Observed {
            confirmations: Some(6),
            ..on_chain()
        };
        assert_eq!(decide(&info(), &found, &enough, &RULES), Step::NowConfirmed);
    }

    #[test]
    fn an_undelivered_reward_is_delivered_or_waited_for() {
        let confirmed = SettlementRecord {
            status: SettlementStatus::Confirmed,
            ..SettlementRecord::default()
        };
        let short = Observed {
            confirmations: Some(6),
            delivered: Some(Amount::from_sat(4_999)),
            ..on_chain()
        };
        assert_eq!(
            decide(&info(), &confirmed, &short, &RULES),
            Step::DeliverPegIn
        );
        let bridge = Rules {
            deliver_peg_in: false,
            ..RULES
        };
        assert_eq!(
            decide(&info(), &confirmed, &short, &bridge),
            Step::WaitForPegIn {
                delivered: Amount::from_sat(4_999)
            }
        );
    }
}
