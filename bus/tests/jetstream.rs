//! The share bus against a real NATS server with JetStream (Debian's
//! `nats-server`, installed by `scripts/install-nats.sh`): stored means
//! acknowledged, re-sends are stored once, the consumer resumes exactly
//! where the store says, and a dead server is an error, never a silent loss.

#[path = "support/nats.rs"]
mod nats;

use std::time::{Duration, Instant};

use nats::{share, NatsServer};
use shareproof_bus::{BusConfig, BusError, ShareConsumer, SharePublisher, ShareStream};

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
