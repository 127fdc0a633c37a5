//! `shareproof-miner`: the CPU miner and the load generator alone, for
//! machines that mine or load-test a pool without running one. The same
//! subcommands as `shareproof mine` and `shareproof loadgen`.

use anyhow::Result;
use clap::{Parser, Subcommand};
use shareproof_miner::command::{LoadgenArgs, MineArgs};
use tokio_util::sync::CancellationToken;

/// Shareproof's CPU miner and Stratum load generator.
#[derive(Parser)]
#[command(name = "shareproof-miner", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Mine on a pool with this machine's CPU (Stratum V1, sha256d).
    Mine(MineArgs),
    /// Open many Stratum connections and submit shares at a fixed rate.
    Loadgen(LoadgenArgs),
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Mine(args) => {
            let shutdown = CancellationToken::new();
            let token = shutdown.clone();
            tokio::spawn(async move {
                let _ = tokio::signal::ctrl_c().await;
                token.cancel();
            });
            println!("{}", args.run(shutdown).await?);
        }
        Command::Loadgen(args) => {
            let (report, notes) = args.run().await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            for note in notes {
                eprintln!("loadgen: {note}");
            }
        }
    }
    Ok(())
}
