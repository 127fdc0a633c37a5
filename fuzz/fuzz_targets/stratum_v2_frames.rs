//! Stratum V2 after the handshake, on arbitrary input: the pool's frame
//! decoder (`Transport::decode`) and message parser (`Frame::message`).
//! The first byte picks the attack:
//! - even: the rest is a stream of plaintext frames (`ext_type u16`,
//!   `msg_type u8`, a 16-bit length and that many payload bytes, as many
//!   as fit), each encrypted by a real client, then read back by the pool
//!   a byte at a time: every frame comes out whole, with its type and
//!   length, and parses or is refused, never a panic;
//! - odd: the rest goes to the pool's decoder as ciphertext: an error or
//!   nothing, never a panic, and nothing after an error.
#![no_main]

use std::sync::OnceLock;
use std::time::Duration;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use shareproof_stratum::v2::noise::MAX_CLIENT_FRAME;
use shareproof_stratum::v2::{AuthorityKeypair, ClientHandshake, ServerHandshake, Transport};

fn pair() -> (Transport, Transport) {
    static KEY: OnceLock<AuthorityKeypair> = OnceLock::new();
    let key = KEY.get_or_init(AuthorityKeypair::generate);
    let (hello, client) = ClientHandshake::start(Some(key.public())).expect("hello");
    let server = ServerHandshake::new(key.responder(Duration::from_secs(3600)));
    let (answer, server) = server
        .respond(hello.try_into().expect("64 bytes"), MAX_CLIENT_FRAME)
        .expect("answer");
    let client = client.finish(answer.try_into().expect("answer size")).expect("certificate");
    (client, server)
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let (mut client, mut server) = pair();
    if mode % 2 == 1 {
        let mut buf = BytesMut::from(rest);
        while let Ok(Some(mut frame)) = server.decode(&mut buf) {
            let _ = frame.message();
        }
        return;
    }
    let mut wire = Vec::new();
    let mut sent = Vec::new();
    while rest.len() >= 5 {
        let (head, tail) = rest.split_at(5);
        let len = usize::from(u16::from_le_bytes([head[3], head[4]])).min(tail.len());
        let mut frame = vec![head[0], head[1], head[2]];
        frame.extend_from_slice(&(len as u32).to_le_bytes()[..3]);
        frame.extend_from_slice(&tail[..len]);
        rest = &tail[len..];
        client.encode_frame(frame, &mut wire).expect("a well-formed frame encrypts");
        sent.push((head[2], len));
    }
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for byte in wire {
        buf.extend_from_slice(&[byte]);
        match server.decode(&mut buf) {
            Ok(Some(mut frame)) => {
                got.push((frame.msg_type(), frame.payload_len()));
                let _ = frame.message();
            }
            Ok(None) => {}
            // Only a frame over the pool's limit is refused.
            Err(_) => {
                assert!(sent.get(got.len()).is_some_and(|(_, len)| len + 22 > MAX_CLIENT_FRAME));
                return;
            }
        }
    }
    assert_eq!(got, sent);
});
