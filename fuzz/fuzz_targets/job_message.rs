//! What an edge reads from the jobs subject, the jobs stream and a
//! fresh-job answer, on arbitrary bytes: `JobMessage::decode`. A corrupt or
//! hostile message is an error, never a panic; one that decodes encodes
//! back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shareproof_bus::JobMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = JobMessage::decode(data) {
        assert_eq!(message.to_bytes(), data);
    }
});
