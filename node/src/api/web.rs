//! The web app: its pages and assets, embedded in the binary by `build.rs`
//! from `web/dist`, and the two things only the app needs from the node:
//! where to connect (`/api/v1/config`) and the verification key as snarkjs
//! JSON (`/api/v1/verification-key`), so that a browser checks proofs with
//! snarkjs rather than with the node's code.
//!
//! Pages are one document: `/`, `/miner/{address}` and `/verify` all serve
//! `index.html`, whose script routes on the path.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};
use shareproof_evm::contracts::Deployment;

use super::{error, ApiState};

/// One embedded file of the web app.
pub struct Asset {
    /// Its URL path (`/index.html`, `/assets/app.js`).
    pub path: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// A strong ETag of its bytes.
    pub etag: &'static str,
    /// The file as built.
    pub body: &'static [u8],
    /// The file gzipped (served to clients that accept gzip).
    pub gzip: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// The embedded asset at URL path `path`.
pub fn asset(path: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.path == path)
}

/// What the web app shows about reaching the pool and its contracts, filled
/// in as the parts start: the Stratum listeners once bound, the deployment
/// once settlement has found it.
#[derive(Debug, Default)]
pub struct PublicInfo {
    /// The host name miners use, when configured (`[api] public_host`);
    /// otherwise the listeners' address, or the page's own host when they
    /// listen on every interface.
    pub host: Option<String>,
    /// The EVM RPC URL browsers use (`[api] public_rpc_url`, default the
    /// settlement's).
    pub rpc_url: Option<String>,
    /// The proving key directory, whose verifying key is served.
    pub key_dir: Option<PathBuf>,
    /// log2 of the window size.
    pub log2_slots: u32,
    /// The Stratum V1 listener.
    pub stratum_v1: OnceLock<std::net::SocketAddr>,
    /// The Stratum V2 listener and its authority key.
    pub stratum_v2: OnceLock<(std::net::SocketAddr, String)>,
    /// The contracts, once settlement found them.
    pub deployment: Arc<OnceLock<Deployment>>,
    /// The verification key as snarkjs JSON, once loaded.
    verification_key: OnceLock<Value>,
}

impl PublicInfo {
    /// Info for a node with these settings; the rest is set as parts start.
    pub fn new(
        host: Option<String>,
        rpc_url: Option<String>,
        key_dir: Option<PathBuf>,
        log2_slots: u32,
        deployment: Arc<OnceLock<Deployment>>,
    ) -> Self {
        PublicInfo {
            host,
            rpc_url,
            key_dir,
            log2_slots,
            deployment,
            ..PublicInfo::default()
        }
    }
}

/// Serves `index.html` for every page route.
pub(super) async fn page(headers: HeaderMap) -> Response {
    serve(&headers, "/index.html")
}

/// Serves `/assets/...`.
pub(super) async fn assets(Path(rest): Path<String>, headers: HeaderMap) -> Response {
    serve(&headers, &format!("/assets/{rest}"))
}

fn serve(headers: &HeaderMap, path: &str) -> Response {
    let Some(a) = asset(path) else {
        return if path == "/index.html" {
            error(
                StatusCode::NOT_FOUND,
                "this node was built without the web app (web/dist is empty: run scripts/build-web.sh)",
            )
        } else {
            error(StatusCode::NOT_FOUND, format!("no asset {path}"))
        };
    };
    let mut out = HeaderMap::new();
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    out.insert(header::ETAG, HeaderValue::from_static(a.etag));
    // Assets are named by their content's hash: cached for good. The page
    // is revalidated (its ETag) so that a new build is picked up at once.
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if path.starts_with("/assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    out.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == a.etag.as_bytes())
    {
        return (StatusCode::NOT_MODIFIED, out).into_response();
    }
    let gzip = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|e| e.trim().starts_with("gzip")));
    if gzip {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        (out, a.gzip).into_response()
    } else {
        (out, a.body).into_response()
    }
}

/// `GET /api/v1/config`: where miners connect and where the contracts are.
pub(super) async fn config(State(s): State<ApiState>, headers: HeaderMap) -> Response {
    let info = &s.inner.public;
    // The host miners reach: configured, else the listener's, else (bound to
    // every interface) the one this page was loaded from.
    let request_host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.rsplit_once(':').map_or(h, |(host, _)| host).to_owned());
    let url = |scheme: &str, addr: std::net::SocketAddr| {
        let host = match (&info.host, addr.ip().is_unspecified(), &request_host) {
            (Some(h), _, _) => h.clone(),
            (None, true, Some(h)) => h.clone(),
            (None, _, _) => addr.ip().to_string(),
        };
        format!("{scheme}://{host}:{}", addr.port())
    };
    let chain = info.deployment.get().map(|d| {
        json!({
            "chain_id": d.chain_id,
            "rpc_url": info.rpc_url,
            "settlement_pool": d.settlement_pool.to_string(),
            "token": d.token.to_string(),
            "light_client": d.light_client.to_string(),
            "deploy_block": d.deploy_block,
        })
    });
    let v2 = info.stratum_v2.get();
    Json(json!({
        "window_log2_slots": info.log2_slots,
        "source": s.inner.source,
        "stratum": {
            "v1_url": info.stratum_v1.get().map(|a| url("stratum+tcp", *a)),
            "v2_url": v2.map(|(a, _)| url("stratum2+tcp", *a)),
            "authority_key": v2.map(|(_, k)| k.clone()),
            "username": "0xYOUR_EVM_ADDRESS.worker",
        },
        "chain": chain,
        "verification_key": info.key_dir.is_some(),
    }))
    .into_response()
}

/// `GET /api/v1/verification-key`: the proving key's verifying key as
/// snarkjs's `verification_key.json`.
pub(super) async fn verification_key(State(s): State<ApiState>) -> Response {
    let info = s.inner.public.clone();
    if let Some(v) = info.verification_key.get() {
        return Json(v.clone()).into_response();
    }
    let Some(dir) = info.key_dir.clone() else {
        return error(
            StatusCode::NOT_FOUND,
            "this node has no proving key (settlement is off)",
        );
    };
    let loaded =
        tokio::task::spawn_blocking(move || circuits::keys::load_verifying_key(&dir)).await;
    match loaded {
        Ok(Ok((_, vk))) => {
            let v = info
                .verification_key
                .get_or_init(|| circuits::ceremony::snarkjs_json::verification_key(&vk));
            Json(v.clone()).into_response()
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}
