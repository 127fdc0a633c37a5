//! bitcoind over JSON-RPC as a [`TemplateSource`]: `getblocktemplate` with
//! the segwit rule, `submitblock`, cookie or user/password auth, several
//! nodes tried in order (failover), new tips detected by GBT long polling
//! (`longpollid`) with a `getbestblockhash` polling fallback, and a refresh
//! on the same tip every `refresh`.
//!
//! Production runs against real bitcoind; the tests run this client against
//! a fake JSON-RPC server that answers with captured regtest templates.

use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bitcoin::block::Version;
use bitcoin::pow::CompactTarget;
use bitcoin::{Amount, Block, BlockHash, ScriptBuf, Transaction};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{BitcoindConfig, RpcAuth};
use crate::template::{BoxFuture, SourceError, SubmitOutcome, Template, TemplateSource};

/// How long a long poll may hang before we re-issue it.
const LONGPOLL_TIMEOUT: Duration = Duration::from_secs(600);
/// Timeout of ordinary calls.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(15);

/// bitcoind nodes behind the template-source trait.
pub struct BitcoindSource {
    http: reqwest::Client,
    config: BitcoindConfig,
    /// The node that answered last; calls start there.
    current: AtomicUsize,
}

impl BitcoindSource {
    /// A client for the configured nodes.
    pub fn new(config: BitcoindConfig) -> Self {
        BitcoindSource {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(4)
                .build()
                .expect("a plain HTTP client builds"),
            config,
            current: AtomicUsize::new(0),
        }
    }

    fn credentials(&self) -> Result<Option<(String, String)>, SourceError> {
        Ok(match &self.config.auth {
            RpcAuth::None => None,
            RpcAuth::UserPass(u, p) => Some((u.clone(), p.clone())),
            RpcAuth::Cookie(path) => {
                // Re-read every call: bitcoind writes a new cookie at each start.
                let text = std::fs::read_to_string(path).map_err(|e| {
                    SourceError::Unreachable(format!("cookie file {}: {e}", path.display()))
                })?;
                let (u, p) = text.trim().split_once(':').ok_or_else(|| {
                    SourceError::Unreachable(format!(
                        "cookie file {} is not user:password",
                        path.display()
                    ))
                })?;
                Some((u.to_owned(), p.to_owned()))
            }
        })
    }

    /// Calls `method` on the first node that answers, starting with the last good one.
    ///
    /// # Errors
    /// [`SourceError::Unreachable`] when no node answers, [`SourceError::Rpc`] for an RPC error.
    pub async fn call(
        &self,
        method: &'static str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, SourceError> {
        let n = self.config.urls.len();
        let start = self.current.load(Ordering::Relaxed);
        let mut failures = Vec::new();
        for i in 0..n {
            let index = (start + i) % n;
            let url = &self.config.urls[index];
            let mut request = self.http.post(url).timeout(timeout).json(
                &json!({"jsonrpc": "1.0", "id": "shareproof", "method": method, "params": params}),
            );
            if let Some((user, password)) = self.credentials()? {
                request = request.basic_auth(user, Some(password));
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(%url, method, error = %e, "bitcoind unreachable; trying the next node");
                    failures.push(format!("{url}: {e}"));
                    continue;
                }
            };
            let status = response.status();
            let body: Value = match response.json().await {
                Ok(b) => b,
                Err(e) => {
                    failures.push(format!("{url}: HTTP {status}: {e}"));
                    continue;
                }
            };
            self.current.store(index, Ordering::Relaxed);
            if let Some(err) = body.get("error").filter(|e| !e.is_null()) {
                return Err(SourceError::Rpc {
                    method,
                    message: err
                        .get("message")
                        .and_then(Value::as_str)
                        .map_or_else(|| err.to_string(), str::to_owned),
                });
            }
            return Ok(body.get("result").cloned().unwrap_or(Value::Null));
        }
        Err(SourceError::Unreachable(failures.join("; ")))
    }

    async fn template(
        &self,
        longpollid: Option<&str>,
    ) -> Result<(Template, Option<String>), SourceError> {
        let mut request = json!({"rules": ["segwit"]});
        let timeout = match longpollid {
            Some(id) => {
                request["longpollid"] = json!(id);
                LONGPOLL_TIMEOUT
            }
            None => CALL_TIMEOUT,
        };
        let gbt = self
            .call("getblocktemplate", json!([request]), timeout)
            .await?;
        let longpollid = gbt
            .get("longpollid")
            .and_then(Value::as_str)
            .map(str::to_owned);
        Ok((parse_gbt(&gbt)?, longpollid))
    }
}

/// Turns a `getblocktemplate` result into a [`Template`].
///
/// # Errors
/// [`SourceError::BadTemplate`] naming the field that is missing or malformed.
pub fn parse_gbt(gbt: &Value) -> Result<Template, SourceError> {
    let bad = |what: &str| SourceError::BadTemplate(what.to_owned());
    let u64_field = |name: &str| {
        gbt.get(name)
            .and_then(Value::as_u64)
            .ok_or_else(|| bad(&format!("{name} missing or not a number")))
    };
    let str_field = |name: &str| {
        gbt.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(&format!("{name} missing or not a string")))
    };
    let height = u64_field("height")? as u32;
    let prevhash = BlockHash::from_str(str_field("previousblockhash")?)
        .map_err(|e| bad(&format!("previousblockhash: {e}")))?;
    let version = gbt
        .get("version")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("version missing"))? as i32;
    let bits =
        u32::from_str_radix(str_field("bits")?, 16).map_err(|e| bad(&format!("bits: {e}")))?;
    let time = u64_field("curtime")? as u32;
    let min_time = gbt.get("mintime").and_then(Value::as_u64).unwrap_or(0) as u32;
    let coinbase_value = Amount::from_sat(u64_field("coinbasevalue")?);
    let mut transactions = Vec::new();
    for (i, tx) in gbt
        .get("transactions")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("transactions missing"))?
        .iter()
        .enumerate()
    {
        let data = tx
            .get("data")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(&format!("transactions[{i}].data missing")))?;
        let bytes = hex::decode(data).map_err(|e| bad(&format!("transactions[{i}].data: {e}")))?;
        let parsed: Transaction = bitcoin::consensus::deserialize(&bytes)
            .map_err(|e| bad(&format!("transactions[{i}].data: {e}")))?;
        if let Some(txid) = tx.get("txid").and_then(Value::as_str) {
            if parsed.compute_txid().to_string() != txid {
                return Err(bad(&format!(
                    "transactions[{i}].txid does not match its data"
                )));
            }
        }
        transactions.push(parsed);
    }
    let witness_commitment = match gbt
        .get("default_witness_commitment")
        .and_then(Value::as_str)
    {
        Some(hex) => Some(
            ScriptBuf::from_hex(hex)
                .map_err(|e| bad(&format!("default_witness_commitment: {e}")))?,
        ),
        None => None,
    };
    Ok(Template {
        height,
        prevhash,
        version: Version::from_consensus(version),
        nbits: CompactTarget::from_consensus(bits),
        time,
        min_time,
        coinbase_value,
        transactions,
        witness_commitment,
        merkle_branch: Vec::new(),
    }
    .with_branch_from_transactions())
}

impl TemplateSource for BitcoindSource {
    fn name(&self) -> &'static str {
        "bitcoind"
    }

    fn run(
        self: Arc<Self>,
        templates: mpsc::Sender<Arc<Template>>,
        refresh: Duration,
        shutdown: CancellationToken,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let mut longpollid: Option<String> = None;
            let mut tip: Option<BlockHash> = None;
            let mut backoff = Duration::from_millis(500);
            // The first template (and any after a failure) comes from a plain call.
            let mut fetch_now = true;
            loop {
                if fetch_now {
                    match self.template(None).await {
                        Ok((t, id)) => {
                            backoff = Duration::from_millis(500);
                            longpollid = id;
                            tip = Some(t.prevhash);
                            if templates.send(Arc::new(t)).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::error!(error = %e, ?backoff, "getblocktemplate failed");
                            tokio::select! {
                                _ = shutdown.cancelled() => return,
                                _ = tokio::time::sleep(backoff) => {}
                            }
                            backoff = (backoff * 2).min(Duration::from_secs(30));
                            continue;
                        }
                    }
                }
                let longpoll = async {
                    match (&longpollid, self.config.longpoll) {
                        (Some(id), true) => self.template(Some(id)).await,
                        _ => std::future::pending().await,
                    }
                };
                let poll = async {
                    // Fallback: watch the best block hash when long polling is off.
                    if self.config.longpoll && longpollid.is_some() {
                        return std::future::pending().await;
                    }
                    loop {
                        tokio::time::sleep(self.config.poll).await;
                        if let Ok(best) =
                            self.call("getbestblockhash", json!([]), CALL_TIMEOUT).await
                        {
                            let best = best.as_str().and_then(|s| BlockHash::from_str(s).ok());
                            if best.is_some() && best != tip {
                                return;
                            }
                        }
                    }
                };
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    result = longpoll => match result {
                        Ok((t, id)) => {
                            longpollid = id;
                            tip = Some(t.prevhash);
                            fetch_now = false;
                            if templates.send(Arc::new(t)).await.is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "long poll failed; fetching a template");
                            longpollid = None;
                            fetch_now = true;
                        }
                    },
                    _ = poll => fetch_now = true,
                    _ = tokio::time::sleep(refresh) => fetch_now = true,
                }
            }
        })
    }

    fn submit_block(&self, block: Block) -> BoxFuture<'static, Result<SubmitOutcome, SourceError>> {
        let hex = bitcoin::consensus::encode::serialize_hex(&block);
        let http = self.http.clone();
        let config = self.config.clone();
        let credentials = self.credentials();
        Box::pin(async move {
            let credentials = credentials?;
            // Every node gets the block (propagation); accepted if any accepts.
            let mut last = SourceError::Unreachable("no node configured".to_owned());
            let mut outcome = None;
            for url in &config.urls {
                let mut request = http
                    .post(url)
                    .timeout(CALL_TIMEOUT)
                    .json(&json!({"jsonrpc": "1.0", "id": "shareproof", "method": "submitblock", "params": [hex]}));
                if let Some((u, p)) = &credentials {
                    request = request.basic_auth(u, Some(p));
                }
                match request.send().await {
                    Ok(r) => match r.json::<Value>().await {
                        Ok(body) => {
                            let result = match body.get("result") {
                                Some(Value::Null) | None
                                    if body.get("error").is_none_or(Value::is_null) =>
                                {
                                    SubmitOutcome::Accepted
                                }
                                Some(Value::String(reason)) => {
                                    SubmitOutcome::Rejected(reason.clone())
                                }
                                _ => SubmitOutcome::Rejected(
                                    body.get("error").map_or_else(String::new, Value::to_string),
                                ),
                            };
                            if result == SubmitOutcome::Accepted || outcome.is_none() {
                                outcome = Some(result);
                            }
                        }
                        Err(e) => last = SourceError::Unreachable(format!("{url}: {e}")),
                    },
                    Err(e) => last = SourceError::Unreachable(format!("{url}: {e}")),
                }
            }
            outcome.ok_or(last)
        })
    }
}
