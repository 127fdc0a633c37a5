//! Shares through a real JetStream (one local `nats-server -js`, R1, file
//! storage): one publish waited for alone (submit-to-stored latency), a
//! thousand in flight at once (an edge's throughput on one connection), and
//! the stream's storage per share. Needs `nats-server`
//! (`scripts/install-nats.sh`).

#[path = "../tests/support/nats.rs"]
mod nats;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nats::{share, NatsServer};
use shareproof_bus::{BusConfig, SharePublisher, ShareStream};

const IN_FLIGHT: u32 = 1000;

fn bench(c: &mut Criterion) {
    let server = NatsServer::start();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let stream = ShareStream::new("BENCH");
    let (js, publisher) = rt.block_on(async {
        let client = BusConfig::new(vec![server.url()], "bench")
            .connect()
            .await
            .expect("connect");
        let js = async_nats::jetstream::new(client);
        stream.ensure(&js).await.expect("stream");
        let publisher = SharePublisher::new(js.clone(), &stream);
        (js, publisher)
    });
    // Every share published is new: no de-duplication in the figures.
    let next = AtomicU32::new(1);
    let mut g = c.benchmark_group("jetstream");
    g.throughput(Throughput::Elements(1));
    g.bench_function("publish_one_stored", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    publisher.publish(&share(n)).await.expect("stored");
                }
                start.elapsed()
            })
        })
    });
    g.throughput(Throughput::Elements(IN_FLIGHT.into()));
    g.sample_size(20);
    g.bench_function("publish_1000_in_flight_stored", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let first = next.fetch_add(IN_FLIGHT, Ordering::Relaxed);
                    let start = Instant::now();
                    let mut pending = Vec::with_capacity(IN_FLIGHT as usize);
                    for n in first..first + IN_FLIGHT {
                        pending.push(publisher.send(&share(n)).await.expect("sent"));
                    }
                    for p in pending {
                        p.stored().await.expect("stored");
                    }
                    total += start.elapsed();
                }
                total
            })
        })
    });
    g.finish();
    rt.block_on(async {
        let mut handle = js.get_stream("BENCH").await.expect("stream");
        let state = handle.info().await.expect("info").state.clone();
        println!(
            "stream: {} shares, {} bytes stored, {:.0} bytes per share, {:.0} MB per million shares",
            state.messages,
            state.bytes,
            state.bytes as f64 / state.messages.max(1) as f64,
            state.bytes as f64 / state.messages.max(1) as f64
        );
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
