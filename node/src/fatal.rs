//! The first fatal error of the running node: a part that cannot go on
//! records it, which stops the node; `RunningNode::wait` returns it.

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;

/// The first fatal error of a part of the running node. Recording one stops
/// the node (it cancels the shutdown token); [`RunningNode::wait`] then
/// returns it. Cheap to clone; later errors are logged, not kept.
#[derive(Debug, Clone)]
pub struct Fatal {
    /// Set once, by the first part that fails.
    error: Arc<OnceLock<String>>,
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

    /// Records `error` (the first one wins), logs it and stops the node.
    pub fn fail(&self, error: impl std::fmt::Display) {
        let error = error.to_string();
        tracing::error!(error = %error, "fatal: stopping the node");
        let _ = self.error.set(error);
        self.shutdown.cancel();
    }

    /// The recorded error, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.get().map(String::as_str)
    }
}
