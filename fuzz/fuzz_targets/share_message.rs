//! What the accounting node reads from the share stream, on arbitrary
//! bytes: `ShareMessage::decode`. A corrupt or hostile message is an error,
//! never a panic; one that decodes encodes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shareproof_bus::ShareMessage;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = ShareMessage::decode(data) {
        assert_eq!(message.to_bytes(), data);
    }
});
