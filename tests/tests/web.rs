//! The web app against a running devnet: a real anvil with the contracts,
//! the node with settlement on (its pages, assets and the API the pages
//! read), three built-in miners (one over Stratum V2), and Debian's
//! headless Chromium driven by `tests/web/e2e.mjs` through the npm driver
//! (the system browser; nothing is downloaded).
//!
//! Here: the embedded assets are served as built (gzip and ETags), the
//! config, verification key, time series, paid blocks and block receipts
//! agree with the store and the chain. In the browser (`e2e.mjs`): every
//! page loads with no console error or failed request, the pages show the
//! API's figures, a claim through an injected EIP-1193 provider moves the
//! balance into the wallet, the receipt and proof checks say valid for the
//! real data and invalid for tampered data, and screenshots are written to
//! `target/web-screenshots`.

use std::path::PathBuf;
use std::process::Command;
use std::str::FromStr;

use bitcoin::BlockHash;
use serde_json::Value;
use share_verifier::{ShareReceipt, WindowRoot};
use shareproof_node::api::web::ASSETS;
use shareproof_node::store::SettlementStatus;
use shareproof_tests::evm::{
    deploy_at_tip, settling_config, signer, start_anvil, start_miners, statuses, stop_miners,
    wait_for, FEE_BPS,
};
use shareproof_tests::{get_json, request};
use tokio_util::sync::CancellationToken;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The system Chromium (`scripts/install-chromium.sh`).
fn chromium() -> String {
    if let Ok(c) = std::env::var("SHAREPROOF_CHROMIUM") {
        return c;
    }
    for c in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if std::path::Path::new(c).exists() {
            return c.to_owned();
        }
    }
    panic!("no chromium: run scripts/install-chromium.sh (Debian's chromium package)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn web_app_in_a_real_browser() {
    let anvil = start_anvil().await;
    let dir = tempfile::tempdir().unwrap();
    let deployment_path = dir.path().join("deployment.json");
    let config = settling_config(dir.path(), &anvil.url, &deployment_path, None)
        .validate()
        .unwrap();
    let node = shareproof_node::start(config).await.unwrap();
    let api = node.api_addr;
    let stop = CancellationToken::new();
    let miners = start_miners(&[node.stratum_addr], node.stratum_v2, &stop);
    let embedded = node.embedded.clone().unwrap();
    wait_for(300, "a first block", || {
        embedded.with_chain(|c| c.height()) >= 1
    })
    .await;
    let deployment = deploy_at_tip(&anvil, &embedded, FEE_BPS, None, &deployment_path).await;
    let checkpoint = deployment.checkpoint_height;

    // Two settled blocks, then no more blocks: the last ones stay
    // unconfirmed, so nothing is credited while the browser looks.
    let store = node.store.clone();
    let settled = |store: &shareproof_node::store::Store| {
        statuses(store, checkpoint)
            .iter()
            .filter(|s| s.2 == SettlementStatus::Settled)
            .count()
    };
    wait_for(600, "two settled blocks", || settled(&store) >= 2).await;
    stop_miners(stop, miners).await;
    wait_for(300, "settlement at rest", || {
        statuses(&store, checkpoint).iter().all(|s| {
            !matches!(
                s.2,
                SettlementStatus::Confirmed | SettlementStatus::Proving | SettlementStatus::Sent
            )
        })
    })
    .await;

    // The pages and assets, as embedded.
    assert!(!ASSETS.is_empty(), "web/dist is embedded");
    for path in [
        "/",
        "/miner/0x00000000000000000000000000000000000a11ce",
        "/verify",
    ] {
        let (status, head, body) = request(api, path, &[]).await;
        assert_eq!(status, 200, "{path}");
        assert!(head.contains("content-type: text/html"), "{path}: {head}");
        assert!(
            String::from_utf8_lossy(&body).contains("/assets/"),
            "{path}"
        );
    }
    for asset in ASSETS {
        let (status, head, body) = request(api, asset.path, &[]).await;
        assert_eq!(
            (status, body.as_slice()),
            (200, asset.body),
            "{}",
            asset.path
        );
        assert!(head.contains(&format!("etag: {}", asset.etag.to_ascii_lowercase())));
        let (status, head, body) =
            request(api, asset.path, &[("Accept-Encoding", "gzip, br")]).await;
        assert_eq!(
            (status, body.as_slice()),
            (200, asset.gzip),
            "{}",
            asset.path
        );
        assert!(head.contains("content-encoding: gzip"));
        let (status, _, body) = request(api, asset.path, &[("If-None-Match", asset.etag)]).await;
        assert_eq!((status, body.len()), (304, 0), "{}", asset.path);
    }
    let (status, _, _) = request(api, "/assets/missing.js", &[]).await;
    assert_eq!(status, 404);

    // What the pages connect to.
    let (_, config) = get_json(api, "/api/v1/config").await;
    assert_eq!(
        config["stratum"]["v1_url"],
        format!("stratum+tcp://{}", node.stratum_addr)
    );
    let v2 = node.stratum_v2.unwrap();
    assert_eq!(config["stratum"]["authority_key"], v2.authority.to_string());
    assert_eq!(
        config["chain"]["settlement_pool"]
            .as_str()
            .unwrap()
            .to_lowercase(),
        deployment.settlement_pool.to_string().to_lowercase()
    );
    assert_eq!(config["chain"]["rpc_url"], anvil.url);
    let (status, vk) = get_json(api, "/api/v1/verification-key").await;
    assert_eq!(status, 200);
    assert_eq!(
        (vk["protocol"].as_str(), vk["curve"].as_str()),
        (Some("groth16"), Some("bn128"))
    );
    assert_eq!(vk["nPublic"], 4);
    assert_eq!(vk["IC"].as_array().map(Vec::len), Some(5));

    // The time series count every share, pool-wide and per address.
    let (_, pool) = get_json(api, "/api/v1/pool").await;
    let total = pool["shares"].as_u64().unwrap();
    let sum = |v: &Value| -> u64 {
        v["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["shares"].as_u64().unwrap())
            .sum()
    };
    let mut hour = Value::Null;
    for _ in 0..100 {
        hour = get_json(api, "/api/v1/history/pool?range=hour").await.1;
        if sum(&hour) == total {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(hour["resolution_secs"], 60);
    assert_eq!(hour["points"].as_array().unwrap().len(), 60);
    assert_eq!(
        sum(&hour),
        total,
        "every share is in the last hour's minutes"
    );
    let (_, week) = get_json(api, "/api/v1/history/pool?range=week").await;
    assert_eq!(
        (week["resolution_secs"].as_u64(), sum(&week)),
        (Some(3600), total)
    );
    let (status, _) = get_json(api, "/api/v1/history/pool?range=decade").await;
    assert_eq!(status, 400);
    let claimer = signer(1).address();
    let (_, miner) = get_json(api, &format!("/api/v1/miners/{claimer}")).await;
    let (_, miner_hour) =
        get_json(api, &format!("/api/v1/history/miners/{claimer}?range=hour")).await;
    assert_eq!(sum(&miner_hour), miner["shares"].as_u64().unwrap());

    // Paid blocks: the address's weight in each settled block's window, as
    // the store's snapshot has it; a receipt against that block's root.
    let paid = miner["paid_blocks"].as_array().unwrap();
    let settled_paid: Vec<&Value> = paid.iter().filter(|b| b["status"] == "settled").collect();
    assert!(
        !settled_paid.is_empty(),
        "the claimer was paid in a settled block: {paid:?}"
    );
    let block = BlockHash::from_str(settled_paid[0]["hash"].as_str().unwrap()).unwrap();
    let snapshot = store.block_snapshot(&block).unwrap().unwrap();
    let mine: Vec<_> = snapshot
        .entries
        .iter()
        .filter(|e| e.address.0 == claimer.0 .0)
        .collect();
    let weight: u128 = mine.iter().map(|e| e.weight.get()).sum();
    assert_eq!(settled_paid[0]["weight"], weight.to_string());
    let seq = mine[0].seq;
    let (status, receipt) =
        get_json(api, &format!("/api/v1/shares/{seq}/receipt?block={block}")).await;
    assert_eq!(status, 200, "{receipt}");
    assert_eq!(receipt["block"], block.to_string());
    let parsed: ShareReceipt = serde_json::from_value(receipt.clone()).unwrap();
    let root: WindowRoot = snapshot.root;
    parsed
        .verify(&root)
        .expect("the receipt proves the share in the block's window");

    // The browser.
    let shots = repo().join("target/web-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let out = Command::new("node")
        .arg(repo().join("tests/web/e2e.mjs"))
        .env("SHAREPROOF_API", format!("http://{api}"))
        .env("SHAREPROOF_RPC", &anvil.url)
        .env("SHAREPROOF_CLAIMER", claimer.to_string())
        .env("SHAREPROOF_SCREENSHOTS", &shots)
        .env("CHROMIUM", chromium())
        .current_dir(repo())
        .output()
        .expect("node runs tests/web/e2e.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "browser test failed:\n{stdout}\n{stderr}"
    );
    for name in [
        "pool-desktop.png",
        "pool-phone.png",
        "miner-desktop.png",
        "miner-phone.png",
    ] {
        assert!(shots.join(name).exists(), "screenshot {name}");
    }
    node.stop().await;
}
