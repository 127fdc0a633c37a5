//! `circuits`: Groth16 keys, proofs, verification, fixtures and the
//! Solidity verifier for Shareproof's PPLNS settlement statement.
//!
//! Parses the command line and calls into the `circuits` library; progress
//! (phase spans with their durations) goes to stderr.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ark_ff::PrimeField;
use bitcoin::Amount;
use circuits::ceremony::ptau::Ptau;
use circuits::ceremony::ptau_chain::verify_chain;
use circuits::ceremony::ptau_verify::verify_powers;
use circuits::ceremony::r1cs_file;
use circuits::ceremony::zkey::Zkey;
use circuits::ceremony::{finalize, phase2, rng, snarkjs_json};
use circuits::fixture;
use circuits::keys;
use circuits::proof::{self, SettlementJson};
use clap::{Parser, Subcommand};
use share_verifier::allocation::{allocate, FeeBps};
use share_verifier::binding;
use share_verifier::window::WindowSnapshot;
use tracing_subscriber::fmt::format::FmtSpan;
use zeroize::Zeroize;

#[derive(Parser)]
#[command(
    name = "circuits",
    version,
    about = "Groth16 keys, proofs and Solidity verifier for Shareproof's settlements"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum CeremonyStep {
    /// Make the initial phase-2 key (`0000.zkey`) of the circuit for N slots
    /// from a prepared phase-1 powers of tau: deterministic, identical to
    /// `snarkjs zkey new` on the exported `.r1cs`.
    New {
        /// The phase-1 file (`.ptau`, prepared for phase 2).
        #[arg(long)]
        ptau: PathBuf,
        /// N, the window's slots (a power of two).
        #[arg(long)]
        slots: u64,
        /// The `.zkey` to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Add your contribution: delta times a secret drawn from the OS's
    /// random generator (mixed with --entropy if given), wiped after use.
    /// Prints the contribution hash to publish.
    Contribute {
        /// The latest key of the chain.
        #[arg(long = "in")]
        input: PathBuf,
        /// The key with your contribution added.
        #[arg(long)]
        out: PathBuf,
        /// Your name, recorded in the key and printed by `verify`.
        #[arg(long)]
        name: Option<String>,
        /// Text mixed into the OS randomness (optional).
        #[arg(long)]
        entropy: Option<String>,
    },
    /// Check a key's whole chain against the circuit and the ptau, and list
    /// every contribution's name and hash.
    Verify {
        /// The phase-1 file the ceremony started from.
        #[arg(long)]
        ptau: PathBuf,
        /// The key to check.
        #[arg(long)]
        zkey: PathBuf,
    },
    /// Add the final contribution from a public random beacon (announce it
    /// before it exists: e.g. the hash of a future Bitcoin block).
    Beacon {
        /// The latest key of the chain.
        #[arg(long = "in")]
        input: PathBuf,
        /// The final key.
        #[arg(long)]
        out: PathBuf,
        /// The beacon's value, hex.
        #[arg(long)]
        beacon: String,
        /// log2 of the SHA-256 iterations applied to it (10 to 63).
        #[arg(long)]
        iterations_exp: u8,
        /// A name for the beacon contribution.
        #[arg(long, default_value = "final beacon")]
        name: String,
    },
    /// Verify the final key and write the key directory the node uses, the
    /// Solidity verifier and snarkjs's verification key.
    Finalize {
        /// The phase-1 file the ceremony started from (the chain is verified).
        #[arg(long)]
        ptau: PathBuf,
        /// The final key.
        #[arg(long)]
        zkey: PathBuf,
        /// The key directory to write.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Generate proving and verifying keys for N slots (any number of
    /// distinct addresses, 0 to N, settles with the same key).
    ///
    /// Without --insecure-seed the randomness comes from the OS and is
    /// dropped; production keys still need a multi-party ceremony.
    Setup {
        /// N, the window's slots (a power of two, 2 to 2^24).
        #[arg(long)]
        slots: u64,
        /// The key directory to write.
        #[arg(long)]
        out: PathBuf,
        /// INSECURE: derive the setup's randomness from this seed
        /// (deterministic; anyone who knows the seed can forge proofs).
        #[arg(long)]
        insecure_seed: Option<String>,
    },
    /// Prove the grouping of a window snapshot (JSON, as the node and
    /// `share-verifier` write it); prints the settlement proof JSON.
    Prove {
        /// The key directory.
        #[arg(long)]
        key: PathBuf,
        /// The window snapshot JSON file.
        #[arg(long)]
        window: PathBuf,
        /// Payee records per settlement page (the contract's challenge is
        /// drawn from the pages' hash chain).
        #[arg(long, default_value_t = binding::DEFAULT_PAGE_RECORDS)]
        page_size: usize,
        /// Write the JSON here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Verify a settlement proof JSON the way the contract does.
    Verify {
        /// The key directory.
        #[arg(long)]
        key: PathBuf,
        /// The settlement proof JSON.
        #[arg(long)]
        proof: PathBuf,
    },
    /// Print the Solidity verifier of a key.
    ExportSolidity {
        /// The key directory.
        #[arg(long)]
        key: PathBuf,
        /// The contract's name (test fixtures hold several verifiers).
        #[arg(long, default_value = "Groth16Verifier")]
        name: String,
    },
    /// Write a deterministic sample window snapshot (benchmarks, devnets).
    SampleWindow {
        /// N, the window's slots (a power of two).
        #[arg(long)]
        slots: u64,
        /// Distinct payout addresses.
        #[arg(long, default_value_t = 200)]
        miners: u64,
        /// Shares appended (default: N, a full window).
        #[arg(long)]
        shares: Option<u64>,
        /// The snapshot file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write a key's verification key, and optionally a settlement proof
    /// and its public inputs, as snarkjs's JSON (`snarkjs groth16 verify
    /// verification_key.json public.json proof.json` checks them).
    ExportSnarkjs {
        /// The key directory.
        #[arg(long)]
        key: PathBuf,
        /// A settlement proof JSON (from `prove`).
        #[arg(long)]
        proof: Option<PathBuf>,
        /// The directory to write the JSON files in.
        #[arg(long)]
        out: PathBuf,
    },
    /// The trusted-setup ceremony in snarkjs's formats (docs/ceremony.md).
    Ceremony {
        #[command(subcommand)]
        step: CeremonyStep,
    },
    /// Write the circuit for N slots as circom's binary `.r1cs` (for
    /// snarkjs's ceremony tools: `snarkjs r1cs info`, `zkey verify`).
    R1cs {
        /// N, the window's slots (a power of two, 2 to 2^24).
        #[arg(long)]
        slots: u64,
        /// The `.r1cs` file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Print the circuit's constraint count for N and per share (without
    /// synthesizing).
    Count {
        /// N, the window's slots (a power of two).
        #[arg(long)]
        slots: u64,
    },
    /// Prove a deterministic sample window and write the settlement JSON
    /// with its allocation (the contracts' Foundry fixtures).
    Fixture {
        /// The key directory.
        #[arg(long)]
        key: PathBuf,
        /// Distinct payee addresses the window holds (at most N).
        #[arg(long, default_value_t = 3)]
        payees: u64,
        /// Payee records per page.
        #[arg(long, default_value_t = binding::DEFAULT_PAGE_RECORDS)]
        page_size: usize,
        /// The fixture file to write.
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_span_events(FmtSpan::CLOSE)
        .with_target(false)
        .init();
    match Cli::parse().command {
        Command::Setup {
            slots,
            out,
            insecure_seed,
        } => setup(slots, &out, insecure_seed.as_deref()),
        Command::Prove {
            key,
            window,
            page_size,
            out,
        } => {
            let snapshot: WindowSnapshot = read_json(&window)?;
            let settlement =
                proof::prove_from_dir(&key, &snapshot, page_size).with_context(|| {
                    format!(
                        "proving {} with the key in {}",
                        window.display(),
                        key.display()
                    )
                })?;
            write_json(out.as_deref(), &settlement.to_json())
        }
        Command::Verify { key, proof } => {
            let (_, vk) = keys::load_verifying_key(&key)
                .with_context(|| format!("--key {}", key.display()))?;
            let json: SettlementJson = read_json(&proof)?;
            let valid = proof::verify_json(&vk, &json)
                .with_context(|| format!("--proof {}", proof.display()))?;
            if !valid {
                bail!(
                    "{}: the proof does not verify against the key in {}",
                    proof.display(),
                    key.display()
                );
            }
            eprintln!(
                "valid: {} payees, root {}",
                json.payees.len(),
                json.window_root
            );
            Ok(())
        }
        Command::ExportSolidity { key, name } => {
            let (header, vk) = keys::load_verifying_key(&key)
                .with_context(|| format!("--key {}", key.display()))?;
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                || name.starts_with(|c: char| c.is_ascii_digit())
            {
                bail!("--name {name:?}: not a Solidity identifier");
            }
            print!(
                "{}",
                circuits::export::solidity_verifier_named(&vk, &header, &name)
            );
            Ok(())
        }
        Command::SampleWindow {
            slots,
            miners,
            shares,
            out,
        } => {
            if !slots.is_power_of_two() || !(2..=1 << 24).contains(&slots) {
                bail!("--slots {slots}: N must be a power of two from 2 to 2^24");
            }
            if miners == 0 {
                bail!("--miners 0: at least one miner is needed");
            }
            let snapshot = fixture::sample_window(
                slots.trailing_zeros(),
                shares.unwrap_or(slots),
                miners,
                60,
                7,
            );
            write_json(Some(&out), &snapshot)
        }
        Command::R1cs { slots, out } => r1cs(slots, &out),
        Command::Ceremony { step } => ceremony(step),
        Command::ExportSnarkjs { key, proof, out } => export_snarkjs(&key, proof.as_deref(), &out),
        Command::Count { slots } => {
            if !slots.is_power_of_two() || slots < 2 {
                bail!("--slots {slots}: N must be a power of two from 2 to 2^24");
            }
            let params = circuits::PplnsParams::new(slots.trailing_zeros())
                .with_context(|| format!("--slots {slots}"))?;
            let c = circuits::pplns::ConstraintCount::of(&params);
            println!("{}", serde_json::to_string_pretty(&c)?);
            Ok(())
        }
        Command::Fixture {
            key,
            payees,
            page_size,
            out,
        } => {
            let header =
                keys::read_header(&key).with_context(|| format!("--key {}", key.display()))?;
            if payees > header.slots as u64 {
                bail!(
                    "--payees {payees}: the key's window holds {} slots",
                    header.slots
                );
            }
            let snapshot = fixture::fixture_window_with(header.log2_slots, payees);
            // Seeded blinding: the same key gives the same fixture file.
            let mut rng = keys::seeded_rng(&format!("fixture {}", header.circuit_hash));
            let settlement = proof::prove_from_dir_with_rng(&key, &snapshot, page_size, &mut rng)
                .with_context(|| {
                format!(
                    "proving the sample window with the key in {}",
                    key.display()
                )
            })?;
            let fee = FeeBps::new(fixture::FIXTURE_FEE_BPS)?;
            let allocation = allocate(
                snapshot.entries.iter().map(|e| (e.address, e.weight)),
                Amount::from_sat(fixture::FIXTURE_REWARD),
                fee,
            )?;
            let mut json = settlement.to_json();
            json.description = format!(
                "{} key N = {}, circuit hash {}; sample window of {} payees; written by `circuits fixture --payees {payees} --page-size {page_size}`",
                if header.insecure { "INSECURE seeded" } else { "single-party" },
                header.slots,
                header.circuit_hash,
                settlement.payees.len(),
            );
            json.reward = Some(fixture::FIXTURE_REWARD);
            json.fee_bps = Some(fixture::FIXTURE_FEE_BPS);
            json.amounts = allocation
                .payouts
                .iter()
                .map(|p| p.amount.to_sat().to_string())
                .collect();
            json.dust = Some(allocation.dust.to_sat().to_string());
            write_json(Some(&out), &json)
        }
    }
}

fn setup(slots: u64, out: &Path, seed: Option<&str>) -> Result<()> {
    if !slots.is_power_of_two() || slots < 2 {
        bail!("--slots {slots}: N must be a power of two from 2 to 2^24");
    }
    let params = circuits::PplnsParams::new(slots.trailing_zeros())
        .with_context(|| format!("--slots {slots}"))?;
    if seed.is_some() {
        eprintln!("WARNING: --insecure-seed makes a deterministic key; anyone who knows the seed can forge proofs. Devnets and tests only.");
    }
    let header =
        keys::setup(params, seed, out).with_context(|| format!("setup into {}", out.display()))?;
    eprintln!(
        "key for N = {}: {} constraints, circuit hash {}, written to {}",
        header.slots,
        header.constraints,
        header.circuit_hash,
        out.display()
    );
    Ok(())
}

fn matrices(slots: u64) -> Result<circuits::matrices::R1csMatrices> {
    if !slots.is_power_of_two() || slots < 2 {
        bail!("--slots {slots}: N must be a power of two from 2 to 2^24");
    }
    let params = circuits::PplnsParams::new(slots.trailing_zeros())
        .with_context(|| format!("--slots {slots}"))?;
    keys::build_matrices(params).with_context(|| format!("--slots {slots}"))
}

fn ceremony(step: CeremonyStep) -> Result<()> {
    match step {
        CeremonyStep::New { ptau, slots, out } => {
            let matrices = matrices(slots)?;
            let mut ptau_file =
                Ptau::open(&ptau).with_context(|| format!("--ptau {}", ptau.display()))?;
            let log = circuits::ceremony::zkey::domain_log2(
                matrices.num_constraints(),
                matrices.num_instance - 1,
            );
            let report = verify_powers(&mut ptau_file, log)
                .with_context(|| format!("--ptau {} does not verify", ptau.display()))?;
            eprintln!("{report}");
            let chain = verify_chain(&mut ptau_file)
                .with_context(|| format!("--ptau {} does not verify", ptau.display()))?;
            eprintln!("{chain}");
            let zkey = Zkey::new(&matrices, &mut ptau_file)
                .with_context(|| format!("the initial key from {}", ptau.display()))?;
            zkey.write_file(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "initial key for N = {slots} written to {}\ncircuit hash:\n{}",
                out.display(),
                format_hash(&zkey.mpc.cs_hash)
            );
            Ok(())
        }
        CeremonyStep::Contribute {
            input,
            out,
            name,
            entropy,
        } => {
            let mut zkey =
                Zkey::read(&input).with_context(|| format!("--in {}", input.display()))?;
            let mut os = [0u8; 64];
            rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut os);
            let hash = {
                let mut rng = rng::rng_from_entropy(&os, entropy.as_deref().unwrap_or(""));
                os.zeroize();
                phase2::contribute(&mut zkey, &mut rng, name)
            };
            zkey.write_file(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "contribution #{} written to {}\ncontribution hash (publish it):\n{}",
                zkey.mpc.contributions.len(),
                out.display(),
                format_hash(&hash)
            );
            Ok(())
        }
        CeremonyStep::Beacon {
            input,
            out,
            beacon,
            iterations_exp,
            name,
        } => {
            let value = hex::decode(beacon.trim_start_matches("0x"))
                .with_context(|| format!("--beacon {beacon}: not hex"))?;
            let mut zkey =
                Zkey::read(&input).with_context(|| format!("--in {}", input.display()))?;
            let hash = phase2::beacon(&mut zkey, &value, iterations_exp, Some(name))
                .context("--beacon")?;
            zkey.write_file(&out)
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "beacon contribution #{} written to {}\ncontribution hash:\n{}",
                zkey.mpc.contributions.len(),
                out.display(),
                format_hash(&hash)
            );
            Ok(())
        }
        CeremonyStep::Verify { ptau, zkey } => {
            let key = Zkey::read(&zkey).with_context(|| format!("--zkey {}", zkey.display()))?;
            let mut phase1 =
                Ptau::open(&ptau).with_context(|| format!("--ptau {}", ptau.display()))?;
            let verified = finalize::verify(&key, &mut phase1)
                .with_context(|| format!("{} does not verify", zkey.display()))?;
            println!("{}", verified.powers);
            println!("{}", verified.phase1_chain);
            print_chain(&key, verified.params, &verified.contributions);
            println!("ZKey Ok!");
            Ok(())
        }
        CeremonyStep::Finalize { ptau, zkey, out } => {
            let key = Zkey::read(&zkey).with_context(|| format!("--zkey {}", zkey.display()))?;
            let mut phase1 =
                Ptau::open(&ptau).with_context(|| format!("--ptau {}", ptau.display()))?;
            let finalize::Verified {
                params,
                matrices,
                powers,
                phase1_chain,
                contributions,
            } = finalize::verify(&key, &mut phase1)
                .with_context(|| format!("{} does not verify", zkey.display()))?;
            println!("{powers}");
            println!("{phase1_chain}");
            print_chain(&key, params, &contributions);
            finalize::write(&key, params, &matrices, &contributions, phase1.power, &out)
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "key directory for N = {} written to {} ({}, {})",
                params.slots(),
                out.display(),
                finalize::VERIFIER_SOL,
                finalize::VERIFICATION_KEY_JSON
            );
            Ok(())
        }
    }
}

fn print_chain(
    zkey: &Zkey,
    params: circuits::PplnsParams,
    summaries: &[phase2::ContributionSummary],
) {
    println!(
        "N = {} ({} variables, {} public inputs, domain {})\ncircuit hash:\n{}",
        params.slots(),
        zkey.n_vars,
        zkey.n_public,
        zkey.domain_size,
        format_hash(&zkey.mpc.cs_hash)
    );
    for (i, s) in summaries.iter().enumerate() {
        println!(
            "contribution #{} {}:\n{}",
            i + 1,
            s.name.as_deref().unwrap_or(""),
            format_hash(&s.hash)
        );
        if let Some((value, exp)) = &s.beacon {
            println!("\tbeacon {} with 2^{exp} iterations", hex::encode(value));
        }
    }
    if summaries.is_empty() {
        println!("no contribution yet: this key is insecure until someone contributes");
    }
}

fn export_snarkjs(key: &Path, proof: Option<&Path>, out: &Path) -> Result<()> {
    let (header, vk) =
        keys::load_verifying_key(key).with_context(|| format!("--key {}", key.display()))?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    finalize::write_exports(&vk, &header, out)?;
    if let Some(path) = proof {
        let json: SettlementJson = read_json(path)?;
        let groth = proof::proof_from_words(&json.proof)
            .with_context(|| format!("--proof {}", path.display()))?;
        let inputs = json
            .public_inputs
            .iter()
            .map(|d| {
                d.parse::<num_bigint::BigUint>()
                    .ok()
                    .filter(|n| n < &ark_bn254::Fr::MODULUS.into())
                    .map(ark_bn254::Fr::from)
                    .with_context(|| format!("--proof {}: public input {d:?}", path.display()))
            })
            .collect::<Result<Vec<_>>>()?;
        write_json(Some(&out.join("proof.json")), &snarkjs_json::proof(&groth))?;
        write_json(
            Some(&out.join("public.json")),
            &snarkjs_json::public_inputs(&inputs),
        )?;
    }
    eprintln!("snarkjs JSON written to {}", out.display());
    Ok(())
}

/// A 64-byte hash as snarkjs prints it: four lines of four 32-bit words.
fn format_hash(h: &[u8; 64]) -> String {
    h.chunks(16)
        .map(|line| {
            let words: Vec<String> = line.chunks(4).map(hex::encode).collect();
            format!("\t\t{}", words.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn r1cs(slots: u64, out: &Path) -> Result<()> {
    let matrices = matrices(slots)?;
    let file = File::create(out).with_context(|| format!("creating {}", out.display()))?;
    r1cs_file::write_r1cs(&matrices, file).with_context(|| format!("writing {}", out.display()))?;
    eprintln!(
        "r1cs for N = {slots}: {} wires ({} public inputs), {} constraints, written to {}",
        matrices.num_variables(),
        matrices.num_instance - 1,
        matrices.num_constraints(),
        out.display()
    );
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    serde_json::from_reader(BufReader::new(file))
        .with_context(|| format!("parsing {}", path.display()))
}

fn write_json<T: serde::Serialize>(path: Option<&Path>, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .context("writing to stdout"),
    }
}
