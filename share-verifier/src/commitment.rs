//! The coinbase commitment (DESIGN item 7) that ties a block to the window
//! its reward is split over, and the reward R: the sum of the outputs paying
//! the pool's settlement script.
//!
//! One rule, shared byte for byte with the contracts' `BitcoinTx` parser
//! (docs/share-log.md, "The coinbase commitment"): an output is a commitment
//! iff its scriptPubKey is exactly the 39 bytes
//! `6a 25 "SHPF" 01 <root, 32 bytes big-endian>` (OP_RETURN,
//! OP_PUSHBYTES_37, magic, version, root), whatever its value. Any other
//! script, however close (a PUSHDATA1 or PUSHDATA2 push of the same bytes,
//! another version, a short root, a trailing byte), is not a commitment. A
//! coinbase must hold exactly one. The shared vectors in
//! `contracts/test/fixtures/coinbase_commitment_vectors.json` pin the rule
//! on both sides.

use bitcoin::blockdata::opcodes::all::OP_RETURN;
use bitcoin::blockdata::script::PushBytesBuf;
use bitcoin::{Amount, Script, ScriptBuf, Transaction, TxOut};

use crate::field::FieldError;
use crate::window::WindowRoot;

/// The commitment's 4-byte magic.
pub const MAGIC: [u8; 4] = *b"SHPF";
/// The commitment format version.
pub const VERSION: u8 = 0x01;
/// Bytes pushed after OP_RETURN: magic, version, root.
pub const PAYLOAD_LEN: usize = 4 + 1 + 32;
/// Bytes of the commitment's scriptPubKey: OP_RETURN, OP_PUSHBYTES_37, payload.
pub const SCRIPT_LEN: usize = 2 + PAYLOAD_LEN;
/// The first 7 bytes of every commitment script: OP_RETURN, OP_PUSHBYTES_37,
/// the magic and the version.
pub const SCRIPT_PREFIX: [u8; 7] = [0x6a, 0x25, MAGIC[0], MAGIC[1], MAGIC[2], MAGIC[3], VERSION];

/// Errors of commitment extraction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitmentError {
    /// No output carries a Shareproof commitment.
    #[error("the coinbase has no SHPF commitment output")]
    Missing,
    /// More than one output carries one: ambiguous, refused.
    #[error("the coinbase has {0} SHPF commitment outputs, expected exactly one")]
    Duplicate(usize),
    /// The committed root is not a canonical field element (not below r).
    #[error("SHPF commitment in output {index}: {source}")]
    Root { index: usize, source: FieldError },
}

impl CommitmentError {
    /// The error's kind as the shared commitment vectors name it:
    /// `missing`, `duplicate` or `root_not_in_field`.
    pub fn kind(&self) -> &'static str {
        match self {
            CommitmentError::Missing => "missing",
            CommitmentError::Duplicate(_) => "duplicate",
            CommitmentError::Root { .. } => "root_not_in_field",
        }
    }
}

/// The scriptPubKey of the commitment to `root`.
pub fn commitment_script(root: &WindowRoot) -> ScriptBuf {
    let mut payload = Vec::with_capacity(PAYLOAD_LEN);
    payload.extend_from_slice(&MAGIC);
    payload.push(VERSION);
    payload.extend_from_slice(&root.to_be_bytes());
    let push = PushBytesBuf::try_from(payload).expect("37 bytes fit a push");
    ScriptBuf::builder()
        .push_opcode(OP_RETURN)
        .push_slice(push)
        .into_script()
}

/// The zero-value commitment output for `root`.
pub fn commitment_output(root: &WindowRoot) -> TxOut {
    TxOut {
        value: Amount::ZERO,
        script_pubkey: commitment_script(root),
    }
}

/// The committed root's 32 bytes (big-endian) if `script` is a commitment:
/// exactly [`SCRIPT_LEN`] bytes starting with [`SCRIPT_PREFIX`].
pub fn committed_bytes(script: &Script) -> Option<[u8; 32]> {
    let bytes = script.as_bytes();
    if bytes.len() != SCRIPT_LEN || bytes[..SCRIPT_PREFIX.len()] != SCRIPT_PREFIX {
        return None;
    }
    let mut root = [0u8; 32];
    root.copy_from_slice(&bytes[SCRIPT_PREFIX.len()..]);
    Some(root)
}

/// Finds the one commitment among a coinbase's outputs and returns its root
/// and the output's index. Outputs are counted first (the value of a
/// commitment output is not looked at), then the one root is read.
///
/// # Errors
/// [`CommitmentError::Missing`] or [`CommitmentError::Duplicate`] unless
/// exactly one output is a commitment; [`CommitmentError::Root`] when its
/// root is not below the field order r.
pub fn find_commitment(tx: &Transaction) -> Result<(usize, WindowRoot), CommitmentError> {
    let mut found = None;
    let mut count = 0;
    for (index, out) in tx.output.iter().enumerate() {
        if let Some(root) = committed_bytes(&out.script_pubkey) {
            count += 1;
            found.get_or_insert((index, root));
        }
    }
    match (count, found) {
        (1, Some((index, root))) => WindowRoot::from_be_bytes(root)
            .map(|root| (index, root))
            .map_err(|source| CommitmentError::Root { index, source }),
        (0, _) => Err(CommitmentError::Missing),
        (n, _) => Err(CommitmentError::Duplicate(n)),
    }
}

/// R: the sum of the outputs that pay exactly `settlement_script`.
pub fn reward_to(tx: &Transaction, settlement_script: &Script) -> Amount {
    tx.output
        .iter()
        .filter(|o| o.script_pubkey.as_script() == settlement_script)
        .map(|o| o.value)
        .fold(Amount::ZERO, |acc, v| {
            acc.checked_add(v).unwrap_or(Amount::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_bn254::Fr;
    use bitcoin::absolute::LockTime;
    use bitcoin::transaction::Version;

    fn tx(outputs: Vec<TxOut>) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![],
            output: outputs,
        }
    }

    fn settlement() -> ScriptBuf {
        ScriptBuf::from_hex("0014274466e754a1c12d0a2d2cc34ceb70d8e017053a").unwrap()
    }

    #[test]
    fn the_commitment_script_has_the_design_layout() {
        let root = WindowRoot(Fr::from(0x0102u64));
        let script = commitment_script(&root);
        let bytes = script.as_bytes();
        assert_eq!(bytes.len(), 39);
        assert_eq!(&bytes[..7], &[0x6a, 0x25, b'S', b'H', b'P', b'F', 0x01]);
        assert_eq!(&bytes[37..], &[0x01, 0x02]);
    }

    #[test]
    fn the_commitment_and_the_reward_are_found() {
        let root = WindowRoot(Fr::from(77u64));
        let t = tx(vec![
            TxOut {
                value: Amount::from_sat(300),
                script_pubkey: settlement(),
            },
            commitment_output(&root),
            TxOut {
                value: Amount::from_sat(50),
                script_pubkey: ScriptBuf::from_hex("51").unwrap(),
            },
            TxOut {
                value: Amount::from_sat(200),
                script_pubkey: settlement(),
            },
        ]);
        assert_eq!(find_commitment(&t), Ok((1, root)));
        assert_eq!(reward_to(&t, &settlement()), Amount::from_sat(500));
    }

    #[test]
    fn missing_and_duplicate_commitments_are_errors() {
        let root = WindowRoot(Fr::from(1u64));
        assert_eq!(find_commitment(&tx(vec![])), Err(CommitmentError::Missing));
        let two = tx(vec![commitment_output(&root), commitment_output(&root)]);
        assert_eq!(find_commitment(&two), Err(CommitmentError::Duplicate(2)));
        // A root at or above r is a commitment (it counts) whose root is refused.
        let mut high = commitment_output(&root);
        let mut bytes = high.script_pubkey.to_bytes();
        bytes[7..].fill(0xff);
        high.script_pubkey = ScriptBuf::from_bytes(bytes);
        assert!(matches!(
            find_commitment(&tx(vec![high.clone()])),
            Err(CommitmentError::Root { index: 0, .. })
        ));
        assert_eq!(
            find_commitment(&tx(vec![high, commitment_output(&root)])),
            Err(CommitmentError::Duplicate(2))
        );
    }

    #[test]
    fn only_the_exact_canonical_script_is_a_commitment_whatever_its_value() {
        let root = WindowRoot(Fr::from(1u64));
        let canonical = commitment_script(&root).to_bytes();
        let payload = &canonical[2..];
        let out = |script: Vec<u8>| TxOut {
            value: Amount::ZERO,
            script_pubkey: ScriptBuf::from_bytes(script),
        };
        let not_commitments = [
            // OP_PUSHDATA1 and OP_PUSHDATA2 pushes of the same 37 bytes.
            [&[0x6a, 0x4c, 0x25][..], payload].concat(),
            [&[0x6a, 0x4d, 0x25, 0x00][..], payload].concat(),
            // Version 2, one byte short, one byte more.
            [&canonical[..6], &[0x02], &canonical[7..]].concat(),
            canonical[..38].to_vec(),
            [&canonical[..], &[0x00]].concat(),
        ];
        for script in not_commitments {
            assert_eq!(
                find_commitment(&tx(vec![out(script.clone())])),
                Err(CommitmentError::Missing),
                "{}",
                ScriptBuf::from_bytes(script)
            );
            // Beside a canonical commitment it changes nothing.
            assert_eq!(
                find_commitment(&tx(vec![out(script), commitment_output(&root)])),
                Ok((1, root))
            );
        }
        let mut valued = commitment_output(&root);
        valued.value = Amount::from_sat(1);
        assert_eq!(find_commitment(&tx(vec![valued])), Ok((0, root)));
        // A witness commitment (OP_RETURN aa21a9ed...) is not ours and is ignored.
        let witness = TxOut {
            value: Amount::ZERO,
            script_pubkey: ScriptBuf::from_hex(
                "6a24aa21a9ede2f61c3f71d1defd3fa999dfa36953755c690689799962b48bebd836974e8cf9",
            )
            .unwrap(),
        };
        assert_eq!(
            find_commitment(&tx(vec![witness, commitment_output(&root)])),
            Ok((1, root))
        );
    }
}
