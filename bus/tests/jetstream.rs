//! The share bus against a real NATS server with JetStream (Debian's
//! `nats-server`, installed by `scripts/install-nats.sh`): stored means
//! acknowledged, re-sends are stored once, the consumer resumes exactly
//! where the store says, and a dead server is an error, never a silent loss.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bitcoin::block::Version;
use bitcoin::hashes::Hash;
use share_verifier::log::ShareRecord;
use share_verifier::{Address, JobId, ShareHash, ShareTarget};
use shareproof_bus::{
    BusConfig, BusError, ShareConsumer, ShareMessage, SharePublisher, ShareStream,
};

/// A `nats-server -js` on a free port with its store in a temp dir; killed
/// on drop.
struct NatsServer {
    child: Child,
    port: u16,
    store: PathBuf,
}

fn nats_server_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("SHAREPROOF_NATS_SERVER") {
        return path.into();
    }
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|d: PathBuf| d.join("nats-server"));
    candidates.into_iter().find(|p| p.exists()).expect(
        "nats-server not found: run scripts/install-nats.sh (or set SHAREPROOF_NATS_SERVER)",
    )
}

impl NatsServer {
    fn start() -> NatsServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let store =
            std::env::temp_dir().join(format!("shareproof-nats-{}-{port}", std::process::id()));
        NatsServer::start_at(port, &store)
    }

    fn start_at(port: u16, store: &Path) -> NatsServer {
        NatsServer {
            child: spawn(port, store),
            port,
            store: store.to_owned(),
        }
    }

    /// Starts the killed server again on its port and store.
    fn restart(&mut self) {
        self.child = spawn(self.port, &self.store);
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server (`kill -9`), keeping its store.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(port: u16, store: &Path) -> Child {
    let child = Command::new(nats_server_binary())
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nats-server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.store);
    }
}

fn share(n: u32) -> ShareMessage {
    ShareMessage {
        record: ShareRecord {
            seq: 0,
            job_id: JobId(u64::from(n / 10)),
            extranonce1: vec![0, 0, 0, 1],
            extranonce2: n.to_be_bytes().repeat(2),
            ntime: 1_700_000_000,
            nonce: n,
            version: Version::from_consensus(0x2000_0000),
            address: Address([(n % 7) as u8 + 1; 20]),
            target: ShareTarget::MAX,
        },
        hash: ShareHash::hash(&n.to_le_bytes()),
        is_block: n.is_multiple_of(25),
        worker: format!("rig{}", n % 3),
    }
}

async fn connect(server: &NatsServer) -> async_nats::jetstream::Context {
    let client = BusConfig::new(vec![server.url()], "test")
        .connect()
        .await
        .unwrap();
    async_nats::jetstream::new(client)
}

#[tokio::test]
async fn shares_are_stored_once_and_read_back_in_order_from_any_position() {
    let server = NatsServer::start();
    let js = connect(&server).await;
    let stream = ShareStream::new("SHARES");
    stream.ensure(&js).await.unwrap();
    let publisher = SharePublisher::new(js.clone(), &stream);

    // Many in flight at once, then every acknowledgement.
    let mut pending = Vec::new();
    for n in 1..=50 {
        pending.push(publisher.send(&share(n)).await.unwrap());
    }
    for (n, p) in (1..=50u64).zip(pending) {
        let stored = p.stored().await.unwrap();
        assert_eq!(stored.stream_seq, n);
        assert!(!stored.duplicate);
    }
    // A re-send (an edge that reconnected before its ack came) is stored once.
    for n in [3, 17, 50] {
        let again = publisher.publish(&share(n)).await.unwrap();
        assert!(again.duplicate, "share {n} stored twice");
        assert_eq!(again.stream_seq, u64::from(n));
    }
    let next = publisher.publish(&share(51)).await.unwrap();
    assert_eq!((next.stream_seq, next.duplicate), (51, false));

    let mut consumer = ShareConsumer::open(&js, &stream, "accounting", 0)
        .await
        .unwrap();
    for n in 1..=51 {
        let d = consumer.next().await.unwrap();
        assert_eq!(d.stream_seq, u64::from(n));
        assert_eq!(d.share, share(n));
        if n == 30 {
            d.ack().await.unwrap();
        }
    }
    drop(consumer);

    // The store says 30 were applied: delivery resumes at 31, whatever the
    // consumer acknowledged; then at 45 after a store that got further.
    for applied in [30u32, 45, 0] {
        let mut consumer = ShareConsumer::open(&js, &stream, "accounting", applied.into())
            .await
            .unwrap();
        let d = consumer.next().await.unwrap();
        assert_eq!(d.stream_seq, u64::from(applied) + 1);
        assert_eq!(d.share, share(applied + 1));
    }

    // A message deleted from the stream is a stop, never a skip.
    let handle = js.get_stream("SHARES").await.unwrap();
    assert!(handle.delete_message(40).await.unwrap());
    let mut consumer = ShareConsumer::open(&js, &stream, "accounting", 38)
        .await
        .unwrap();
    assert_eq!(consumer.next().await.unwrap().stream_seq, 39);
    match consumer.next().await {
        Err(BusError::Missing(40)) => {}
        Err(e) => panic!("expected share 40 missing, got {e}"),
        Ok(d) => panic!("expected share 40 missing, got {}", d.stream_seq),
    }
}

#[tokio::test]
async fn a_message_that_is_not_a_share_stops_the_consumer() {
    let server = NatsServer::start();
    let js = connect(&server).await;
    let stream = ShareStream::new("SHARES");
    stream.ensure(&js).await.unwrap();
    let publisher = SharePublisher::new(js.clone(), &stream);
    publisher.publish(&share(1)).await.unwrap();
    js.publish(stream.subject(), "not a share".into())
        .await
        .unwrap()
        .await
        .unwrap();
    let mut consumer = ShareConsumer::open(&js, &stream, "accounting", 0)
        .await
        .unwrap();
    assert_eq!(consumer.next().await.unwrap().share, share(1));
    match consumer.next().await {
        Err(BusError::Malformed { seq: 2, .. }) => {}
        Err(e) => panic!("expected a malformed message at 2, got {e}"),
        Ok(d) => panic!("expected a malformed message at 2, got {}", d.stream_seq),
    }
}

#[tokio::test]
async fn a_dead_server_is_an_error_and_a_restarted_one_kept_every_stored_share() {
    let mut server = NatsServer::start();
    let js = connect(&server).await;
    let stream = ShareStream::new("SHARES");
    stream.ensure(&js).await.unwrap();
    let publisher = SharePublisher::new(js.clone(), &stream);
    for n in 1..=5 {
        publisher.publish(&share(n)).await.unwrap();
    }

    server.kill();
    // No acknowledgement: the edge must not tell the miner "accepted".
    let lost = tokio::time::timeout(Duration::from_secs(30), publisher.publish(&share(6)))
        .await
        .expect("a publish to a dead server ends with an error, not a hang");
    assert!(matches!(lost, Err(BusError::Publish(_))), "{lost:?}");

    // The same store, the same port: the client reconnects by itself.
    server.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    let stored = loop {
        match publisher.publish(&share(6)).await {
            Ok(p) => break p,
            Err(e) if Instant::now() < deadline => {
                tracing::debug!(error = %e, "waiting for the reconnect");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("no reconnect: {e}"),
        }
    };
    assert_eq!(
        stored.stream_seq, 6,
        "the five stored shares survived the kill"
    );
    let mut consumer = ShareConsumer::open(&js, &stream, "accounting", 0)
        .await
        .unwrap();
    for n in 1..=6 {
        assert_eq!(consumer.next().await.unwrap().share, share(n));
    }
}
