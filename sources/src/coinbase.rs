//! The coinbase builder: a template and the window root at job time become
//! `coinb1` and `coinb2`, the coinbase bytes around the extranonces.
//!
//! scriptSig: `<BIP34 height> <push of extranonce1 || extranonce2> <pool tag>`.
//! Outputs (DESIGN item 7): the whole coinbase value to the settlement
//! script, the zero-value `OP_RETURN "SHPF" 01 <root>` commitment, and the
//! witness commitment when the template has one (last, where Bitcoin Core
//! looks for it). Serialised without witness, as Stratum hashes it.

use bitcoin::absolute::LockTime;
use bitcoin::blockdata::script::{Builder, PushBytesBuf};
use bitcoin::transaction::Version;
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Witness};
use share_verifier::commitment::commitment_output;
use share_verifier::WindowRoot;

use crate::Template;

/// The devnet's default settlement script: P2WSH(OP_TRUE),
/// `0020 4ae81572f06e1b88fd5ced7a1a000945432e83e1551e6f721ee9c00b8cc33260`.
/// Anyone can spend it: production must configure the bridge's peg-in script.
pub const DEVNET_SETTLEMENT_SCRIPT: &str =
    "00204ae81572f06e1b88fd5ced7a1a000945432e83e1551e6f721ee9c00b8cc33260";

/// Longest coinbase we hand to ASIC firmware (DESIGN item 7: under ~700 bytes).
pub const MAX_COINBASE_LEN: usize = 700;

/// Builds coinbases for one pool's parameters.
#[derive(Debug, Clone)]
pub struct CoinbaseBuilder {
    /// The script the whole reward pays.
    pub settlement_script: ScriptBuf,
    /// Text pushed at the end of the scriptSig.
    pub pool_tag: Vec<u8>,
    /// extranonce1 size in bytes (per connection, unique).
    pub extranonce1_size: usize,
    /// extranonce2 size in bytes (the miner's space).
    pub extranonce2_size: usize,
}

/// A coinbase split around the extranonces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoinbaseParts {
    /// Bytes before extranonce1.
    pub coinb1: Vec<u8>,
    /// Bytes after extranonce2.
    pub coinb2: Vec<u8>,
}

/// Errors of coinbase construction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoinbaseError {
    /// The scriptSig would exceed consensus's 100 bytes.
    #[error("coinbase scriptSig would be {0} bytes, above the 100-byte consensus limit")]
    ScriptSigTooLong(usize),
    /// The coinbase would exceed what ASIC firmware handles.
    #[error("coinbase would be {len} bytes, above the {max}-byte limit for ASIC firmware")]
    TooLong { len: usize, max: usize },
}

impl CoinbaseBuilder {
    /// The coinbase of `template` committing to `root`, split around the extranonces.
    ///
    /// # Errors
    /// [`CoinbaseError`] when the result would break a size limit.
    pub fn build(
        &self,
        template: &Template,
        root: &WindowRoot,
    ) -> Result<CoinbaseParts, CoinbaseError> {
        let extranonce_len = self.extranonce1_size + self.extranonce2_size;
        let height = Builder::new()
            .push_int(i64::from(template.height))
            .into_script();
        let mut script_sig = height.to_bytes();
        // A direct push of the extranonces (OP_PUSHBYTES_n, n <= 75).
        script_sig.push(extranonce_len as u8);
        let extranonce_at = script_sig.len();
        script_sig.extend(std::iter::repeat_n(0u8, extranonce_len));
        if !self.pool_tag.is_empty() {
            let tag = PushBytesBuf::try_from(self.pool_tag.clone())
                .expect("pool tag is at most 32 bytes (config)");
            script_sig.extend_from_slice(Builder::new().push_slice(tag).as_bytes());
        }
        if script_sig.len() > 100 {
            return Err(CoinbaseError::ScriptSigTooLong(script_sig.len()));
        }
        let script_sig_len = script_sig.len();
        let mut output = vec![
            TxOut {
                value: template.coinbase_value,
                script_pubkey: self.settlement_script.clone(),
            },
            commitment_output(root),
        ];
        if let Some(witness) = &template.witness_commitment {
            output.push(TxOut {
                value: Amount::ZERO,
                script_pubkey: witness.clone(),
            });
        }
        let tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::from_bytes(script_sig),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output,
        };
        let bytes = bitcoin::consensus::serialize(&tx);
        if bytes.len() > MAX_COINBASE_LEN {
            return Err(CoinbaseError::TooLong {
                len: bytes.len(),
                max: MAX_COINBASE_LEN,
            });
        }
        // version (4) | input count (1) | outpoint (36) | scriptSig length (1, < 0xfd).
        debug_assert!(script_sig_len < 0xfd);
        let start = 4 + 1 + 36 + 1 + extranonce_at;
        Ok(CoinbaseParts {
            coinb1: bytes[..start].to_vec(),
            coinb2: bytes[start + extranonce_len..].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::pow::CompactTarget;
    use bitcoin::{BlockHash, Script};
    use share_verifier::commitment::{find_commitment, reward_to};
    use share_verifier::Fr;

    fn template(height: u32, witness: bool) -> Template {
        Template {
            height,
            prevhash: BlockHash::all_zeros(),
            version: bitcoin::block::Version::from_consensus(0x2000_0000),
            nbits: CompactTarget::from_consensus(0x207f_ffff),
            time: 1_700_000_000,
            min_time: 1_700_000_000,
            coinbase_value: Amount::from_sat(5_000_000_000),
            transactions: vec![],
            witness_commitment: witness.then(|| {
                ScriptBuf::from_hex(
                    "6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9",
                )
                .unwrap()
            }),
            merkle_branch: vec![],
        }
    }

    fn builder() -> CoinbaseBuilder {
        CoinbaseBuilder {
            settlement_script: ScriptBuf::from_hex(DEVNET_SETTLEMENT_SCRIPT).unwrap(),
            pool_tag: b"/shareproof/".to_vec(),
            extranonce1_size: 4,
            extranonce2_size: 8,
        }
    }

    #[test]
    fn coinbase_commits_pays_and_carries_the_height() {
        let root = WindowRoot(Fr::from(12345u64));
        for (height, witness) in [(1, false), (17, true), (1_000_000, true)] {
            let parts = builder().build(&template(height, witness), &root).unwrap();
            let mut bytes = parts.coinb1.clone();
            bytes.extend_from_slice(&[0xaa; 4]);
            bytes.extend_from_slice(&[0xbb; 8]);
            bytes.extend_from_slice(&parts.coinb2);
            let tx: Transaction = bitcoin::consensus::deserialize(&bytes).unwrap();
            assert!(tx.is_coinbase());
            assert!(bytes.len() < 300, "{} bytes", bytes.len());
            assert_eq!(find_commitment(&tx).unwrap().1, root);
            let settlement = builder().settlement_script;
            assert_eq!(
                reward_to(&tx, Script::from_bytes(settlement.as_bytes())),
                Amount::from_sat(5_000_000_000)
            );
            let expected_height = Builder::new().push_int(i64::from(height)).into_script();
            assert!(tx.input[0]
                .script_sig
                .as_bytes()
                .starts_with(expected_height.as_bytes()));
            let sig = tx.input[0].script_sig.as_bytes();
            assert!(sig
                .windows(12)
                .any(|w| w
                    == [0xaa, 0xaa, 0xaa, 0xaa, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb, 0xbb]));
            assert_eq!(tx.output.len(), if witness { 3 } else { 2 });
        }
    }

    #[test]
    fn oversize_settlement_scripts_are_refused() {
        let mut b = builder();
        b.pool_tag = vec![b'x'; 32];
        b.extranonce2_size = 16;
        b.settlement_script = ScriptBuf::from_bytes(vec![0x51; 100]);
        let mut t = template(1, true);
        t.witness_commitment = Some(ScriptBuf::from_bytes(vec![0x6a; 520]));
        assert!(matches!(
            b.build(&t, &WindowRoot::default()),
            Err(CoinbaseError::TooLong { .. })
        ));
    }

    /// The coinbases the contracts' parser is tested with
    /// (`contracts/test/fixtures/node_coinbases.json`, read by
    /// `NodeCoinbaseVectorTest`): this builder's output with fixed
    /// extranonces, for heights at each BIP34 encoding and with and without a
    /// witness commitment. The committed file must be what the builder makes
    /// today; `SHAREPROOF_UPDATE_VECTORS=1` rewrites it after an intended change.
    #[test]
    fn the_contracts_coinbase_vectors_are_this_builders_output() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../contracts/test/fixtures/node_coinbases.json");
        let settlement = builder().settlement_script;
        let mut coinbases = Vec::new();
        for (i, (height, witness, sats)) in [
            (1u32, false, 5_000_000_000u64),
            (16, true, 5_000_000_000),
            (17, false, 2_500_012_345),
            (128, true, 1),
            (840_000, true, 312_512_345),
        ]
        .into_iter()
        .enumerate()
        {
            let root = WindowRoot(Fr::from(0x5348_5046u64 + i as u64 * 7_919));
            let mut t = template(height, witness);
            t.coinbase_value = Amount::from_sat(sats);
            let parts = builder().build(&t, &root).unwrap();
            let mut bytes = parts.coinb1.clone();
            bytes.extend_from_slice(&[0xaa; 4]);
            bytes.extend_from_slice(&[0xbb; 8]);
            bytes.extend_from_slice(&parts.coinb2);
            coinbases.push(serde_json::json!({
                "coinbase": format!("0x{}", hex::encode(&bytes)),
                "height": height,
                "windowRoot": root.to_string(),
                "reward": sats,
            }));
        }
        let expected = serde_json::to_string_pretty(&serde_json::json!({
            "description": "Coinbases built by the node's CoinbaseBuilder (node/src/template/coinbase.rs) with extranonce1 aaaaaaaa and extranonce2 bbbbbbbbbbbbbbbb; regenerate with SHAREPROOF_UPDATE_VECTORS=1 cargo test -p shareproof-node coinbase_vectors",
            "settlementScript": format!("0x{}", hex::encode(settlement.as_bytes())),
            "coinbases": coinbases,
        }))
        .unwrap()
            + "\n";
        if std::env::var_os("SHAREPROOF_UPDATE_VECTORS").is_some() {
            std::fs::write(&path, &expected).unwrap();
        }
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(
            committed,
            expected,
            "{} is not what the coinbase builder makes; if the change is intended, rerun with SHAREPROOF_UPDATE_VECTORS=1",
            path.display()
        );
    }
}
