//! PPLNS allocation over a full 2^16-share window with 1,000 addresses.

use std::hint::black_box;

use bitcoin::Amount;
use criterion::{criterion_group, criterion_main, Criterion};
use share_verifier::{allocate, Address, FeeBps, Weight};

fn bench(c: &mut Criterion) {
    let shares: Vec<(Address, Weight)> = (0..1u64 << 16)
        .map(|i| {
            let mut a = [0u8; 20];
            // Scatter the 1,000 addresses so the map sees them out of order.
            a[..8].copy_from_slice(&((i * 7919) % 1000 + 1).to_be_bytes());
            (
                Address(a),
                Weight::new(u128::from(i % 97 + 1) << 40).unwrap(),
            )
        })
        .collect();
    let fee = FeeBps::new(150).unwrap();
    c.bench_function("allocate_2^16_shares_1000_addresses", |b| {
        b.iter(|| {
            black_box(allocate(shares.iter().copied(), Amount::from_sat(312_500_000), fee).unwrap())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
