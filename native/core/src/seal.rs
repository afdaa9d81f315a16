//! Sealing small secrets at rest: AES-256-GCM, nonce || ciphertext || tag.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::error::{Result, S3Error};

const NONCE: usize = 12;

fn cipher(key: &[u8]) -> Result<Aes256Gcm> {
    Aes256Gcm::new_from_slice(key)
        .map_err(|_| S3Error::new("InvalidArgument", "the key must be 32 bytes"))
}

pub fn seal(key: &[u8], plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    let mut nonce = [0u8; NONCE];
    getrandom::getrandom(&mut nonce).map_err(|e| S3Error::new("InternalError", e.to_string()))?;
    let sealed = cipher(key)?
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| S3Error::new("InternalError", "encryption failed"))?;
    Ok([nonce.as_slice(), &sealed].concat())
}

pub fn unseal(key: &[u8], sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>> {
    if sealed.len() < NONCE + 16 {
        return Err(S3Error::new("InvalidArgument", "sealed data is too short"));
    }
    let (nonce, body) = sealed.split_at(NONCE);
    cipher(key)?
        .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
        .map_err(|_| S3Error::new("InvalidArgument", "wrong key or altered data"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper_detection() {
        let key = [7u8; 32];
        let sealed = seal(&key, b"secret", b"ctx").unwrap();
        assert_eq!(unseal(&key, &sealed, b"ctx").unwrap(), b"secret");
        assert!(unseal(&[8u8; 32], &sealed, b"ctx").is_err());
        assert!(unseal(&key, &sealed, b"other").is_err());
        let mut bad = sealed.clone();
        bad[NONCE] ^= 1;
        assert!(unseal(&key, &bad, b"ctx").is_err());
    }
}
