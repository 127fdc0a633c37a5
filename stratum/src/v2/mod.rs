//! Stratum V2, one definition for both ends, on the reference
//! implementation's crates (the `stratum-core` family, pinned): its
//! framing, Noise NX and message types are used as they are, and this
//! module adds what both the pool and our miner need around them.
//!
//! - [`authority`]: the pool's authority key, generated, stored and pinned
//!   in the reference encoding.
//! - [`noise`]: the handshake and bytes ↔ encrypted frames, with a frame
//!   size limit, without I/O (the callers own their sockets).
//! - [`codes`]: the protocol's flags and error codes, named once.
//!
//! The messages themselves are the reference types, re-exported here so
//! every user names them through this crate.

pub mod authority;
pub mod codes;
pub mod noise;

pub use authority::{AuthorityKeyError, AuthorityKeypair, AuthorityPublicKey};
pub use noise::{ClientHandshake, Frame, ServerHandshake, Transport};
pub use stratum_core::{binary_sv2, common_messages_sv2, mining_sv2, parsers_sv2};

use stratum_core::codec_sv2;
use stratum_core::parsers_sv2::ParserError;

/// Errors of the V2 wire. The reference crates' error types do not
/// implement `std::error::Error`, so they are kept as values and shown in
/// the message rather than chained as sources.
#[derive(Debug, thiserror::Error)]
pub enum V2Error {
    /// The Noise handshake failed (bad key encoding, a certificate not
    /// signed by the pinned authority key, or one that expired).
    #[error("Noise handshake failed: {0}")]
    Handshake(codec_sv2::Error),
    /// A frame that does not decrypt or whose header is malformed.
    #[error("bad frame: {0}")]
    Codec(codec_sv2::Error),
    /// A frame over the size limit.
    #[error("frame over the {limit}-byte limit")]
    FrameTooLarge {
        /// The limit, in encrypted bytes.
        limit: usize,
    },
    /// A frame whose header announces another payload length than it has.
    #[error("frame header announces {announced} payload bytes, {got} follow")]
    FrameLength {
        /// The header's length field.
        announced: usize,
        /// The bytes after the header.
        got: usize,
    },
    /// A message of an unknown type or with a malformed payload.
    #[error("bad message: {0}")]
    Message(ParserError),
    /// A transport that failed before cannot be used again.
    #[error("the transport failed earlier and cannot be used")]
    Broken,
}

/// A target from the protocol's little-endian `U256` (a zero target, which
/// no hash meets, reads as the hardest there is rather than an error).
pub fn target_from_le(bytes: &[u8; 32]) -> share_verifier::ShareTarget {
    let mut be = *bytes;
    be.reverse();
    share_verifier::ShareTarget::from_be_bytes(be).unwrap_or(share_verifier::ShareTarget::MAX)
}

/// A target as the protocol's little-endian `U256`.
pub fn target_to_le(target: share_verifier::ShareTarget) -> [u8; 32] {
    let mut le = target.to_be_bytes();
    le.reverse();
    le
}

/// Converts text into the protocol's `STR0_255`.
///
/// # Errors
/// [`V2Error::Message`] for text over 255 bytes.
pub fn str0255(text: &str) -> Result<binary_sv2::Str0255<'_>, V2Error> {
    text.try_into()
        .map_err(|e| V2Error::Message(ParserError::BinaryError(e)))
}

/// Text of a received `STR0_255` (lossy: a miner's strings are not trusted
/// to be UTF-8).
pub fn text(s: &binary_sv2::Str0255<'_>) -> String {
    String::from_utf8_lossy(s.as_bytes()).into_owned()
}

#[cfg(test)]
mod tests {
    use share_verifier::{Difficulty, ShareTarget};

    use super::*;

    #[test]
    fn targets_round_trip_through_the_little_endian_wire_form() {
        let t = Difficulty::new(0.5).unwrap().to_target();
        assert_eq!(target_from_le(&target_to_le(t)), t);
        // Difficulty 1's target has its top bytes zero: the last on the wire.
        let one = target_to_le(ShareTarget::DIFFICULTY_1);
        assert_eq!(one[31], 0);
        assert_eq!(one[27], 0xff);
    }
}
