//! `share-verifier`: the auditor's command line. Parses arguments, reads
//! files and prints results; every check lives in the library.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use bitcoin::{Amount, ScriptBuf};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Value};
use share_verifier::log::LogReader;
use share_verifier::{
    allocate, Auditor, Difficulty, FeeBps, Job, PreparedJob, Share, ShareReceipt, ShareRules,
    ShareTarget, Submission, VersionMask, WindowRoot,
};

/// Checks Shareproof shares, share logs, window roots, allocations and share receipts.
#[derive(Parser)]
#[command(name = "share-verifier", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Rebuilds one share's header from a job and a submission and prints its hash and difficulty.
    ///
    /// FILE is JSON: {"notify": <mining.notify message or params>, "extranonce1": "<hex>",
    /// "submit": <mining.submit message or params>, optional "version_mask": "<hex>",
    /// optional "difficulty": <number> or "target": "<64 hex>"}.
    /// Exits 1 if the share misses the given difficulty or target.
    VerifyShare {
        /// The share as JSON; `-` reads standard input.
        file: PathBuf,
        /// Pool difficulty to check the share against (overrides the file's).
        #[arg(long, conflicts_with = "target")]
        difficulty: Option<f64>,
        /// Target (64 hex digits, big-endian) to check against (overrides the file's).
        #[arg(long)]
        target: Option<String>,
    },
    /// Replays a share log: re-checks every share's proof of work against its
    /// assigned target, every job's coinbase commitment against the window
    /// root recomputed at its sequence number, and every block. Exits 1 naming
    /// the first bad record.
    Audit {
        /// The share log file.
        #[arg(long)]
        log: PathBuf,
        /// The pool's window size N (must match the log's header).
        #[arg(long)]
        window_size: Option<u64>,
        /// Also report the window root after exactly SEQ shares.
        #[arg(long)]
        at: Option<u64>,
        /// Fail unless the root (at --at, else at the end) equals this value (0x + 64 hex).
        #[arg(long)]
        expect_root: Option<String>,
        /// The settlement scriptPubKey (hex) every coinbase must pay.
        #[arg(long)]
        settlement_script: Option<String>,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Prints the PPLNS payout list of the window after SEQ shares as JSON.
    Allocate {
        /// The share log file.
        #[arg(long)]
        log: PathBuf,
        /// The window after exactly this many shares.
        #[arg(long)]
        at: u64,
        /// The block reward in satoshis.
        #[arg(long)]
        reward: u64,
        /// The pool fee in basis points (0..=10000).
        #[arg(long)]
        fee_bps: u32,
        /// The pool's window size N (must match the log's header).
        #[arg(long)]
        window_size: Option<u64>,
    },
    /// Checks a share receipt (JSON from the node's /api/v1/shares/{seq}/receipt) against a root.
    ReceiptVerify {
        /// The receipt file; `-` reads standard input.
        #[arg(long)]
        receipt: PathBuf,
        /// The window root to check against (0x + 64 hex), e.g. read from a block's coinbase.
        #[arg(long)]
        root: String,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("share-verifier: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::VerifyShare {
            file,
            difficulty,
            target,
        } => verify_share(&file, difficulty, target),
        Command::Audit {
            log,
            window_size,
            at,
            expect_root,
            settlement_script,
            quiet,
        } => audit(&log, window_size, at, expect_root, settlement_script, quiet),
        Command::Allocate {
            log,
            at,
            reward,
            fee_bps,
            window_size,
        } => allocate_cmd(&log, at, reward, fee_bps, window_size),
        Command::ReceiptVerify { receipt, root } => receipt_verify(&receipt, &root),
    }
}

fn read_input(path: &Path) -> Result<String> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
    } else {
        text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    }
    Ok(text)
}

/// The params array of a Stratum message, or the value itself if it is already one.
fn params(value: &Value) -> &Value {
    value.get("params").unwrap_or(value)
}

fn verify_share(file: &Path, difficulty: Option<f64>, target: Option<String>) -> Result<ExitCode> {
    let input: Value = serde_json::from_str(&read_input(file)?)
        .with_context(|| format!("{} is not JSON", file.display()))?;
    let notify = input
        .get("notify")
        .ok_or_else(|| anyhow!("{}: missing \"notify\"", file.display()))?;
    let job = Job::from_notify_params(params(notify))
        .with_context(|| format!("{}: notify", file.display()))?;
    let extranonce1 = input["extranonce1"]
        .as_str()
        .ok_or_else(|| anyhow!("{}: missing \"extranonce1\" (hex)", file.display()))
        .and_then(|h| {
            hex::decode(h)
                .with_context(|| format!("{}: extranonce1 {h:?} is not hex", file.display()))
        })?;
    let submit = input
        .get("submit")
        .ok_or_else(|| anyhow!("{}: missing \"submit\"", file.display()))?;
    let (_, submission) = Submission::from_submit_params(params(submit), &extranonce1)
        .with_context(|| format!("{}: submit", file.display()))?;
    let version_mask = match input.get("version_mask").and_then(Value::as_str) {
        Some(h) => VersionMask(
            u32::from_str_radix(h, 16).with_context(|| format!("version_mask {h:?} is not hex"))?,
        ),
        None if submission.version_bits.is_some() => VersionMask::BIP320,
        None => VersionMask::NONE,
    };
    let target = match (
        difficulty,
        target,
        input.get("difficulty").and_then(Value::as_f64),
        input.get("target"),
    ) {
        (Some(d), _, _, _) | (None, None, Some(d), _) => Some(Difficulty::new(d)?.to_target()),
        (None, Some(t), _, _) => Some(ShareTarget::from_hex(&t)?),
        (None, None, None, Some(Value::String(t))) => Some(ShareTarget::from_hex(t)?),
        _ => None,
    };
    let rules = ShareRules {
        extranonce1_size: extranonce1.len(),
        extranonce2_size: submission.extranonce2.len(),
        version_mask,
    };
    let prepared = PreparedJob::new(&job);
    let share = Share::new(submission, ShareTarget::MAX)
        .validate(&job, &prepared, &rules)
        .with_context(|| format!("{}: share", file.display()))?;
    let hash = share.hash();
    let network = ShareTarget::from_compact(job.nbits)?;
    let meets = target.map(|t| t.is_met_by(&hash));
    let report = json!({
        "block_hash": hash.to_string(),
        "difficulty": hash.difficulty_lossy(),
        "version": format!("{:08x}", share.checked().version.to_consensus() as u32),
        "network_target": network.to_string(),
        "meets_network_target": network.is_met_by(&hash),
        "target": target.map(|t| t.to_string()),
        "meets_target": meets,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(if meets == Some(false) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn open_log(
    path: &Path,
    window_size: Option<u64>,
    quiet: bool,
) -> Result<(LogReader<BufReader<impl Read>>, ProgressBar)> {
    let file = File::open(path).with_context(|| format!("opening share log {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(len)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} auditing {bytes}/{total_bytes} [{bar:40}] {eta} {msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    let reader = LogReader::new(BufReader::with_capacity(1 << 20, file))
        .with_context(|| format!("share log {}", path.display()))?;
    let log2 = reader.header().log2_slots;
    if let Some(n) = window_size {
        if n != 1u64 << log2 {
            bail!(
                "--window-size {n} does not match the log's window size {} (2^{log2})",
                1u64 << log2
            );
        }
    }
    Ok((reader, bar))
}

fn audit(
    path: &Path,
    window_size: Option<u64>,
    at: Option<u64>,
    expect_root: Option<String>,
    settlement_script: Option<String>,
    quiet: bool,
) -> Result<ExitCode> {
    let script = settlement_script
        .map(|h| {
            ScriptBuf::from_hex(&h).with_context(|| format!("--settlement-script {h:?} is not hex"))
        })
        .transpose()?;
    let expect = expect_root
        .map(|h| WindowRoot::from_hex(&h).with_context(|| format!("--expect-root {h:?}")))
        .transpose()?;
    let (mut reader, bar) = open_log(path, window_size, quiet)?;
    let mut auditor = Auditor::new(reader.header(), script)?;
    let progress = |offset| bar.set_position(offset);
    let mut root_at = None;
    if let Some(seq) = at {
        let ended = auditor
            .replay(&mut reader, Some(seq), progress)
            .map_err(|e| anyhow!("audit failed: {e}"))?;
        if ended && auditor.shares() < seq {
            bar.finish_and_clear();
            bail!(
                "{}: the log has only {} shares, --at {seq} is past its end",
                path.display(),
                auditor.shares()
            );
        }
        root_at = Some(auditor.window().root());
    }
    let result = auditor.replay(&mut reader, None, progress);
    bar.finish_and_clear();
    result.map_err(|e| anyhow!("audit failed: {e}"))?;
    let summary = auditor.summary();
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "log": path.display().to_string(),
            "window_size": auditor.window().slots(),
            "records": summary.records,
            "jobs": summary.jobs,
            "shares": summary.shares,
            "blocks": summary.blocks,
            "root": summary.root.to_string(),
            "at": at,
            "root_at": root_at.map(|r| r.to_string()),
        }))?
    );
    if let Some(expected) = expect {
        let got = root_at.unwrap_or(summary.root);
        if got != expected {
            eprintln!("share-verifier: root {got} does not match --expect-root {expected}");
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn allocate_cmd(
    path: &Path,
    at: u64,
    reward: u64,
    fee_bps: u32,
    window_size: Option<u64>,
) -> Result<ExitCode> {
    let fee_bps = FeeBps::new(fee_bps)?;
    let (mut reader, bar) = open_log(path, window_size, true)?;
    let mut auditor = Auditor::new(reader.header(), None)?;
    let ended = auditor
        .replay(&mut reader, Some(at), |o| bar.set_position(o))
        .map_err(|e| anyhow!("audit failed: {e}"))?;
    if ended && auditor.shares() < at {
        bail!(
            "{}: the log has only {} shares, --at {at} is past its end",
            path.display(),
            auditor.shares()
        );
    }
    let window = auditor.window();
    let root = window.root();
    let allocation = allocate(
        window.entries().map(|e| (e.address, e.weight)),
        Amount::from_sat(reward),
        fee_bps,
    )?;
    let mut out = serde_json::to_value(&allocation)?;
    out["at"] = json!(at);
    out["window_root"] = json!(root.to_string());
    out["fee_recipient_amount"] = json!(allocation.fee_recipient_amount().to_sat());
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(ExitCode::SUCCESS)
}

fn receipt_verify(path: &Path, root: &str) -> Result<ExitCode> {
    let receipt: ShareReceipt = serde_json::from_str(&read_input(path)?)
        .with_context(|| format!("{} is not a share receipt", path.display()))?;
    let root = WindowRoot::from_hex(root).with_context(|| format!("--root {root:?}"))?;
    match receipt.verify(&root) {
        Ok(()) => {
            println!(
                "share {} (slot {}) is in the window with root {root}",
                receipt.entry.seq, receipt.slot
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!(
                "share-verifier: receipt for share {} does not verify: {e}",
                receipt.entry.seq
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
