//! The ceremony's files as a participant or auditor receives them from
//! others: a circuit's `.r1cs`, a phase-2 `.zkey` and a phase-1 `.ptau`, on
//! arbitrary bytes. The first byte picks the parser; the rest is the file.
//! A corrupt or hostile file is an error, never a panic; an `.r1cs` that
//! reads writes back to bytes that read to the same matrices, and a `.zkey`
//! that reads writes back to a file that reads to the same key.
#![no_main]

use std::io::Write;

use circuits::ceremony::ptau::Ptau;
use circuits::ceremony::r1cs_file::{read_r1cs, write_r1cs};
use circuits::ceremony::zkey::Zkey;
use libfuzzer_sys::fuzz_target;

fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().expect("a temporary file");
    f.write_all(bytes).expect("writes");
    f
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(m) = read_r1cs(body) {
                let mut out = Vec::new();
                write_r1cs(&m, &mut out).expect("a read circuit writes");
                let again = read_r1cs(&out[..]).expect("what we wrote reads");
                assert_eq!(again.num_constraints(), m.num_constraints());
                assert_eq!(again.num_variables(), m.num_variables());
            }
        }
        1 => {
            let f = file(body);
            if let Ok(key) = Zkey::read(f.path()) {
                let out = tempfile::NamedTempFile::new().expect("a temporary file");
                key.write_file(out.path()).expect("a read key writes");
                assert_eq!(Zkey::read(out.path()).expect("what we wrote reads"), key);
            }
        }
        _ => {
            let f = file(body);
            if let Ok(mut ptau) = Ptau::open(f.path()) {
                let _ = ptau.alpha_beta();
                let _ = ptau.tau_g1(0, 2);
                let _ = ptau.lagrange_g1(circuits::ceremony::ptau::G1Series::Tau, 1);
                let _ = ptau.lagrange_g2(1);
            }
        }
    }
});
