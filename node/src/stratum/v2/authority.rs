//! The authority key file: created on first start with owner-only
//! permissions, read on every later start, refused when others can read it
//! (whoever holds the secret can impersonate the pool to every miner that
//! pinned its key).
//!
//! ```toml
//! # Stratum V2 authority key of this pool. Keep it secret.
//! public = "9auqWEz…"   # what miners pin (printed at start)
//! secret = "…"
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use shareproof_stratum::v2::{AuthorityKeyError, AuthorityKeypair};

/// Errors of the authority key file.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityFileError {
    /// Reading or writing the file failed.
    #[error("authority key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Others may read the file: the pool's identity is not safe.
    #[error(
        "authority key file {path} is readable by others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file is not the TOML above.
    #[error("authority key file {path}: {source}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: toml::de::Error,
    },
    /// A key in the file does not parse or the halves do not match.
    #[error("authority key file {path}: {source}")]
    Key {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: AuthorityKeyError,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    public: String,
    secret: String,
}

/// Reads the key at `path`, or creates one there (mode 0600) if there is
/// no file yet.
///
/// # Errors
/// [`AuthorityFileError`].
pub fn load_or_create(path: &Path) -> Result<AuthorityKeypair, AuthorityFileError> {
    let io = |source| AuthorityFileError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            check_permissions(path)?;
            let file: KeyFile =
                toml::from_str(&text).map_err(|source| AuthorityFileError::Format {
                    path: path.to_owned(),
                    source,
                })?;
            AuthorityKeypair::parse(&file.secret, Some(&file.public)).map_err(|source| {
                AuthorityFileError::Key {
                    path: path.to_owned(),
                    source,
                }
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = AuthorityKeypair::generate();
            let file = KeyFile {
                public: key.public().to_string(),
                secret: key.secret_string(),
            };
            let text = format!(
                "# Stratum V2 authority key of this pool. Keep it secret: whoever\n# holds it can impersonate the pool to miners that pinned `public`.\n{}",
                toml::to_string(&file).expect("two strings serialise")
            );
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(io)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut out = options.open(path).map_err(io)?;
            out.write_all(text.as_bytes()).map_err(io)?;
            out.sync_all().map_err(io)?;
            tracing::info!(path = %path.display(), public = %key.public(), "created the Stratum V2 authority key");
            Ok(key)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(unix)]
fn check_permissions(path: &Path) -> Result<(), AuthorityFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|source| AuthorityFileError::Io {
            path: path.to_owned(),
            source,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(AuthorityFileError::Permissions {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_permissions(_: &Path) -> Result<(), AuthorityFileError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_once_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authority-key.toml");
        let first = load_or_create(&path).unwrap();
        let again = load_or_create(&path).unwrap();
        assert_eq!(first.public(), again.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_readable_or_corrupt_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("authority-key.toml");
        load_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                load_or_create(&path),
                Err(AuthorityFileError::Permissions { mode: 0o644, .. })
            ));
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let other = AuthorityKeypair::generate();
        let line = text.lines().find(|l| l.starts_with("public")).unwrap();
        std::fs::write(
            &path,
            text.replace(line, &format!("public = \"{}\"", other.public())),
        )
        .unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(AuthorityFileError::Key {
                source: AuthorityKeyError::Mismatch,
                ..
            })
        ));
        std::fs::write(&path, "not toml [").unwrap();
        assert!(matches!(
            load_or_create(&path),
            Err(AuthorityFileError::Format { .. })
        ));
    }
}
