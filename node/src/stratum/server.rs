//! The accept loop and its limits: a semaphore caps connections (a permit is
//! taken before `accept` and moves into the session's task), banned
//! addresses are refused, each connection gets a unique extranonce1, and
//! every session is tracked so shutdown can wait for them to finish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::stratum::connection::Connection;
use crate::stratum::session::Session;
use crate::stratum::shared::Shared;

/// The Stratum listener.
pub struct Listener {
    listener: TcpListener,
    shared: Arc<Shared>,
    /// Caps open connections: a permit per connection, released when its task ends.
    limit: Arc<Semaphore>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl Listener {
    /// A listener over a bound socket.
    pub fn new(
        listener: TcpListener,
        shared: Arc<Shared>,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> Self {
        Listener {
            limit: Arc::new(Semaphore::new(shared.config.max_connections)),
            listener,
            shared,
            shutdown,
            tracker,
        }
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Accepts until shutdown.
    pub async fn run(self) {
        loop {
            let permit = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                permit = self.limit.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            };
            let (stream, peer) = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                accepted = self.accept() => match accepted {
                    Some(a) => a,
                    None => return,
                },
            };
            if self.shared.is_banned(peer.ip()) {
                self.shared
                    .metrics
                    .connections_refused
                    .with_label_values(&["banned"])
                    .inc();
                drop(stream);
                continue;
            }
            let en1 = self.shared.next_extranonce1();
            let conn = Connection::new(stream, peer, self.shared.config.max_line_length);
            let session = Session::new(self.shared.clone(), conn, en1, self.shutdown.clone());
            let metrics = self.shared.metrics.clone();
            metrics.connections.inc();
            self.tracker.spawn(async move {
                session.run().await;
                metrics.connections.dec();
                drop(permit);
            });
        }
    }

    /// Accepts one connection, retrying transient errors with backoff;
    /// `None` after repeated failures (the server stops).
    async fn accept(&self) -> Option<(TcpStream, SocketAddr)> {
        let mut backoff = Duration::from_millis(10);
        loop {
            match self.listener.accept().await {
                Ok(accepted) => return Some(accepted),
                Err(e) => {
                    if backoff > Duration::from_secs(30) {
                        tracing::error!(error = %e, "accept keeps failing; stopping the Stratum server");
                        return None;
                    }
                    tracing::warn!(error = %e, ?backoff, "accept failed");
                    self.shared
                        .metrics
                        .connections_refused
                        .with_label_values(&["accept_error"])
                        .inc();
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
    }
}
