//! The pool's authority key: the static identity behind Stratum V2's Noise
//! NX handshake. The pool signs a short-lived certificate for each
//! connection with it; a miner or proxy that pins the public key knows it
//! talks to this pool and not to someone on the way.
//!
//! Both halves print and parse in the encoding of the reference
//! implementation's configs (`authority_pubkey = "9auqWEz…"`: base58check of
//! a version and the x-only key), through its `key-utils` crate, so the
//! string the node prints pastes into a translator's config as it is.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use key_utils::{Secp256k1PublicKey, Secp256k1SecretKey};
use secp256k1_noise::{Keypair, Secp256k1, SecretKey, XOnlyPublicKey};
use stratum_core::noise_sv2::Responder;

/// Errors of reading an authority key.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityKeyError {
    /// Not a key in the reference encoding (bad base58, checksum, version
    /// or curve point).
    #[error("not an authority key in the reference encoding: {0}")]
    Encoding(#[source] key_utils::Error),
    /// The public key does not belong to the secret key.
    #[error("the authority public key does not match its secret key")]
    Mismatch,
}

/// The authority's public key, as miners pin it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorityPublicKey(XOnlyPublicKey);

impl AuthorityPublicKey {
    /// The 32-byte x-only key (what the handshake's certificate is checked against).
    pub fn to_bytes(self) -> [u8; 32] {
        self.0.serialize()
    }

    /// The key as `noise_sv2` takes it.
    pub fn x_only(self) -> XOnlyPublicKey {
        self.0
    }
}

impl fmt::Display for AuthorityPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&Secp256k1PublicKey(self.0), f)
    }
}

impl FromStr for AuthorityPublicKey {
    type Err = AuthorityKeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Secp256k1PublicKey::from_str(s.trim())
            .map(|k| AuthorityPublicKey(k.0))
            .map_err(AuthorityKeyError::Encoding)
    }
}

/// The authority's key pair. `Debug` prints the public half only.
#[derive(Clone)]
pub struct AuthorityKeypair {
    secret: SecretKey,
    public: AuthorityPublicKey,
}

impl fmt::Debug for AuthorityKeypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorityKeypair")
            .field("public", &self.public.to_string())
            .finish_non_exhaustive()
    }
}

impl AuthorityKeypair {
    /// A fresh key pair from the operating system's randomness.
    pub fn generate() -> Self {
        let secret = SecretKey::new(&mut rand::rngs::OsRng);
        Self::from_secret(secret)
    }

    fn from_secret(secret: SecretKey) -> Self {
        let keypair = Keypair::from_secret_key(&Secp256k1::new(), &secret);
        AuthorityKeypair {
            secret,
            public: AuthorityPublicKey(keypair.x_only_public_key().0),
        }
    }

    /// Reads a secret key in the reference encoding; `public`, when given,
    /// must be its public key (a file that pairs the wrong halves is refused).
    ///
    /// # Errors
    /// [`AuthorityKeyError`].
    pub fn parse(secret: &str, public: Option<&str>) -> Result<Self, AuthorityKeyError> {
        let secret = Secp256k1SecretKey::from_str(secret.trim())
            .map_err(AuthorityKeyError::Encoding)?
            .0;
        let pair = Self::from_secret(secret);
        if let Some(public) = public {
            if public.parse::<AuthorityPublicKey>()? != pair.public {
                return Err(AuthorityKeyError::Mismatch);
            }
        }
        Ok(pair)
    }

    /// The secret key in the reference encoding (for the key file only).
    pub fn secret_string(&self) -> String {
        Secp256k1SecretKey(self.secret).to_string()
    }

    /// The public key miners pin.
    pub fn public(&self) -> AuthorityPublicKey {
        self.public
    }

    /// A Noise responder for one connection: it signs a certificate valid
    /// for `validity` from now.
    pub fn responder(&self, validity: Duration) -> Box<Responder> {
        Responder::from_authority_kp(
            &self.public.to_bytes(),
            &self.secret.secret_bytes(),
            validity,
        )
        .expect("the public key is derived from the secret key")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_the_reference_encoding() {
        let pair = AuthorityKeypair::generate();
        let public = pair.public().to_string();
        let back = AuthorityKeypair::parse(&pair.secret_string(), Some(&public)).unwrap();
        assert_eq!(back.public(), pair.public());
        assert_eq!(public.parse::<AuthorityPublicKey>().unwrap(), pair.public());
        // The reference's example pool key parses.
        "9auqWEzQDVyd2oe1JVGFLMLHZtCo2FFqZwtKA5gd9xbuEu7PH72"
            .parse::<AuthorityPublicKey>()
            .unwrap();
    }

    #[test]
    fn a_mismatched_or_malformed_key_is_refused() {
        let a = AuthorityKeypair::generate();
        let b = AuthorityKeypair::generate();
        let err = AuthorityKeypair::parse(&a.secret_string(), Some(&b.public().to_string()));
        assert!(matches!(err, Err(AuthorityKeyError::Mismatch)));
        assert!(matches!(
            "not-a-key".parse::<AuthorityPublicKey>(),
            Err(AuthorityKeyError::Encoding(_))
        ));
        assert!(!format!("{a:?}").contains(&a.secret_string()));
    }
}
