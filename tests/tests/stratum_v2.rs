//! Stratum V2 end to end on the embedded chain: the built-in miner over V2
//! (Noise, an extended channel) beside a V1 miner on one node, one window
//! and one log that audits clean; and every error path on raw frames, from
//! a handshake against the wrong key to floods of bad shares.

use std::time::Duration;

use share_verifier::log::LogReader;
use share_verifier::Auditor;
use shareproof_miner::cpu::{self as miner, MinerConfig};
use shareproof_miner::v2::{Event, V2Client};
use shareproof_miner::ClientError;
use shareproof_node::V2Endpoint;
use shareproof_stratum::v2::binary_sv2::{Seq0255, Sv2Option, U256};
use shareproof_stratum::v2::codes;
use shareproof_stratum::v2::common_messages_sv2::{Protocol, SetupConnection};
use shareproof_stratum::v2::mining_sv2::{
    NewExtendedMiningJob, OpenStandardMiningChannel, SubmitSharesStandard, UpdateChannel,
};
use shareproof_stratum::v2::noise::SERVER_HELLO_LEN;
use shareproof_stratum::v2::parsers_sv2::{
    AnyMessage, AnyMessageOwned, CommonMessagesOwned, Mining, MiningOwned,
};
use shareproof_stratum::v2::{str0255, AuthorityKeypair, ClientHandshake, Transport, V2Error};
use shareproof_tests::{get, get_json, start_node, ADDRESS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::bytes::BytesMut;
use tokio_util::sync::CancellationToken;

/// A second payout address (the V1 miner's).
const OTHER: &str = "0x1111111111111111111111111111111111111111";

fn v2(node: &shareproof_node::RunningNode) -> V2Endpoint {
    node.stratum_v2.expect("V2 is on in the test config")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_and_v2_miners_share_one_window_and_the_log_audits_clean() {
    let t = start_node(|raw| {
        raw.chain.nbits = Some("1f00ffff".into());
        raw.vardiff.start_difficulty = Some(2e-6);
    })
    .await;
    let api = t.node.api_addr;
    let endpoint = v2(&t.node);
    let stop = CancellationToken::new();
    let config = |url: String, key: Option<String>, user: String| MinerConfig {
        url,
        authority_key: key,
        user,
        threads: 1,
        version_rolling: true,
        duration: Some(Duration::from_secs(120)),
        suggest_difficulty: None,
    };
    let over_v2 = tokio::spawn(miner::run(
        config(
            format!("stratum2+tcp://{}", endpoint.addr),
            Some(endpoint.authority.to_string()),
            format!("{ADDRESS}.v2"),
        ),
        stop.clone(),
    ));
    let over_v1 = tokio::spawn(miner::run(
        config(
            format!("stratum+tcp://{}", t.node.stratum_addr),
            None,
            format!("{OTHER}.v1"),
        ),
        stop.clone(),
    ));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let (_, metrics) = get(api, "/metrics").await;
        let metrics = String::from_utf8(metrics).unwrap();
        let count = |protocol: &str| {
            let prefix =
                format!("shareproof_protocol_shares_accepted_total{{protocol=\"{protocol}\"}} ");
            metrics
                .lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let (_, pool) = get_json(api, "/api/v1/pool").await;
        if count("v1") >= 5 && count("v2") >= 5 && pool["chain_tip_height"].as_u64() >= Some(5) {
            assert!(
                metrics.contains("shareproof_stratum_v2_channels 1"),
                "{metrics}"
            );
            assert_eq!(pool["protocols"]["v2"]["channels"], 1, "{pool}");
            assert_eq!(pool["protocols"]["v1"]["connections"], 1, "{pool}");
            assert!(
                metrics.contains("shareproof_v2_fanout_seconds"),
                "{metrics}"
            );
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not 5 shares per protocol in 120 s:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.cancel();
    let v2_report = over_v2.await.unwrap().unwrap();
    let v1_report = over_v1.await.unwrap().unwrap();
    assert!(v2_report.accepted >= 5, "{v2_report:?}");
    assert!(v1_report.accepted >= 5, "{v1_report:?}");

    // Both payout addresses hold weight in the one window.
    for address in [ADDRESS, OTHER] {
        let (status, me) = get_json(api, &format!("/api/v1/miners/{address}")).await;
        assert_eq!(status, 200, "{me}");
        assert!(me["shares"].as_u64().unwrap() >= 5, "{address}: {me}");
    }

    let store = t.node.store.clone();
    t.node.stop().await;
    let mut exported = Vec::new();
    store.export_log(&mut exported).unwrap();
    let mut reader = LogReader::new(&exported[..]).unwrap();
    let mut auditor = Auditor::new(reader.header(), None).unwrap();
    for record in reader.by_ref() {
        auditor.check(&record.unwrap()).unwrap();
    }
    let summary = auditor.summary();
    assert!(summary.shares >= 10, "{summary:?}");
    assert!(summary.blocks >= 5, "{summary:?}");
}

#[tokio::test]
async fn a_client_pinning_another_key_fails_the_handshake() {
    let t = start_node(|_| {}).await;
    let endpoint = v2(&t.node);
    let other = AuthorityKeypair::generate().public();
    let err = V2Client::connect(&endpoint.addr.to_string(), other)
        .await
        .err()
        .expect("the handshake must fail");
    assert!(
        matches!(err, ClientError::V2(V2Error::Handshake(_))),
        "{err}"
    );
    // The right key works.
    let mut c = V2Client::connect(&endpoint.addr.to_string(), endpoint.authority)
        .await
        .unwrap();
    c.setup(0, "test").await.unwrap();
    t.node.stop().await;
}

/// A raw V2 connection for error paths: frames in, owned messages out,
/// and a way to see the server close.
struct Raw {
    stream: TcpStream,
    transport: Transport,
    buf: BytesMut,
}

impl Raw {
    async fn connect(endpoint: V2Endpoint) -> Raw {
        let mut stream = TcpStream::connect(endpoint.addr).await.unwrap();
        let (hello, handshake) = ClientHandshake::start(Some(endpoint.authority)).unwrap();
        stream.write_all(&hello).await.unwrap();
        let mut answer = [0u8; SERVER_HELLO_LEN];
        stream.read_exact(&mut answer).await.unwrap();
        Raw {
            stream,
            transport: handshake.finish(answer).unwrap(),
            buf: BytesMut::new(),
        }
    }

    async fn send(&mut self, message: AnyMessage<'_>) {
        let mut out = Vec::new();
        self.transport.encode(message, &mut out).unwrap();
        self.stream.write_all(&out).await.unwrap();
    }

    /// The next message, or `None` when the server closed.
    async fn recv(&mut self) -> Option<AnyMessageOwned> {
        loop {
            if let Some(mut f) = self.transport.decode(&mut self.buf).unwrap() {
                return Some(f.message().unwrap().into_owned());
            }
            let read =
                tokio::time::timeout(Duration::from_secs(10), self.stream.read_buf(&mut self.buf))
                    .await
                    .expect("the server answers within 10 s");
            if read.unwrap_or(0) == 0 {
                return None;
            }
        }
    }

    /// The next message that is not a job, target or tip.
    async fn answer(&mut self) -> Option<AnyMessageOwned> {
        loop {
            match self.recv().await? {
                AnyMessageOwned::Mining(
                    MiningOwned::NewMiningJob(_)
                    | MiningOwned::NewExtendedMiningJob(_)
                    | MiningOwned::SetNewPrevHash(_)
                    | MiningOwned::SetTarget(_),
                ) => {}
                other => return Some(other),
            }
        }
    }

    async fn setup(&mut self, protocol: Protocol, flags: u32) -> Option<AnyMessageOwned> {
        let m = SetupConnection {
            protocol,
            min_version: 2,
            max_version: 2,
            flags,
            endpoint_host: str0255("").unwrap(),
            endpoint_port: 0,
            vendor: str0255("test").unwrap(),
            hardware_version: str0255("").unwrap(),
            firmware: str0255("").unwrap(),
            device_id: str0255("").unwrap(),
        };
        self.send(AnyMessage::Common(m.into())).await;
        self.recv().await
    }

    async fn open_standard(&mut self, user: &str, max_target: [u8; 32]) -> Option<AnyMessageOwned> {
        let m = OpenStandardMiningChannel {
            request_id: 9,
            user_identity: str0255(user).unwrap(),
            nominal_hash_rate: 0.0,
            max_target: U256::from(&max_target),
        };
        self.send(AnyMessage::Mining(Mining::OpenStandardMiningChannel(m)))
            .await;
        self.recv().await
    }
}

fn error_code(m: &AnyMessageOwned) -> String {
    let bytes = match m {
        AnyMessageOwned::Common(CommonMessagesOwned::SetupConnectionError(e)) => {
            e.error_code.as_bytes().to_vec()
        }
        AnyMessageOwned::Mining(MiningOwned::OpenMiningChannelError(e)) => {
            e.error_code.as_bytes().to_vec()
        }
        AnyMessageOwned::Mining(MiningOwned::SubmitSharesError(e)) => {
            e.error_code.as_bytes().to_vec()
        }
        AnyMessageOwned::Mining(MiningOwned::UpdateChannelError(e)) => {
            e.error_code.as_bytes().to_vec()
        }
        other => panic!("not an error: {other:?}"),
    };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_setups_channels_and_shares_get_the_specs_errors() {
    let t = start_node(|raw| {
        // Every share is a block: after one, its tip is spent.
        raw.stratum.max_invalid_per_minute = Some(1000);
    })
    .await;
    let endpoint = v2(&t.node);

    // SetupConnection: another sub-protocol, flags we do not offer.
    let mut c = Raw::connect(endpoint).await;
    let m = c
        .setup(Protocol::TemplateDistributionProtocol, 0)
        .await
        .unwrap();
    assert_eq!(error_code(&m), codes::UNSUPPORTED_PROTOCOL);
    assert!(c.recv().await.is_none(), "closed after a refused setup");
    let mut c = Raw::connect(endpoint).await;
    let m = c
        .setup(Protocol::MiningProtocol, codes::REQUIRES_WORK_SELECTION)
        .await
        .unwrap();
    assert_eq!(error_code(&m), codes::UNSUPPORTED_FEATURE_FLAGS);

    // A message before SetupConnection closes the connection.
    let mut c = Raw::connect(endpoint).await;
    assert!(c.open_standard(ADDRESS, [0xff; 32]).await.is_none());

    // An unknown user and an impossible extranonce are refused; the
    // connection stays usable.
    let mut c = Raw::connect(endpoint).await;
    let m = c.setup(Protocol::MiningProtocol, 0).await.unwrap();
    assert!(matches!(
        m,
        AnyMessageOwned::Common(CommonMessagesOwned::SetupConnectionSuccess(_))
    ));
    let m = c.open_standard("not-an-address", [0xff; 32]).await.unwrap();
    assert_eq!(error_code(&m), codes::UNKNOWN_USER);
    let mut client = V2Client::connect(&endpoint.addr.to_string(), endpoint.authority)
        .await
        .unwrap();
    client.setup(0, "test").await.unwrap();
    let err = client.open_extended(ADDRESS, 0.0, 32).await.unwrap_err();
    assert!(
        matches!(&err, ClientError::RefusedV2 { code, .. } if code == codes::MIN_EXTRANONCE_SIZE_TOO_LARGE),
        "{err}"
    );

    // A standard channel: its first job is a future job, then its tip.
    let m = c
        .open_standard(&format!("{ADDRESS}.raw"), [0xff; 32])
        .await
        .unwrap();
    let AnyMessageOwned::Mining(MiningOwned::OpenStandardMiningChannelSuccess(opened)) = m else {
        panic!("{m:?}")
    };
    assert_eq!(opened.request_id, 9);
    assert_eq!(opened.extranonce_prefix.as_bytes().len(), 4);
    let channel = opened.channel_id;
    let (job_id, version, ntime) = loop {
        match c.recv().await.unwrap() {
            AnyMessageOwned::Mining(MiningOwned::NewMiningJob(j)) => {
                assert!(
                    j.min_ntime.clone().into_inner().is_none(),
                    "a future job first"
                );
                let job = (j.job_id, j.version);
                match c.recv().await.unwrap() {
                    AnyMessageOwned::Mining(MiningOwned::SetNewPrevHash(p)) => {
                        assert_eq!(p.job_id, job.0);
                        break (job.0, job.1, p.min_ntime);
                    }
                    other => panic!("{other:?}"),
                }
            }
            AnyMessageOwned::Mining(MiningOwned::SetTarget(_)) => {}
            other => panic!("{other:?}"),
        }
    };
    let submit = |channel_id, sequence_number, job_id, nonce, version| {
        AnyMessage::Mining(Mining::SubmitSharesStandard(SubmitSharesStandard {
            channel_id,
            sequence_number,
            job_id,
            nonce,
            ntime,
            version,
        }))
    };

    // Not this connection's channel; a job never sent; version bits outside BIP320's.
    c.send(submit(channel + 100, 1, job_id, 0, version)).await;
    assert_eq!(
        error_code(&c.answer().await.unwrap()),
        codes::INVALID_CHANNEL_ID
    );
    c.send(submit(channel, 2, job_id + 100, 0, version)).await;
    assert_eq!(
        error_code(&c.answer().await.unwrap()),
        codes::INVALID_JOB_ID
    );
    c.send(submit(channel, 3, job_id, 0, version ^ 1)).await;
    assert_eq!(error_code(&c.answer().await.unwrap()), codes::INVALID_SHARE);

    // An unknown message type is skipped, the connection goes on.
    let job_prefix = [0u8; 10];
    let bogus = NewExtendedMiningJob {
        channel_id: channel,
        job_id: 1,
        min_ntime: Sv2Option::new(None),
        version: 0,
        version_rolling_allowed: false,
        merkle_path: Seq0255::new(Vec::new()).unwrap(),
        coinbase_tx_prefix: (&job_prefix[..]).try_into().unwrap(),
        coinbase_tx_suffix: (&[0u8; 4][..]).try_into().unwrap(),
    };
    c.send(AnyMessage::Mining(Mining::NewExtendedMiningJob(bogus)))
        .await;

    // At the test's difficulty about every other nonce is a share, and a
    // block: the first is accepted once durable (the others are too low),
    // then the same share again is a duplicate (or stale: its block spent
    // the tip), and another one on the spent tip is stale.
    let mut nonce = 0;
    let accepted = loop {
        c.send(submit(channel, 100 + nonce, job_id, nonce, version))
            .await;
        match c.answer().await.unwrap() {
            AnyMessageOwned::Mining(MiningOwned::SubmitSharesSuccess(ok)) => break ok,
            m => assert_eq!(error_code(&m), codes::DIFFICULTY_TOO_LOW),
        }
        nonce += 1;
        assert!(nonce < 64, "no share in 64 nonces at half the hashes");
    };
    assert_eq!(
        (
            accepted.last_sequence_number,
            accepted.new_submits_accepted_count
        ),
        (100 + nonce, 1)
    );
    c.send(submit(channel, 11, job_id, nonce, version)).await;
    let code = error_code(&c.answer().await.unwrap());
    assert!(
        code == codes::DUPLICATE_SHARE || code == codes::STALE_SHARE,
        "{code}"
    );
    c.send(submit(channel, 12, job_id, nonce + 1, version))
        .await;
    let code = error_code(&c.answer().await.unwrap());
    assert!(
        code == codes::STALE_SHARE || code == codes::INVALID_JOB_ID,
        "the block spent the tip: {code}"
    );

    // UpdateChannel on a channel id that is not this connection's.
    let max = [0xff; 32];
    c.send(AnyMessage::Mining(Mining::UpdateChannel(UpdateChannel {
        channel_id: channel + 100,
        nominal_hash_rate: 0.0,
        maximum_target: U256::from(&max),
    })))
    .await;
    assert_eq!(
        error_code(&c.answer().await.unwrap()),
        codes::INVALID_CHANNEL_ID
    );

    let metrics = String::from_utf8(get(t.node.api_addr, "/metrics").await.1).unwrap();
    assert!(
        metrics.contains("shareproof_shares_rejected_total{reason=\"unknown_channel\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("shareproof_shares_rejected_total{reason=\"unknown_message\"} 1"),
        "{metrics}"
    );
    t.node.stop().await;
}

#[tokio::test]
async fn garbage_oversize_frames_and_floods_close_the_connection() {
    let t = start_node(|raw| {
        raw.stratum.max_invalid_per_minute = Some(5);
        raw.vardiff.start_difficulty = Some(1e6);
        raw.vardiff.min_difficulty = Some(1e6);
        raw.chain.nbits = Some("1d00ffff".into());
    })
    .await;
    let endpoint = v2(&t.node);

    // Bytes that do not decrypt.
    let mut c = Raw::connect(endpoint).await;
    c.stream.write_all(&[0x55; 64]).await.unwrap();
    assert!(
        c.recv().await.is_none(),
        "closed on a frame that does not decrypt"
    );

    // A well-formed frame far over the size limit.
    let mut c = Raw::connect(endpoint).await;
    let big = vec![0u8; 40_000];
    let huge = NewExtendedMiningJob {
        channel_id: 1,
        job_id: 1,
        min_ntime: Sv2Option::new(None),
        version: 0,
        version_rolling_allowed: false,
        merkle_path: Seq0255::new(Vec::new()).unwrap(),
        coinbase_tx_prefix: (&big[..]).try_into().unwrap(),
        coinbase_tx_suffix: (&[0u8; 4][..]).try_into().unwrap(),
    };
    let mut out = Vec::new();
    c.transport
        .encode(
            AnyMessage::Mining(Mining::NewExtendedMiningJob(huge)),
            &mut out,
        )
        .unwrap();
    // The server stops reading at the limit; it may reset the rest of the write.
    let _ = c.stream.write_all(&out).await;
    assert!(c.recv().await.is_none(), "closed on an oversize frame");

    // Shares below the target, one after another: banned after the limit.
    let mut c = Raw::connect(endpoint).await;
    c.setup(Protocol::MiningProtocol, 0).await.unwrap();
    let m = c.open_standard(ADDRESS, [0xff; 32]).await.unwrap();
    let AnyMessageOwned::Mining(MiningOwned::OpenStandardMiningChannelSuccess(opened)) = m else {
        panic!("{m:?}")
    };
    let (job_id, version, ntime) = loop {
        if let AnyMessageOwned::Mining(MiningOwned::NewMiningJob(j)) = c.recv().await.unwrap() {
            let AnyMessageOwned::Mining(MiningOwned::SetNewPrevHash(p)) = c.recv().await.unwrap()
            else {
                panic!("a tip after the future job")
            };
            break (j.job_id, j.version, p.min_ntime);
        }
    };
    let mut low = 0;
    for nonce in 0..10u32 {
        c.send(AnyMessage::Mining(Mining::SubmitSharesStandard(
            SubmitSharesStandard {
                channel_id: opened.channel_id,
                sequence_number: nonce,
                job_id,
                nonce,
                ntime,
                version,
            },
        )))
        .await;
    }
    while let Some(m) = c.answer().await {
        assert_eq!(error_code(&m), codes::DIFFICULTY_TOO_LOW);
        low += 1;
    }
    assert!(
        (5..10).contains(&low),
        "closed after the ban limit: {low} answers"
    );
    let metrics = String::from_utf8(get(t.node.api_addr, "/metrics").await.1).unwrap();
    assert!(
        metrics.contains("shareproof_shares_rejected_total{reason=\"banned\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("shareproof_stratum_v2_handshake_failures_total"),
        "{metrics}"
    );
    t.node.stop().await;
}

#[tokio::test]
async fn shutdown_sends_reconnect() {
    let t = start_node(|_| {}).await;
    let endpoint = v2(&t.node);
    let mut c = V2Client::connect(&endpoint.addr.to_string(), endpoint.authority)
        .await
        .unwrap();
    c.setup(0, "test").await.unwrap();
    c.open_extended(&format!("{ADDRESS}.x"), 0.0, 4)
        .await
        .unwrap();
    let stopping = tokio::spawn(t.node.stop());
    loop {
        match c.event().await {
            Ok(Event::Reconnect) => break,
            Ok(_) => {}
            Err(e) => panic!("closed without Reconnect: {e}"),
        }
    }
    stopping.await.unwrap();
}

#[tokio::test]
async fn a_replayed_session_is_refused_and_records_nothing() {
    let t = start_node(|_| {}).await;
    let endpoint = v2(&t.node);
    // A session recorded on the wire: the client's hello, then its
    // encrypted SetupConnection and channel.
    let mut recorded = Vec::new();
    let (hello, handshake) = ClientHandshake::start(Some(endpoint.authority)).unwrap();
    let mut stream = TcpStream::connect(endpoint.addr).await.unwrap();
    stream.write_all(&hello).await.unwrap();
    recorded.extend_from_slice(&hello);
    let mut answer = [0u8; SERVER_HELLO_LEN];
    stream.read_exact(&mut answer).await.unwrap();
    let mut c = Raw {
        stream,
        transport: handshake.finish(answer).unwrap(),
        buf: BytesMut::new(),
    };
    let setup = SetupConnection {
        protocol: Protocol::MiningProtocol,
        min_version: 2,
        max_version: 2,
        flags: 0,
        endpoint_host: str0255("").unwrap(),
        endpoint_port: 0,
        vendor: str0255("").unwrap(),
        hardware_version: str0255("").unwrap(),
        firmware: str0255("").unwrap(),
        device_id: str0255("").unwrap(),
    };
    let mut frames = Vec::new();
    c.transport
        .encode(AnyMessage::Common(setup.into()), &mut frames)
        .unwrap();
    c.stream.write_all(&frames).await.unwrap();
    recorded.extend_from_slice(&frames);
    assert!(matches!(
        c.recv().await.unwrap(),
        AnyMessageOwned::Common(CommonMessagesOwned::SetupConnectionSuccess(_))
    ));

    // Replayed byte for byte on a new connection: the pool answers the
    // hello with fresh keys, the recorded frames do not decrypt under
    // them, and the connection is closed without an answer.
    let mut replay = TcpStream::connect(endpoint.addr).await.unwrap();
    replay.write_all(&recorded).await.unwrap();
    let mut answer = [0u8; SERVER_HELLO_LEN];
    replay.read_exact(&mut answer).await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), replay.read_to_end(&mut rest))
        .await
        .expect("the pool closes the replayed connection");
    assert!(rest.is_empty(), "no answer to a replayed frame: {read:?}");
    let (_, pool) = get_json(t.node.api_addr, "/api/v1/pool").await;
    assert_eq!(pool["protocols"]["v2"]["channels"], 0, "{pool}");
    t.node.stop().await;
}
