//! Why a request failed, and the one place that maps each reason to
//! Stratum's error codes (DESIGN "Errors": 20 other, 21 job not found /
//! stale, 22 duplicate, 23 low difficulty, 24 unauthorized, 25 not
//! subscribed).

use std::sync::Arc;

use share_verifier::address::AddressError;
use share_verifier::job::JobError;
use share_verifier::ShareError;

/// A cause the server keeps but does not own the type of (the store or the
/// ledger failing behind a share): shared, so that a reject stays `Clone`.
pub type InternalCause = Arc<dyn std::error::Error + Send + Sync>;

/// Why a request failed. Shares and requests that fail are answered with
/// the code of [`Reject::code`] and the message of its `Display`; nothing
/// here ends the connection by itself.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Reject {
    /// The line is not a JSON-RPC request.
    #[error("malformed request: {0}")]
    Malformed(#[source] Arc<serde_json::Error>),
    /// A line longer than the server's limit.
    #[error("malformed request: {0}")]
    Framing(#[source] crate::codec::CodecError),
    /// Params of the wrong JSON shape.
    #[error("bad params: {0}")]
    BadParams(#[source] Arc<serde_json::Error>),
    /// A param that has the right shape but a bad value (hex, length).
    #[error("bad params: {0}")]
    BadField(#[source] JobError),
    /// A param the method needs is missing or of the wrong type.
    #[error("bad params: {0}")]
    MissingParam(&'static str),
    /// A method this server does not implement (the method's name).
    #[error("unknown method {0}")]
    UnknownMethod(String),
    /// A request that needs `mining.subscribe` first.
    #[error("not subscribed")]
    NotSubscribed,
    /// A submit for a worker that is not authorized on this connection (its name).
    #[error("unauthorized worker {0}")]
    Unauthorized(String),
    /// `mining.authorize` with a username that is not an EVM address.
    #[error("bad username: {0}")]
    BadUsername(#[source] AddressError),
    /// A Stratum V2 channel id that is not one of the connection's.
    #[error("unknown channel {0}")]
    UnknownChannel(u32),
    /// A job id this connection was never sent (or has forgotten).
    #[error("job not found")]
    JobNotFound,
    /// A job of a previous tip.
    #[error("stale share: job is on a previous block")]
    Stale,
    /// The same share twice.
    #[error("duplicate share")]
    Duplicate,
    /// The hash misses the share target.
    #[error("low difficulty share: {achieved:.6e} < {assigned:.6e}")]
    LowDifficulty {
        /// Difficulty reached.
        achieved: f64,
        /// Difficulty required.
        assigned: f64,
    },
    /// Version bits outside the negotiated mask.
    #[error("bad version bits: {0}")]
    BadVersionBits(#[source] JobError),
    /// extranonce2 of the wrong size.
    #[error("extranonce2 must be {expected} bytes, got {got}")]
    BadExtranonce2 {
        /// Bytes expected.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// ntime outside the allowed range.
    #[error("ntime out of range: {0}")]
    BadNtime(#[source] JobError),
    /// The share could not be recorded (the store or the ledger failed).
    #[error("internal error: {0}")]
    Internal(#[source] InternalCause),
    /// Too many invalid shares: the connection is closed and the IP banned.
    #[error("too many invalid shares: banned")]
    Banned,
}

impl Reject {
    /// The Stratum error code of this reject: the one place codes are decided.
    pub fn code(&self) -> i32 {
        match self {
            Reject::JobNotFound | Reject::Stale | Reject::UnknownChannel(_) => 21,
            Reject::Duplicate => 22,
            Reject::LowDifficulty { .. } => 23,
            Reject::Unauthorized(_) | Reject::BadUsername(_) => 24,
            Reject::NotSubscribed => 25,
            Reject::Malformed(_)
            | Reject::Framing(_)
            | Reject::BadParams(_)
            | Reject::BadField(_)
            | Reject::MissingParam(_)
            | Reject::UnknownMethod(_)
            | Reject::BadVersionBits(_)
            | Reject::BadExtranonce2 { .. }
            | Reject::BadNtime(_)
            | Reject::Internal(_)
            | Reject::Banned => 20,
        }
    }

    /// A short label for metrics (`shares_rejected_total{reason=...}`).
    pub fn label(&self) -> &'static str {
        match self {
            Reject::Malformed(_) | Reject::Framing(_) => "malformed",
            Reject::BadParams(_) | Reject::BadField(_) | Reject::MissingParam(_) => "bad_params",
            Reject::UnknownMethod(_) => "unknown_method",
            Reject::NotSubscribed => "not_subscribed",
            Reject::Unauthorized(_) => "unauthorized",
            Reject::BadUsername(_) => "bad_username",
            Reject::UnknownChannel(_) => "unknown_channel",
            Reject::JobNotFound => "job_not_found",
            Reject::Stale => "stale",
            Reject::Duplicate => "duplicate",
            Reject::LowDifficulty { .. } => "low_difficulty",
            Reject::BadVersionBits(_) => "bad_version_bits",
            Reject::BadExtranonce2 { .. } => "bad_extranonce2",
            Reject::BadNtime(_) => "bad_ntime",
            Reject::Internal(_) => "internal",
            Reject::Banned => "banned",
        }
    }

    /// The Stratum V2 `SubmitShares.Error` code of this reject (the
    /// spec's codes where it has one, `invalid-share` for a share that
    /// breaks a header rule, `internal-error` when it was not stored).
    pub fn sv2_code(&self) -> &'static str {
        use crate::v2::codes;
        match self {
            Reject::UnknownChannel(_) | Reject::Unauthorized(_) => codes::INVALID_CHANNEL_ID,
            Reject::JobNotFound => codes::INVALID_JOB_ID,
            Reject::Stale => codes::STALE_SHARE,
            Reject::Duplicate => codes::DUPLICATE_SHARE,
            Reject::LowDifficulty { .. } => codes::DIFFICULTY_TOO_LOW,
            Reject::Internal(_) => codes::INTERNAL_ERROR,
            Reject::Malformed(_)
            | Reject::Framing(_)
            | Reject::BadParams(_)
            | Reject::BadField(_)
            | Reject::MissingParam(_)
            | Reject::UnknownMethod(_)
            | Reject::NotSubscribed
            | Reject::BadUsername(_)
            | Reject::BadVersionBits(_)
            | Reject::BadExtranonce2 { .. }
            | Reject::BadNtime(_)
            | Reject::Banned => codes::INVALID_SHARE,
        }
    }

    /// Whether this reject counts towards the ban score: bad work, not
    /// protocol noise. Shares on a job that was just replaced (stale) or
    /// that this node no longer knows (an unknown job, e.g. after a clean
    /// notify evicted it or after a node restart) do not count: an honest
    /// ASIC sends its in-flight work after every clean notify and every
    /// reconnect, and answering them costs the node one lookup.
    pub fn is_invalid_share(&self) -> bool {
        matches!(
            self,
            Reject::Duplicate
                | Reject::LowDifficulty { .. }
                | Reject::BadVersionBits(_)
                | Reject::BadExtranonce2 { .. }
                | Reject::BadNtime(_)
                | Reject::BadParams(_)
                | Reject::BadField(_)
                | Reject::MissingParam(_)
                | Reject::Unauthorized(_)
        )
    }
}

impl From<ShareError> for Reject {
    /// A share that failed validation, by its typed cause.
    fn from(e: ShareError) -> Reject {
        match e {
            ShareError::Job(JobError::Extranonce2Size { expected, got }) => {
                Reject::BadExtranonce2 { expected, got }
            }
            ShareError::Job(e @ JobError::VersionBitsOutsideMask { .. }) => {
                Reject::BadVersionBits(e)
            }
            ShareError::Job(e @ JobError::NtimeOutOfRange { .. }) => Reject::BadNtime(e),
            ShareError::Job(e) => Reject::BadField(e),
            ShareError::LowDifficulty {
                achieved, assigned, ..
            } => Reject::LowDifficulty { achieved, assigned },
            ShareError::Target(e) => Reject::Internal(Arc::new(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reject_has_a_conventional_code() {
        assert_eq!(Reject::JobNotFound.code(), 21);
        assert_eq!(Reject::Stale.code(), 21);
        assert_eq!(Reject::Duplicate.code(), 22);
        assert_eq!(
            Reject::LowDifficulty {
                achieved: 1.0,
                assigned: 2.0
            }
            .code(),
            23
        );
        assert_eq!(Reject::Unauthorized("w".into()).code(), 24);
        assert_eq!(Reject::NotSubscribed.code(), 25);
        assert_eq!(Reject::UnknownMethod("x".into()).code(), 20);
    }

    #[test]
    fn v2_rejects_use_the_specs_codes() {
        assert_eq!(Reject::UnknownChannel(3).sv2_code(), "invalid-channel-id");
        assert_eq!(Reject::JobNotFound.sv2_code(), "invalid-job-id");
        assert_eq!(Reject::Stale.sv2_code(), "stale-share");
        assert_eq!(Reject::Duplicate.sv2_code(), "duplicate-share");
        let low = Reject::LowDifficulty {
            achieved: 1.0,
            assigned: 2.0,
        };
        assert_eq!(low.sv2_code(), "difficulty-too-low");
    }

    #[test]
    fn share_errors_map_by_variant_and_keep_their_cause() {
        use std::error::Error as _;
        let r = Reject::from(ShareError::Job(JobError::Extranonce2Size {
            expected: 8,
            got: 4,
        }));
        assert!(matches!(
            r,
            Reject::BadExtranonce2 {
                expected: 8,
                got: 4
            }
        ));
        let r = Reject::from(ShareError::Job(JobError::NtimeOutOfRange {
            ntime: 1,
            min: 2,
            max: 3,
        }));
        assert_eq!(r.code(), 20);
        assert!(r.source().is_some(), "the job error is kept as the source");
        assert_eq!(
            r.to_string(),
            "ntime out of range: ntime 00000001 is outside 00000002..=00000003"
        );
    }
}
