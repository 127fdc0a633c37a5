//! The embedded regtest chain as a [`TemplateSource`]: templates come from
//! the chain itself, found blocks are checked and appended in-process, and a
//! new tip (an extension or a reorganisation) produces a new template at once.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bitcoin::Block;
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::chain::{Accepted, Chain};
use crate::clock::unix_now;
use crate::{BoxFuture, SourceError, SubmitOutcome, Template, TemplateSource};

/// The embedded chain behind the template-source trait.
pub struct EmbeddedSource {
    /// The chain. A std mutex: block checks are short and synchronous, and
    /// it is never held across `.await`.
    chain: Mutex<Chain>,
    /// Woken when a submitted block was answered (the tip may have moved).
    new_tip: Notify,
}

impl EmbeddedSource {
    /// Wraps an opened chain.
    pub fn new(chain: Chain) -> Self {
        EmbeddedSource {
            chain: Mutex::new(chain),
            new_tip: Notify::new(),
        }
    }

    /// Runs `f` on the chain (for the API and tests).
    pub fn with_chain<T>(&self, f: impl FnOnce(&Chain) -> T) -> T {
        f(&self.chain.lock().expect("chain lock"))
    }

    fn template(&self) -> Template {
        self.with_chain(|c| c.template(unix_now() as u32))
    }
}

impl TemplateSource for EmbeddedSource {
    fn name(&self) -> &'static str {
        "embedded"
    }

    fn run(
        self: Arc<Self>,
        templates: mpsc::Sender<Arc<Template>>,
        refresh: Duration,
        shutdown: CancellationToken,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            loop {
                if templates.send(Arc::new(self.template())).await.is_err() {
                    return;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = self.new_tip.notified() => {}
                    _ = tokio::time::sleep(refresh) => {}
                }
            }
        })
    }

    fn submit_block(&self, block: Block) -> BoxFuture<'static, Result<SubmitOutcome, SourceError>> {
        // Checked and appended now, before the caller does anything else.
        let hash = block.block_hash();
        let result = self
            .chain
            .lock()
            .expect("chain lock")
            .submit(&block, unix_now() as u32);
        let outcome = match result {
            Ok(Accepted::Extended { height }) => {
                tracing::info!(%hash, height, "embedded chain: block accepted");
                SubmitOutcome::Accepted
            }
            Ok(Accepted::Reorganised {
                height,
                fork_height,
                disconnected,
            }) => {
                tracing::warn!(%hash, height, fork_height, ?disconnected, "embedded chain: reorganised onto a branch with more work");
                SubmitOutcome::Accepted
            }
            Ok(Accepted::SideBranch { height }) => {
                // Valid and kept, like a Bitcoin node keeps a side branch;
                // settlement follows whichever branch is best.
                tracing::info!(%hash, height, "embedded chain: block stored on a side branch");
                SubmitOutcome::LostRace("side branch".to_owned())
            }
            Err(e) => {
                tracing::warn!(%hash, error = %e, "embedded chain: block refused");
                SubmitOutcome::Rejected(e.to_string())
            }
        };
        // Whatever the answer, a fresh template: miners that stopped on a
        // block they found get work again even when the tip did not move.
        self.new_tip.notify_one();
        Box::pin(async move { Ok(outcome) })
    }
}
