//! The share bus's per-share CPU cost outside NATS: encoding a share
//! message on the edge and decoding it on the accounting node (the record
//! frame's CRC included). Publish-to-acknowledgement figures through a real
//! JetStream come from the scale-out load runs (`docs/scale-out.md`).

use std::hint::black_box;

use bitcoin::block::Version;
use bitcoin::hashes::Hash;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use share_verifier::log::ShareRecord;
use share_verifier::{Address, JobId, ShareHash, ShareTarget};
use shareproof_bus::ShareMessage;

fn message() -> ShareMessage {
    ShareMessage {
        record: ShareRecord {
            seq: 0,
            job_id: JobId(0x2a),
            extranonce1: vec![1, 2, 3, 4],
            extranonce2: vec![0, 0, 0, 0, 0, 0, 1, 7],
            ntime: 1_700_000_000,
            nonce: 0xdead_beef,
            version: Version::from_consensus(0x2000_0000),
            address: Address([0x11; 20]),
            target: ShareTarget::MAX,
        },
        hash: ShareHash::hash(b"share"),
        is_block: false,
        worker: "rig1".to_owned(),
    }
}

fn bench(c: &mut Criterion) {
    let m = message();
    let bytes = m.to_bytes();
    let mut g = c.benchmark_group("share_message");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode", |b| {
        let mut out = Vec::with_capacity(256);
        b.iter(|| {
            out.clear();
            black_box(&m).encode(&mut out);
            black_box(out.len())
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| ShareMessage::decode(black_box(&bytes)).expect("valid"))
    });
    g.bench_function("message_id", |b| b.iter(|| black_box(&m).message_id()));
    g.finish();
    println!("share message: {} bytes on the stream", bytes.len());
}

criterion_group!(benches, bench);
criterion_main!(benches);
