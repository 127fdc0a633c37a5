//! The node's Stratum input path on arbitrary bytes: the line codec splits
//! them (with the node's line limit), each line is parsed as a request, and
//! every `mining.submit` that parses is validated against a job — answers
//! or rejects, never a panic.
#![no_main]

use std::sync::OnceLock;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use share_verifier::{Job, PreparedJob, ShareRules, ShareTarget, VersionMask};
use shareproof_node::stratum::{codec, message, session::validate_submit};

fn job() -> &'static (Job, PreparedJob) {
    static JOB: OnceLock<(Job, PreparedJob)> = OnceLock::new();
    JOB.get_or_init(|| {
        let job = Job::from_notify_params(&serde_json::json!([
            "2a",
            "f5304c7c535061f870374354668bb7087dc26fc39c45ffd0cbdd48c600000000",
            "0200",
            "ffff",
            ["0000000000000000000000000000000000000000000000000000000000000001"],
            "20000000",
            "1e0377ae",
            "6849afec",
            true
        ]))
        .expect("a valid notify");
        let prepared = PreparedJob::new(&job);
        (job, prepared)
    })
}

fuzz_target!(|data: &[u8]| {
    let (job, prepared) = job();
    let rules = ShareRules {
        extranonce1_size: 4,
        extranonce2_size: 8,
        version_mask: VersionMask::BIP320,
    };
    let mut buf = BytesMut::from(data);
    while let Ok(Some(line)) = codec::next_line(&mut buf, 4096) {
        if let Ok((_, message::Request::Submit(p))) = message::parse(&line) {
            let _ = validate_submit(&p, job, prepared, &[1, 2, 3, 4], &rules, ShareTarget::MAX);
        }
    }
});
