//! What can go wrong when a client reads a server's line.

use share_verifier::job::JobError;

/// Errors of reading a server's line.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    /// The line is not JSON.
    #[error("pool sent a line that is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A job that does not parse.
    #[error("pool sent a malformed job: {0}")]
    Job(#[from] JobError),
    /// A message of the wrong shape.
    #[error("pool sent a malformed {what}: {line}")]
    Shape {
        /// What was expected.
        what: &'static str,
        /// What came.
        line: String,
    },
}
