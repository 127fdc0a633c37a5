use super::*;
use crate::address::Address;
use crate::job::{Job, JobId};
use crate::target::ShareTarget;
use bitcoin::block::Version;
use bitcoin::hashes::Hash;
use bitcoin::pow::CompactTarget;
use bitcoin::{BlockHash, TxMerkleNode};
use proptest::prelude::*;

fn job_record() -> Record {
    Record::Job(JobRecord {
        job: Job {
            id: JobId(0xabc),
            prevhash: BlockHash::from_byte_array([9; 32]),
            coinb1: vec![1, 2, 3],
            coinb2: vec![4; 70],
            merkle_branch: vec![TxMerkleNode::from_byte_array([5; 32]); 3],
            version: Version::from_consensus(0x2000_0000),
            nbits: CompactTarget::from_consensus(0x207fffff),
            ntime: 1_700_000_000,
            clean_jobs: true,
        },
        window_seq: 42,
        extranonce1_size: 4,
        extranonce2_size: 8,
    })
}

fn share_record(seq: u64) -> Record {
    Record::Share(ShareRecord {
        seq,
        job_id: JobId(0xabc),
        extranonce1: vec![0xde, 0xad, 0xbe, 0xef],
        extranonce2: seq.to_le_bytes().to_vec(),
        ntime: 1_700_000_001,
        nonce: 0x1234_5678,
        version: Version::from_consensus(0x2000_2000),
        address: Address([7; 20]),
        target: ShareTarget::DIFFICULTY_1,
    })
}

fn sample_log() -> Vec<u8> {
    let mut w = LogWriter::create(Vec::new(), LogHeader { log2_slots: 10 }).unwrap();
    w.append(&job_record()).unwrap();
    w.append_all(&[share_record(0), share_record(1)]).unwrap();
    w.append(&Record::Block(BlockRecord {
        seq: 1,
        block_hash: BlockHash::from_byte_array([3; 32]),
        job_id: JobId(0xabc),
    }))
    .unwrap();
    w.into_inner()
}

#[test]
fn records_round_trip_through_a_file() {
    let bytes = sample_log();
    let mut r = LogReader::new(&bytes[..]).unwrap();
    assert_eq!(r.header(), LogHeader { log2_slots: 10 });
    let records: Vec<Record> = r.by_ref().collect::<Result<_, _>>().unwrap();
    assert_eq!(records.len(), 4);
    assert_eq!(records[0], job_record());
    assert_eq!(records[2], share_record(1));
    assert_eq!(r.offset(), bytes.len() as u64);
}

#[test]
fn every_truncation_is_reported_with_its_record() {
    let bytes = sample_log();
    let first_record_end = HEADER_LEN + job_record().to_bytes().len();
    for cut in HEADER_LEN + 1..bytes.len() {
        let mut r = LogReader::new(&bytes[..cut]).unwrap();
        let err = r.by_ref().find_map(Result::err);
        let record_boundary = [
            first_record_end,
            first_record_end + share_record(0).to_bytes().len(),
        ];
        if record_boundary.contains(&cut)
            || cut == first_record_end + 2 * share_record(0).to_bytes().len()
        {
            assert!(
                err.is_none(),
                "cut at a record boundary {cut} is a clean end"
            );
        } else {
            assert!(
                matches!(err, Some(LogError::Truncated { .. })),
                "cut {cut}: {err:?}"
            );
        }
    }
}

#[test]
fn a_flipped_bit_fails_the_checksum_of_its_record() {
    let mut bytes = sample_log();
    let second = HEADER_LEN + job_record().to_bytes().len();
    bytes[second + 20] ^= 0x10;
    let mut r = LogReader::new(&bytes[..]).unwrap();
    assert!(r.next().unwrap().is_ok());
    match r.next().unwrap() {
        Err(LogError::Checksum { record: 1, offset }) => assert_eq!(offset, second as u64),
        other => panic!("{other:?}"),
    }
    assert!(r.next().is_none(), "reading stops at the first fault");
}

#[test]
fn headers_are_checked() {
    let bytes = sample_log();
    assert!(matches!(
        LogReader::new(&b"not a log at all"[..]),
        Err(LogError::BadMagic)
    ));
    assert!(matches!(
        LogReader::new(&bytes[..10]),
        Err(LogError::ShortHeader)
    ));
    let mut v2 = bytes.clone();
    v2[8] = 2;
    assert!(matches!(
        LogReader::new(&v2[..]),
        Err(LogError::UnsupportedVersion(2))
    ));
    let mut crc = bytes;
    crc[10] = 11;
    assert!(matches!(
        LogReader::new(&crc[..]),
        Err(LogError::HeaderChecksum)
    ));
}

#[test]
fn oversized_and_unknown_records_are_rejected_without_allocating() {
    let mut bytes = LogHeader { log2_slots: 4 }.to_bytes().to_vec();
    bytes.extend_from_slice(&[2, 0xff, 0xff, 0xff, 0x7f]);
    assert!(matches!(
        LogReader::new(&bytes[..]).unwrap().next(),
        Some(Err(LogError::TooLarge { .. }))
    ));

    let mut record = share_record(0).to_bytes();
    record[0] = 9;
    let len = record.len();
    let crc = crc32fast::hash(&record[..len - 4]);
    record[len - 4..].copy_from_slice(&crc.to_le_bytes());
    assert!(matches!(
        Record::decode(&record, 0, 0),
        Err(LogError::UnknownKind { kind: 9, .. })
    ));
}

#[test]
fn malformed_fields_are_named() {
    // A share whose extranonce2 length runs past the payload.
    let mut record = share_record(0).to_bytes();
    record[5 + 8 + 8 + 1 + 4] = 200;
    let len = record.len();
    let crc = crc32fast::hash(&record[..len - 4]);
    record[len - 4..].copy_from_slice(&crc.to_le_bytes());
    match Record::decode(&record, 3, 99) {
        Err(LogError::Malformed {
            record: 3,
            offset: 99,
            field,
            ..
        }) => assert_eq!(field, "extranonce2"),
        other => panic!("{other:?}"),
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut input = LogHeader { log2_slots: 4 }.to_bytes().to_vec();
        input.extend_from_slice(&bytes);
        if let Ok(r) = LogReader::new(&input[..]) {
            for record in r {
                let _ = record;
            }
        }
    }
}

#[test]
fn frames_are_counted_and_a_run_cut_short_is_reported() {
    let frames = [share_record(0).to_bytes(), share_record(1).to_bytes()].concat();
    assert_eq!(count_frames(&frames), Some(2));
    assert_eq!(count_frames(&frames[..frames.len() - 1]), None);
    assert_eq!(count_frames(&frames[..3]), None);
    assert_eq!(count_frames(&[]), Some(0));
}
