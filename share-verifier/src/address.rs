//! Payout identities (DESIGN item 1): the 20-byte EVM address a miner is paid
//! to, taken from the Stratum username `0x<40 hex>[.<worker>]`.
//!
//! Mixed-case addresses must carry a valid EIP-55 checksum, so a typo in a
//! checksummed address is caught at `mining.authorize` instead of paying a
//! stranger. The zero address is refused as a payee: it marks empty window
//! slots and the padding of the payout list.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tiny_keccak::{Hasher, Keccak};

/// Longest worker name accepted after the address, in bytes.
pub const MAX_WORKER_LEN: usize = 64;

/// Errors of address and username parsing, each naming the offending input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Missing `0x` prefix.
    #[error("payout address {0:?} does not start with 0x")]
    MissingPrefix(String),
    /// Not 40 hex digits after `0x`.
    #[error("payout address {input:?} must be 0x followed by 40 hex digits, got {len} characters")]
    Length { input: String, len: usize },
    /// A character that is not a hex digit.
    #[error("payout address {0:?} contains a character that is not a hex digit")]
    NotHex(String),
    /// Mixed case whose EIP-55 checksum does not match.
    #[error("payout address {input:?} has a wrong EIP-55 checksum (expected {expected})")]
    Checksum { input: String, expected: String },
    /// The zero address cannot be paid.
    #[error("payout address 0x0000000000000000000000000000000000000000 is not allowed")]
    Zero,
    /// The worker name after the dot is empty, too long or has odd characters.
    #[error(
        "worker name {0:?} must be 1 to 64 characters of letters, digits, '-', '_', '.' or ':'"
    )]
    Worker(String),
}

/// A 20-byte EVM address: who a share pays.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Address(pub [u8; 20]);

impl Address {
    /// The zero address: empty slots and payout-list padding, never a payee.
    pub const ZERO: Address = Address([0; 20]);

    /// Whether this is the zero address.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 20]
    }

    /// The address as a BN254 field element (a 160-bit big-endian integer).
    #[cfg(feature = "window")]
    pub fn to_field(&self) -> ark_bn254::Fr {
        use ark_ff::PrimeField;
        ark_bn254::Fr::from_be_bytes_mod_order(&self.0)
    }

    /// The EIP-55 checksummed spelling, `0x` included.
    pub fn to_checksum(&self) -> String {
        let lower = hex::encode(self.0);
        let mut hash = [0u8; 32];
        let mut keccak = Keccak::v256();
        keccak.update(lower.as_bytes());
        keccak.finalize(&mut hash);
        let mut out = String::with_capacity(42);
        out.push_str("0x");
        for (i, c) in lower.chars().enumerate() {
            let nibble = (hash[i / 2] >> if i % 2 == 0 { 4 } else { 0 }) & 0xf;
            if c.is_ascii_alphabetic() && nibble >= 8 {
                out.push(c.to_ascii_uppercase());
            } else {
                out.push(c);
            }
        }
        out
    }
}

impl FromStr for Address {
    type Err = AddressError;

    /// Parses `0x` + 40 hex digits. All-lowercase and all-uppercase spellings
    /// are accepted as they are; a mixed-case spelling must match EIP-55.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let digits = input
            .strip_prefix("0x")
            .or_else(|| input.strip_prefix("0X"))
            .ok_or_else(|| AddressError::MissingPrefix(input.to_owned()))?;
        if digits.len() != 40 {
            return Err(AddressError::Length {
                input: input.to_owned(),
                len: digits.len(),
            });
        }
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(digits, &mut bytes)
            .map_err(|_| AddressError::NotHex(input.to_owned()))?;
        let address = Address(bytes);
        let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
        let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
        if has_lower && has_upper {
            let expected = address.to_checksum();
            if expected[2..] != *digits {
                return Err(AddressError::Checksum {
                    input: input.to_owned(),
                    expected,
                });
            }
        }
        Ok(address)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_checksum())
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.to_checksum())
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A parsed Stratum username: the payout address and an optional worker name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username {
    /// Who the worker's shares pay; never the zero address.
    pub address: Address,
    /// The rig's name, for statistics only; it never changes who is paid.
    pub worker: Option<String>,
}

impl FromStr for Username {
    type Err = AddressError;

    /// Parses `0x<40 hex>[.<worker>]`.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let (address, worker) = match input.split_once('.') {
            Some((address, worker)) => (address, Some(worker)),
            None => (input, None),
        };
        let address: Address = address.parse()?;
        if address.is_zero() {
            return Err(AddressError::Zero);
        }
        let worker = match worker {
            None => None,
            Some(w) => {
                let valid = !w.is_empty()
                    && w.len() <= MAX_WORKER_LEN
                    && w.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
                if !valid {
                    return Err(AddressError::Worker(w.to_owned()));
                }
                Some(w.to_owned())
            }
        };
        Ok(Username { address, worker })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // EIP-55's published examples.
    const EIP55: [&str; 4] = [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ];

    #[test]
    fn eip55_examples_round_trip() {
        for s in EIP55 {
            let a: Address = s.parse().unwrap();
            assert_eq!(a.to_checksum(), s);
            assert_eq!(s.to_lowercase().parse::<Address>().unwrap(), a);
        }
    }

    #[test]
    fn wrong_checksum_is_rejected_with_the_expected_spelling() {
        let bad = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD";
        match bad.parse::<Address>() {
            Err(AddressError::Checksum { expected, .. }) => assert_eq!(expected, EIP55[0]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn usernames_parse_address_and_worker() {
        let u: Username = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed.rig-1"
            .parse()
            .unwrap();
        assert_eq!(u.address.to_checksum(), EIP55[0]);
        assert_eq!(u.worker.as_deref(), Some("rig-1"));
        let u: Username = EIP55[1].parse().unwrap();
        assert_eq!(u.worker, None);
    }

    #[test]
    fn bad_usernames_are_rejected() {
        assert!(matches!(
            "tb1qyazxde6558qj6z3d9np5e6msmrspwpf6k0qggk".parse::<Username>(),
            Err(AddressError::MissingPrefix(_))
        ));
        assert!(matches!(
            "0x1234".parse::<Username>(),
            Err(AddressError::Length { len: 4, .. })
        ));
        assert!(matches!(
            "0xzz5aeb6053f3e94c9b9a09f33669435e7ef1beaed".parse::<Username>(),
            Err(AddressError::Length { .. })
        ));
        assert!(matches!(
            "0xzzaeb6053f3e94c9b9a09f33669435e7ef1beaed".parse::<Username>(),
            Err(AddressError::NotHex(_))
        ));
        assert_eq!(
            "0x0000000000000000000000000000000000000000".parse::<Username>(),
            Err(AddressError::Zero)
        );
        assert!(matches!(
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed.".parse::<Username>(),
            Err(AddressError::Worker(_))
        ));
        assert!(matches!(
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed.a b".parse::<Username>(),
            Err(AddressError::Worker(_))
        ));
    }

    #[cfg(feature = "window")]
    #[test]
    fn address_as_field_is_big_endian() {
        let mut bytes = [0u8; 20];
        bytes[19] = 7;
        assert_eq!(Address(bytes).to_field(), ark_bn254::Fr::from(7u64));
    }
}
