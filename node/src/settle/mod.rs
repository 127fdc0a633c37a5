//! Settlement on the EVM chain: from a found block to tokens credited to
//! every miner (DESIGN "Settlement flow", steps 4 and 5).
//!
//! One task, [`Settler::run`], loops every `poll`:
//! 1. relays every header of the Bitcoin chain ([`BestChain`]: the embedded
//!    chain or bitcoind) the light client has not seen, in batches (after a
//!    fork, from the last common block);
//! 2. walks the found blocks in the [`Store`]: a block whose hash is no
//!    longer the chain's at its height is orphaned and never settled; at the
//!    pool's confirmations it has the dev peg-in bridge the coinbase (devnet),
//!    proves the committed window's grouping by address in a blocking task
//!    ([`prover`]; the contract computes the amounts), records the `settle`
//!    transaction's hash before waiting for it, and records gas and time
//!    once it is mined. A payee list longer than one page (512 records) is
//!    settled in steps instead: `openSettlement`, then `checkPayees` and
//!    `creditPayees` per page, each resumed from the contract's state.
//!
//! Every step reads the on-chain state first (`settledBlockOf`, the
//! recorded transaction's receipt, `delivered`), so a restart or an RPC
//! failure anywhere in between settles each block exactly once. The
//! per-block [`SettlementRecord`] lives in the store and is served by the
//! API beside the block.
//!
//! Reading Bitcoin is `shareproof-sources`' [`BestChain`]; the EVM client,
//! the contract bindings, signers and the settlement auditor are
//! `shareproof-evm`'s; [`prover`] holds proving keys and proving.

pub mod decide;
pub mod prover;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use alloy::primitives::B256;
use bitcoin::hashes::Hash;
use bitcoin::{Amount, BlockHash};
use tokio_util::sync::CancellationToken;

use crate::fatal::Fatal;
use crate::metrics::Metrics;
use crate::settle::decide::{decide, Need, Observed, ResendReason, Rules, Step};
use crate::store::{BlockInfo, SettlementRecord, SettlementStatus, Store};
use shareproof_sources::clock::unix_now;

pub use prover::{KeySource, Prover, ProverError};
use shareproof_evm::client::{BlockProof, EvmClient, EvmError, Mined, SettleArgs};
use shareproof_evm::contracts::Deployment;
use shareproof_evm::signer::{SignerError, SignerSource};
use shareproof_sources::{BestChain, BestChainError};

/// How long a block waits after a failed step before it is tried again.
const RETRY_AFTER: Duration = Duration::from_secs(15);
/// How long a sent `settle` may stay unmined before it is sent again.
const RESEND_AFTER: Duration = Duration::from_secs(120);

/// Validated `[settlement]` settings.
#[derive(Debug, Clone)]
pub struct SettleConfig {
    /// The EVM JSON-RPC URL.
    pub rpc_url: String,
    /// Where the contracts' addresses come from.
    pub contracts: ContractsSource,
    /// The node's transaction signer.
    pub signer: SignerSource,
    /// The proving key.
    pub keys: KeySource,
    /// Time between rounds.
    pub poll: Duration,
    /// Most headers per `submitHeaders`.
    pub header_batch: usize,
    /// Payee records per settlement page: a list up to this long settles in
    /// one `settle` transaction, a longer one page by page.
    pub page_records: usize,
    /// Devnet: ask `DevPegIn` to bridge each confirmed coinbase.
    pub deliver_peg_in: bool,
    /// Prove with a seeded (insecure) key on a chain other than a local
    /// devnet ([`prover::DEVNET_CHAIN_ID`]); refused otherwise.
    pub allow_insecure_key: bool,
}

/// Where the node learns the contracts' addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContractsSource {
    /// The deployment file (`contracts/deployments/<chain id>.json`); the
    /// task waits for it to appear.
    File(PathBuf),
    /// The settlement pool's address alone; the rest is read from it
    /// (`dependencies()`, `settlementScript()`) and from the light client.
    Pool(alloy::primitives::Address),
}

/// Errors of settlement, each naming its step.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// The EVM side failed.
    #[error(transparent)]
    Chain(#[from] EvmError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The key does not fit the pool.
    #[error(transparent)]
    Prover(#[from] ProverError),
    /// Proving failed.
    #[error("proving: {0}")]
    Prove(#[from] circuits::ProveError),
    /// The signer could not be loaded.
    #[error(transparent)]
    Signer(#[from] SignerError),
    /// The contract's window size is not the proving key's.
    #[error("deployment mismatch: the pool is for N = {pool}; the key at {} is for N = {key}", .key_dir.display())]
    WindowMismatch {
        /// The contract's window size.
        pool: u64,
        /// The proving key's directory.
        key_dir: std::path::PathBuf,
        /// The key's window size.
        key: usize,
    },
    /// The light client's checkpoint is not on the node's chain: the
    /// contract follows another Bitcoin network or fork.
    #[error("deployment mismatch: the light client's checkpoint at height {0} is not on the node's chain")]
    CheckpointOffChain(u64),
    /// The Bitcoin chain could not be read.
    #[error("bitcoin chain: {0}")]
    BestChain(#[from] BestChainError),
    /// A found block left the chain while it was being read.
    #[error("block {0} at height {1} is no longer on the chain")]
    BlockGone(BlockHash, u32),
    /// A found block's window snapshot is missing from the store.
    #[error("block {0} at height {1} has no window snapshot in the store")]
    MissingSnapshot(BlockHash, u32),
    /// The blocking prover task died.
    #[error("prover task: {0}")]
    Join(#[from] tokio::task::JoinError),
}

impl SettleError {
    /// Whether settlement must stop rather than retry: a seeded key on a
    /// chain where it may not prove.
    pub fn is_fatal(&self) -> bool {
        matches!(self, SettleError::Prover(ProverError::InsecureKey { .. }))
    }

    /// Whether no retry can help: the contract's challenge for this window
    /// equals one of its addresses (probability below 2N / 2^253; the
    /// statement is deterministic, so proving again gives the same). Every
    /// other window proves, whatever its number of addresses.
    pub fn is_unprovable(&self) -> bool {
        matches!(
            self,
            SettleError::Prove(circuits::ProveError::Assign(
                circuits::pplns::PplnsError::ChallengeHitsAddress
            ))
        )
    }
}

/// The settlement task's state.
pub struct Settler {
    client: EvmClient,
    store: Store,
    chain: Arc<dyn BestChain>,
    prover: Arc<Prover>,
    metrics: Arc<Metrics>,
    config: SettleConfig,
    /// Confirmations the pool requires.
    required: u64,
    /// Blocks whose last step failed, and when to try again.
    retry_at: HashMap<BlockHash, Instant>,
    /// Found blocks' SPV parts, by block hash. A std mutex: never held across `.await`.
    proofs: std::sync::Mutex<HashMap<BlockHash, Arc<BlockProof>>>,
}

/// Everything the task needs before the deployment exists.
pub struct SettlerParts {
    /// The settings.
    pub config: SettleConfig,
    /// The store.
    pub store: Store,
    /// The Bitcoin chain (the embedded chain or bitcoind).
    pub chain: Arc<dyn BestChain>,
    /// The prepared key.
    pub prover: Arc<Prover>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Stops the node when settlement cannot go on (an insecure key off a devnet).
    pub fatal: Fatal,
    /// Set to the contracts once found, for the web app (`/api/v1/config`).
    pub deployment: Arc<std::sync::OnceLock<Deployment>>,
}

/// The block hash as the contracts see it (internal byte order).
pub fn evm_hash(hash: &BlockHash) -> B256 {
    B256::from(hash.to_byte_array())
}

impl Settler {
    /// Waits for the deployment file, connects and checks that the
    /// deployment fits the key (and the key the chain), then settles until
    /// `shutdown`. A fatal error ([`SettleError::is_fatal`]) stops the node
    /// through `parts.fatal`.
    pub async fn run(parts: SettlerParts, shutdown: CancellationToken) {
        let SettlerParts {
            config,
            store,
            chain,
            prover,
            metrics,
            fatal,
            deployment: found_deployment,
        } = parts;
        let mut waited = false;
        let deployment = loop {
            let found = match &config.contracts {
                ContractsSource::File(path) => Deployment::read(path).map_err(|e| e.to_string()),
                ContractsSource::Pool(pool) => EvmClient::discover(&config.rpc_url, *pool)
                    .await
                    .map_err(|e| e.to_string()),
            };
            match found {
                Ok(d) => {
                    let _ = found_deployment.set(d.clone());
                    break d;
                }
                Err(e) => {
                    if !waited {
                        tracing::info!(error = %e, "settlement waits for the contracts");
                        waited = true;
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(config.poll.max(Duration::from_millis(500))) => {}
            }
        };
        let settler = loop {
            match Self::connect(
                &config,
                deployment.clone(),
                &store,
                &chain,
                &prover,
                &metrics,
            )
            .await
            {
                Ok(s) => break s,
                Err(e) if e.is_fatal() => {
                    fatal.fail("settlement", e);
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "settlement cannot start yet; retrying"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(config.poll.max(Duration::from_secs(2))) => {}
            }
        };
        settler.serve(shutdown).await;
    }

    async fn connect(
        config: &SettleConfig,
        deployment: Deployment,
        store: &Store,
        chain: &Arc<dyn BestChain>,
        prover: &Arc<Prover>,
        metrics: &Arc<Metrics>,
    ) -> Result<Self, SettleError> {
        let signer = config.signer.load()?;
        let client = EvmClient::connect(&config.rpc_url, signer, deployment)?;
        let chain_id = client.chain_id().await?;
        prover.check_chain(chain_id, config.allow_insecure_key)?;
        let (_, required, window) = client.parameters().await?;
        if window != prover.header.slots as u64 {
            return Err(SettleError::WindowMismatch {
                pool: window,
                key_dir: prover.dir.clone(),
                key: prover.header.slots,
            });
        }
        tracing::info!(
            pool = %client.deployment.settlement_pool,
            light_client = %client.deployment.light_client,
            sender = %client.sender,
            chain_id,
            confirmations = required,
            insecure_key = prover.header.insecure,
            "settlement connected"
        );
        Ok(Settler {
            client,
            store: store.clone(),
            chain: chain.clone(),
            prover: prover.clone(),
            metrics: metrics.clone(),
            config: config.clone(),
            required,
            retry_at: HashMap::new(),
            proofs: std::sync::Mutex::new(HashMap::new()),
        })
    }

    async fn serve(mut self, shutdown: CancellationToken) {
        loop {
            if let Err(e) = self.relay_headers().await {
                self.metrics
                    .settlement_errors
                    .with_label_values(&["relay"])
                    .inc();
                tracing::warn!(error = %e, "header relay failed; retrying");
            }
            if let Err(e) = self.settle_blocks(&shutdown).await {
                tracing::warn!(error = %e, "settlement round failed; retrying");
            }
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(self.config.poll) => {}
            }
        }
    }

    /// Sends the light client every header of the Bitcoin chain it lacks.
    ///
    /// # Errors
    /// [`SettleError`] when a query or a batch fails.
    pub async fn relay_headers(&self) -> Result<(), SettleError> {
        let (lc_height, lc_hash) = self.client.light_client_tip().await?;
        let ours = u64::from(self.chain.tip_height().await?);
        // The last block both chains share, walking down from the light client's tip.
        let checkpoint = self.client.deployment.checkpoint_height;
        let mut common = lc_height.min(ours);
        let mut lc_at = if common == lc_height {
            lc_hash
        } else {
            self.client.light_client_hash_at(common).await?
        };
        loop {
            let mine = self
                .chain
                .header_at(common as u32)
                .await?
                .map(|h| evm_hash(&h.block_hash()));
            if mine == Some(lc_at) {
                break;
            }
            if common <= checkpoint {
                return Err(SettleError::CheckpointOffChain(checkpoint));
            }
            common -= 1;
            lc_at = self.client.light_client_hash_at(common).await?;
        }
        let mut parent = common;
        while parent < ours {
            let end = (parent + self.config.header_batch as u64).min(ours);
            let mut headers = Vec::with_capacity(80 * (end - parent) as usize);
            for h in parent + 1..=end {
                match self.chain.header_at(h as u32).await? {
                    Some(header) => {
                        headers.extend_from_slice(&bitcoin::consensus::serialize(&header))
                    }
                    // The tip moved back meanwhile: send what there is, the rest next round.
                    None => break,
                }
            }
            let end = parent + (headers.len() / 80) as u64;
            if end == parent {
                break;
            }
            let mined = self.client.submit_headers(parent, headers).await?;
            self.metrics.headers_relayed.inc_by(end - parent);
            tracing::info!(from = parent + 1, to = end, gas = mined.gas_used, tx = %mined.tx, "headers relayed");
            parent = end;
        }
        Ok(())
    }

    async fn settle_blocks(&mut self, shutdown: &CancellationToken) -> Result<(), SettleError> {
        let blocks = self.store.blocks()?;
        for info in blocks {
            if shutdown.is_cancelled() {
                return Ok(());
            }
            if self
                .retry_at
                .get(&info.hash)
                .is_some_and(|t| Instant::now() < *t)
            {
                continue;
            }
            let stored = self.store.settlement_record(&info.hash)?;
            let mut rec = stored.clone().unwrap_or_default();
            if rec.status.is_final() {
                continue;
            }
            match self.advance(&info, &mut rec).await {
                Ok(()) => {
                    self.retry_at.remove(&info.hash);
                }
                Err(e) => {
                    self.metrics
                        .settlement_errors
                        .with_label_values(&[step_name(rec.status)])
                        .inc();
                    tracing::warn!(block = %info.hash, height = info.height, status = ?rec.status, error = %e, "settlement step failed");
                    if rec.status == SettlementStatus::Proving {
                        rec.status = if e.is_unprovable() {
                            SettlementStatus::Unprovable
                        } else {
                            SettlementStatus::Confirmed
                        };
                    }
                    rec.error = Some(e.to_string());
                    self.retry_at
                        .insert(info.hash, Instant::now() + RETRY_AFTER);
                }
            }
            if stored.as_ref() != Some(&rec) {
                self.store.put_settlement(&info.hash, &rec)?;
            }
        }
        Ok(())
    }

    /// The SPV parts of a found block, read from the chain once (a block's
    /// content never changes; bitcoind's blocks can be megabytes).
    async fn proof_of(&self, info: &BlockInfo) -> Result<Arc<BlockProof>, SettleError> {
        if let Some(p) = self.proofs.lock().expect("proofs lock").get(&info.hash) {
            return Ok(p.clone());
        }
        let block = self
            .chain
            .block_at(info.height)
            .await?
            .filter(|b| b.block_hash() == info.hash)
            .ok_or(SettleError::BlockGone(info.hash, info.height))?;
        let proof = Arc::new(BlockProof::from_block(&block));
        self.proofs
            .lock()
            .expect("proofs lock")
            .insert(info.hash, proof.clone());
        Ok(proof)
    }

    /// Moves one block as far as it can go now: asks [`decide`] for the
    /// next step, makes the observation or takes the action it names, and
    /// asks again until a step leaves the block for a later round.
    async fn advance(
        &self,
        info: &BlockInfo,
        rec: &mut SettlementRecord,
    ) -> Result<(), SettleError> {
        let rules = Rules {
            checkpoint_height: self.client.deployment.checkpoint_height,
            required_confirmations: self.required,
            deliver_peg_in: self.config.deliver_peg_in,
            now: unix_now(),
            resend_after: RESEND_AFTER.as_secs(),
        };
        let hash = evm_hash(&info.hash);
        let mut observed = Observed::default();
        loop {
            match decide(info, rec, &observed, &rules) {
                Step::Observe(Need::BestAtHeight) => {
                    let header = self.chain.header_at(info.height).await?;
                    observed.best_at_height = Some(header.map(|h| h.block_hash()));
                }
                Step::Observe(Need::SettledWith) => {
                    let proof = self.proof_of(info).await?;
                    observed.settled_with = Some(self.client.settled_block_of(proof.txid).await?);
                }
                Step::Observe(Need::Receipt(tx)) => {
                    let receipt = self.client.receipt(tx).await?;
                    observed.receipt = Some(receipt.map(|r| r.is_ok()));
                }
                Step::Observe(Need::Confirmations) => {
                    rec.confirmations = self
                        .client
                        .confirmations(hash, u64::from(info.height))
                        .await?;
                    observed.confirmations = Some(rec.confirmations);
                }
                Step::Observe(Need::Delivered) => {
                    let proof = self.proof_of(info).await?;
                    observed.delivered =
                        Some(Amount::from_sat(self.client.delivered(proof.txid).await?));
                }
                Step::Orphan(reason) => {
                    tracing::warn!(block = %info.hash, height = info.height, %reason, "orphaned");
                    rec.status = SettlementStatus::Orphaned;
                    rec.error = Some(reason);
                    self.metrics.blocks_orphaned.inc();
                    return Ok(());
                }
                Step::SettledElsewhere(settled) => {
                    rec.status = SettlementStatus::Orphaned;
                    rec.error = Some(format!("its coinbase was settled with block {settled}"));
                    return Ok(());
                }
                Step::BeforeCheckpoint => {
                    rec.status = SettlementStatus::BeforeCheckpoint;
                    return Ok(());
                }
                Step::NotOnChainYet | Step::WaitForMined => return Ok(()),
                Step::AlreadySettled => return self.mark_settled(info, rec, None).await,
                Step::Resend(why) => {
                    if why != ResendReason::NoTransaction {
                        tracing::warn!(block = %info.hash, tx = ?rec.tx_hash, reason = ?why, "sending settle again");
                    }
                    rec.status = SettlementStatus::Confirmed;
                    rec.tx_hash = None;
                    rec.sent_at = None;
                }
                Step::Unconfirmed => {
                    rec.status = SettlementStatus::Found;
                    return Ok(());
                }
                Step::NowConfirmed => {
                    rec.status = SettlementStatus::Confirmed;
                    tracing::info!(block = %info.hash, height = info.height, confirmations = rec.confirmations, "block confirmed");
                }
                Step::WaitForPegIn { delivered } => {
                    rec.error = Some(format!(
                        "waiting for the peg-in: {} of {} sats delivered",
                        delivered.to_sat(),
                        info.reward.to_sat()
                    ));
                    return Ok(());
                }
                Step::DeliverPegIn => {
                    let proof = self.proof_of(info).await?;
                    let mined = self.client.deliver(&proof).await?;
                    tracing::info!(block = %info.hash, tx = %mined.tx, sats = info.reward.to_sat(), "dev peg-in delivered the coinbase");
                    observed.delivered = Some(info.reward);
                }
                Step::Prove => return self.prove_and_settle(info, rec).await,
            }
        }
    }

    /// Proves the block's window off the async workers and settles it: in
    /// one transaction (its hash recorded before waiting), or page by page.
    async fn prove_and_settle(
        &self,
        info: &BlockInfo,
        rec: &mut SettlementRecord,
    ) -> Result<(), SettleError> {
        let proof = self.proof_of(info).await?;
        rec.status = SettlementStatus::Proving;
        rec.error = None;
        self.store.put_settlement(&info.hash, rec)?;
        let snapshot = self
            .store
            .block_snapshot(&info.hash)?
            .ok_or(SettleError::MissingSnapshot(info.hash, info.height))?;
        let prover = self.prover.clone();
        tracing::info!(block = %info.hash, height = info.height, "proving");
        let page_records = self.config.page_records;
        let proven =
            tokio::task::spawn_blocking(move || prover.prove(&snapshot, page_records)).await??;
        self.metrics
            .prove_seconds
            .observe(proven.elapsed.as_secs_f64());
        self.metrics.prove_peak_rss.set(proven.peak_rss as i64);
        rec.prove_ms = Some(proven.elapsed.as_millis() as u64);
        let settlement = &proven.settlement;
        tracing::info!(
            block = %info.hash,
            ms = proven.elapsed.as_millis() as u64,
            peak_rss_mib = proven.peak_rss / (1 << 20),
            payees = settlement.payees.len(),
            pages = settlement.list.pages.len(),
            "proven"
        );

        if settlement.list.pages.len() > 1 {
            // Too long for one transaction: open, check and credit page by
            // page. Each step is idempotent on the contract's state, so a
            // retry resumes where the last attempt stopped.
            rec.status = SettlementStatus::Sent;
            rec.tx_hash = None;
            rec.sent_at = Some(unix_now());
            self.store.put_settlement(&info.hash, rec)?;
            let mined = self.client.settle_paged(&proof, settlement).await?;
            return self.mark_settled(info, rec, Some(mined)).await;
        }
        // Send, record the hash, then wait.
        let args = SettleArgs::new(&proof, settlement);
        let pending = self.client.send_settle(&args).await?;
        let tx = *pending.tx_hash();
        rec.status = SettlementStatus::Sent;
        rec.tx_hash = Some(tx);
        rec.sent_at = Some(unix_now());
        self.store.put_settlement(&info.hash, rec)?;
        let mined = self.client.wait("SettlementPool.settle", pending).await?;
        self.mark_settled(info, rec, Some(mined)).await
    }

    async fn mark_settled(
        &self,
        info: &BlockInfo,
        rec: &mut SettlementRecord,
        mined: Option<Mined>,
    ) -> Result<(), SettleError> {
        let mined = match mined {
            Some(m) => Some(m),
            None => {
                let recorded = match rec.tx_hash {
                    Some(tx) => self.client.receipt(tx).await?.and_then(Result::ok),
                    None => None,
                };
                match recorded {
                    Some(m) => Some(m),
                    // Not the recorded one (or none): the event names the transaction.
                    None => self.client.settlement_of(evm_hash(&info.hash)).await?,
                }
            }
        };
        if let Some(m) = mined {
            rec.tx_hash = Some(m.tx);
            rec.gas_used = Some(m.gas_used);
            self.metrics.settle_gas.set(m.gas_used as i64);
        }
        rec.status = SettlementStatus::Settled;
        rec.error = None;
        let now = unix_now();
        rec.settled_at = Some(now);
        self.metrics.blocks_settled.inc();
        tracing::info!(
            block = %info.hash,
            height = info.height,
            tx = rec.tx_hash.map_or_else(|| "(by an earlier run)".to_owned(), |t| t.to_string()),
            gas = rec.gas_used,
            found_to_settled_secs = now.saturating_sub(info.found_at),
            "block settled"
        );
        Ok(())
    }
}

fn step_name(status: SettlementStatus) -> &'static str {
    match status {
        SettlementStatus::Found => "confirm",
        SettlementStatus::Confirmed => "fund",
        SettlementStatus::Proving => "prove",
        SettlementStatus::Sent => "send",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use circuits::pplns::PplnsError;

    #[test]
    fn only_a_challenge_that_hits_an_address_is_unprovable() {
        let hit = SettleError::Prove(circuits::ProveError::Assign(
            PplnsError::ChallengeHitsAddress,
        ));
        assert!(hit.is_unprovable());
        for retry in [
            SettleError::Prove(circuits::ProveError::SelfCheck),
            SettleError::Prove(circuits::ProveError::Assign(PplnsError::WindowSize {
                expected: 4,
                got: 5,
            })),
            SettleError::Chain(EvmError::Reverted {
                what: "SettlementPool.settle",
                reason: "SettlementNotConfirmed".into(),
            }),
        ] {
            assert!(!retry.is_unprovable(), "{retry}");
        }
    }
}
