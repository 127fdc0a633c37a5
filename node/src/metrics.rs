//! Prometheus metrics, registered once and shared by the Stratum server,
//! the ledger and the template sources; `/metrics` renders them as text.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric the node exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    /// Open Stratum connections.
    pub connections: IntGauge,
    /// Accepted shares.
    pub shares_accepted: IntCounter,
    /// Accepted shares by protocol (`v1`, `v2`).
    pub shares_by_protocol: IntCounterVec,
    /// Open connections by protocol (`v1`, `v2`).
    pub connections_by_protocol: IntGaugeVec,
    /// Open Stratum V2 channels.
    pub v2_channels: IntGauge,
    /// Stratum V2 handshakes that failed or timed out.
    pub v2_handshake_failures: IntCounter,
    /// Rejected shares and requests, by reason.
    pub shares_rejected: IntCounterVec,
    /// From reading a `mining.submit` to writing its answer, seconds.
    pub submit_latency: Histogram,
    /// Group-commit flush duration, seconds.
    pub flush_seconds: Histogram,
    /// Blocks found by the pool.
    pub blocks_found: IntCounter,
    /// Block submission results, by outcome.
    pub blocks_submitted: IntCounterVec,
    /// Jobs minted.
    pub jobs: IntCounter,
    /// Unix time the latest job was minted (template age = now − this).
    pub template_created: IntGauge,
    /// Connections refused (limit reached or banned).
    pub connections_refused: IntCounterVec,
    /// How long the latest broadcast job took to reach every connection.
    pub notify_fanout: Arc<NotifyFanout>,
    /// The same for V2: minted to the last `SetNewPrevHash` (or job, on
    /// the same tip) written, over every channel.
    pub v2_fanout: Arc<NotifyFanout>,
    /// Bitcoin headers sent to the light client.
    pub headers_relayed: IntCounter,
    /// Blocks settled on the EVM chain.
    pub blocks_settled: IntCounter,
    /// Found blocks that left the best chain (never settled).
    pub blocks_orphaned: IntCounter,
    /// Gas used by the latest `settle`.
    pub settle_gas: IntGauge,
    /// Proving time per block, seconds.
    pub prove_seconds: Histogram,
    /// Failed settlement steps, by step.
    pub settlement_errors: IntCounterVec,
    /// The process's peak resident set after the latest proof, bytes.
    pub prove_peak_rss: IntGauge,
    /// An edge's shares sent to the share stream, by outcome: `stored`,
    /// `duplicate` (a re-send the stream already held) or `failed` (not
    /// stored: the miner got an error).
    pub stream_published: IntCounterVec,
    /// The accounting node's last share-stream sequence applied durably.
    pub stream_applied: IntGauge,
}

/// The time from minting a job to the last `mining.notify` of it written
/// to a socket: every session reports its own write, the latest job's
/// maximum is kept (lock-free; exact enough for a gauge).
#[derive(Debug, Default)]
pub struct NotifyFanout {
    job: AtomicU64,
    max_micros: AtomicU64,
    writes: AtomicU64,
}

impl NotifyFanout {
    /// A session wrote job `job`'s notify `micros` after it was minted.
    pub fn note(&self, job: u64, micros: u64) {
        self.note_writes(job, micros, 1);
    }

    /// A session wrote job `job` to `writes` connections or channels, the
    /// last `micros` after it was minted.
    pub fn note_writes(&self, job: u64, micros: u64, writes: u64) {
        let current = self.job.load(Ordering::Acquire);
        if job > current
            && self
                .job
                .compare_exchange(current, job, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.max_micros.store(micros, Ordering::Release);
            self.writes.store(writes, Ordering::Release);
            return;
        }
        if job == self.job.load(Ordering::Acquire) {
            self.max_micros.fetch_max(micros, Ordering::AcqRel);
            self.writes.fetch_add(writes, Ordering::AcqRel);
        }
    }

    /// (job id, connections written, microseconds to the last write).
    pub fn latest(&self) -> (u64, u64, u64) {
        (
            self.job.load(Ordering::Acquire),
            self.writes.load(Ordering::Acquire),
            self.max_micros.load(Ordering::Acquire),
        )
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn new() -> Self {
        let registry = Registry::new();
        let latency_buckets = vec![
            0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1,
            0.25, 1.0,
        ];
        let m = Metrics {
            connections: IntGauge::new("shareproof_connections", "Open Stratum connections")
                .expect("valid metric"),
            shares_accepted: IntCounter::new(
                "shareproof_shares_accepted_total",
                "Shares accepted and durable",
            )
            .expect("valid metric"),
            shares_by_protocol: IntCounterVec::new(
                Opts::new(
                    "shareproof_protocol_shares_accepted_total",
                    "Shares accepted and durable, by Stratum protocol",
                ),
                &["protocol"],
            )
            .expect("valid metric"),
            connections_by_protocol: IntGaugeVec::new(
                Opts::new(
                    "shareproof_protocol_connections",
                    "Open Stratum connections, by protocol",
                ),
                &["protocol"],
            )
            .expect("valid metric"),
            v2_channels: IntGauge::new(
                "shareproof_stratum_v2_channels",
                "Open Stratum V2 mining channels",
            )
            .expect("valid metric"),
            v2_handshake_failures: IntCounter::new(
                "shareproof_stratum_v2_handshake_failures_total",
                "Stratum V2 Noise handshakes that failed or timed out",
            )
            .expect("valid metric"),
            shares_rejected: IntCounterVec::new(
                Opts::new(
                    "shareproof_shares_rejected_total",
                    "Rejected shares and requests, by reason",
                ),
                &["reason"],
            )
            .expect("valid metric"),
            submit_latency: Histogram::with_opts(
                HistogramOpts::new(
                    "shareproof_submit_latency_seconds",
                    "mining.submit read to answer written",
                )
                .buckets(latency_buckets.clone()),
            )
            .expect("valid metric"),
            flush_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "shareproof_log_flush_seconds",
                    "Share log group commit (batch apply + flush)",
                )
                .buckets(latency_buckets),
            )
            .expect("valid metric"),
            blocks_found: IntCounter::new("shareproof_blocks_found_total", "Blocks found")
                .expect("valid metric"),
            blocks_submitted: IntCounterVec::new(
                Opts::new(
                    "shareproof_blocks_submitted_total",
                    "Block submissions by outcome",
                ),
                &["outcome"],
            )
            .expect("valid metric"),
            jobs: IntCounter::new("shareproof_jobs_total", "Jobs minted").expect("valid metric"),
            template_created: IntGauge::new(
                "shareproof_template_created_unixtime",
                "When the latest job was minted",
            )
            .expect("valid metric"),
            connections_refused: IntCounterVec::new(
                Opts::new(
                    "shareproof_connections_refused_total",
                    "Connections refused, by reason",
                ),
                &["reason"],
            )
            .expect("valid metric"),
            notify_fanout: Arc::new(NotifyFanout::default()),
            v2_fanout: Arc::new(NotifyFanout::default()),
            headers_relayed: IntCounter::new(
                "shareproof_headers_relayed_total",
                "Bitcoin headers sent to the light client",
            )
            .expect("valid metric"),
            blocks_settled: IntCounter::new(
                "shareproof_blocks_settled_total",
                "Blocks settled on the EVM chain",
            )
            .expect("valid metric"),
            blocks_orphaned: IntCounter::new(
                "shareproof_blocks_orphaned_total",
                "Found blocks that left the best chain",
            )
            .expect("valid metric"),
            settle_gas: IntGauge::new("shareproof_settle_gas_used", "Gas of the latest settle")
                .expect("valid metric"),
            prove_seconds: Histogram::with_opts(
                HistogramOpts::new("shareproof_prove_seconds", "Proving time per block").buckets(
                    vec![
                        0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
                    ],
                ),
            )
            .expect("valid metric"),
            settlement_errors: IntCounterVec::new(
                Opts::new(
                    "shareproof_settlement_errors_total",
                    "Failed settlement steps, by step",
                ),
                &["step"],
            )
            .expect("valid metric"),
            prove_peak_rss: IntGauge::new(
                "shareproof_prove_peak_rss_bytes",
                "Peak resident set of the node after the latest proof",
            )
            .expect("valid metric"),
            stream_published: IntCounterVec::new(
                Opts::new(
                    "shareproof_stream_published_total",
                    "Shares an edge sent to the share stream, by outcome",
                ),
                &["outcome"],
            )
            .expect("valid metric"),
            stream_applied: IntGauge::new(
                "shareproof_stream_applied_seq",
                "Last share-stream sequence the accounting node applied durably",
            )
            .expect("valid metric"),
            registry,
        };
        let r = &m.registry;
        for c in [
            Box::new(m.connections.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(m.shares_accepted.clone()),
            Box::new(m.shares_rejected.clone()),
            Box::new(m.shares_by_protocol.clone()),
            Box::new(m.connections_by_protocol.clone()),
            Box::new(m.v2_channels.clone()),
            Box::new(m.v2_handshake_failures.clone()),
            Box::new(m.submit_latency.clone()),
            Box::new(m.flush_seconds.clone()),
            Box::new(m.blocks_found.clone()),
            Box::new(m.blocks_submitted.clone()),
            Box::new(m.jobs.clone()),
            Box::new(m.template_created.clone()),
            Box::new(m.connections_refused.clone()),
            Box::new(m.headers_relayed.clone()),
            Box::new(m.blocks_settled.clone()),
            Box::new(m.blocks_orphaned.clone()),
            Box::new(m.settle_gas.clone()),
            Box::new(m.prove_seconds.clone()),
            Box::new(m.settlement_errors.clone()),
            Box::new(m.prove_peak_rss.clone()),
            Box::new(m.stream_published.clone()),
            Box::new(m.stream_applied.clone()),
        ] {
            r.register(c).expect("metric names are unique");
        }
        m
    }

    /// The Prometheus text exposition, with the template age computed at `now`.
    pub fn render(&self, now: u64) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("text encoding into a Vec cannot fail");
        let created = self.template_created.get();
        let age = if created > 0 {
            now as i64 - created
        } else {
            -1
        };
        let mut text = String::from_utf8(out).expect("prometheus text is UTF-8");
        text.push_str(
            "# HELP shareproof_template_age_seconds Seconds since the latest job was minted (-1: none yet)\n# TYPE shareproof_template_age_seconds gauge\n",
        );
        text.push_str(&format!("shareproof_template_age_seconds {age}\n"));
        let (job, writes, micros) = self.notify_fanout.latest();
        text.push_str(&format!(
            "# HELP shareproof_notify_fanout_seconds Latest broadcast job: minted to its last mining.notify written\n# TYPE shareproof_notify_fanout_seconds gauge\nshareproof_notify_fanout_seconds{{job=\"{job:016x}\",connections=\"{writes}\"}} {}\n",
            micros as f64 / 1e6
        ));
        let (job, writes, micros) = self.v2_fanout.latest();
        text.push_str(&format!(
            "# HELP shareproof_v2_fanout_seconds Latest broadcast job: minted to its last Stratum V2 job or SetNewPrevHash written\n# TYPE shareproof_v2_fanout_seconds gauge\nshareproof_v2_fanout_seconds{{job=\"{job:016x}\",channels=\"{writes}\"}} {}\n",
            micros as f64 / 1e6
        ));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_lists_every_family() {
        let m = Metrics::new();
        m.shares_rejected.with_label_values(&["stale"]).inc();
        m.submit_latency.observe(0.0004);
        m.template_created.set(100);
        let text = m.render(130);
        for name in [
            "shareproof_connections",
            "shareproof_shares_rejected_total{reason=\"stale\"} 1",
            "shareproof_submit_latency_seconds_bucket",
            "shareproof_template_age_seconds 30",
            "shareproof_stream_applied_seq 0",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
