//! Per-miner state and handling: one `select!` loop over the miner's lines,
//! share acknowledgements from the ledger, new jobs and shutdown.
//!
//! Shares are validated here, on the session's task (≈1 µs with the job's
//! cached midstate), held to the target the job was sent with on this
//! connection, checked for duplicates per job, and handed to the ledger;
//! the answer `true` is written only once the ledger says the share is
//! durable. Answers keep the order of requests. A share that is a block is
//! submitted to the template source before anything else is done with it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use share_verifier::{
    Address, Difficulty, JobId, Share, ShareRules, ShareTarget, Username, VersionMask,
};
use shareproof_stratum::request::{self, Request, Submit};
use shareproof_stratum::{notification, response, Reject};
use tokio::sync::{oneshot, watch};
use tokio_util::sync::CancellationToken;

use crate::ledger::{AcceptedShare, JobEntry, LedgerError, LedgerMsg};
use crate::stratum::accept::{self, Durable, Seen};
use crate::stratum::connection::{Connection, ConnectionError};
use crate::stratum::shared::Shared;
use crate::vardiff::Vardiff;

/// Jobs of the current tip remembered per connection.
const MAX_JOBS: usize = 8;

/// A job as sent on this connection.
#[derive(Debug)]
struct SentJob {
    entry: Arc<JobEntry>,
    /// The share target it was sent with: shares on it are held to this.
    target: ShareTarget,
    /// Shares accepted on it (duplicate detection).
    seen: Seen,
    /// When a newer tip made it stale.
    stale_since: Option<Instant>,
}

/// One authorized username on this connection (proxies authorize several).
#[derive(Debug)]
struct Worker {
    username: String,
    address: Address,
    name: Arc<str>,
}

/// An answer waiting for its turn (answers keep request order).
enum Pending {
    /// Ready bytes.
    Ready(Vec<u8>),
    /// A share waiting for durability.
    Ack {
        id: Box<str>,
        rx: Durable,
        started: Instant,
    },
}

/// A miner's session.
pub struct Session {
    shared: Arc<Shared>,
    conn: Connection,
    jobs_rx: watch::Receiver<Option<Arc<JobEntry>>>,
    shutdown: CancellationToken,
    extranonce1: [u8; 4],
    subscribed: bool,
    workers: Vec<Worker>,
    version_mask: VersionMask,
    vardiff: Vardiff,
    /// The difficulty last sent with `mining.set_difficulty`.
    sent_difficulty: Option<f64>,
    jobs: VecDeque<SentJob>,
    pending: VecDeque<Pending>,
    out: Vec<u8>,
    invalid_since: Instant,
    invalid_count: u32,
    deadline: Instant,
    close: bool,
    /// A broadcast job written in this round: reported once flushed.
    broadcast: Option<(u64, Instant)>,
}

impl Session {
    /// A session for an accepted connection.
    pub fn new(
        shared: Arc<Shared>,
        conn: Connection,
        extranonce1: [u8; 4],
        shutdown: CancellationToken,
    ) -> Self {
        let now = Instant::now();
        Session {
            jobs_rx: shared.jobs.clone(),
            vardiff: Vardiff::new(shared.vardiff, now),
            deadline: now + shared.config.subscribe_timeout,
            shared,
            conn,
            shutdown,
            extranonce1,
            subscribed: false,
            workers: Vec::new(),
            version_mask: VersionMask::NONE,
            sent_difficulty: None,
            jobs: VecDeque::new(),
            pending: VecDeque::new(),
            out: Vec::new(),
            invalid_since: now,
            invalid_count: 0,
            close: false,
            broadcast: None,
        }
    }

    /// Runs until the miner leaves, misbehaves or the node shuts down.
    pub async fn run(mut self) {
        let peer = self.conn.peer();
        if let Err(e) = self.serve().await {
            tracing::debug!(%peer, error = %e, "session ended");
        }
        for w in &self.workers {
            self.shared.registry.leave(w.address, &w.name);
        }
    }

    async fn serve(&mut self) -> Result<(), ConnectionError> {
        // One timer for the connection's life, re-armed only when it fires
        // early (the deadline moved on while lines arrived), rather than a
        // timer made and dropped on every line.
        let timeout = tokio::time::sleep_until(self.deadline.into());
        tokio::pin!(timeout);
        loop {
            let authorized = !self.workers.is_empty();
            let has_ack = matches!(self.pending.front(), Some(Pending::Ack { .. }));
            tokio::select! {
                _ = self.shutdown.cancelled() => {
                    // Answer what is in flight, then ask the miner to come back.
                    while let Some(Pending::Ack { .. }) = self.pending.front() {
                        if let Some(Pending::Ack { id, rx, started }) = self.pending.pop_front() {
                            let result = rx.await.unwrap_or(Err(LedgerError::Closed));
                            self.answer_ack(&id, result, started);
                            self.drain_ready();
                        }
                    }
                    self.out.extend_from_slice(&notification::reconnect());
                    self.flush().await?;
                    return Ok(());
                }
                result = front_ack(&mut self.pending), if has_ack => {
                    if let Some(Pending::Ack { id, started, .. }) = self.pending.pop_front() {
                        self.answer_ack(&id, result, started);
                    }
                }
                line = self.conn.read_line() => {
                    let line = match line {
                        Ok(Some(line)) => line,
                        Ok(None) => return Ok(()),
                        Err(ConnectionError::Codec(e)) => {
                            // Answer, then close: the rest of the line cannot be framed.
                            self.reject(None, Reject::Framing(e));
                            self.drain_ready();
                            self.flush().await?;
                            return Err(e.into());
                        }
                        Err(e) => return Err(e),
                    };
                    // Until it subscribes, a connection keeps the deadline set at accept.
                    if self.subscribed {
                        self.deadline = Instant::now() + self.shared.config.idle_timeout;
                    }
                    self.handle_line(&line).await;
                    while !self.close {
                        match self.conn.buffered_line()? {
                            Some(line) => self.handle_line(&line).await,
                            None => break,
                        }
                    }
                }
                changed = self.jobs_rx.changed(), if authorized => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    let job = self.jobs_rx.borrow_and_update().clone();
                    if let Some(job) = job {
                        self.on_new_job(job).await;
                    }
                }
                () = &mut timeout => {
                    if self.deadline > Instant::now() {
                        timeout.as_mut().reset(self.deadline.into());
                        continue;
                    }
                    tracing::debug!(peer = %self.conn.peer(), subscribed = self.subscribed, "connection timed out");
                    return Ok(());
                }
            }
            if self.deadline < timeout.deadline().into_std() {
                timeout.as_mut().reset(self.deadline.into());
            }
            self.drain_ready();
            self.flush().await?;
            if let Some((job, minted)) = self.broadcast.take() {
                let micros = minted.elapsed().as_micros() as u64;
                self.shared.metrics.notify_fanout.note(job, micros);
            }
            if self.close {
                return Ok(());
            }
        }
    }

    async fn flush(&mut self) -> Result<(), ConnectionError> {
        if !self.out.is_empty() {
            self.conn.write_all(&self.out).await?;
            // Written: give the buffer back rather than keep a notify's worth
            // of capacity on every idle connection (one allocation per write
            // is noise next to the syscall).
            self.out = Vec::new();
        }
        Ok(())
    }

    /// Moves ready answers from the front of the queue to the output.
    fn drain_ready(&mut self) {
        while let Some(Pending::Ready(_)) = self.pending.front() {
            if let Some(Pending::Ready(bytes)) = self.pending.pop_front() {
                self.out.extend_from_slice(&bytes);
            }
        }
    }

    /// Queues an answer behind those still waiting, or writes it now.
    fn answer(&mut self, bytes: Vec<u8>) {
        if self.pending.is_empty() {
            self.out.extend_from_slice(&bytes);
        } else {
            self.pending.push_back(Pending::Ready(bytes));
        }
    }

    fn answer_ack(&mut self, id: &str, result: Result<u64, LedgerError>, started: Instant) {
        let id = serde_json::value::RawValue::from_string(id.to_owned()).ok();
        let id = id.as_deref();
        match result {
            Ok(_seq) => {
                response::write_result(&mut self.out, id, "true");
                self.shared.metrics.shares_accepted.inc();
                self.shared
                    .metrics
                    .shares_by_protocol
                    .with_label_values(&["v1"])
                    .inc();
            }
            Err(e) => {
                let reject = Reject::Internal(Arc::new(e));
                self.shared
                    .metrics
                    .shares_rejected
                    .with_label_values(&[reject.label()])
                    .inc();
                response::write_error(&mut self.out, id, &reject);
            }
        }
        self.shared
            .metrics
            .submit_latency
            .observe(started.elapsed().as_secs_f64());
    }

    async fn handle_line(&mut self, line: &[u8]) {
        let (id, request) = match request::parse(line) {
            Ok(parsed) => parsed,
            Err((id, reject)) => {
                self.reject(id, reject);
                return;
            }
        };
        let result = match request {
            Request::Subscribe { user_agent } => self.subscribe(id, user_agent),
            Request::Authorize { username, password } => {
                self.authorize(id, &username, password.as_deref()).await
            }
            Request::Configure { extensions, params } => self.configure(id, &extensions, &params),
            Request::SuggestDifficulty(d) => {
                let now = Instant::now();
                self.vardiff.suggest(d, now);
                let mut out = Vec::new();
                response::write_result(&mut out, id, "true");
                self.answer(out);
                if !self.workers.is_empty() {
                    self.send_fresh_job().await;
                }
                Ok(())
            }
            Request::ExtranonceSubscribe => {
                let mut out = Vec::new();
                response::write_result(&mut out, id, "true");
                // Our extranonce never changes mid-connection; confirm it.
                out.extend_from_slice(&notification::set_extranonce(
                    &self.extranonce1,
                    self.shared.config.extranonce2_size,
                ));
                self.answer(out);
                Ok(())
            }
            Request::Submit(params) => {
                let started = Instant::now();
                match self.submit(&params) {
                    Ok((share, rx)) => {
                        let id = id.map_or("null", |v| v.get()).into();
                        self.pending.push_back(Pending::Ack { id, rx, started });
                        if self
                            .shared
                            .ledger
                            .send(LedgerMsg::Share(share))
                            .await
                            .is_err()
                        {
                            tracing::warn!("ledger closed; share not recorded");
                        }
                        if let Some(d) = self.vardiff.on_share(started) {
                            tracing::debug!(peer = %self.conn.peer(), difficulty = d.as_f64(), "vardiff retarget");
                            self.send_fresh_job().await;
                        }
                        Ok(())
                    }
                    Err(reject) => Err(reject),
                }
            }
            Request::Unknown(method) => Err(Reject::UnknownMethod(method)),
        };
        if let Err(reject) = result {
            self.reject(id, reject);
        }
    }

    fn reject(&mut self, id: Option<&serde_json::value::RawValue>, reject: Reject) {
        self.shared
            .metrics
            .shares_rejected
            .with_label_values(&[reject.label()])
            .inc();
        let mut out = Vec::new();
        response::write_error(&mut out, id, &reject);
        if reject.is_invalid_share() {
            let now = Instant::now();
            if now.duration_since(self.invalid_since) > Duration::from_secs(60) {
                self.invalid_since = now;
                self.invalid_count = 0;
            }
            self.invalid_count += 1;
            if self.invalid_count > self.shared.config.max_invalid_per_minute {
                response::write_error(&mut out, None, &Reject::Banned);
                self.shared.ban(self.conn.peer().ip());
                self.close = true;
            }
        }
        self.answer(out);
    }

    fn subscribe(
        &mut self,
        id: Option<&serde_json::value::RawValue>,
        user_agent: Option<String>,
    ) -> Result<(), Reject> {
        self.subscribed = true;
        self.deadline = Instant::now() + self.shared.config.idle_timeout;
        tracing::debug!(peer = %self.conn.peer(), user_agent = user_agent.as_deref().unwrap_or(""), "subscribed");
        let result =
            response::subscribe_result(&self.extranonce1, self.shared.config.extranonce2_size);
        let mut out = Vec::new();
        response::write_result(&mut out, id, &result);
        self.answer(out);
        Ok(())
    }

    async fn authorize(
        &mut self,
        id: Option<&serde_json::value::RawValue>,
        username: &str,
        password: Option<&str>,
    ) -> Result<(), Reject> {
        if !self.subscribed {
            return Err(Reject::NotSubscribed);
        }
        let parsed: Username = username.parse().map_err(Reject::BadUsername)?;
        if let Some(d) = password.and_then(password_difficulty) {
            self.vardiff.suggest(d, Instant::now());
        }
        let name: Arc<str> = Arc::from(parsed.worker.as_deref().unwrap_or(""));
        if !self.workers.iter().any(|w| w.username == username) {
            self.shared.registry.join(parsed.address, &name);
            self.workers.push(Worker {
                username: username.to_owned(),
                address: parsed.address,
                name,
            });
        }
        tracing::info!(peer = %self.conn.peer(), address = %parsed.address, worker = parsed.worker.as_deref().unwrap_or(""), "authorized");
        let mut out = Vec::new();
        response::write_result(&mut out, id, "true");
        self.answer(out);
        if self.workers.len() == 1 && self.jobs.is_empty() {
            let job = self.jobs_rx.borrow_and_update().clone();
            if let Some(job) = job {
                self.send_job(job, true);
            }
        }
        Ok(())
    }

    fn configure(
        &mut self,
        id: Option<&serde_json::value::RawValue>,
        extensions: &[String],
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<(), Reject> {
        let mut result = serde_json::Map::new();
        for ext in extensions {
            match ext.as_str() {
                "version-rolling" => {
                    let requested = params
                        .get("version-rolling.mask")
                        .and_then(|v| v.as_str())
                        .and_then(|s| u32::from_str_radix(s, 16).ok())
                        .unwrap_or(0xffff_ffff);
                    self.version_mask = VersionMask::BIP320.negotiate(requested);
                    result.insert("version-rolling".into(), true.into());
                    result.insert(
                        "version-rolling.mask".into(),
                        format!("{:08x}", self.version_mask.0).into(),
                    );
                }
                "minimum-difficulty" => {
                    let value = params
                        .get("minimum-difficulty.value")
                        .and_then(|v| v.as_f64());
                    if let Some(v) = value {
                        self.vardiff.set_floor(v, Instant::now());
                    }
                    result.insert("minimum-difficulty".into(), value.is_some().into());
                }
                "subscribe-extranonce" => {
                    result.insert("subscribe-extranonce".into(), true.into());
                }
                other => {
                    result.insert(other.to_owned(), false.into());
                }
            }
        }
        let mut out = Vec::new();
        response::write_result(&mut out, id, &serde_json::Value::Object(result).to_string());
        self.answer(out);
        Ok(())
    }

    /// The share target for `job` on this connection: the vardiff difficulty,
    /// never harder than the network's (a hash that makes a block is always a share).
    fn difficulty_for(&self, job: &JobEntry) -> f64 {
        let network = job.network_target.difficulty_lossy();
        self.vardiff.difficulty().as_f64().min(network)
    }

    /// Writes `set_difficulty` if needed, then the job's notify; remembers it.
    fn send_job(&mut self, entry: Arc<JobEntry>, clean: bool) {
        let difficulty = self.difficulty_for(&entry);
        if self.sent_difficulty != Some(difficulty) {
            self.out
                .extend_from_slice(&notification::set_difficulty(difficulty));
            self.sent_difficulty = Some(difficulty);
        }
        let target = Difficulty::new(difficulty)
            .expect("difficulties are positive")
            .to_target();
        self.out.extend_from_slice(if clean {
            &entry.notify_clean
        } else {
            &entry.notify_keep
        });
        let now = Instant::now();
        if clean {
            for j in &mut self.jobs {
                j.stale_since.get_or_insert(now);
            }
        }
        let grace = self.shared.config.stale_grace;
        self.jobs
            .retain(|j| j.stale_since.is_none_or(|t| now.duration_since(t) < grace));
        while self.jobs.iter().filter(|j| j.stale_since.is_none()).count() >= MAX_JOBS {
            if let Some(pos) = self.jobs.iter().position(|j| j.stale_since.is_none()) {
                self.jobs.remove(pos);
            }
        }
        self.jobs.push_back(SentJob {
            entry,
            target,
            seen: Seen::default(),
            stale_since: None,
        });
    }

    async fn on_new_job(&mut self, entry: Arc<JobEntry>) {
        if self
            .jobs
            .back()
            .is_some_and(|j| j.entry.job.id >= entry.job.id)
        {
            return;
        }
        let now = Instant::now();
        self.vardiff.on_tick(now);
        let new_tip = self
            .jobs
            .back()
            .is_none_or(|j| j.entry.job.prevhash != entry.job.prevhash);
        self.broadcast = Some((entry.job.id.0, entry.created));
        self.send_job(entry, new_tip);
    }

    /// After a difficulty change: a job this connection has not seen, so
    /// the new difficulty applies to work on it only.
    async fn send_fresh_job(&mut self) {
        let newest = self.jobs.back().map_or(JobId(0), |j| j.entry.job.id);
        let (reply, rx) = oneshot::channel();
        if self
            .shared
            .ledger
            .send(LedgerMsg::FreshJob {
                newer_than: newest,
                reply,
            })
            .await
            .is_err()
        {
            return;
        }
        if let Ok(job) = rx.await {
            if job.job.id > newest {
                let clean = self
                    .jobs
                    .back()
                    .is_none_or(|j| j.entry.job.prevhash != job.job.prevhash);
                // Answers already queued go first, then the new difficulty and job.
                self.drain_ready();
                if self.pending.is_empty() {
                    self.send_job(job, clean);
                } else {
                    let mut staged = std::mem::take(&mut self.out);
                    self.send_job(job, clean);
                    std::mem::swap(&mut staged, &mut self.out);
                    self.pending.push_back(Pending::Ready(staged));
                }
            }
        }
    }

    /// Validates a submit; on success returns the share for the ledger.
    fn submit(&mut self, p: &Submit<'_>) -> Result<(AcceptedShare, Durable), Reject> {
        if !self.subscribed {
            return Err(Reject::NotSubscribed);
        }
        let worker = self
            .workers
            .iter()
            .find(|w| w.username == p.worker)
            .ok_or_else(|| Reject::Unauthorized(p.worker.clone().into_owned()))?;
        let (address, worker_name) = (worker.address, worker.name.clone());
        let job_id: JobId = p.job_id.parse().map_err(|_| Reject::JobNotFound)?;
        let index = self
            .jobs
            .iter()
            .rposition(|j| j.entry.job.id == job_id)
            .ok_or(Reject::JobNotFound)?;
        // Stale: the job was replaced by a clean one this connection was
        // sent, or the pool itself already found a block on its tip. Any
        // other share is judged on the job it was sent with (a new tip that
        // has not reached this miner yet does not make its work stale).
        let sent = &self.jobs[index];
        if sent.stale_since.is_some() || self.shared.is_spent(&sent.entry.job.prevhash) {
            return Err(Reject::Stale);
        }
        let rules = ShareRules {
            extranonce1_size: self.extranonce1.len(),
            extranonce2_size: self.shared.config.extranonce2_size,
            version_mask: self.version_mask,
        };
        let entry = sent.entry.clone();
        let share = validate_submit(
            p,
            &entry.job,
            &entry.prepared,
            &self.extranonce1,
            &rules,
            sent.target,
        )?;
        if !self.jobs[index].seen.insert(&share) {
            return Err(Reject::Duplicate);
        }
        Ok(accept::accept(
            &self.shared,
            &entry,
            share,
            address,
            worker_name,
        ))
    }
}

/// The node's share-validation path: parses a submit's fields and validates
/// the share against `job` under `rules`, held to `target` (the difficulty
/// the job was sent with on this connection). The caller has already found
/// `job` by the submit's job id. share-verifier parses the fields (the same
/// parser as the auditor CLI's) and a failure becomes its reject by variant.
///
/// # Errors
/// The [`Reject`] to answer with.
pub fn validate_submit(
    p: &Submit<'_>,
    job: &share_verifier::Job,
    prepared: &share_verifier::PreparedJob,
    extranonce1: &[u8],
    rules: &ShareRules,
    target: ShareTarget,
) -> Result<Share<share_verifier::Checked>, Reject> {
    let submission = p.submission(extranonce1).map_err(Reject::BadField)?;
    Share::new(submission, target)
        .validate(job, prepared, rules)
        .map_err(Reject::from)
}

/// The front answer's acknowledgement (the caller checks there is one).
async fn front_ack(pending: &mut VecDeque<Pending>) -> Result<u64, LedgerError> {
    match pending.front_mut() {
        Some(Pending::Ack { rx, .. }) => rx.await.unwrap_or(Err(LedgerError::Closed)),
        _ => std::future::pending().await,
    }
}

/// `d=<difficulty>` in a password such as `x,d=0.01` or `d=512`.
fn password_difficulty(password: &str) -> Option<f64> {
    password
        .split([',', ';', ' '])
        .find_map(|part| part.trim().strip_prefix("d="))
        .and_then(|d| d.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_difficulty_is_found_among_other_settings() {
        assert_eq!(password_difficulty("x"), None);
        assert_eq!(password_difficulty("d=512"), Some(512.0));
        assert_eq!(password_difficulty("x,d=0.01"), Some(0.01));
        assert_eq!(password_difficulty("d=abc"), None);
    }
}
