//! Window maintenance: appending shares and refreshing the Poseidon root.

use std::hint::black_box;

use bitcoin::hashes::Hash;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use share_verifier::{Address, ShareHash, Weight, Window, WindowEntry};

const LOG2_SLOTS: u32 = 16;
const APPENDS: u64 = 100_000;

fn entry(seq: u64) -> WindowEntry {
    let mut hash = [0u8; 32];
    hash[..8].copy_from_slice(&seq.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
    let mut address = [0u8; 20];
    address[..8].copy_from_slice(&(seq % 1000 + 1).to_be_bytes());
    WindowEntry {
        seq,
        address: Address(address),
        weight: Weight::new(1 << 32).unwrap(),
        share_hash: ShareHash::from_byte_array(hash),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("window_2^16");
    group.sample_size(10);
    group.bench_function("append_100k_then_root", |b| {
        b.iter_batched(
            || Window::new(LOG2_SLOTS).unwrap(),
            |mut w| {
                for seq in 0..APPENDS {
                    w.push(entry(seq)).unwrap();
                }
                black_box(w.root())
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    let mut w = Window::new(LOG2_SLOTS).unwrap();
    for seq in 0..APPENDS {
        w.push(entry(seq)).unwrap();
    }
    w.root();
    let mut seq = APPENDS;
    c.bench_function("window_2^16/root_after_one_share", |b| {
        b.iter(|| {
            w.push(entry(seq)).unwrap();
            seq += 1;
            black_box(w.root())
        })
    });
    c.bench_function("window_2^16/receipt", |b| {
        b.iter(|| black_box(w.receipt(seq - 7)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
