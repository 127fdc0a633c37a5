//! What can be wrong with a value in a bitcoind answer, as a typed cause:
//! the template parser and the best-chain reads both report through it, so
//! a caller can tell a hex typo from a block that is not the one asked for.

use bitcoin::BlockHash;

/// Why a value in a bitcoind answer cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AnswerFault {
    /// The value is missing or of the wrong JSON type.
    #[error("expected {expected}, got {got}")]
    Shape {
        /// What the value should be (`a string`, `a height`, …).
        expected: &'static str,
        /// The value found (`null` when missing), as JSON text.
        got: String,
    },
    /// A hex string that does not decode.
    #[error("not hex: {0}")]
    Hex(#[from] hex::FromHexError),
    /// A hash that is not 64 hex digits.
    #[error("not a hash: {0}")]
    Hash(#[from] bitcoin::hex::HexToArrayError),
    /// A script that is not hex.
    #[error("not a script: {0}")]
    Script(#[from] bitcoin::hex::HexToBytesError),
    /// A number written in hex that does not parse (`bits`).
    #[error("not a hex number: {0}")]
    Number(#[from] std::num::ParseIntError),
    /// Bytes that do not decode as the Bitcoin structure expected.
    #[error("does not decode: {0}")]
    Decode(#[from] bitcoin::consensus::encode::Error),
    /// A block or header whose hash is not the one asked for.
    #[error("asked for {asked}, got {got}")]
    WrongBlock {
        /// The hash asked for.
        asked: BlockHash,
        /// The hash of what came back.
        got: BlockHash,
    },
    /// A template transaction whose `txid` is not the hash of its `data`.
    #[error("txid {claimed} does not match its data ({computed})")]
    TxidMismatch {
        /// The txid the node gave.
        claimed: String,
        /// The txid of the data.
        computed: bitcoin::Txid,
    },
}

impl AnswerFault {
    /// A missing value or one of the wrong JSON type.
    pub fn shape(expected: &'static str, got: Option<&serde_json::Value>) -> AnswerFault {
        AnswerFault::Shape {
            expected,
            got: got.map_or_else(|| "nothing".to_owned(), ToString::to_string),
        }
    }
}
