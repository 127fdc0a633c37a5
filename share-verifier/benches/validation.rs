//! Share validation throughput with a 12-level Merkle branch, against this
//! machine's raw SHA-256 compression rate measured in the same run.
//!
//! Besides criterion's figures it prints `shares/s`, `compressions/s`, the
//! compressions a share needs, and the ratio of achieved shares/s to the
//! limit those compressions imply (1.0 = nothing but compression work).

use std::hint::black_box;
use std::time::{Duration, Instant};

use bitcoin::block::Version;
use bitcoin::hashes::Hash;
use bitcoin::pow::CompactTarget;
use bitcoin::{BlockHash, TxMerkleNode};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use share_verifier::{
    Job, JobId, PreparedJob, Share, ShareRules, ShareTarget, Submission, VersionMask,
};

/// A job shaped like the node's: ~60-byte coinb1, ~130-byte coinb2
/// (settlement output, commitment, witness commitment), 12-level branch.
fn job() -> Job {
    Job {
        id: JobId(1),
        prevhash: BlockHash::from_byte_array([0x42; 32]),
        coinb1: vec![0x01; 59],
        coinb2: vec![0x02; 131],
        merkle_branch: (0..12u8)
            .map(|i| TxMerkleNode::from_byte_array([i; 32]))
            .collect(),
        version: Version::from_consensus(0x2000_0000),
        nbits: CompactTarget::from_consensus(0x1703_4e4c),
        ntime: 1_700_000_000,
        clean_jobs: true,
    }
}

const EN1: [u8; 4] = [1, 2, 3, 4];
const EN2: [u8; 8] = [5, 6, 7, 8, 9, 10, 11, 12];

/// Median of `rounds` rates of `f` run for about `per_round` each.
fn rate(rounds: usize, per_round: Duration, mut f: impl FnMut(u64)) -> f64 {
    let mut rates = Vec::with_capacity(rounds);
    let mut i = 0u64;
    for _ in 0..rounds {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < per_round {
            for _ in 0..1000 {
                f(i);
                i += 1;
            }
            n += 1000;
        }
        rates.push(n as f64 / start.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    rates[rounds / 2]
}

fn bench(c: &mut Criterion) {
    let job = job();
    let prepared = PreparedJob::new(&job);
    let version = job.version;

    let mut group = c.benchmark_group("share_validation");
    group.throughput(Throughput::Elements(1));
    group.bench_function("hash_12_level_branch", |b| {
        let mut nonce = 0u32;
        b.iter(|| {
            nonce = nonce.wrapping_add(1);
            black_box(prepared.hash(&EN1, &EN2, job.ntime, nonce, version))
        })
    });
    let rules = ShareRules {
        extranonce1_size: 4,
        extranonce2_size: 8,
        version_mask: VersionMask::BIP320,
    };
    group.bench_function("validate_12_level_branch", |b| {
        let mut nonce = 0u32;
        b.iter(|| {
            nonce = nonce.wrapping_add(1);
            let sub = Submission {
                job_id: job.id,
                extranonce1: EN1.to_vec(),
                extranonce2: EN2.to_vec(),
                ntime: job.ntime,
                nonce,
                version_bits: Some(0x2000),
            };
            black_box(
                Share::new(sub, ShareTarget::MAX)
                    .validate(&job, &prepared, &rules)
                    .is_ok(),
            )
        })
    });
    group.finish();

    let mut group = c.benchmark_group("sha256");
    group.throughput(Throughput::Elements(1));
    group.bench_function("compress_one_block", |b| {
        let mut state = [0u32; 8];
        let mut block = [0u8; 64];
        b.iter(|| {
            block[0] = block[0].wrapping_add(1);
            sha2::block_api::compress256(&mut state, black_box(&[block]));
        })
    });
    group.finish();

    // The ratio, measured in one run so both figures see the same machine state.
    let per_share = prepared.compressions_per_share(EN1.len() + EN2.len());
    let mut state = [0u32; 8];
    let compressions = rate(7, Duration::from_millis(300), |i| {
        let mut block = [0u8; 64];
        block[..8].copy_from_slice(&i.to_le_bytes());
        sha2::block_api::compress256(&mut state, &[block]);
        black_box(&state);
    });
    let shares = rate(7, Duration::from_millis(300), |i| {
        black_box(prepared.hash(&EN1, &EN2, job.ntime, i as u32, version));
    });
    let limit = compressions / per_share as f64;
    println!(
        "share validation, 12-level branch, one core: {shares:.0} shares/s; SHA-256 compressions: {compressions:.0}/s; \
         {per_share} compressions per share => limit {limit:.0} shares/s; ratio {:.3}",
        shares / limit
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
