//! The Bitcoin chain as settlement reads it: the best chain's height and,
//! per height, its header and whole block. The embedded chain answers from
//! memory and sled; bitcoind answers over JSON-RPC (`getblockcount`,
//! `getblockhash`, `getblockheader`, `getblock`), through the same nodes
//! and failover as its templates.

use bitcoin::block::Header;
use bitcoin::consensus::Decodable;
use bitcoin::{Block, BlockHash};
use serde_json::{json, Value};

use crate::answer::AnswerFault;
use crate::bitcoind::BitcoindSource;
use crate::embedded::EmbeddedSource;
use crate::{BoxFuture, SourceError};

/// Errors reading the Bitcoin chain.
#[derive(Debug, thiserror::Error)]
pub enum BestChainError {
    /// The node could not be asked.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The node answered something that is not what was asked for.
    #[error("bitcoind {method}: {source}")]
    BadAnswer {
        /// The RPC.
        method: &'static str,
        /// What is wrong with it.
        source: AnswerFault,
    },
}

/// The best chain, as the node's template source knows it.
pub trait BestChain: Send + Sync {
    /// The tip's height.
    fn tip_height(&self) -> BoxFuture<'_, Result<u32, BestChainError>>;
    /// The header at `height` on the best chain (`None` above the tip).
    fn header_at(&self, height: u32) -> BoxFuture<'_, Result<Option<Header>, BestChainError>>;
    /// The whole block at `height` on the best chain (`None` above the tip).
    fn block_at(&self, height: u32) -> BoxFuture<'_, Result<Option<Block>, BestChainError>>;
}

impl BestChain for EmbeddedSource {
    fn tip_height(&self) -> BoxFuture<'_, Result<u32, BestChainError>> {
        let height = self.with_chain(|c| c.height());
        Box::pin(async move { Ok(height) })
    }

    fn header_at(&self, height: u32) -> BoxFuture<'_, Result<Option<Header>, BestChainError>> {
        let header = self.with_chain(|c| c.header(height).copied());
        Box::pin(async move { Ok(header) })
    }

    fn block_at(&self, height: u32) -> BoxFuture<'_, Result<Option<Block>, BestChainError>> {
        let block = self.with_chain(|c| c.block(height));
        Box::pin(async move { Ok(block) })
    }
}

/// bitcoind's "Block height out of range" (RPC_INVALID_PARAMETER, -8) is
/// how it says a height is above its tip.
fn above_tip(e: &SourceError) -> bool {
    matches!(e, SourceError::Rpc { message, .. } if message.contains("out of range"))
}

fn decode_hex<T: Decodable>(method: &'static str, value: &Value) -> Result<T, BestChainError> {
    let bad = |source: AnswerFault| BestChainError::BadAnswer { method, source };
    let text = value
        .as_str()
        .ok_or_else(|| bad(AnswerFault::shape("hex", Some(value))))?;
    let bytes = hex::decode(text).map_err(|e| bad(e.into()))?;
    bitcoin::consensus::deserialize(&bytes).map_err(|e| bad(e.into()))
}

impl BitcoindSource {
    /// The hash at `height` on bitcoind's best chain (`None` above its tip).
    async fn hash_at(&self, height: u32) -> Result<Option<BlockHash>, BestChainError> {
        match self
            .call(
                "getblockhash",
                json!([height]),
                crate::bitcoind::CALL_TIMEOUT,
            )
            .await
        {
            Ok(v) => {
                let bad = |source: AnswerFault| BestChainError::BadAnswer {
                    method: "getblockhash",
                    source,
                };
                let text = v
                    .as_str()
                    .ok_or_else(|| bad(AnswerFault::shape("a hash", Some(&v))))?;
                text.parse()
                    .map(Some)
                    .map_err(|e: bitcoin::hex::HexToArrayError| bad(e.into()))
            }
            Err(e) if above_tip(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `method` (`getblockheader` or `getblock`) of the block at `height`,
    /// in raw form, checked to be the block asked for.
    async fn raw_at<T: Decodable>(
        &self,
        height: u32,
        method: &'static str,
        raw: Value,
        hash_of: impl Fn(&T) -> BlockHash,
    ) -> Result<Option<T>, BestChainError> {
        let Some(hash) = self.hash_at(height).await? else {
            return Ok(None);
        };
        let answer = self
            .call(
                method,
                json!([hash.to_string(), raw]),
                crate::bitcoind::CALL_TIMEOUT,
            )
            .await?;
        let item: T = decode_hex(method, &answer)?;
        if hash_of(&item) != hash {
            return Err(BestChainError::BadAnswer {
                method,
                source: AnswerFault::WrongBlock {
                    asked: hash,
                    got: hash_of(&item),
                },
            });
        }
        Ok(Some(item))
    }
}

impl BestChain for BitcoindSource {
    fn tip_height(&self) -> BoxFuture<'_, Result<u32, BestChainError>> {
        Box::pin(async move {
            let v = self
                .call("getblockcount", json!([]), crate::bitcoind::CALL_TIMEOUT)
                .await?;
            v.as_u64()
                .and_then(|h| u32::try_from(h).ok())
                .ok_or_else(|| BestChainError::BadAnswer {
                    method: "getblockcount",
                    source: AnswerFault::shape("a height", Some(&v)),
                })
        })
    }

    fn header_at(&self, height: u32) -> BoxFuture<'_, Result<Option<Header>, BestChainError>> {
        Box::pin(self.raw_at(height, "getblockheader", json!(false), Header::block_hash))
    }

    fn block_at(&self, height: u32) -> BoxFuture<'_, Result<Option<Block>, BestChainError>> {
        Box::pin(self.raw_at(height, "getblock", json!(0), Block::block_hash))
    }
}
