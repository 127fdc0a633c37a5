//! What a miner reads from a pool, on arbitrary bytes: the line codec, then
//! `ServerMessage::parse` (answers, jobs, difficulties, extranonces). A
//! hostile pool gets errors, never a panic; a job that parses prints back
//! to a notify that parses to the same job.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use shareproof_stratum::{codec, notification, Notification, ServerMessage};

fuzz_target!(|data: &[u8]| {
    let mut buf = BytesMut::from(data);
    while let Ok(Some(line)) = codec::next_line(&mut buf, 16 * 1024) {
        if let Ok(ServerMessage::Notification(Notification::Notify(job))) =
            ServerMessage::parse(&line)
        {
            let again = ServerMessage::parse(&notification::notify(&job)).unwrap();
            assert_eq!(again, ServerMessage::Notification(Notification::Notify(job)));
        }
    }
});
