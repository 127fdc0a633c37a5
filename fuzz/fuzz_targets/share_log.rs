//! The share log reader on arbitrary bytes: every input either decodes or
//! fails with a located error, never panics or allocates without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use share_verifier::log::{LogHeader, LogReader, Record};

fuzz_target!(|data: &[u8]| {
    // As a whole file (header included) …
    if let Ok(reader) = LogReader::new(data) {
        for record in reader {
            if let Ok(record) = record {
                // Whatever decodes re-encodes to a record that decodes the same.
                let bytes = record.to_bytes();
                assert_eq!(Record::decode(&bytes, 0, 0).unwrap(), record);
            }
        }
    }
    // … and as records behind a valid header.
    let mut file = LogHeader { log2_slots: 4 }.to_bytes().to_vec();
    file.extend_from_slice(data);
    if let Ok(reader) = LogReader::new(&file[..]) {
        for _ in reader {}
    }
});
