//! The trusted-setup ceremony against the real snarkjs (npm, pinned in
//! package.json, run through scripts/snarkjs.sh), on the smallest circuit
//! (N = 2, a domain of 2^11):
//! - a phase 1 made by snarkjs (`powersoftau new`, two `contribute`s,
//!   `beacon`, `prepare phase2`);
//! - our initial key byte for byte equal to `snarkjs zkey new`'s;
//! - a chain mixing our contributions with snarkjs's, ending in a beacon,
//!   that both tools verify, with the same contribution hashes;
//! - the finalized key proves, and snarkjs verifies the proof with the
//!   exported verification key (equal to snarkjs's own export), and so
//!   does the exported Solidity verifier on anvil;
//! - tampered chains (a changed point, a dropped contribution, another
//!   ptau) refused by our `verify`, naming what is wrong.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use circuits::ceremony::phase2::{self, Phase2Error};
use circuits::ceremony::ptau::Ptau;
use circuits::ceremony::zkey::Zkey;
use circuits::keys::{self, Provenance};
use circuits::pplns::PplnsParams;

const POWER: u32 = 11;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("the command starts");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn snarkjs(dir: &Path, args: &[&str]) -> String {
    let out = run(Command::new(repo().join("scripts/snarkjs.sh"))
        .current_dir(dir)
        .args(args));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// snarkjs exits 0 on a failed check for some commands; this returns
/// whether it printed its success line.
fn snarkjs_ok(dir: &Path, args: &[&str], success: &str) -> (bool, String) {
    let out = Command::new(repo().join("scripts/snarkjs.sh"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("snarkjs starts");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && text.contains(success), text)
}

fn circuits(dir: &Path, args: &[&str]) -> String {
    let out = run(Command::new(env!("CARGO_BIN_EXE_circuits"))
        .current_dir(dir)
        .args(args));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The directory holding the shared phase 1, made by snarkjs: `pot.ptau`
/// (`powersoftau new`, two `contribute`s, `beacon`, `prepare phase2`) and
/// `other.ptau` (the first contribution alone, prepared: another tau).
/// Making them takes minutes, so they are made once per machine and kept in
/// `$SHAREPROOF_CACHE/ptau-snarkjs-<version>-power11/` (default
/// `~/.cache/shareproof`), keyed by the installed snarkjs's version.
fn phase1() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let manifest: serde_json::Value = serde_json::from_slice(
            &std::fs::read(repo().join("node_modules/snarkjs/package.json"))
                .expect("snarkjs is installed (scripts/install-toolchain.sh)"),
        )
        .unwrap();
        let version = manifest["version"].as_str().unwrap();
        let cache = std::env::var_os("SHAREPROOF_CACHE")
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME").map(|c| PathBuf::from(c).join("shareproof"))
            })
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/shareproof"))
            })
            .expect("HOME is set");
        let dir = cache.join(format!("ptau-snarkjs-{version}-power{POWER}"));
        if dir.join("pot.ptau").exists() && dir.join("other.ptau").exists() {
            return dir;
        }
        std::fs::create_dir_all(&cache).unwrap();
        let work = tempfile::tempdir_in(&cache).unwrap();
        let d = work.path();
        let p = POWER.to_string();
        snarkjs(d, &["powersoftau", "new", "bn128", &p, "pot_0.ptau"]);
        snarkjs(
            d,
            &[
                "powersoftau",
                "contribute",
                "pot_0.ptau",
                "pot_1.ptau",
                "--name=first",
                "-e=first entropy",
            ],
        );
        snarkjs(
            d,
            &[
                "powersoftau",
                "contribute",
                "pot_1.ptau",
                "pot_2.ptau",
                "--name=second",
                "-e=second entropy",
            ],
        );
        snarkjs(
            d,
            &[
                "powersoftau",
                "beacon",
                "pot_2.ptau",
                "pot_3.ptau",
                "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20",
                "10",
                "-n=final",
            ],
        );
        snarkjs(
            d,
            &["powersoftau", "prepare", "phase2", "pot_3.ptau", "pot.ptau"],
        );
        snarkjs(
            d,
            &[
                "powersoftau",
                "prepare",
                "phase2",
                "pot_1.ptau",
                "other.ptau",
            ],
        );
        for f in ["pot_0.ptau", "pot_1.ptau", "pot_2.ptau", "pot_3.ptau"] {
            std::fs::remove_file(d.join(f)).unwrap();
        }
        // Another test binary may have finished first: either copy will do.
        let _ = std::fs::rename(work.keep(), &dir);
        dir
    })
}

/// snarkjs prints a hash as four lines of four 8-hex-digit words.
fn words(hash_hex: &str) -> String {
    hash_hex
        .as_bytes()
        .chunks(8)
        .map(|w| std::str::from_utf8(w).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_mixed_chain_verifies_in_both_tools_and_its_key_proves_for_snarkjs() {
    let ptau = phase1().join("pot.ptau");
    let work = tempfile::tempdir().unwrap();
    let d = work.path();
    let ptau = ptau.to_str().unwrap();
    circuits(d, &["r1cs", "--slots", "2", "--out", "c.r1cs"]);

    // The initial key: ours is snarkjs's, byte for byte.
    circuits(
        d,
        &[
            "ceremony",
            "new",
            "--ptau",
            ptau,
            "--slots",
            "2",
            "--out",
            "0000.zkey",
        ],
    );
    snarkjs(d, &["zkey", "new", "c.r1cs", ptau, "snarkjs_0000.zkey"]);
    assert!(
        std::fs::read(d.join("0000.zkey")).unwrap()
            == std::fs::read(d.join("snarkjs_0000.zkey")).unwrap(),
        "our initial key differs from snarkjs zkey new's"
    );

    // alice (ours) → bob (snarkjs) → carol (ours) → beacon (ours).
    let alice = circuits(
        d,
        &[
            "ceremony",
            "contribute",
            "--in",
            "0000.zkey",
            "--out",
            "0001.zkey",
            "--name",
            "alice",
            "--entropy",
            "typed text",
        ],
    );
    assert!(alice.contains("contribution hash"), "{alice}");
    snarkjs(
        d,
        &[
            "zkey",
            "contribute",
            "0001.zkey",
            "0002.zkey",
            "--name=bob",
            "-e=bob's entropy",
        ],
    );
    circuits(
        d,
        &[
            "ceremony",
            "contribute",
            "--in",
            "0002.zkey",
            "--out",
            "0003.zkey",
            "--name",
            "carol",
        ],
    );
    let beacon = "00000000000000000002a7c4c1e48d76c5a37902165a270156b7a8d72728a054";
    circuits(
        d,
        &[
            "ceremony",
            "beacon",
            "--in",
            "0003.zkey",
            "--out",
            "final.zkey",
            "--beacon",
            beacon,
            "--iterations-exp",
            "10",
        ],
    );

    // snarkjs accepts the chain; finalize verifies it too (its listing is
    // `ceremony verify`'s), with the hashes snarkjs lists.
    let (ok, theirs) = snarkjs_ok(
        d,
        &["zkey", "verify", "c.r1cs", ptau, "final.zkey"],
        "ZKey Ok!",
    );
    assert!(ok, "snarkjs zkey verify refused our chain:\n{theirs}");
    let ours = circuits(
        d,
        &[
            "ceremony",
            "finalize",
            "--ptau",
            ptau,
            "--zkey",
            "final.zkey",
            "--out",
            "keys",
        ],
    );
    assert!(ours.contains("key directory for N = 2"), "{ours}");
    let key = Zkey::read(&d.join("final.zkey")).unwrap();
    assert_eq!(key.mpc.contributions.len(), 4);
    for (c, name) in key
        .mpc
        .contributions
        .iter()
        .zip(["alice", "bob", "carol", "final beacon"])
    {
        assert_eq!(c.name.as_deref(), Some(name));
        let hash = hex::encode(phase2::contribution_hash(c));
        let line = words(&hash[..32]);
        assert!(
            ours.contains(&line),
            "finalize does not list {name}'s hash:\n{ours}"
        );
        assert!(
            theirs.contains(&line),
            "snarkjs lists another hash for {name}:\n{theirs}"
        );
    }

    // The key directory records the ceremony.
    let header = keys::read_header(&d.join("keys")).unwrap();
    assert!(!header.insecure);
    match header.provenance() {
        Provenance::Ceremony(record) => {
            assert_eq!(record.ptau_power, POWER);
            assert_eq!(record.contributions.len(), 4);
            assert_eq!(record.contributions[1].name.as_deref(), Some("bob"));
            assert_eq!(record.contributions[3].beacon.as_ref().unwrap().1, 10);
        }
        other => panic!("provenance {other:?}"),
    }
    // Our verification key is snarkjs's export of the same zkey.
    snarkjs(
        d,
        &[
            "zkey",
            "export",
            "verificationkey",
            "final.zkey",
            "snarkjs_vk.json",
        ],
    );
    let read = |p: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(d.join(p)).unwrap()).unwrap()
    };
    assert_eq!(read("keys/verification_key.json"), read("snarkjs_vk.json"));

    // A proof from the ceremony key: ours verifies it, and so does snarkjs.
    circuits(
        d,
        &[
            "sample-window",
            "--slots",
            "2",
            "--miners",
            "2",
            "--out",
            "window.json",
        ],
    );
    circuits(
        d,
        &[
            "prove",
            "--key",
            "keys",
            "--window",
            "window.json",
            "--out",
            "settlement.json",
        ],
    );
    circuits(
        d,
        &["verify", "--key", "keys", "--proof", "settlement.json"],
    );
    circuits(
        d,
        &[
            "export-snarkjs",
            "--key",
            "keys",
            "--proof",
            "settlement.json",
            "--out",
            "sj",
        ],
    );
    let (ok, text) = snarkjs_ok(
        d,
        &[
            "groth16",
            "verify",
            "sj/verification_key.json",
            "sj/public.json",
            "sj/proof.json",
        ],
        "OK!",
    );
    assert!(ok, "snarkjs groth16 verify refused our proof:\n{text}");
    // ... and refuses it for other public inputs.
    let mut public = read("sj/public.json");
    public[0] = "1".into();
    std::fs::write(d.join("sj/public.json"), public.to_string()).unwrap();
    let (ok, _) = snarkjs_ok(
        d,
        &[
            "groth16",
            "verify",
            "sj/verification_key.json",
            "sj/public.json",
            "sj/proof.json",
        ],
        "OK!",
    );
    assert!(!ok, "snarkjs accepted a proof for other inputs");

    // The Solidity verifier from finalize accepts the same proof on anvil.
    let settlement = read("settlement.json");
    let words = |v: &serde_json::Value| {
        let items: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_owned())
            .collect();
        format!("[{}]", items.join(","))
    };
    let proof = words(&settlement["proof"]);
    let inputs = words(&settlement["publicInputs"]);
    let chain = Anvil::start(d);
    run(Command::new("node")
        .arg(repo().join("scripts/compile-verifier.js"))
        .arg(d.join("keys/Groth16Verifier.sol"))
        .arg(d.join("verifier.bin")));
    let code = std::fs::read_to_string(d.join("verifier.bin")).unwrap();
    let sent = cast(&[
        "send",
        "--json",
        "--rpc-url",
        &chain.url,
        "--private-key",
        ANVIL_KEY,
        "--create",
        code.trim(),
    ]);
    let receipt: serde_json::Value = serde_json::from_str(&sent).unwrap();
    let verifier = receipt["contractAddress"].as_str().unwrap().to_owned();
    let call = |inputs: &str| {
        cast(&[
            "call",
            &verifier,
            "verifyProof(uint256[8],uint256[4])(bool)",
            &proof,
            inputs,
            "--rpc-url",
            &chain.url,
        ])
    };
    assert_eq!(call(&inputs).trim(), "true");
    let mut other = settlement["publicInputs"].clone();
    other[1] = "12345".into();
    assert_eq!(call(&words(&other)).trim(), "false");
}

/// anvil's first dev account.
const ANVIL_KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

fn cast(args: &[&str]) -> String {
    let out = run(Command::new(repo().join("scripts/cast.sh")).args(args));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A local anvil, stopped on drop.
struct Anvil {
    child: std::process::Child,
    url: String,
}

impl Anvil {
    fn start(dir: &Path) -> Anvil {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(repo().join("scripts/anvil.sh"))
            .current_dir(dir)
            .args(["--port", &port.to_string(), "--silent"])
            .spawn()
            .expect("anvil starts (scripts/install-toolchain.sh)");
        let anvil = Anvil {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..300 {
            let up = Command::new(repo().join("scripts/cast.sh"))
                .args(["chain-id", "--rpc-url", &anvil.url])
                .output()
                .is_ok_and(|o| o.status.success());
            if up {
                return anvil;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        panic!("anvil did not answer on {}", anvil.url);
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The initial key of the N = 2 circuit over the shared ptau.
fn initial() -> Zkey {
    let matrices = keys::build_matrices(PplnsParams::new(1).unwrap()).unwrap();
    Zkey::new(
        &matrices,
        &mut Ptau::open(&phase1().join("pot.ptau")).unwrap(),
    )
    .unwrap()
}

fn chain_of_three(initial: &Zkey) -> Zkey {
    let mut key = initial.clone();
    for (i, name) in ["one", "two", "three"].iter().enumerate() {
        let mut rng = circuits::ceremony::rng::rng_from_entropy(&[i as u8; 64], name);
        phase2::contribute(&mut key, &mut rng, Some((*name).to_owned()));
    }
    key
}

#[test]
fn tampered_chains_are_refused_naming_what_is_wrong() {
    let initial = initial();
    let good = chain_of_three(&initial);
    assert_eq!(phase2::verify(&good, &initial).unwrap().len(), 3);

    // A changed point in a contribution's public key.
    let mut bad = good.clone();
    bad.mpc.contributions[1].g1_sx = bad.mpc.contributions[0].g1_sx;
    assert!(matches!(
        phase2::verify(&bad, &initial),
        Err(Phase2Error::Transcript { index: 2, .. })
    ));
    // A changed delta after a contribution.
    let mut bad = good.clone();
    bad.mpc.contributions[1].delta_after = bad.mpc.contributions[0].delta_after;
    let err = phase2::verify(&bad, &initial).unwrap_err();
    assert!(
        matches!(
            err,
            Phase2Error::Transcript { index: 3, .. } | Phase2Error::DeltaChain { index: 2, .. }
        ),
        "{err:?}"
    );
    // A dropped contribution.
    let mut bad = good.clone();
    bad.mpc.contributions.remove(1);
    let err = phase2::verify(&bad, &initial).unwrap_err();
    assert!(
        matches!(err, Phase2Error::Transcript { index: 2, ref name } if name.contains("three")),
        "{err}"
    );
    assert!(err.to_string().contains("contribution #2 (three)"), "{err}");
    // A changed point of the H query, or of the C query.
    let mut bad = good.clone();
    bad.h[5] = bad.h[6];
    assert_eq!(phase2::verify(&bad, &initial), Err(Phase2Error::Query("H")));
    let mut bad = good.clone();
    bad.c[0] = bad.c[1];
    assert_eq!(phase2::verify(&bad, &initial), Err(Phase2Error::Query("C")));
    // A changed A query: not this circuit.
    let mut bad = good.clone();
    bad.a[3] = bad.a[4];
    assert_eq!(
        phase2::verify(&bad, &initial),
        Err(Phase2Error::NotThisCircuit("the A query"))
    );
    // The final delta is not the last contribution's.
    let mut bad = good.clone();
    bad.delta_g1 = initial.delta_g1;
    assert_eq!(
        phase2::verify(&bad, &initial),
        Err(Phase2Error::Delta("G1"))
    );
}

#[test]
fn a_chain_is_refused_against_another_ptau() {
    // Another phase 1 (another tau): the shared chain's first contribution
    // alone, prepared.
    let ptau = phase1().join("pot.ptau");
    let other_ptau = phase1().join("other.ptau");
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let ptau = ptau.to_str().unwrap();
    circuits(
        w,
        &[
            "ceremony",
            "new",
            "--ptau",
            ptau,
            "--slots",
            "2",
            "--out",
            "0000.zkey",
        ],
    );
    circuits(
        w,
        &[
            "ceremony",
            "contribute",
            "--in",
            "0000.zkey",
            "--out",
            "0001.zkey",
            "--name",
            "x",
        ],
    );
    let out = Command::new(env!("CARGO_BIN_EXE_circuits"))
        .current_dir(w)
        .args([
            "ceremony",
            "finalize",
            "--ptau",
            other_ptau.to_str().unwrap(),
            "--zkey",
            "0001.zkey",
            "--out",
            "keys",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not for this circuit and ptau"), "{err}");
    assert!(!w.join("keys/key.json").exists());
}
