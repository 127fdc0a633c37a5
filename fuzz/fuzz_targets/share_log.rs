//! The share log reader on arbitrary bytes: every input either decodes or
//! fails with a located error, never panics or allocates without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use share_verifier::log::{LogHeader, LogReader, Record};

fuzz_target!(|data: &[u8]| {
    // As a whole file (header included) …
    if let Ok(reader) = LogReader::new(data) {
        for record in reader.flatten() {
            round_trip(&record);
        }
    }
    // … as records behind a valid header …
    let mut file = LogHeader { log2_slots: 4 }.to_bytes().to_vec();
    file.extend_from_slice(data);
    if let Ok(reader) = LogReader::new(&file[..]) {
        for _ in reader {}
    }
    // … and as one payload behind a correct frame, so that the field
    // decoders see inputs the CRC would otherwise stop.
    if let Some((&kind, payload)) = data.split_first() {
        let mut frame = vec![kind % 4];
        frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        frame.extend_from_slice(payload);
        let crc = crc32fast::hash(&frame);
        frame.extend_from_slice(&crc.to_le_bytes());
        if let Ok(record) = Record::decode(&frame, 0, 0) {
            round_trip(&record);
        }
    }
});

/// Whatever decodes re-encodes to bytes that decode to the same record.
fn round_trip(record: &Record) {
    let bytes = record.to_bytes();
    assert_eq!(&Record::decode(&bytes, 0, 0).unwrap(), record);
}
