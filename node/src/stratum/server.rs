//! The accept loop and its limits, for either protocol: a semaphore caps
//! connections (a permit is taken before `accept` and moves into the
//! session's task), banned addresses are refused, each V1 connection gets a
//! unique extranonce1 (V2 channels take theirs as they open), each V2
//! connection runs its Noise handshake on its own task, and every session is
//! tracked so shutdown can wait for them to finish.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use shareproof_stratum::v2::ServerHandshake;

use crate::stratum::connection::Connection;
use crate::stratum::session::Session;
use crate::stratum::shared::Shared;
use crate::stratum::v2::{self, V2Server};

/// Which protocol a listener speaks.
#[derive(Clone)]
pub enum Protocol {
    /// Stratum V1 (JSON lines).
    V1,
    /// Stratum V2 (Noise, binary frames), with its authority key.
    V2(Arc<V2Server>),
}

impl Protocol {
    /// The metrics label.
    pub fn label(&self) -> &'static str {
        match self {
            Protocol::V1 => "v1",
            Protocol::V2(_) => "v2",
        }
    }
}

/// The Stratum listener.
pub struct Listener {
    listener: TcpListener,
    protocol: Protocol,
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
        protocol: Protocol,
        shared: Arc<Shared>,
        shutdown: CancellationToken,
        tracker: TaskTracker,
    ) -> Self {
        Listener {
            limit: Arc::new(Semaphore::new(shared.config.max_connections)),
            listener,
            protocol,
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
            let metrics = self.shared.metrics.clone();
            let label = self.protocol.label();
            metrics.connections.inc();
            metrics
                .connections_by_protocol
                .with_label_values(&[label])
                .inc();
            let shared = self.shared.clone();
            let shutdown = self.shutdown.clone();
            let protocol = self.protocol.clone();
            self.tracker.spawn(async move {
                match protocol {
                    Protocol::V1 => {
                        let en1 = shared.next_extranonce1();
                        let conn = Connection::new(stream, peer, shared.config.max_line_length);
                        Session::new(shared, conn, en1, shutdown).run().await;
                    }
                    Protocol::V2(server) => {
                        let handshake = ServerHandshake::new(
                            server.key.responder(server.certificate_validity),
                        );
                        let timeout = shared.config.subscribe_timeout;
                        let handshaken = tokio::select! {
                            _ = shutdown.cancelled() => None,
                            r = v2::connection::Connection::handshake(stream, peer, handshake, timeout) => Some(r),
                        };
                        match handshaken {
                            None => {}
                            Some(Ok(conn)) => {
                                v2::session::Session::new(shared, server, conn, shutdown)
                                    .run()
                                    .await;
                            }
                            Some(Err(e)) => {
                                metrics.v2_handshake_failures.inc();
                                tracing::debug!(%peer, error = %e, "V2 handshake failed");
                            }
                        }
                    }
                }
                metrics.connections.dec();
                metrics
                    .connections_by_protocol
                    .with_label_values(&[label])
                    .dec();
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
