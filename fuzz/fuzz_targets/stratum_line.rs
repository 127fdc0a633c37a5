//! The pool's Stratum input path on arbitrary bytes: the line codec splits
//! them (with the node's line limit), each line is parsed as a request by
//! `shareproof-stratum`, and every `mining.submit` that parses is turned
//! into a submission and validated against a job, failures mapped to their
//! reject — answers or rejects, never a panic.
#![no_main]

use std::sync::OnceLock;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use share_verifier::{Job, PreparedJob, Share, ShareRules, ShareTarget, VersionMask};
use shareproof_stratum::{codec, request, Reject, Request};

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
        match request::parse(&line) {
            Ok((_, Request::Submit(p))) => {
                let checked = p
                    .submission(&[1, 2, 3, 4])
                    .map_err(Reject::BadField)
                    .and_then(|s| {
                        Share::new(s, ShareTarget::MAX)
                            .validate(job, prepared, &rules)
                            .map_err(Reject::from)
                    });
                if let Err(reject) = checked {
                    let _ = (reject.code(), reject.to_string());
                }
            }
            Ok(_) => {}
            Err((_, reject)) => {
                let _ = (reject.code(), reject.to_string());
            }
        }
    }
});
