//! The Stratum job and submission parsers on arbitrary JSON text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use share_verifier::{Job, Submission};

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let params = value.get("params").unwrap_or(&value);
    if let Ok(job) = Job::from_notify_params(params) {
        // What parses prints back to params that parse to the same job.
        assert_eq!(Job::from_notify_params(&job.to_notify_params()).unwrap(), job);
        let _ = share_verifier::PreparedJob::new(&job);
    }
    let _ = Submission::from_submit_params(params, &[0, 1, 2, 3]);
});
