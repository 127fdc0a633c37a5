//! The node's per-share hot path, layer by layer: a `mining.submit` line
//! parsed (`shareproof_stratum::request`), parsed and validated against its job (the session's
//! `validate_submit`, a 12-level Merkle branch); the same for Stratum V2,
//! a `SubmitSharesExtended` decrypted (Noise), parsed and validated; and the ledger's group
//! commit of a batch of accepted shares to sled (durable before the miners
//! are acknowledged). End-to-end figures through TCP come from
//! `shareproof loadgen`.

use std::hint::black_box;

use bitcoin::block::Version;
use bitcoin::hashes::Hash;
use bitcoin::pow::CompactTarget;
use bitcoin::{BlockHash, TxMerkleNode};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use share_verifier::log::{Record, ShareRecord};
use share_verifier::window::WindowEntry;
use share_verifier::{
    Address, Job, JobId, PreparedJob, ShareHash, ShareRules, ShareTarget, VersionMask,
};
use shareproof_node::store::{LedgerBatch, Store};
use shareproof_node::stratum::session::validate_submit;
use shareproof_stratum::request::{self, Request};

const EXTRANONCE1: [u8; 4] = [1, 2, 3, 4];

/// A job shaped like the node's: coinbase halves around the extranonces,
/// a 12-level branch.
fn job() -> Job {
    Job {
        id: JobId(0x2a),
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

fn submit_line(nonce: u32) -> Vec<u8> {
    format!(
        "{{\"id\":{nonce},\"method\":\"mining.submit\",\"params\":[\"0x00000000000000000000000000000000000A11CE.rig\",\"2a\",\"0506070809101112\",\"6553f100\",\"{nonce:08x}\",\"00002000\"]}}"
    )
    .into_bytes()
}

fn stratum(c: &mut Criterion) {
    let job = job();
    let prepared = PreparedJob::new(&job);
    let rules = ShareRules {
        extranonce1_size: 4,
        extranonce2_size: 8,
        version_mask: VersionMask::BIP320,
    };
    let lines: Vec<Vec<u8>> = (0..1024).map(submit_line).collect();

    let mut group = c.benchmark_group("stratum_submit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % lines.len();
            black_box(request::parse(&lines[i]).is_ok())
        })
    });
    group.bench_function("parse_and_validate", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % lines.len();
            let Ok((_, Request::Submit(p))) = request::parse(&lines[i]) else {
                panic!("a submit line parses as a submit");
            };
            let share =
                validate_submit(&p, &job, &prepared, &EXTRANONCE1, &rules, ShareTarget::MAX)
                    .expect("every hash meets the easiest target");
            black_box(share.hash())
        })
    });
    group.finish();
}

/// One group commit as the ledger makes it: per share a log record and a
/// window entry, then the counters, then a durable flush.
fn ledger_batch(store_seq: &mut u64, shares: u64) -> LedgerBatch {
    let job = job();
    let mut batch = LedgerBatch::default();
    for _ in 0..shares {
        let seq = *store_seq;
        *store_seq += 1;
        let record = Record::Share(ShareRecord {
            seq,
            job_id: job.id,
            extranonce1: EXTRANONCE1.to_vec(),
            extranonce2: seq.to_le_bytes().to_vec(),
            ntime: job.ntime,
            nonce: seq as u32,
            version: job.version,
            address: Address([0xa1; 20]),
            target: ShareTarget::MAX,
        });
        batch.record(seq, &record);
        batch.entry(&WindowEntry {
            seq,
            address: Address([0xa1; 20]),
            weight: ShareTarget::MAX.weight().expect("weight 1"),
            share_hash: ShareHash::from_byte_array([seq as u8; 32]),
        });
    }
    batch.counters(*store_seq, *store_seq, 1);
    batch
}

fn ledger(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path(), 12).expect("store opens");
    let mut seq = 0u64;
    let mut group = c.benchmark_group("ledger_group_commit");
    group.sample_size(20);
    for shares in [1u64, 256, 4096] {
        group.throughput(Throughput::Elements(shares));
        group.bench_function(format!("{shares}_shares"), |b| {
            b.iter_batched(
                || ledger_batch(&mut seq, shares),
                |batch| store.commit(batch).expect("commit"),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// 1024 `SubmitSharesExtended` frames encrypted in order by a client, and
/// the pool's transport that reads them.
fn v2_frames() -> (shareproof_stratum::v2::Transport, bytes::BytesMut) {
    use shareproof_stratum::v2::mining_sv2::SubmitSharesExtended;
    use shareproof_stratum::v2::noise::MAX_CLIENT_FRAME;
    use shareproof_stratum::v2::parsers_sv2::{AnyMessage, Mining};
    use shareproof_stratum::v2::{AuthorityKeypair, ClientHandshake, ServerHandshake};
    let key = AuthorityKeypair::generate();
    let (hello, client) = ClientHandshake::start(Some(key.public())).expect("hello");
    let server = ServerHandshake::new(key.responder(std::time::Duration::from_secs(60)));
    let (answer, server) = server
        .respond(hello.try_into().expect("64 bytes"), MAX_CLIENT_FRAME)
        .expect("answer");
    let mut client = client
        .finish(answer.try_into().expect("size"))
        .expect("key");
    let mut wire = Vec::new();
    let extranonce = [5u8, 6, 7, 8, 9, 0x10, 0x11, 0x12];
    for nonce in 0..1024u32 {
        let m = SubmitSharesExtended {
            channel_id: 1,
            sequence_number: nonce,
            job_id: 1,
            nonce,
            ntime: 0x6553_f100,
            version: 0x2000_2000,
            extranonce: (&extranonce[..]).try_into().expect("8 bytes"),
        };
        client
            .encode(
                AnyMessage::Mining(Mining::SubmitSharesExtended(m)),
                &mut wire,
            )
            .expect("encodes");
    }
    (server, bytes::BytesMut::from(&wire[..]))
}

fn stratum_v2(c: &mut Criterion) {
    use share_verifier::{Share, Submission};
    use shareproof_stratum::v2::parsers_sv2::{AnyMessage, Mining};
    let job = job();
    let prepared = PreparedJob::new(&job);
    let rules = ShareRules {
        extranonce1_size: 4,
        extranonce2_size: 8,
        version_mask: VersionMask::BIP320,
    };
    let mut group = c.benchmark_group("stratum_v2_submit");
    group.throughput(Throughput::Elements(1024));
    group.bench_function("decrypt_and_parse", |b| {
        b.iter_batched(
            v2_frames,
            |(mut server, mut buf)| {
                while let Some(mut frame) = server.decode(&mut buf).expect("decrypts") {
                    black_box(frame.message().is_ok());
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.bench_function("decrypt_parse_and_validate", |b| {
        b.iter_batched(
            v2_frames,
            |(mut server, mut buf)| {
                while let Some(mut frame) = server.decode(&mut buf).expect("decrypts") {
                    let Ok(AnyMessage::Mining(Mining::SubmitSharesExtended(m))) = frame.message()
                    else {
                        panic!("a submit frame parses as a submit");
                    };
                    let submission = Submission {
                        job_id: job.id,
                        extranonce1: EXTRANONCE1.to_vec(),
                        extranonce2: m.extranonce.as_bytes().to_vec(),
                        ntime: m.ntime,
                        nonce: m.nonce,
                        version_bits: Some(m.version & VersionMask::BIP320.0),
                    };
                    let share = Share::new(submission, ShareTarget::MAX)
                        .validate(&job, &prepared, &rules)
                        .expect("every hash meets the easiest target");
                    black_box(share.hash());
                }
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, stratum, stratum_v2, ledger);
criterion_main!(benches);
