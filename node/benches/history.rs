//! The charts' time series (`shareproof_node::history`): what the ledger
//! adds per durable share (two series at two resolutions), reading a chart
//! back from the store, and the room they take: 1,000 addresses, each with a
//! share every minute for a week, written as the recorder writes them.
//! The sizes are printed once (`store on disk`, `open chunks in memory`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use share_verifier::Address;
use shareproof_node::history::{Recorder, Resolution, Series};
use shareproof_node::store::Store;

const ADDRESSES: u32 = 1_000;
const WEEK: u64 = 7 * 86_400;
const T0: u64 = 1_800_000_000 - 1_800_000_000 % 86_400;

fn address(i: u32) -> Address {
    let mut a = [0u8; 20];
    a[16..].copy_from_slice(&i.to_be_bytes());
    Address(a)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("history");
    g.throughput(Throughput::Elements(1));
    let mut r = Recorder::default();
    let mut none = |_, _, _| None;
    let mut t = T0;
    let mut i = 0u32;
    g.bench_function("add a share (pool + address, minute + hour)", |b| {
        b.iter(|| {
            i = (i + 1) % ADDRESSES;
            t += i as u64 / 999; // a new second now and then
            r.add(Series::Pool, t, 4.0e9, &mut none);
            r.add(Series::Address(address(i)), black_box(t), 4.0e9, &mut none);
        })
    });

    // A week of 1,000 addresses, one share a minute each, recorded and
    // written as the ledger does (every simulated minute here).
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 4).unwrap();
    let mut r = Recorder::default();
    let mut peak_open = 0;
    for minute in 0..WEEK / 60 {
        let now = T0 + minute * 60;
        let mut load = |res, s, i| store.history_chunk(res, s, i).unwrap();
        for a in 0..ADDRESSES {
            r.add(Series::Pool, now, 4.0e9, &mut load);
            r.add(Series::Address(address(a)), now, 4.0e9, &mut load);
        }
        peak_open = peak_open.max(r.open_chunks());
        store.write_history(r.take_dirty(now), false).unwrap();
    }
    let end = T0 + WEEK - 60;
    println!(
        "history: {ADDRESSES} addresses x 1 week: store on disk {} MiB; open chunks in memory at most {peak_open} ({} KiB of buckets)",
        store.size_on_disk().unwrap() / (1 << 20),
        peak_open * 60 * 8 / 1024,
    );
    g.bench_function("read a day of one address (1,440 minutes)", |b| {
        b.iter(|| {
            store
                .history(
                    Resolution::Minute,
                    Series::Address(address(7)),
                    end - 86_340,
                    end,
                )
                .unwrap()
        })
    });
    g.bench_function("read a week of one address (168 hours)", |b| {
        b.iter(|| {
            store
                .history(
                    Resolution::Hour,
                    Series::Address(address(7)),
                    end - WEEK + 3600,
                    end,
                )
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
