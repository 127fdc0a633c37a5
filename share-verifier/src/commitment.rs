//! The coinbase commitment (DESIGN item 7): one zero-value output
//! `OP_RETURN <"SHPF" || 0x01 || window root (32 bytes, big-endian)>` that
//! ties a block to the window its reward is split over, and the reward R:
//! the sum of the outputs paying the pool's settlement script.

use bitcoin::blockdata::opcodes::all::OP_RETURN;
use bitcoin::blockdata::script::{Instruction, PushBytesBuf};
use bitcoin::{Amount, Script, ScriptBuf, Transaction, TxOut};

use crate::field::FieldError;
use crate::window::WindowRoot;

/// The commitment's 4-byte magic.
pub const MAGIC: [u8; 4] = *b"SHPF";
/// The commitment format version.
pub const VERSION: u8 = 0x01;
/// Bytes pushed after OP_RETURN: magic, version, root.
pub const PAYLOAD_LEN: usize = 4 + 1 + 32;

/// Errors of commitment extraction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitmentError {
    /// No output carries a Shareproof commitment.
    #[error("the coinbase has no SHPF commitment output")]
    Missing,
    /// More than one output carries one: ambiguous, refused.
    #[error("the coinbase has {0} SHPF commitment outputs, expected exactly one")]
    Duplicate(usize),
    /// An output starts like a commitment but is malformed.
    #[error("SHPF commitment in output {index} is malformed: {reason}")]
    Malformed { index: usize, reason: String },
    /// The committed root is not a canonical field element.
    #[error("SHPF commitment in output {index}: {source}")]
    Root { index: usize, source: FieldError },
    /// The commitment output carries value.
    #[error("SHPF commitment in output {index} carries {value}, expected 0")]
    Value { index: usize, value: Amount },
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

/// Finds the one commitment among a coinbase's outputs and returns its root
/// and the output's index.
///
/// # Errors
/// [`CommitmentError`] when there is none, more than one, or a malformed one.
pub fn find_commitment(tx: &Transaction) -> Result<(usize, WindowRoot), CommitmentError> {
    let mut found = Vec::new();
    for (index, out) in tx.output.iter().enumerate() {
        if let Some(parsed) = parse_commitment(index, &out.script_pubkey) {
            let root = parsed?;
            if out.value != Amount::ZERO {
                return Err(CommitmentError::Value {
                    index,
                    value: out.value,
                });
            }
            found.push((index, root));
        }
    }
    match found.len() {
        0 => Err(CommitmentError::Missing),
        1 => Ok(found[0]),
        n => Err(CommitmentError::Duplicate(n)),
    }
}

/// `None` if the script is not a Shareproof commitment at all (no magic);
/// otherwise the root or why it is malformed.
fn parse_commitment(index: usize, script: &Script) -> Option<Result<WindowRoot, CommitmentError>> {
    let mut instructions = script.instructions();
    match instructions.next() {
        Some(Ok(Instruction::Op(op))) if op == OP_RETURN => {}
        _ => return None,
    }
    let data = match instructions.next() {
        Some(Ok(Instruction::PushBytes(data))) => data.as_bytes(),
        _ => return None,
    };
    if data.len() < MAGIC.len() || data[..4] != MAGIC {
        return None;
    }
    let malformed = |reason: String| Some(Err(CommitmentError::Malformed { index, reason }));
    if data.len() != PAYLOAD_LEN {
        return malformed(format!(
            "payload is {} bytes, expected {PAYLOAD_LEN}",
            data.len()
        ));
    }
    if data[4] != VERSION {
        return malformed(format!("version {:#04x}, expected {VERSION:#04x}", data[4]));
    }
    if instructions.next().is_some() {
        return malformed("extra script after the push".to_owned());
    }
    let mut root = [0u8; 32];
    root.copy_from_slice(&data[5..]);
    Some(WindowRoot::from_be_bytes(root).map_err(|source| CommitmentError::Root { index, source }))
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
    fn missing_duplicate_and_malformed_commitments_are_errors() {
        let root = WindowRoot(Fr::from(1u64));
        assert_eq!(find_commitment(&tx(vec![])), Err(CommitmentError::Missing));
        let two = tx(vec![commitment_output(&root), commitment_output(&root)]);
        assert_eq!(find_commitment(&two), Err(CommitmentError::Duplicate(2)));
        let mut bad = commitment_output(&root);
        let mut bytes = bad.script_pubkey.to_bytes();
        bytes[6] = 0x02;
        bad.script_pubkey = ScriptBuf::from_bytes(bytes);
        assert!(matches!(
            find_commitment(&tx(vec![bad])),
            Err(CommitmentError::Malformed { index: 0, .. })
        ));
        let mut valued = commitment_output(&root);
        valued.value = Amount::from_sat(1);
        assert!(matches!(
            find_commitment(&tx(vec![valued])),
            Err(CommitmentError::Value { .. })
        ));
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
