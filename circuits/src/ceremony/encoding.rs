//! How snarkjs lays out field elements and curve points, and the
//! conversions to and from arkworks' types.
//!
//! - **LEM** ("little-endian Montgomery"), in `.ptau` and `.zkey` files:
//!   an affine point's coordinates in Montgomery form, little endian, `x`
//!   then `y`; an `Fq2` coordinate is `c0` then `c1`; the point at infinity
//!   is all zeros.
//! - **U** ("uncompressed"), what the transcripts hash: the same
//!   coordinates in normal form, big endian, an `Fq2` coordinate `c1` then
//!   `c0` (the byte reverse of its LEM form after leaving Montgomery); the
//!   point at infinity is all zeros.
//! - Scalars in `.r1cs` files and field headers: normal form, little endian.
//!
//! Every point read is checked to be on the curve and in the prime-order
//! subgroup: a ceremony file is untrusted input.

use ark_bn254::{Fq, Fq2, Fr, G1Affine, G2Affine};
use ark_ec::AffineRepr;
use ark_ff::{BigInt, BigInteger, PrimeField};
use rayon::prelude::*;

/// Bytes of a base-field element.
pub const FQ_BYTES: usize = 32;
/// Bytes of a scalar.
pub const FR_BYTES: usize = 32;
/// Bytes of a G1 point (affine, two coordinates).
pub const G1_BYTES: usize = 2 * FQ_BYTES;
/// Bytes of a G2 point.
pub const G2_BYTES: usize = 4 * FQ_BYTES;

/// Why bytes are not a valid element or point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// A coordinate or scalar is not below its field's modulus.
    #[error("a field element is not below the modulus")]
    NotReduced,
    /// The coordinates are not a point of the curve.
    #[error("a point is not on the curve")]
    NotOnCurve,
    /// The point is on the curve but outside the prime-order subgroup.
    #[error("a point is not in the prime-order subgroup")]
    NotInSubgroup,
    /// The buffer's length is not a whole number of elements.
    #[error("{len} bytes are not a whole number of {size}-byte elements")]
    Length { len: usize, size: usize },
}

fn limbs(bytes: &[u8]) -> BigInt<4> {
    let mut l = [0u64; 4];
    for (i, limb) in l.iter_mut().enumerate() {
        *limb = u64::from_le_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
    }
    BigInt(l)
}

fn fq_from_lem(bytes: &[u8]) -> Result<Fq, EncodingError> {
    let b = limbs(bytes);
    if b >= Fq::MODULUS {
        return Err(EncodingError::NotReduced);
    }
    Ok(Fq::new_unchecked(b))
}

fn fq_to_lem(x: &Fq, out: &mut [u8]) {
    for (i, limb) in x.0 .0.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
    }
}

/// A scalar from its normal little-endian form.
///
/// # Errors
/// [`EncodingError::NotReduced`] for a value not below r.
pub fn fr_from_le(bytes: &[u8]) -> Result<Fr, EncodingError> {
    Fr::from_bigint(limbs(bytes)).ok_or(EncodingError::NotReduced)
}

/// A scalar's normal little-endian form.
pub fn fr_to_le(x: &Fr) -> [u8; FR_BYTES] {
    let mut out = [0u8; FR_BYTES];
    out.copy_from_slice(&x.into_bigint().to_bytes_le());
    out
}

/// A G1 point from its LEM form, checked.
///
/// # Errors
/// [`EncodingError`] when the bytes are not a point of the subgroup.
pub fn g1_from_lem(bytes: &[u8]) -> Result<G1Affine, EncodingError> {
    if bytes[..G1_BYTES].iter().all(|b| *b == 0) {
        return Ok(G1Affine::zero());
    }
    let p = G1Affine::new_unchecked(fq_from_lem(&bytes[..32])?, fq_from_lem(&bytes[32..64])?);
    if !p.is_on_curve() {
        return Err(EncodingError::NotOnCurve);
    }
    // BN254's G1 has cofactor one: every curve point is in the subgroup.
    Ok(p)
}

/// A G1 point's LEM form.
pub fn g1_to_lem(p: &G1Affine, out: &mut [u8]) {
    match p.xy() {
        None => out[..G1_BYTES].fill(0),
        Some((x, y)) => {
            fq_to_lem(&x, &mut out[..32]);
            fq_to_lem(&y, &mut out[32..64]);
        }
    }
}

/// A G2 point from its LEM form, checked (including the subgroup).
///
/// # Errors
/// [`EncodingError`] when the bytes are not a point of the subgroup.
pub fn g2_from_lem(bytes: &[u8]) -> Result<G2Affine, EncodingError> {
    let p = g2_on_curve_from_lem(bytes)?;
    if !p.is_in_correct_subgroup_assuming_on_curve() {
        return Err(EncodingError::NotInSubgroup);
    }
    Ok(p)
}

/// A G2 point from its LEM form, checked to be on the curve but not to be
/// in the prime-order subgroup. The subgroup check costs a scalar
/// multiplication, most of the time it takes to read a large key's B2
/// query; only points that are then compared with known ones may skip it
/// (see [`super::zkey::Zkey::read`]).
pub fn g2_on_curve_from_lem(bytes: &[u8]) -> Result<G2Affine, EncodingError> {
    if bytes[..G2_BYTES].iter().all(|b| *b == 0) {
        return Ok(G2Affine::zero());
    }
    let x = Fq2::new(fq_from_lem(&bytes[..32])?, fq_from_lem(&bytes[32..64])?);
    let y = Fq2::new(fq_from_lem(&bytes[64..96])?, fq_from_lem(&bytes[96..128])?);
    let p = G2Affine::new_unchecked(x, y);
    if !p.is_on_curve() {
        return Err(EncodingError::NotOnCurve);
    }
    Ok(p)
}

/// A G2 point's LEM form.
pub fn g2_to_lem(p: &G2Affine, out: &mut [u8]) {
    match p.xy() {
        None => out[..G2_BYTES].fill(0),
        Some((x, y)) => {
            fq_to_lem(&x.c0, &mut out[..32]);
            fq_to_lem(&x.c1, &mut out[32..64]);
            fq_to_lem(&y.c0, &mut out[64..96]);
            fq_to_lem(&y.c1, &mut out[96..128]);
        }
    }
}

fn fq_to_be(x: &Fq, out: &mut [u8]) {
    out[..32].copy_from_slice(&x.into_bigint().to_bytes_be());
}

/// A G1 point's U form (what transcripts hash).
pub fn g1_to_u(p: &G1Affine) -> [u8; G1_BYTES] {
    let mut out = [0u8; G1_BYTES];
    if let Some((x, y)) = p.xy() {
        fq_to_be(&x, &mut out[..32]);
        fq_to_be(&y, &mut out[32..]);
    }
    out
}

/// A G2 point's U form.
pub fn g2_to_u(p: &G2Affine) -> [u8; G2_BYTES] {
    let mut out = [0u8; G2_BYTES];
    if let Some((x, y)) = p.xy() {
        fq_to_be(&x.c1, &mut out[..32]);
        fq_to_be(&x.c0, &mut out[32..64]);
        fq_to_be(&y.c1, &mut out[64..96]);
        fq_to_be(&y.c0, &mut out[96..]);
    }
    out
}

fn chunks(bytes: &[u8], size: usize) -> Result<std::slice::Chunks<'_, u8>, EncodingError> {
    if !bytes.len().is_multiple_of(size) {
        return Err(EncodingError::Length {
            len: bytes.len(),
            size,
        });
    }
    Ok(bytes.chunks(size))
}

/// G1 points from consecutive LEM forms, decoded and checked in parallel.
///
/// # Errors
/// The first [`EncodingError`] met, with the point's index.
pub fn g1s_from_lem(bytes: &[u8]) -> Result<Vec<G1Affine>, (usize, EncodingError)> {
    let c = chunks(bytes, G1_BYTES).map_err(|e| (0, e))?;
    c.collect::<Vec<_>>()
        .par_iter()
        .enumerate()
        .map(|(i, b)| g1_from_lem(b).map_err(|e| (i, e)))
        .collect()
}

/// G2 points from consecutive LEM forms, decoded and checked in parallel.
///
/// # Errors
/// The first [`EncodingError`] met, with the point's index.
pub fn g2s_from_lem(bytes: &[u8]) -> Result<Vec<G2Affine>, (usize, EncodingError)> {
    g2s_with(bytes, g2_from_lem)
}

/// Consecutive LEM forms of G2 points, on the curve but not checked to be
/// in the subgroup ([`g2_on_curve_from_lem`]).
pub fn g2s_on_curve_from_lem(bytes: &[u8]) -> Result<Vec<G2Affine>, (usize, EncodingError)> {
    g2s_with(bytes, g2_on_curve_from_lem)
}

fn g2s_with(
    bytes: &[u8],
    read: fn(&[u8]) -> Result<G2Affine, EncodingError>,
) -> Result<Vec<G2Affine>, (usize, EncodingError)> {
    let c = chunks(bytes, G2_BYTES).map_err(|e| (0, e))?;
    c.collect::<Vec<_>>()
        .par_iter()
        .enumerate()
        .map(|(i, b)| read(b).map_err(|e| (i, e)))
        .collect()
}

/// Consecutive LEM forms of G1 points.
pub fn g1s_to_lem(points: &[G1Affine]) -> Vec<u8> {
    let mut out = vec![0u8; points.len() * G1_BYTES];
    out.par_chunks_mut(G1_BYTES)
        .zip(points.par_iter())
        .for_each(|(o, p)| g1_to_lem(p, o));
    out
}

/// Consecutive LEM forms of G2 points.
pub fn g2s_to_lem(points: &[G2Affine]) -> Vec<u8> {
    let mut out = vec![0u8; points.len() * G2_BYTES];
    out.par_chunks_mut(G2_BYTES)
        .zip(points.par_iter())
        .for_each(|(o, p)| g2_to_lem(p, o));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::{CurveGroup, PrimeGroup};
    use ark_ff::UniformRand;

    #[test]
    fn points_round_trip_and_bad_points_are_refused() {
        let mut rng = ark_std::test_rng();
        for _ in 0..8 {
            let p = (ark_bn254::G1Projective::generator() * Fr::rand(&mut rng)).into_affine();
            let q = (ark_bn254::G2Projective::generator() * Fr::rand(&mut rng)).into_affine();
            let mut b1 = [0u8; G1_BYTES];
            let mut b2 = [0u8; G2_BYTES];
            g1_to_lem(&p, &mut b1);
            g2_to_lem(&q, &mut b2);
            assert_eq!(g1_from_lem(&b1).unwrap(), p);
            assert_eq!(g2_from_lem(&b2).unwrap(), q);
            b1[40] ^= 1;
            assert!(g1_from_lem(&b1).is_err());
            b2[100] ^= 1;
            assert!(g2_from_lem(&b2).is_err());
        }
        assert_eq!(g1_from_lem(&[0u8; 64]).unwrap(), G1Affine::zero());
        assert_eq!(g1_to_u(&G1Affine::zero()), [0u8; 64]);
        assert_eq!(
            g1_from_lem(&[0xff; 64]).unwrap_err(),
            EncodingError::NotReduced
        );
    }

    #[test]
    fn generator_u_form_is_big_endian_normal() {
        let g = g1_to_u(&G1Affine::generator());
        assert_eq!(g[31], 1);
        assert_eq!(g[63], 2);
        assert!(g[..31].iter().chain(&g[32..63]).all(|b| *b == 0));
    }

    #[test]
    fn scalars_round_trip() {
        let mut rng = ark_std::test_rng();
        let x = Fr::rand(&mut rng);
        assert_eq!(fr_from_le(&fr_to_le(&x)).unwrap(), x);
        assert!(fr_from_le(&[0xff; 32]).is_err());
    }
}
