//! A miniature pool for tests: builds jobs whose coinbases commit to the
//! window like the node's do, mines shares at an easy target and writes the
//! share log records a real pool writes.

#![allow(dead_code)] // each test binary uses a different part

use bitcoin::absolute::LockTime;
use bitcoin::block::Version;
use bitcoin::hashes::Hash;
use bitcoin::pow::CompactTarget;
use bitcoin::transaction::{self, Transaction, TxIn, TxOut};
use bitcoin::{Amount, BlockHash, OutPoint, ScriptBuf, Sequence, Witness};
use share_verifier::commitment::commitment_output;
use share_verifier::log::{JobRecord, LogHeader, LogWriter, Record, ShareRecord};
use share_verifier::{
    Address, Difficulty, Job, JobId, PreparedJob, ShareTarget, Window, WindowEntry,
};

/// About 256 hashes per share.
pub const EASY: f64 = 1.0 / 16_777_216.0;
pub const EXTRANONCE1_SIZE: usize = 4;
pub const EXTRANONCE2_SIZE: usize = 8;

pub fn settlement_script() -> ScriptBuf {
    ScriptBuf::from_hex("00204ae81572f06e1b88fd5ced7a1a000945432e83e1551e6f721ee9c00b8cc33260")
        .unwrap()
}

pub fn miner(i: u8) -> Address {
    let mut a = [i; 20];
    a[0] = 0x10 + i;
    Address(a)
}

pub struct Pool {
    pub window: Window,
    pub records: Vec<Record>,
    pub job: Option<(Job, PreparedJob)>,
    next_job: u64,
    log2_slots: u32,
}

impl Pool {
    pub fn new(log2_slots: u32) -> Self {
        Pool {
            window: Window::new(log2_slots).unwrap(),
            records: Vec::new(),
            job: None,
            next_job: 1,
            log2_slots,
        }
    }

    /// A new job whose coinbase commits to the current window.
    pub fn new_job(&mut self) -> Job {
        let root = self.window.root();
        let placeholder = [0xee; EXTRANONCE1_SIZE + EXTRANONCE2_SIZE];
        let mut script_sig = vec![0x03, 0x01, 0x00, 0x00]; // BIP34 height 1
        script_sig.extend_from_slice(&placeholder);
        let tx = Transaction {
            version: transaction::Version::ONE,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::from_bytes(script_sig),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![
                TxOut {
                    value: Amount::from_sat(50_0000_0000),
                    script_pubkey: settlement_script(),
                },
                commitment_output(&root),
            ],
        };
        let bytes = bitcoin::consensus::serialize(&tx);
        let at = bytes
            .windows(placeholder.len())
            .position(|w| w == placeholder)
            .unwrap();
        let id = JobId(self.next_job);
        self.next_job += 1;
        let job = Job {
            id,
            prevhash: BlockHash::from_byte_array([0x11; 32]),
            coinb1: bytes[..at].to_vec(),
            coinb2: bytes[at + placeholder.len()..].to_vec(),
            merkle_branch: vec![],
            version: Version::from_consensus(0x2000_0000),
            nbits: CompactTarget::from_consensus(0x1d00ffff),
            ntime: 1_700_000_000,
            clean_jobs: true,
        };
        self.records.push(Record::Job(JobRecord {
            job: job.clone(),
            window_seq: self.window.next_seq(),
            extranonce1_size: EXTRANONCE1_SIZE as u8,
            extranonce2_size: EXTRANONCE2_SIZE as u8,
        }));
        self.job = Some((job.clone(), PreparedJob::new(&job)));
        job
    }

    /// Mines and logs one share for `address` at `difficulty`.
    pub fn share(&mut self, address: Address, difficulty: f64) -> ShareRecord {
        let (job, prepared) = self.job.as_ref().expect("a job first");
        let target = Difficulty::new(difficulty).unwrap().to_target();
        let seq = self.window.next_seq();
        let extranonce1 = (seq as u32).to_be_bytes().to_vec();
        let extranonce2 = vec![7; EXTRANONCE2_SIZE];
        let version = Version::from_consensus(0x2000_0000 | ((seq as i32 & 0xff) << 13));
        let nonce = (0u32..)
            .find(|&n| {
                target.is_met_by(&prepared.hash(&extranonce1, &extranonce2, job.ntime, n, version))
            })
            .unwrap();
        let hash = prepared.hash(&extranonce1, &extranonce2, job.ntime, nonce, version);
        let record = ShareRecord {
            seq,
            job_id: job.id,
            extranonce1,
            extranonce2,
            ntime: job.ntime,
            nonce,
            version,
            address,
            target,
        };
        self.window
            .push(WindowEntry {
                seq,
                address,
                weight: target.weight().unwrap(),
                share_hash: hash,
            })
            .unwrap();
        self.records.push(Record::Share(record.clone()));
        record
    }

    /// A log with `jobs` jobs of `per_job` shares each, from three miners.
    pub fn simulate(log2_slots: u32, jobs: usize, per_job: usize) -> Pool {
        let mut pool = Pool::new(log2_slots);
        for _ in 0..jobs {
            pool.new_job();
            for i in 0..per_job {
                let m = (i % 3) as u8;
                pool.share(miner(m + 1), EASY * f64::from(m + 1));
            }
        }
        pool.new_job();
        pool
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = LogWriter::create(
            Vec::new(),
            LogHeader {
                log2_slots: self.log2_slots,
            },
        )
        .unwrap();
        w.append_all(&self.records).unwrap();
        w.into_inner()
    }

    pub fn easy_target() -> ShareTarget {
        Difficulty::new(EASY).unwrap().to_target()
    }
}
