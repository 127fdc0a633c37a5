//! Where the node's (and a miner's) EVM key comes from: a file holding the
//! hex private key, an encrypted JSON keystore (Foundry's `cast wallet
//! import` format, the Web3 Secret Storage standard) with its password from
//! a file or the environment, or an environment variable. Never the command
//! line, where every user of the machine can read it.

use std::path::PathBuf;

use alloy::signers::local::PrivateKeySigner;

/// The environment variable read when no key file or keystore is given.
pub const KEY_ENV: &str = "SHAREPROOF_PRIVATE_KEY";
/// The environment variable holding a keystore's password when no password file is given.
pub const KEYSTORE_PASSWORD_ENV: &str = "SHAREPROOF_KEYSTORE_PASSWORD";

/// Where to read a signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerSource {
    /// A file whose content is the private key in hex (with or without `0x`).
    KeyFile(PathBuf),
    /// An encrypted JSON keystore; the password from the file, or from
    /// [`KEYSTORE_PASSWORD_ENV`] when `None`.
    Keystore {
        /// The keystore file (e.g. `~/.foundry/keystores/<name>`).
        path: PathBuf,
        /// A file holding the password.
        password_file: Option<PathBuf>,
    },
    /// The named environment variable holds the hex private key.
    Env(String),
}

/// Errors of loading a key, each naming where it was read.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The environment variable is not set.
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    /// The text is not a private key.
    #[error("{from}: not a hex secp256k1 private key")]
    BadKey {
        /// Where the text came from.
        from: String,
    },
    /// The keystore could not be decrypted.
    #[error("keystore {}: {source}", .path.display())]
    Keystore {
        /// The keystore.
        path: PathBuf,
        /// Why (a wrong password reads as a MAC mismatch).
        source: alloy::signers::local::LocalSignerError,
    },
}

impl SignerSource {
    /// Loads the key.
    ///
    /// # Errors
    /// [`SignerError`] naming the source and what was wrong.
    pub fn load(&self) -> Result<PrivateKeySigner, SignerError> {
        match self {
            SignerSource::KeyFile(path) => {
                let text = read(path)?;
                parse_key(&text, &path.display().to_string())
            }
            SignerSource::Env(var) => {
                let text = std::env::var(var).map_err(|_| SignerError::MissingEnv(var.clone()))?;
                parse_key(&text, &format!("${var}"))
            }
            SignerSource::Keystore {
                path,
                password_file,
            } => {
                let password = match password_file {
                    Some(p) => read(p)?.trim_end_matches(['\n', '\r']).to_owned(),
                    None => std::env::var(KEYSTORE_PASSWORD_ENV)
                        .map_err(|_| SignerError::MissingEnv(KEYSTORE_PASSWORD_ENV.to_owned()))?,
                };
                PrivateKeySigner::decrypt_keystore(path, password).map_err(|source| {
                    SignerError::Keystore {
                        path: path.clone(),
                        source,
                    }
                })
            }
        }
    }
}

fn read(path: &PathBuf) -> Result<String, SignerError> {
    std::fs::read_to_string(path).map_err(|source| SignerError::Read {
        path: path.clone(),
        source,
    })
}

fn parse_key(text: &str, from: &str) -> Result<PrivateKeySigner, SignerError> {
    text.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| SignerError::BadKey {
            from: from.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Anvil's first development key and its address.
    const KEY: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
    const ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";

    #[test]
    fn a_key_file_loads_and_garbage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, format!("{KEY}\n")).unwrap();
        let signer = SignerSource::KeyFile(path.clone()).load().unwrap();
        assert_eq!(signer.address().to_checksum(None), ADDRESS);
        std::fs::write(&path, "not a key").unwrap();
        let err = SignerSource::KeyFile(path.clone()).load().unwrap_err();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        let err = SignerSource::Env("SHAREPROOF_TEST_UNSET_KEY".into())
            .load()
            .unwrap_err();
        assert!(matches!(err, SignerError::MissingEnv(_)));
    }

    #[test]
    fn a_keystore_decrypts_with_its_password_only() {
        let dir = tempfile::tempdir().unwrap();
        let mut rng = rand::thread_rng();
        let key = alloy::hex::decode(KEY).unwrap();
        PrivateKeySigner::encrypt_keystore(dir.path(), &mut rng, key, "hunter2", Some("k"))
            .unwrap();
        // Written under the name given (as `cast wallet import NAME` does).
        let path = dir.path().join("k");
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "hunter2\n").unwrap();
        let source = SignerSource::Keystore {
            path: path.clone(),
            password_file: Some(pw.clone()),
        };
        assert_eq!(source.load().unwrap().address().to_checksum(None), ADDRESS);
        std::fs::write(&pw, "wrong").unwrap();
        assert!(matches!(source.load(), Err(SignerError::Keystore { .. })));
    }
}
