//! Bytes ↔ frames over Noise, for both ends, with no I/O: the caller reads
//! sockets into a `BytesMut` and writes what comes back (the way the V1
//! [`codec`](crate::codec) works on lines), so the node, the miner and the
//! fuzz target drive the same code.
//!
//! The handshake is Noise NX as `noise_sv2` implements it: the client sends
//! its ephemeral key (64 bytes), the pool answers with its own and a
//! certificate signed by the authority key (234 bytes), and from then on
//! every frame is encrypted by `codec_sv2`. A client that pins the
//! authority key fails the handshake against any other pool.

use bytes::{Buf, BytesMut};
use stratum_core::codec_sv2::{
    self, Decrypted, Handshake, InitiatorSent, NoiseDecoder, NoiseEncoder, SerializedFrame,
    TransportDecryptState, TransportEncryptState,
};
use stratum_core::framing_sv2::framing::MessageFrame;
use stratum_core::noise_sv2::{
    Initiator, Responder, ELLSWIFT_ENCODING_SIZE, INITIATOR_EXPECTED_HANDSHAKE_MESSAGE_SIZE,
};
use stratum_core::parsers_sv2::AnyMessage;

use crate::v2::authority::AuthorityPublicKey;
use crate::v2::V2Error;

/// Bytes of the client's handshake message.
pub const CLIENT_HELLO_LEN: usize = ELLSWIFT_ENCODING_SIZE;
/// Bytes of the pool's handshake answer.
pub const SERVER_HELLO_LEN: usize = INITIATOR_EXPECTED_HANDSHAKE_MESSAGE_SIZE;

/// The largest encrypted frame a miner may send, header and MACs included.
/// The largest message a miner sends (`SetupConnection` with every string
/// at its 255-byte limit) is about 1.3 KB; anything far bigger is refused
/// before it is buffered.
pub const MAX_CLIENT_FRAME: usize = 16 * 1024;

/// The pool's side of the handshake.
pub struct ServerHandshake(Handshake<Responder>);

impl ServerHandshake {
    /// A handshake signed by `responder` (see
    /// [`AuthorityKeypair::responder`](crate::v2::AuthorityKeypair::responder)).
    pub fn new(responder: Box<Responder>) -> Self {
        ServerHandshake(Handshake::responder(responder))
    }

    /// Answers the client's hello: returns the bytes to send and the
    /// transport for the rest of the connection.
    ///
    /// # Errors
    /// [`V2Error::Handshake`] when the hello is not a valid key encoding.
    pub fn respond(
        self,
        hello: [u8; CLIENT_HELLO_LEN],
        max_frame: usize,
    ) -> Result<(Vec<u8>, Transport), V2Error> {
        let (answer, transport) = self.0.step_1(hello).map_err(V2Error::Handshake)?;
        let mut encoder = NoiseEncoder::new();
        let slice = encoder.encode_handshake(answer);
        let bytes: &[u8] = slice.as_ref();
        let bytes = bytes.to_vec();
        let (encrypt, decrypt) = transport.split();
        Ok((bytes, Transport::new(encrypt, decrypt, encoder, max_frame)))
    }
}

/// The client's side of the handshake, after its hello went out.
pub struct ClientHandshake(Handshake<InitiatorSent>);

impl ClientHandshake {
    /// Starts a handshake that accepts only a pool holding `authority`'s
    /// secret (`None`: any pool, unauthenticated: for tests only). Returns
    /// the hello to send.
    ///
    /// # Errors
    /// [`V2Error::Handshake`] (the random ephemeral key failed).
    pub fn start(authority: Option<AuthorityPublicKey>) -> Result<(Vec<u8>, Self), V2Error> {
        let initiator = match authority {
            Some(key) => Initiator::new(Some(key.x_only())),
            None => Initiator::without_pk().map_err(|e| V2Error::Handshake(e.into()))?,
        };
        let (hello, sent) = Handshake::initiator(initiator)
            .step_0()
            .map_err(V2Error::Handshake)?;
        Ok((hello.payload().to_vec(), ClientHandshake(sent)))
    }

    /// Checks the pool's answer and its certificate.
    ///
    /// # Errors
    /// [`V2Error::Handshake`] when the certificate is not signed by the
    /// pinned authority key, has expired, or the answer is malformed.
    pub fn finish(self, answer: [u8; SERVER_HELLO_LEN]) -> Result<Transport, V2Error> {
        let transport = self.0.step_2(answer).map_err(V2Error::Handshake)?;
        let (encrypt, decrypt) = transport.split();
        Ok(Transport::new(
            encrypt,
            decrypt,
            NoiseEncoder::new(),
            usize::MAX,
        ))
    }
}

/// An encrypted connection after the handshake: decodes frames from the
/// bytes read and encodes messages into bytes to write.
pub struct Transport {
    decoder: NoiseDecoder,
    /// Taken while the decoder works (its API moves the state through).
    decrypt: Option<TransportDecryptState>,
    encoder: NoiseEncoder,
    encrypt: TransportEncryptState,
    /// Encrypted bytes of the frame being read so far.
    frame_bytes: usize,
    max_frame: usize,
}

/// A decrypted frame: its header and payload.
pub struct Frame(SerializedFrame);

impl Frame {
    /// The message type byte.
    pub fn msg_type(&self) -> u8 {
        self.0.header().msg_type()
    }

    /// The payload's length in bytes.
    pub fn payload_len(&self) -> usize {
        self.0.header().payload_length()
    }

    /// Parses the message, borrowing from the frame.
    ///
    /// # Errors
    /// [`V2Error::Message`] for an unknown type or a malformed payload.
    pub fn message(&mut self) -> Result<AnyMessage<'_>, V2Error> {
        let header = self.0.header();
        AnyMessage::try_from((header, self.0.payload())).map_err(V2Error::Message)
    }
}

impl Transport {
    fn new(
        encrypt: TransportEncryptState,
        decrypt: TransportDecryptState,
        encoder: NoiseEncoder,
        max_frame: usize,
    ) -> Self {
        Transport {
            decoder: NoiseDecoder::new(),
            decrypt: Some(decrypt),
            encoder,
            encrypt,
            frame_bytes: 0,
            max_frame,
        }
    }

    /// The next whole frame in `buf`, consuming its bytes; `None` until one
    /// is complete (bytes read so far stay with the decoder).
    ///
    /// # Errors
    /// [`V2Error::FrameTooLarge`] for a frame over the limit (checked
    /// before its payload is buffered), [`V2Error::Codec`] for a frame that
    /// does not decrypt or whose header is malformed. Either way the
    /// connection cannot be resynchronised and must be closed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, V2Error> {
        loop {
            let need = self.decoder.writable_len();
            if self.frame_bytes + need > self.max_frame {
                return Err(V2Error::FrameTooLarge {
                    limit: self.max_frame,
                });
            }
            if buf.len() < need {
                return Ok(None);
            }
            self.decoder.writable().copy_from_slice(&buf[..need]);
            buf.advance(need);
            self.frame_bytes += need;
            let state = self.decrypt.take().ok_or(V2Error::Broken)?;
            match self.decoder.next_transport_frame(state) {
                Ok(Decrypted::Frame(frame, state)) => {
                    self.decrypt = Some(state);
                    self.frame_bytes = 0;
                    return Ok(Some(Frame(frame)));
                }
                Ok(Decrypted::Incomplete(_, state)) => self.decrypt = Some(state),
                Err(e) => return Err(V2Error::Codec(e)),
            }
        }
    }

    /// Encrypts `message` and appends its frame to `out`.
    ///
    /// # Errors
    /// [`V2Error::Message`] when the message does not serialise (a field
    /// over its size limit), [`V2Error::Codec`] when encryption fails.
    pub fn encode(&mut self, message: AnyMessage<'_>, out: &mut Vec<u8>) -> Result<(), V2Error> {
        let frame: MessageFrame<AnyMessage<'_>> = message.try_into().map_err(V2Error::Message)?;
        let bytes = self
            .encoder
            .encode_transport(frame, &mut self.encrypt)
            .map_err(V2Error::Codec)?;
        out.extend_from_slice(bytes.as_ref());
        Ok(())
    }
}

impl Transport {
    /// Encrypts a frame given as bytes (the 6-byte header, then the payload
    /// its length field announces) and appends it to `out`: for tests and
    /// fuzzing that send what no message type would serialise to.
    ///
    /// # Errors
    /// [`V2Error::FrameLength`] when the header's length does not match
    /// the payload.
    pub fn encode_frame(&mut self, frame: Vec<u8>, out: &mut Vec<u8>) -> Result<(), V2Error> {
        let got = frame.len().saturating_sub(6);
        let announced = frame.get(3..6).map_or(0, |l| {
            usize::from(l[0]) | usize::from(l[1]) << 8 | usize::from(l[2]) << 16
        });
        if frame.len() < 6 || announced != got {
            return Err(V2Error::FrameLength { announced, got });
        }
        let frame = SerializedFrame::from_bytes(frame).map_err(|e| V2Error::Codec(e.into()))?;
        let bytes = self
            .encoder
            .encode_transport(frame, &mut self.encrypt)
            .map_err(V2Error::Codec)?;
        out.extend_from_slice(bytes.as_ref());
        Ok(())
    }
}

/// Keeps `codec_sv2`'s error type nameable by users of this module.
pub type CodecError = codec_sv2::Error;

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use stratum_core::mining_sv2::{SetExtranoncePrefix, SubmitSharesStandard};
    use stratum_core::parsers_sv2::Mining;

    use super::*;
    use crate::v2::AuthorityKeypair;

    fn pair(
        key: &AuthorityKeypair,
        pin: Option<AuthorityPublicKey>,
        max_frame: usize,
    ) -> Result<(Transport, Transport), V2Error> {
        let (hello, client) = ClientHandshake::start(pin)?;
        let server = ServerHandshake::new(key.responder(Duration::from_secs(3600)));
        let (answer, server) = server.respond(hello.try_into().unwrap(), max_frame)?;
        let client = client.finish(answer.try_into().unwrap())?;
        Ok((client, server))
    }

    fn submit(seq: u32) -> AnyMessage<'static> {
        AnyMessage::Mining(Mining::SubmitSharesStandard(SubmitSharesStandard {
            channel_id: 7,
            sequence_number: seq,
            job_id: 3,
            nonce: 0xdead_beef,
            ntime: 1_700_000_000,
            version: 0x2000_0000,
        }))
    }

    #[test]
    fn frames_round_trip_whatever_the_read_boundaries() {
        let key = AuthorityKeypair::generate();
        let (mut client, mut server) = pair(&key, Some(key.public()), MAX_CLIENT_FRAME).unwrap();
        let mut wire = Vec::new();
        for seq in 0..5 {
            client.encode(submit(seq), &mut wire).unwrap();
        }
        // Bytes fed one at a time: every frame still comes out whole, once.
        let mut buf = BytesMut::new();
        let mut seen = Vec::new();
        for byte in wire {
            buf.extend_from_slice(&[byte]);
            while let Some(mut frame) = server.decode(&mut buf).unwrap() {
                match frame.message().unwrap() {
                    AnyMessage::Mining(Mining::SubmitSharesStandard(m)) => {
                        seen.push(m.sequence_number)
                    }
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn a_client_pinning_another_key_fails_the_handshake() {
        let pool = AuthorityKeypair::generate();
        let other = AuthorityKeypair::generate();
        assert!(matches!(
            pair(&pool, Some(other.public()), MAX_CLIENT_FRAME),
            Err(V2Error::Handshake(_))
        ));
    }

    #[test]
    fn tampered_bytes_fail_to_decrypt() {
        let key = AuthorityKeypair::generate();
        let (mut client, mut server) = pair(&key, None, MAX_CLIENT_FRAME).unwrap();
        let mut wire = Vec::new();
        client.encode(submit(1), &mut wire).unwrap();
        wire[3] ^= 1;
        let mut buf = BytesMut::from(&wire[..]);
        assert!(matches!(server.decode(&mut buf), Err(V2Error::Codec(_))));
    }

    #[test]
    fn a_frame_over_the_limit_fails_before_its_payload_is_buffered() {
        let key = AuthorityKeypair::generate();
        // A limit that admits the header (22 bytes) but not this payload.
        let (mut client, mut server) = pair(&key, None, 40).unwrap();
        let msg = AnyMessage::Mining(Mining::SetExtranoncePrefix(SetExtranoncePrefix {
            channel_id: 1,
            extranonce_prefix: (&[1u8; 32][..]).try_into().unwrap(),
        }));
        let mut wire = Vec::new();
        client.encode(msg, &mut wire).unwrap();
        let header_only = 22;
        let mut buf = BytesMut::from(&wire[..header_only]);
        assert!(matches!(
            server.decode(&mut buf),
            Err(V2Error::FrameTooLarge { limit: 40 })
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any frames a client encrypts come out of the pool's decoder
        /// whole, with their type and length, whatever they hold; parsing
        /// them is an answer or an error, never a panic (the fuzz target
        /// `stratum_v2_frames` runs the same at scale).
        #[test]
        fn arbitrary_frames_round_trip_and_parse_without_panics(
            frames in proptest::collection::vec(
                (proptest::prelude::any::<u8>(), proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)),
                1..8,
            )
        ) {
            let key = AuthorityKeypair::generate();
            let (mut client, mut server) = pair(&key, None, MAX_CLIENT_FRAME).unwrap();
            let mut wire = Vec::new();
            for (msg_type, payload) in &frames {
                let mut frame = vec![0, 0, *msg_type];
                frame.extend_from_slice(&(payload.len() as u32).to_le_bytes()[..3]);
                frame.extend_from_slice(payload);
                client.encode_frame(frame, &mut wire).unwrap();
            }
            let mut buf = BytesMut::from(&wire[..]);
            let mut got = Vec::new();
            while let Some(mut frame) = server.decode(&mut buf).unwrap() {
                got.push((frame.msg_type(), frame.payload_len()));
                let _ = frame.message();
            }
            let sent: Vec<(u8, usize)> = frames.iter().map(|(t, p)| (*t, p.len())).collect();
            proptest::prop_assert_eq!(got, sent);
        }
    }

    #[test]
    fn a_frame_whose_header_lies_about_its_length_is_not_encrypted() {
        let key = AuthorityKeypair::generate();
        let (mut client, _) = pair(&key, None, MAX_CLIENT_FRAME).unwrap();
        let mut out = Vec::new();
        let err = client.encode_frame(vec![0, 0, 0x1b, 5, 0, 0, 1, 2], &mut out);
        assert!(matches!(
            err,
            Err(V2Error::FrameLength {
                announced: 5,
                got: 2
            })
        ));
        assert!(out.is_empty());
    }
}
