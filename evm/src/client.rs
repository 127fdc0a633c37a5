//! The EVM side: one client over an HTTP provider with the node's signer,
//! speaking to the light client, the settlement pool and the dev peg-in of
//! one deployment. Every call that changes state is preceded by a read of
//! the state it would change (the caller's job, see the node's settlement loop), so
//! a restart or an RPC failure mid-way never settles twice.

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::TransactionReceipt;
use alloy::signers::local::PrivateKeySigner;
use bitcoin::hashes::Hash;
use bitcoin::{Block, Transaction};
use circuits::Settlement;
use share_verifier::allocation::Payee;
use share_verifier::binding;

use crate::contracts::{BtcLightClient, Deployment, DevPegIn, SettlementPool, WrappedBtc};

/// Errors of the chain client.
#[derive(Debug, thiserror::Error)]
pub enum EvmError {
    /// A claim for an account whose balance is zero.
    #[error("{0} has nothing to claim")]
    NothingToClaim(Address),
    /// The RPC URL does not parse.
    #[error("EVM RPC URL {url:?}: {source}")]
    Url {
        /// The URL.
        url: String,
        /// Why.
        source: url::ParseError,
    },
    /// A call or transaction failed in transport or was refused by the node.
    #[error("{what}: {source}")]
    Rpc {
        /// What was done.
        what: &'static str,
        /// Why: the transport's, the pending transaction's or the contract call's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The contract reverted; `reason` is the decoded custom error.
    #[error("{what} reverted: {reason}")]
    Reverted {
        /// What was done.
        what: &'static str,
        /// The decoded error (e.g. `SettlementInvalidProof(..)`).
        reason: String,
    },
    /// The transaction was mined but failed.
    #[error("{what}: transaction {tx} failed")]
    Failed {
        /// What was done.
        what: &'static str,
        /// Its hash.
        tx: B256,
    },
}

/// The arguments of `SettlementPool.settle` for one block.
#[derive(Debug, Clone)]
pub struct SettleArgs {
    /// The 80-byte header.
    pub header: Bytes,
    /// The coinbase, legacy serialisation.
    pub coinbase: Bytes,
    /// The coinbase's Merkle branch, bottom up, internal byte order.
    pub merkle_proof: Vec<B256>,
    /// Every address with weight in the window, ascending, with its weight
    /// (sent as packed records, `share_verifier::binding`).
    pub payees: Vec<Payee>,
    /// X, the proof's weight commitment.
    pub weight_commitment: U256,
    /// The Groth16 proof words.
    pub proof: [U256; 8],
}

/// The SPV parts of a block that `settle` and `deliver` take.
#[derive(Debug, Clone)]
pub struct BlockProof {
    /// The 80-byte header.
    pub header: Bytes,
    /// The coinbase, legacy serialisation.
    pub coinbase: Bytes,
    /// The coinbase's Merkle branch.
    pub merkle_proof: Vec<B256>,
    /// The coinbase's txid (internal byte order), the settlement key.
    pub txid: B256,
}

impl BlockProof {
    /// Takes the header, the coinbase (witness stripped) and its branch from `block`.
    pub fn from_block(block: &Block) -> Self {
        let mut coinbase: Transaction = block.txdata[0].clone();
        for input in &mut coinbase.input {
            input.witness.clear();
        }
        let txids: Vec<_> = block.txdata[1..].iter().map(|t| t.compute_txid()).collect();
        let branch = share_verifier::header::coinbase_merkle_branch(&txids);
        BlockProof {
            header: Bytes::from(bitcoin::consensus::serialize(&block.header)),
            coinbase: Bytes::from(bitcoin::consensus::serialize(&coinbase)),
            merkle_proof: branch
                .iter()
                .map(|n| B256::from(n.to_byte_array()))
                .collect(),
            txid: B256::from(coinbase.compute_txid().to_byte_array()),
        }
    }
}

/// A claim that went through.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Satoshis (wrapped BTC units) paid.
    pub amount: u64,
    /// The mined claim.
    pub mined: Mined,
}

/// A field element as a `uint256`.
pub fn field_word(x: &ark_bn254::Fr) -> U256 {
    U256::from_be_bytes(share_verifier::field::to_be_bytes(x))
}

/// The proof as the verifier's `uint256[8]`.
pub fn proof_words(settlement: &Settlement) -> [U256; 8] {
    let words = circuits::proof::proof_words(&settlement.proof);
    let mut proof = [U256::ZERO; 8];
    for (slot, word) in proof.iter_mut().zip(words.iter()) {
        *slot = U256::from_str_radix(word, 10).expect("proof words are decimal field elements");
    }
    proof
}

impl SettleArgs {
    /// The call for `block` with a proven settlement.
    pub fn new(block: &BlockProof, settlement: &Settlement) -> Self {
        SettleArgs {
            header: block.header.clone(),
            coinbase: block.coinbase.clone(),
            merkle_proof: block.merkle_proof.clone(),
            payees: settlement.payees.clone(),
            weight_commitment: field_word(&settlement.public.weight_commitment),
            proof: proof_words(settlement),
        }
    }
}

/// Records per `checkPayees` page, as a multiple of the crediting page.
pub const CHECK_PAGE_FACTOR: usize = 8;

/// A mined transaction: its hash and gas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mined {
    /// Transaction hash.
    pub tx: B256,
    /// Gas used.
    pub gas_used: u64,
}

impl Mined {
    /// Folds in a later transaction of the same settlement: its hash, the gas of both.
    fn add(&mut self, later: Mined) {
        self.tx = later.tx;
        self.gas_used += later.gas_used;
    }
}

/// The client of one deployment.
#[derive(Debug, Clone)]
pub struct EvmClient {
    provider: DynProvider,
    /// The deployment.
    pub deployment: Deployment,
    /// The signer's address.
    pub sender: Address,
}

fn rpc<E: std::error::Error + Send + Sync + 'static>(
    what: &'static str,
) -> impl FnOnce(E) -> EvmError {
    move |e| EvmError::Rpc {
        what,
        source: Box::new(e),
    }
}

/// Turns a contract error into [`EvmError::Reverted`] with the decoded
/// custom error when the contract reverted, [`EvmError::Rpc`] otherwise.
fn contract(what: &'static str) -> impl FnOnce(alloy::contract::Error) -> EvmError {
    move |e| {
        if let Some(err) = e.as_decoded_interface_error::<SettlementPool::SettlementPoolErrors>() {
            return EvmError::Reverted {
                what,
                reason: format!("{err:?}"),
            };
        }
        if let Some(err) = e.as_decoded_interface_error::<DevPegIn::DevPegInErrors>() {
            return EvmError::Reverted {
                what,
                reason: format!("{err:?}"),
            };
        }
        if let Some(err) = e.as_decoded_interface_error::<BtcLightClient::BtcLightClientErrors>() {
            return EvmError::Reverted {
                what,
                reason: format!("{err:?}"),
            };
        }
        if let Some(data) = e.as_revert_data() {
            return EvmError::Reverted {
                what,
                reason: format!("revert data {data}"),
            };
        }
        EvmError::Rpc {
            what,
            source: Box::new(e),
        }
    }
}

/// An EVM JSON-RPC URL, or the error naming it.
fn parse_url(url: &str) -> Result<alloy::transports::http::reqwest::Url, EvmError> {
    alloy::transports::http::reqwest::Url::parse(url).map_err(|source| EvmError::Url {
        url: url.to_owned(),
        source,
    })
}

impl EvmClient {
    /// Connects to `url` signing with `signer`.
    ///
    /// # Errors
    /// [`EvmError::Url`] for a bad URL.
    pub fn connect(
        url: &str,
        signer: PrivateKeySigner,
        deployment: Deployment,
    ) -> Result<Self, EvmError> {
        let parsed = parse_url(url)?;
        let sender = signer.address();
        let provider = ProviderBuilder::new()
            .wallet(EthereumWallet::from(signer))
            .connect_http(parsed)
            .erased();
        Ok(EvmClient {
            provider,
            deployment,
            sender,
        })
    }

    /// Reads a deployment from the settlement pool at `pool`: its
    /// dependencies, settlement script and the light client's checkpoint
    /// (`deploy_block` 0: events are searched from genesis).
    ///
    /// # Errors
    /// [`EvmError`] for a bad URL or a failed call (e.g. no pool there).
    pub async fn discover(url: &str, pool: Address) -> Result<Deployment, EvmError> {
        let parsed = parse_url(url)?;
        let provider = ProviderBuilder::new().connect_http(parsed).erased();
        let instance = SettlementPool::new(pool, provider.clone());
        let deps = instance
            .dependencies()
            .call()
            .await
            .map_err(contract("SettlementPool.dependencies"))?;
        let script = instance
            .settlementScript()
            .call()
            .await
            .map_err(contract("SettlementPool.settlementScript"))?;
        let checkpoint = BtcLightClient::new(deps.lightClient, provider.clone())
            .checkpointHeight()
            .call()
            .await
            .map_err(contract("BtcLightClient.checkpointHeight"))?;
        let chain_id = provider.get_chain_id().await.map_err(rpc("eth_chainId"))?;
        Ok(Deployment {
            chain_id,
            deploy_block: 0,
            light_client: deps.lightClient,
            verifier: deps.verifier,
            token: deps.token,
            peg_in: deps.pegIn,
            settlement_pool: pool,
            settlement_script: script,
            checkpoint_height: checkpoint.saturating_to(),
        })
    }

    /// A client that only reads (balances, events): no signer.
    ///
    /// # Errors
    /// [`EvmError::Url`] for a bad URL.
    pub fn read_only(url: &str, deployment: Deployment) -> Result<Self, EvmError> {
        let parsed = parse_url(url)?;
        let provider = ProviderBuilder::new().connect_http(parsed).erased();
        Ok(EvmClient {
            provider,
            deployment,
            sender: Address::ZERO,
        })
    }

    /// The provider (for callers that deploy or inspect).
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    fn pool(&self) -> SettlementPool::SettlementPoolInstance<DynProvider> {
        SettlementPool::new(self.deployment.settlement_pool, self.provider.clone())
    }

    fn light_client(&self) -> BtcLightClient::BtcLightClientInstance<DynProvider> {
        BtcLightClient::new(self.deployment.light_client, self.provider.clone())
    }

    fn peg_in(&self) -> DevPegIn::DevPegInInstance<DynProvider> {
        DevPegIn::new(self.deployment.peg_in, self.provider.clone())
    }

    async fn mined(
        &self,
        what: &'static str,
        pending: alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
    ) -> Result<Mined, EvmError> {
        let receipt: TransactionReceipt = pending.get_receipt().await.map_err(rpc(what))?;
        if !receipt.status() {
            return Err(EvmError::Failed {
                what,
                tx: receipt.transaction_hash,
            });
        }
        Ok(Mined {
            tx: receipt.transaction_hash,
            gas_used: receipt.gas_used,
        })
    }

    /// The chain id of the RPC's chain.
    ///
    /// # Errors
    /// [`EvmError::Rpc`] when the call fails.
    pub async fn chain_id(&self) -> Result<u64, EvmError> {
        self.provider
            .get_chain_id()
            .await
            .map_err(rpc("eth_chainId"))
    }

    /// The light client's tip: (height, hash).
    ///
    /// # Errors
    /// [`EvmError`] when the call fails.
    pub async fn light_client_tip(&self) -> Result<(u64, B256), EvmError> {
        let tip = self
            .light_client()
            .tip()
            .call()
            .await
            .map_err(contract("BtcLightClient.tip"))?;
        Ok((tip.height.saturating_to(), tip.blockHash))
    }

    /// The light client's best-chain hash at `height` (zero outside its range).
    ///
    /// # Errors
    /// [`EvmError`] when the call fails.
    pub async fn light_client_hash_at(&self, height: u64) -> Result<B256, EvmError> {
        self.light_client()
            .blockHashAt(U256::from(height))
            .call()
            .await
            .map_err(contract("BtcLightClient.blockHashAt"))
    }

    /// Submits `headers` (concatenated, 80 bytes each) after `parent_height`.
    ///
    /// # Errors
    /// [`EvmError`] when the transaction fails.
    pub async fn submit_headers(
        &self,
        parent_height: u64,
        headers: Vec<u8>,
    ) -> Result<Mined, EvmError> {
        let what = "BtcLightClient.submitHeaders";
        let pending = self
            .light_client()
            .submitHeaders(U256::from(parent_height), Bytes::from(headers))
            .send()
            .await
            .map_err(contract(what))?;
        self.mined(what, pending).await
    }

    /// Confirmations of block `hash` at `height` in the light client (0: not in its best chain).
    ///
    /// # Errors
    /// [`EvmError`] when the call fails.
    pub async fn confirmations(&self, hash: B256, height: u64) -> Result<u64, EvmError> {
        let c = self
            .light_client()
            .confirmations(hash, U256::from(height))
            .call()
            .await
            .map_err(contract("BtcLightClient.confirmations"))?;
        Ok(c.saturating_to())
    }

    /// The pool's parameters: (fee recipient, confirmations, N).
    ///
    /// # Errors
    /// [`EvmError`] when the call fails.
    pub async fn parameters(&self) -> Result<(Address, u64, u64), EvmError> {
        let p = self
            .pool()
            .parameters()
            .call()
            .await
            .map_err(contract("SettlementPool.parameters"))?;
        Ok((
            p.feeRecipient,
            p.confirmations.saturating_to(),
            p.windowSize.saturating_to(),
        ))
    }

    /// The pool's current fee in basis points.
    ///
    /// # Errors
    /// [`EvmError`] when the call fails.
    pub async fn fee_bps(&self) -> Result<u32, EvmError> {
        let fee = self
            .pool()
            .feeBps()
            .call()
            .await
            .map_err(contract("SettlementPool.feeBps"))?;
        Ok(fee.saturating_to())
    }

    /// The block that settled coinbase `txid` (zero: not settled).
    ///
    /// # Errors
    /// [`EvmError`] when the call fails.
    pub async fn settled_block_of(&self, txid: B256) -> Result<B256, EvmError> {
        self.pool()
            .settledBlockOf(txid)
            .call()
            .await
            .map_err(contract("SettlementPool.settledBlockOf"))
    }

    /// What the peg-in has delivered for coinbase `txid`, sats.
    ///
    /// # Errors
    /// [`EvmError`] when the call fails.
    pub async fn delivered(&self, txid: B256) -> Result<u64, EvmError> {
        let d = self
            .peg_in()
            .delivered(txid)
            .call()
            .await
            .map_err(contract("DevPegIn.delivered"))?;
        Ok(d.saturating_to())
    }

    /// Asks the dev peg-in to bridge `block`'s coinbase (devnets).
    ///
    /// # Errors
    /// [`EvmError`] when the transaction fails.
    pub async fn deliver(&self, block: &BlockProof) -> Result<Mined, EvmError> {
        let what = "DevPegIn.deliver";
        let pending = self
            .peg_in()
            .deliver(
                block.header.clone(),
                block.coinbase.clone(),
                block.merkle_proof.clone(),
            )
            .send()
            .await
            .map_err(contract(what))?;
        self.mined(what, pending).await
    }

    /// Sends `settle` and returns the transaction's hash once it is in the
    /// RPC node's pool (the caller records it before waiting for the receipt).
    /// The provider estimates gas first, so a settlement the contract would
    /// refuse comes back as [`EvmError::Reverted`] naming the reason,
    /// without a transaction.
    ///
    /// # Errors
    /// [`EvmError`].
    pub async fn send_settle(
        &self,
        args: &SettleArgs,
    ) -> Result<alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>, EvmError>
    {
        self.pool()
            .settle(
                args.header.clone(),
                args.coinbase.clone(),
                args.merkle_proof.clone(),
                Bytes::from(binding::encode_records(&args.payees)),
                args.weight_commitment,
                args.proof,
            )
            .send()
            .await
            .map_err(contract("SettlementPool.settle"))
    }

    /// Settles a payee list longer than one page: `openSettlement` with the
    /// proof, then `checkPayees` over pages of [`CHECK_PAGE_FACTOR`] times
    /// the crediting page (checking costs about 900 gas a record, crediting
    /// up to 24,000; the list hash does not depend on the paging), then
    /// `creditPayees` for every page, each waited for. Resumes from the
    /// contract's state: an opening that exists is not opened again, and each
    /// pass goes on from the record its cursor names. Returns the last transaction
    /// with the gas of all of them.
    ///
    /// # Errors
    /// [`EvmError`] for a refused or failed step (the next call resumes).
    pub async fn settle_paged(
        &self,
        block: &BlockProof,
        settlement: &Settlement,
    ) -> Result<Mined, EvmError> {
        // The chain hash at every record (`chain[j]` = h_j, `chain[D]` = 0):
        // whatever record the opening's cursor names, the next page starts
        // there, so a pass resumes even after a restart with another page size.
        let records = binding::encode_records(&settlement.payees);
        let d = settlement.payees.len();
        let mut chain = vec![[0u8; 32]; d + 1];
        for j in (0..d).rev() {
            chain[j] = binding::chain_step(
                &records[j * binding::RECORD_LEN..(j + 1) * binding::RECORD_LEN],
                &chain[j + 1],
            );
        }
        let list_hash = B256::from(chain[0]);
        let x = field_word(&settlement.public.weight_commitment);
        let pool = self.pool();
        let id = pool
            .openingId(block.txid, list_hash, x)
            .call()
            .await
            .map_err(contract("SettlementPool.openingId"))?;
        let mut total = Mined {
            tx: B256::ZERO,
            gas_used: 0,
        };
        if self.stage_of(id).await?.0 == 0 {
            let what = "SettlementPool.openSettlement";
            let pending = pool
                .openSettlement(
                    block.header.clone(),
                    block.coinbase.clone(),
                    block.merkle_proof.clone(),
                    list_hash,
                    x,
                    field_word(&settlement.public.table_sum),
                    proof_words(settlement),
                )
                .send()
                .await
                .map_err(contract(what))?;
            total.add(self.mined(what, pending).await?);
        }
        let credit_records = settlement.page_records.max(1);
        for (stage, page_records) in [
            (1u8, credit_records.saturating_mul(CHECK_PAGE_FACTOR)),
            (2, credit_records),
        ] {
            loop {
                let (current, cursor) = self.stage_of(id).await?;
                if current != stage {
                    break;
                }
                let Some(start) = chain.iter().position(|h| B256::from(*h) == cursor) else {
                    return Err(EvmError::Reverted {
                        what: "SettlementPool.openingOf",
                        reason: format!("the opening's cursor {cursor} is no record of this list"),
                    });
                };
                let end = (start + page_records).min(d);
                let page = Bytes::from(
                    records[start * binding::RECORD_LEN..end * binding::RECORD_LEN].to_vec(),
                );
                let next = B256::from(chain[end]);
                let (what, pending) = if stage == 1 {
                    let what = "SettlementPool.checkPayees";
                    let sent = pool.checkPayees(id, page, next).send().await;
                    (what, sent.map_err(contract(what))?)
                } else {
                    let what = "SettlementPool.creditPayees";
                    let sent = pool.creditPayees(id, page, next).send().await;
                    (what, sent.map_err(contract(what))?)
                };
                total.add(self.mined(what, pending).await?);
            }
        }
        Ok(total)
    }

    /// An opening's stage (0 none, 1 checking, 2 crediting) and cursor.
    async fn stage_of(&self, id: B256) -> Result<(u8, B256), EvmError> {
        let opening = self
            .pool()
            .openingOf(id)
            .call()
            .await
            .map_err(contract("SettlementPool.openingOf"))?;
        Ok((opening.stage, opening.cursor))
    }

    /// Waits for a sent transaction's receipt.
    ///
    /// # Errors
    /// [`EvmError`] when it fails or cannot be fetched.
    pub async fn wait(
        &self,
        what: &'static str,
        pending: alloy::providers::PendingTransactionBuilder<alloy::network::Ethereum>,
    ) -> Result<Mined, EvmError> {
        self.mined(what, pending).await
    }

    /// The receipt of `tx`, if mined: `Some(Ok)` for success, `Some(Err)` for a failed one.
    ///
    /// # Errors
    /// [`EvmError`] when the query fails.
    pub async fn receipt(&self, tx: B256) -> Result<Option<Result<Mined, B256>>, EvmError> {
        let r = self
            .provider
            .get_transaction_receipt(tx)
            .await
            .map_err(rpc("eth_getTransactionReceipt"))?;
        Ok(r.map(|r| {
            if r.status() {
                Ok(Mined {
                    tx,
                    gas_used: r.gas_used,
                })
            } else {
                Err(tx)
            }
        }))
    }

    /// Every `BlockSettled` event of the pool since its deployment, in order.
    ///
    /// # Errors
    /// [`EvmError`] when the log query fails.
    pub async fn settled_events(&self) -> Result<Vec<SettlementPool::BlockSettled>, EvmError> {
        let events = self
            .pool()
            .BlockSettled_filter()
            .from_block(self.deployment.deploy_block)
            .query()
            .await
            .map_err(contract("BlockSettled logs"))?;
        Ok(events.into_iter().map(|(e, _)| e).collect())
    }

    /// As [`Self::settled_events`], with each event's transaction hash and EVM block number.
    ///
    /// # Errors
    /// [`EvmError`] when the log query fails.
    pub async fn settled_logs(
        &self,
    ) -> Result<Vec<(SettlementPool::BlockSettled, Option<B256>, Option<u64>)>, EvmError> {
        let events = self
            .pool()
            .BlockSettled_filter()
            .from_block(self.deployment.deploy_block)
            .query()
            .await
            .map_err(contract("BlockSettled logs"))?;
        Ok(events
            .into_iter()
            .map(|(e, log)| (e, log.transaction_hash, log.block_number))
            .collect())
    }

    /// The transactions of every `SettlementOpened` for block `block_hash`
    /// with list hash `list_hash`.
    ///
    /// # Errors
    /// [`EvmError`] when the log query fails.
    pub async fn opened_logs(
        &self,
        block_hash: B256,
        list_hash: B256,
    ) -> Result<Vec<B256>, EvmError> {
        let events = self
            .pool()
            .SettlementOpened_filter()
            .from_block(self.deployment.deploy_block)
            .query()
            .await
            .map_err(contract("SettlementOpened logs"))?;
        Ok(events
            .into_iter()
            .filter(|(e, _)| e.blockHash == block_hash && e.listHash == list_hash)
            .filter_map(|(_, log)| log.transaction_hash)
            .collect())
    }

    /// The transaction that settled block `hash` (from its `BlockSettled`
    /// event), with its gas: for a settlement whose transaction the node
    /// never learnt (a response lost in transit, a crash before recording).
    ///
    /// # Errors
    /// [`EvmError`] when a query fails.
    pub async fn settlement_of(&self, hash: B256) -> Result<Option<Mined>, EvmError> {
        let events = self
            .pool()
            .BlockSettled_filter()
            .topic1(hash)
            .from_block(self.deployment.deploy_block)
            .query()
            .await
            .map_err(contract("BlockSettled logs"))?;
        let Some(tx) = events.first().and_then(|(_, log)| log.transaction_hash) else {
            return Ok(None);
        };
        Ok(self.receipt(tx).await?.and_then(Result::ok))
    }

    /// `account`'s unclaimed balance in the pool, sats.
    ///
    /// # Errors
    /// [`EvmError`] when the call fails.
    pub async fn balance_of(&self, account: Address) -> Result<u64, EvmError> {
        let b = self
            .pool()
            .balanceOf(account)
            .call()
            .await
            .map_err(contract("SettlementPool.balanceOf"))?;
        Ok(b.saturating_to())
    }

    /// `account`'s wrapped-BTC token balance, sats.
    ///
    /// # Errors
    /// [`EvmError`] when the call fails.
    pub async fn token_balance(&self, account: Address) -> Result<u64, EvmError> {
        let b = WrappedBtc::new(self.deployment.token, self.provider.clone())
            .balanceOf(account)
            .call()
            .await
            .map_err(contract("WrappedBtc.balanceOf"))?;
        Ok(b.saturating_to())
    }

    /// Claims `account`'s whole balance: the signer's own with `claim`, or
    /// another account's, paid to that account, with `claimFor`. Returns
    /// the amount claimed and the mined transaction.
    ///
    /// # Errors
    /// [`EvmError::NothingToClaim`] for a zero balance; the call's errors.
    pub async fn claim_balance(&self, account: Address) -> Result<Claimed, EvmError> {
        let amount = self.balance_of(account).await?;
        if amount == 0 {
            return Err(EvmError::NothingToClaim(account));
        }
        let mined = if account == self.sender {
            self.claim().await?
        } else {
            self.claim_for(account).await?
        };
        Ok(Claimed { amount, mined })
    }

    /// Claims the signer's whole balance.
    ///
    /// # Errors
    /// [`EvmError`] (e.g. `SettlementNothingToClaim`).
    pub async fn claim(&self) -> Result<Mined, EvmError> {
        let what = "SettlementPool.claim";
        let pending = self.pool().claim().send().await.map_err(contract(what))?;
        self.mined(what, pending).await
    }

    /// Pays `account` its own balance (anyone may call it).
    ///
    /// # Errors
    /// [`EvmError`].
    pub async fn claim_for(&self, account: Address) -> Result<Mined, EvmError> {
        let what = "SettlementPool.claimFor";
        let pending = self
            .pool()
            .claimFor(account)
            .send()
            .await
            .map_err(contract(what))?;
        self.mined(what, pending).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::absolute::LockTime;
    use bitcoin::block::{Header, Version};
    use bitcoin::hashes::sha256d;
    use bitcoin::pow::CompactTarget;
    use bitcoin::transaction::Version as TxVersion;
    use bitcoin::{
        Amount, BlockHash, OutPoint, ScriptBuf, Sequence, TxIn, TxMerkleNode, TxOut, Witness,
    };

    fn tx(n: u32, witness: bool) -> Transaction {
        Transaction {
            version: TxVersion::TWO,
            lock_time: LockTime::from_consensus(n),
            input: vec![TxIn {
                previous_output: if n == 0 {
                    OutPoint::null()
                } else {
                    OutPoint::new(bitcoin::Txid::from_byte_array([n as u8; 32]), n)
                },
                script_sig: ScriptBuf::from_bytes(vec![0x51, n as u8]),
                sequence: Sequence::MAX,
                witness: if witness {
                    Witness::from_slice(&[[0u8; 32]])
                } else {
                    Witness::new()
                },
            }],
            output: vec![TxOut {
                value: Amount::from_sat(1000 + u64::from(n)),
                script_pubkey: ScriptBuf::new(),
            }],
        }
    }

    #[test]
    fn the_coinbase_branch_leads_to_the_merkle_root_for_any_transaction_count() {
        for count in 1..=7u32 {
            let txdata: Vec<_> = (0..count).map(|n| tx(n, n == 0)).collect();
            let mut block = Block {
                header: Header {
                    version: Version::TWO,
                    prev_blockhash: BlockHash::all_zeros(),
                    merkle_root: TxMerkleNode::all_zeros(),
                    time: 0,
                    bits: CompactTarget::from_consensus(0x207f_ffff),
                    nonce: 0,
                },
                txdata,
            };
            block.header.merkle_root = block.compute_merkle_root().unwrap();
            let proof = BlockProof::from_block(&block);
            assert_eq!(proof.header.len(), 80);
            assert_eq!(
                proof.merkle_proof.len(),
                (count as f64).log2().ceil() as usize
            );
            // The coinbase is sent without its witness, and its txid is the block's.
            let coinbase: Transaction = bitcoin::consensus::deserialize(&proof.coinbase).unwrap();
            assert!(coinbase.input[0].witness.is_empty());
            assert_eq!(
                proof.txid,
                B256::from(block.txdata[0].compute_txid().to_byte_array())
            );
            let mut node = proof.txid.0;
            for sibling in &proof.merkle_proof {
                let mut buf = [0u8; 64];
                buf[..32].copy_from_slice(&node);
                buf[32..].copy_from_slice(sibling.as_slice());
                node = sha256d::Hash::hash(&buf).to_byte_array();
            }
            assert_eq!(
                node,
                block.header.merkle_root.to_byte_array(),
                "{count} txs"
            );
        }
    }
}
