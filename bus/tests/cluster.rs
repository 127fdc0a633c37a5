//! The share bus on a three-server NATS cluster with an R3 stream: a server
//! killed with `kill -9` mid-run loses no stored share and stores none twice.

#[path = "support/nats.rs"]
mod nats;

use nats::{retry, share, NatsServer};
use shareproof_bus::{BusConfig, Published, ShareConsumer, SharePublisher, ShareStream};

#[tokio::test]
async fn an_r3_stream_keeps_every_share_once_when_a_server_dies() {
    let mut servers = NatsServer::cluster(3);
    let urls: Vec<String> = servers.iter().map(NatsServer::url).collect();
    let client = BusConfig::new(urls, "edge").connect().await.unwrap();
    let js = async_nats::jetstream::new(client);
    let mut stream = ShareStream::new("SHARES");
    stream.replicas = 3;
    retry(60, "creating the R3 stream", || stream.ensure(&js)).await;
    let publisher = SharePublisher::new(js.clone(), &stream);

    let mut seqs = Vec::new();
    for n in 1..=100 {
        let s = share(n);
        let p: Published = retry(60, "publishing", || publisher.publish(&s)).await;
        seqs.push(p.stream_seq);
    }
    servers[0].kill();
    // The survivors hold a quorum: shares go on being stored. A publish
    // caught in the leader's re-election fails and is sent again; its
    // message id keeps it once.
    for n in 101..=200 {
        let s = share(n);
        let p = retry(60, "publishing after the kill", || publisher.publish(&s)).await;
        seqs.push(p.stream_seq);
    }
    assert_eq!(seqs, (1..=200).collect::<Vec<u64>>());

    let mut consumer = retry(60, "opening the consumer", || {
        ShareConsumer::open(&js, &stream, "accounting", 0)
    })
    .await;
    for n in 1..=200u32 {
        let d = consumer.next().await.unwrap();
        assert_eq!((d.stream_seq, &d.share), (u64::from(n), &share(n)));
    }

    // The killed server comes back and catches up; nothing changes.
    servers[0].restart();
    let s = share(201);
    let p = retry(60, "publishing after the restart", || publisher.publish(&s)).await;
    assert_eq!((p.stream_seq, p.duplicate), (201, false));
}
