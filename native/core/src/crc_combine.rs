//! The CRC of a concatenation from the CRCs of its pieces and their lengths.
//!
//! S3's FULL_OBJECT checksums of multipart uploads are the CRC of the whole object; the parts
//! were hashed separately, so Complete combines their CRCs without reading any data. Every CRC S3
//! offers (CRC32, CRC32C, CRC64NVME) is reflected with all-ones init and xorout, for which
//! crc(A || B) = crc(A) * x^(8 * len(B)) mod P  xor  crc(B)   (zlib's crc32_combine).

use crate::checksum::Algorithm;
use crate::error::{Result, S3Error};

/// A reflected CRC polynomial of `width` bits.
#[derive(Clone, Copy)]
struct Crc {
    poly: u64, // reflected
    width: u32,
}

impl Crc {
    fn of(algorithm: Algorithm) -> Result<Self> {
        match algorithm {
            Algorithm::Crc32 => Ok(Crc {
                poly: 0xEDB8_8320,
                width: 32,
            }),
            Algorithm::Crc32c => Ok(Crc {
                poly: 0x82F6_3B78,
                width: 32,
            }),
            Algorithm::Crc64Nvme => Ok(Crc {
                poly: 0x9A6C_9329_AC4B_C9B5,
                width: 64,
            }),
            other => Err(S3Error::new(
                "InvalidRequest",
                format!("{} checksums cannot be combined", other.name()),
            )),
        }
    }

    /// x^0 in the reflected representation.
    fn one(self) -> u64 {
        1u64 << (self.width - 1)
    }

    /// a * b mod P (both reflected).
    fn multiply(self, a: u64, mut b: u64) -> u64 {
        let mut product = 0u64;
        let mut bit = self.one();
        while bit != 0 {
            if a & bit != 0 {
                product ^= b;
            }
            b = if b & 1 != 0 {
                (b >> 1) ^ self.poly
            } else {
                b >> 1
            };
            bit >>= 1;
        }
        product
    }

    /// x^(8 * bytes) mod P, by squaring: powers[k] = x^(2^k).
    fn shift_for(self, bytes: u64, powers: &[u64]) -> u64 {
        let mut result = self.one();
        let mut n = bytes;
        let mut k = 3; // 8 * bytes = bytes << 3
        while n != 0 {
            if n & 1 != 0 {
                result = self.multiply(powers[k], result);
            }
            n >>= 1;
            k += 1;
        }
        result
    }

    fn powers(self) -> Vec<u64> {
        let mut powers = Vec::with_capacity(67);
        let mut p = self.one() >> 1; // x^1
        for _ in 0..67 {
            powers.push(p);
            p = self.multiply(p, p);
        }
        powers
    }
}

/// The CRC of the concatenation of pieces given as (crc value, length in bytes), in order.
pub fn combine(algorithm: Algorithm, pieces: &[(u64, u64)]) -> Result<u64> {
    let crc = Crc::of(algorithm)?;
    let powers = crc.powers();
    let mut total = 0u64; // the CRC of nothing
    for &(value, length) in pieces {
        total = crc.multiply(crc.shift_for(length, &powers), total) ^ value;
    }
    Ok(total)
}

/// combine() over big-endian digests as S3 transmits them; returns the big-endian digest.
pub fn combine_digests(algorithm: Algorithm, pieces: &[(&[u8], u64)]) -> Result<Vec<u8>> {
    let size = if algorithm == Algorithm::Crc64Nvme {
        8
    } else {
        4
    };
    let mut values = Vec::with_capacity(pieces.len());
    for &(digest, length) in pieces {
        if digest.len() != size {
            return Err(S3Error::new(
                "InvalidRequest",
                "checksum of the wrong length",
            ));
        }
        let value = digest
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        values.push((value, length));
    }
    let total = combine(algorithm, &values)?;
    Ok(total.to_be_bytes()[8 - size..].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::digest;

    fn check(algorithm: Algorithm) {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + i / 13) as u8).collect();
        let whole = digest(algorithm, &data);
        for cuts in [
            vec![0, 10_000],
            vec![0, 1, 5000, 9999, 10_000],
            vec![0, 0, 10_000],
        ] {
            let digests: Vec<(Vec<u8>, u64)> = cuts
                .windows(2)
                .map(|w| (digest(algorithm, &data[w[0]..w[1]]), (w[1] - w[0]) as u64))
                .collect();
            let pieces: Vec<(&[u8], u64)> =
                digests.iter().map(|(d, n)| (d.as_slice(), *n)).collect();
            assert_eq!(combine_digests(algorithm, &pieces).unwrap(), whole);
        }
    }

    #[test]
    fn combined_crcs_equal_the_crc_of_the_whole() {
        check(Algorithm::Crc32);
        check(Algorithm::Crc32c);
        check(Algorithm::Crc64Nvme);
    }

    #[test]
    fn hashes_cannot_be_combined() {
        assert!(combine(Algorithm::Sha256, &[]).is_err());
    }
}
