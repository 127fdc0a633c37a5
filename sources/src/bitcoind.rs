//! bitcoind over JSON-RPC as a [`TemplateSource`]: `getblocktemplate` with
//! the segwit rule, `submitblock`, cookie or user/password auth, several
//! nodes tried in order (failover), new tips detected by GBT long polling
//! (`longpollid`) with a `getbestblockhash` polling fallback, a fresh
//! template right after every found block is answered, and a refresh on
//! the same tip every `refresh`.
//!
//! A long poll is never abandoned: bitcoind keeps serving an abandoned one
//! on one of its RPC threads until the tip changes, and a few of them
//! starve every other call. The tests run this client against a real
//! Bitcoin Core (`tests/tests/bitcoind_core.rs`) and against a fake
//! JSON-RPC server for shapes a real node does not produce on demand.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bitcoin::block::Version;
use bitcoin::pow::CompactTarget;
use bitcoin::{Amount, Block, BlockHash, ScriptBuf, Transaction};
use serde_json::{json, Value};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;

use crate::answer::AnswerFault;
use crate::{BoxFuture, SourceError, SubmitOutcome, Template, TemplateSource, Unanswered};

/// bitcoind connection settings.
#[derive(Debug, Clone)]
pub struct BitcoindConfig {
    /// RPC URLs in failover order.
    pub urls: Vec<String>,
    /// Authentication.
    pub auth: RpcAuth,
    /// Polling interval when long polling is unavailable.
    pub poll: Duration,
    /// Whether to long-poll.
    pub longpoll: bool,
}

/// bitcoind RPC authentication.
#[derive(Debug, Clone)]
pub enum RpcAuth {
    /// No credentials.
    None,
    /// `rpcuser`/`rpcpassword`.
    UserPass(String, String),
    /// A cookie file, read at each (re)connection since bitcoind rewrites it on restart.
    Cookie(PathBuf),
}

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
    /// Woken when a submitted block has been answered: the run loop fetches
    /// a template at once instead of waiting for the long poll.
    found: Arc<Notify>,
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
            found: Arc::new(Notify::new()),
        }
    }

    fn credentials(&self) -> Result<Option<(String, String)>, SourceError> {
        Ok(match &self.config.auth {
            RpcAuth::None => None,
            RpcAuth::UserPass(u, p) => Some((u.clone(), p.clone())),
            RpcAuth::Cookie(path) => {
                // Re-read every call: bitcoind writes a new cookie at each start.
                let text = std::fs::read_to_string(path).map_err(|source| SourceError::Cookie {
                    path: path.clone(),
                    source,
                })?;
                let (u, p) = text
                    .trim()
                    .split_once(':')
                    .ok_or_else(|| SourceError::CookieFormat(path.clone()))?;
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
                    failures.push(Unanswered {
                        url: url.clone(),
                        status: None,
                        source: e,
                    });
                    continue;
                }
            };
            let status = response.status();
            let body: Value = match response.json().await {
                Ok(b) => b,
                Err(e) => {
                    failures.push(Unanswered {
                        url: url.clone(),
                        status: Some(status),
                        source: e,
                    });
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
        Err(if failures.is_empty() {
            SourceError::NoNode
        } else {
            SourceError::Unreachable(failures)
        })
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
    let bad = |field: &str| {
        let field = field.to_owned();
        move |source: AnswerFault| SourceError::BadTemplate { field, source }
    };
    let u64_field = |name: &str| {
        gbt.get(name)
            .and_then(Value::as_u64)
            .ok_or_else(|| bad(name)(AnswerFault::shape("a number", gbt.get(name))))
    };
    let str_field = |name: &str| {
        gbt.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(name)(AnswerFault::shape("a string", gbt.get(name))))
    };
    let height = u64_field("height")? as u32;
    let prevhash = BlockHash::from_str(str_field("previousblockhash")?)
        .map_err(|e| bad("previousblockhash")(e.into()))?;
    let version = gbt
        .get("version")
        .and_then(Value::as_i64)
        .ok_or_else(|| bad("version")(AnswerFault::shape("a number", gbt.get("version"))))?
        as i32;
    let bits = u32::from_str_radix(str_field("bits")?, 16).map_err(|e| bad("bits")(e.into()))?;
    let time = u64_field("curtime")? as u32;
    let min_time = gbt.get("mintime").and_then(Value::as_u64).unwrap_or(0) as u32;
    let coinbase_value = Amount::from_sat(u64_field("coinbasevalue")?);
    let mut transactions = Vec::new();
    for (i, tx) in gbt
        .get("transactions")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            bad("transactions")(AnswerFault::shape("an array", gbt.get("transactions")))
        })?
        .iter()
        .enumerate()
    {
        // Named only when something is wrong: no allocation per transaction.
        let field = || format!("transactions[{i}].data");
        let data = tx
            .get("data")
            .and_then(Value::as_str)
            .ok_or_else(|| bad(&field())(AnswerFault::shape("a string", tx.get("data"))))?;
        let bytes = hex::decode(data).map_err(|e| bad(&field())(e.into()))?;
        let parsed: Transaction =
            bitcoin::consensus::deserialize(&bytes).map_err(|e| bad(&field())(e.into()))?;
        if let Some(txid) = tx.get("txid").and_then(Value::as_str) {
            let computed = parsed.compute_txid();
            if computed.to_string() != txid {
                return Err(bad(&format!("transactions[{i}].txid"))(
                    AnswerFault::TxidMismatch {
                        claimed: txid.to_owned(),
                        computed,
                    },
                ));
            }
        }
        transactions.push(parsed);
    }
    let witness_commitment = match gbt
        .get("default_witness_commitment")
        .and_then(Value::as_str)
    {
        Some(hex) => Some(
            ScriptBuf::from_hex(hex).map_err(|e| bad("default_witness_commitment")(e.into()))?,
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

/// What the run loop waits for: a template call's answer, tagged with
/// where it came from.
type TemplateCall = BoxFuture<'static, Result<(Template, Option<String>), SourceError>>;

impl BitcoindSource {
    /// `getblocktemplate` as an owned future, so that the run loop can keep
    /// one call in flight across iterations instead of dropping it (a
    /// dropped long poll would hold one of bitcoind's RPC threads until the
    /// tip changes).
    fn template_call(self: &Arc<Self>, longpollid: Option<String>) -> TemplateCall {
        let this = self.clone();
        Box::pin(async move { this.template(longpollid.as_deref()).await })
    }
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
            // Two calls may be in flight at once, each kept until it answers:
            // the long poll (answers on a new tip or new transactions) and a
            // plain fetch (at start, after a found block, on refresh, after a
            // failure). Answers are used in the order they arrive, which on a
            // local RPC is the order bitcoind produced them.
            let mut longpoll: Option<TemplateCall> = None;
            let mut fetch: Option<TemplateCall> = Some(self.template_call(None));
            // A fetch was asked for while one was in flight: the state may
            // have changed after that one was answered, so fetch once more.
            let mut fetch_again = false;
            let mut longpollid: Option<String> = None;
            let mut last: Option<(BlockHash, Option<String>)> = None;
            let mut tip: Option<BlockHash> = None;
            let mut backoff = Duration::from_millis(500);
            let mut retry_at: Option<tokio::time::Instant> = None;
            let mut refresh_at = tokio::time::Instant::now() + refresh;
            loop {
                if fetch.is_none() && retry_at.is_none() && fetch_again {
                    fetch_again = false;
                    fetch = Some(self.template_call(None));
                }
                if longpoll.is_none() && self.config.longpoll {
                    if let Some(id) = &longpollid {
                        longpoll = Some(self.template_call(Some(id.clone())));
                    }
                }
                let longpolling = longpoll.is_some();
                let watched = tip;
                let poll = async {
                    // Fallback: watch the best block hash when long polling is off.
                    if longpolling {
                        return std::future::pending().await;
                    }
                    loop {
                        tokio::time::sleep(self.config.poll).await;
                        if let Ok(best) =
                            self.call("getbestblockhash", json!([]), CALL_TIMEOUT).await
                        {
                            let best = best.as_str().and_then(|s| BlockHash::from_str(s).ok());
                            if best.is_some() && best != watched {
                                return;
                            }
                        }
                    }
                };
                let answer = tokio::select! {
                    _ = shutdown.cancelled() => return,
                    answer = async { fetch.as_mut().expect("guarded").await }, if fetch.is_some() => {
                        fetch = None;
                        match answer {
                            Ok((t, id)) => Ok((t, id, false)),
                            Err(e) => {
                                tracing::error!(error = %e, ?backoff, "getblocktemplate failed");
                                retry_at = Some(tokio::time::Instant::now() + backoff);
                                backoff = (backoff * 2).min(Duration::from_secs(30));
                                Err(())
                            }
                        }
                    }
                    answer = async { longpoll.as_mut().expect("guarded").await }, if longpoll.is_some() => {
                        longpoll = None;
                        answer.map(|(t, id)| (t, id, true)).map_err(|e| {
                            tracing::warn!(error = %e, "long poll failed; fetching a template");
                            longpollid = None;
                            fetch_again = true;
                        })
                    }
                    _ = self.found.notified() => {
                        tracing::debug!("found block answered: fetching a template");
                        fetch_again = true;
                        Err(())
                    }
                    _ = async { tokio::time::sleep_until(retry_at.expect("guarded")).await }, if retry_at.is_some() => {
                        retry_at = None;
                        fetch_again = true;
                        Err(())
                    }
                    _ = tokio::time::sleep_until(refresh_at) => {
                        refresh_at = tokio::time::Instant::now() + refresh;
                        fetch_again = true;
                        Err(())
                    }
                    _ = poll => {
                        fetch_again = true;
                        Err(())
                    }
                };
                let Ok((t, id, from_longpoll)) = answer else {
                    continue;
                };
                backoff = Duration::from_millis(500);
                if id.is_some() {
                    longpollid = id.clone();
                }
                tip = Some(t.prevhash);
                // The long poll often answers the change a fetch after a
                // found block already brought: no second job for it. (A
                // refresh always makes a job: it commits the current window.)
                let key = (t.prevhash, id);
                if from_longpoll && last.as_ref() == Some(&key) {
                    continue;
                }
                last = Some(key);
                refresh_at = tokio::time::Instant::now() + refresh;
                if templates.send(Arc::new(t)).await.is_err() {
                    return;
                }
            }
        })
    }

    fn submit_block(&self, block: Block) -> BoxFuture<'static, Result<SubmitOutcome, SourceError>> {
        let hex = bitcoin::consensus::encode::serialize_hex(&block);
        let http = self.http.clone();
        let config = self.config.clone();
        let credentials = self.credentials();
        let found = self.found.clone();
        Box::pin(async move {
            let credentials = credentials?;
            // Every node gets the block (propagation). The best answer wins:
            // accepted, then a lost race, then a refusal.
            let mut failures = Vec::new();
            let mut outcome: Option<SubmitOutcome> = None;
            for url in &config.urls {
                let mut request = http
                    .post(url)
                    .timeout(CALL_TIMEOUT)
                    .json(&json!({"jsonrpc": "1.0", "id": "shareproof", "method": "submitblock", "params": [hex]}));
                if let Some((u, p)) = &credentials {
                    request = request.basic_auth(u, Some(p));
                }
                let body = match request.send().await {
                    Ok(r) => r.json::<Value>().await,
                    Err(e) => Err(e),
                };
                let result = match body {
                    Ok(body) => match (body.get("result"), body.get("error")) {
                        (_, Some(error)) if !error.is_null() => SubmitOutcome::Rejected(
                            error
                                .get("message")
                                .and_then(Value::as_str)
                                .map_or_else(|| error.to_string(), str::to_owned),
                        ),
                        (Some(Value::String(reason)), _) => SubmitOutcome::from_bip22(Some(reason)),
                        (Some(Value::Null) | None, _) => SubmitOutcome::from_bip22(None),
                        (Some(other), _) => SubmitOutcome::Rejected(other.to_string()),
                    },
                    Err(source) => {
                        failures.push(Unanswered {
                            url: url.clone(),
                            status: None,
                            source,
                        });
                        continue;
                    }
                };
                let rank = |o: &SubmitOutcome| match o {
                    SubmitOutcome::Accepted => 0,
                    SubmitOutcome::LostRace(_) => 1,
                    SubmitOutcome::Rejected(_) => 2,
                };
                if outcome.as_ref().is_none_or(|o| rank(&result) < rank(o)) {
                    outcome = Some(result);
                }
            }
            // Whatever the answer, the tip may have moved: new work now.
            found.notify_one();
            outcome.ok_or(if failures.is_empty() {
                SourceError::NoNode
            } else {
                SourceError::Unreachable(failures)
            })
        })
    }
}
