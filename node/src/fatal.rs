//! The first fatal error of the running node: a part that cannot go on
//! records it, which stops the node; `RunningNode::wait` returns it.

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

/// A fatal error as recorded: the part of the node that failed and its
/// error, kept whole (a cheap clone for every reader).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{part}: {source}")]
pub struct FatalError {
    /// The part that failed (`ledger`, `settlement`).
    pub part: &'static str,
    /// What it failed with.
    pub source: Arc<dyn std::error::Error + Send + Sync>,
}

/// The first fatal error of a part of the running node. Recording one stops
/// the node (it cancels the shutdown token); [`RunningNode::wait`] then
/// returns it. Cheap to clone; later errors are logged, not kept.
///
/// [`RunningNode::wait`]: crate::wiring::RunningNode::wait
#[derive(Debug, Clone)]
pub struct Fatal {
    /// Set once, by the first part that fails.
    error: Arc<OnceLock<FatalError>>,
    /// The node's shutdown token.
    shutdown: CancellationToken,
}

impl Fatal {
    /// A recorder that stops the node through `shutdown`.
    pub fn new(shutdown: CancellationToken) -> Self {
        Fatal {
            error: Arc::new(OnceLock::new()),
            shutdown,
        }
    }

    /// Records that `part` failed with `error` (the first one wins), logs it
    /// and stops the node.
    pub fn fail(&self, part: &'static str, error: impl std::error::Error + Send + Sync + 'static) {
        tracing::error!(part, error = %error, "fatal: stopping the node");
        let _ = self.error.set(FatalError {
            part,
            source: Arc::new(error),
        });
        self.shutdown.cancel();
    }

    /// The recorded error, if any.
    pub fn error(&self) -> Option<&FatalError> {
        self.error.get()
    }
}
