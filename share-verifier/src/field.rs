//! Encodings of BN254 scalars (the field every window hash lives in): 32
//! big-endian bytes, the way the coinbase commitment, the contracts
//! (`uint256`) and JSON files (`0x` + 64 hex digits) write them.

use ark_bn254::Fr;
use ark_ff::{BigInteger, PrimeField};

/// Errors of field element decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Not `0x` + 64 hex digits (the prefix is optional).
    #[error("field element {0:?} is not 64 hex digits")]
    Hex(String),
    /// The integer is not below the BN254 scalar field order r.
    #[error("field element 0x{0} is not below the BN254 scalar field order")]
    NotCanonical(String),
}

/// 32 big-endian bytes of a field element.
pub fn to_be_bytes(value: &Fr) -> [u8; 32] {
    let bytes = value.into_bigint().to_bytes_be();
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes);
    out
}

/// A field element from 32 big-endian bytes that must already be below r.
///
/// # Errors
/// [`FieldError::NotCanonical`] for integers not below r (no silent reduction).
pub fn from_be_bytes(bytes: [u8; 32]) -> Result<Fr, FieldError> {
    let value = Fr::from_be_bytes_mod_order(&bytes);
    if to_be_bytes(&value) != bytes {
        return Err(FieldError::NotCanonical(hex::encode(bytes)));
    }
    Ok(value)
}

/// `0x` + 64 lowercase hex digits.
pub fn to_hex(value: &Fr) -> String {
    format!("0x{}", hex::encode(to_be_bytes(value)))
}

/// Parses `0x` + 64 hex digits (prefix optional) into a canonical element.
///
/// # Errors
/// [`FieldError::Hex`] or [`FieldError::NotCanonical`].
pub fn from_hex(input: &str) -> Result<Fr, FieldError> {
    let digits = input.strip_prefix("0x").unwrap_or(input);
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(digits, &mut bytes).map_err(|_| FieldError::Hex(input.to_owned()))?;
    from_be_bytes(bytes)
}

/// Serde helpers writing field elements as `0x` hex strings.
pub mod serde_hex {
    use super::*;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `0x` + 64 hex digits.
    pub fn serialize<S: Serializer>(value: &Fr, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&to_hex(value))
    }

    /// Reads `0x` + 64 hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fr, D::Error> {
        let s = String::deserialize(d)?;
        from_hex(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_refuses_non_canonical_values() {
        let x = Fr::from(123456789u64);
        assert_eq!(from_hex(&to_hex(&x)).unwrap(), x);
        // r itself is not canonical.
        let r = "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001";
        assert!(matches!(from_hex(r), Err(FieldError::NotCanonical(_))));
        assert!(matches!(from_hex("0x12"), Err(FieldError::Hex(_))));
    }
}
