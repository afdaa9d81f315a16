//! One-pass computation of the checksums S3 knows, and S3's ETags.

use crate::error::{Result, S3Error};
use sha1::Sha1;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha1,
    Sha256,
    Crc32,
    Crc32c,
    Crc64Nvme,
}

pub const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::Md5,
    Algorithm::Sha1,
    Algorithm::Sha256,
    Algorithm::Crc32,
    Algorithm::Crc32c,
    Algorithm::Crc64Nvme,
];

impl Algorithm {
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "md5",
            Algorithm::Sha1 => "sha1",
            Algorithm::Sha256 => "sha256",
            Algorithm::Crc32 => "crc32",
            Algorithm::Crc32c => "crc32c",
            Algorithm::Crc64Nvme => "crc64nvme",
        }
    }

    pub fn from_name(name: &str) -> Result<Self> {
        ALGORITHMS
            .iter()
            .copied()
            .find(|a| a.name() == name)
            .ok_or_else(|| S3Error::new("InvalidArgument", format!("unknown checksum {name}")))
    }
}

/// MD5 through OpenSSL's libcrypto: its assembly runs about 20% faster than the pure-Rust
/// crates on x86-64 (bench/micro), and MD5 bounds the speed of every upload.
#[derive(Clone)]
struct OpensslMd5(openssl::hash::Hasher);

impl OpensslMd5 {
    fn new() -> Self {
        OpensslMd5(
            openssl::hash::Hasher::new(openssl::hash::MessageDigest::md5())
                .expect("OpenSSL provides MD5"),
        )
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data).expect("MD5 update cannot fail");
    }

    fn finalize(mut self) -> Vec<u8> {
        self.0.finish().expect("MD5 finish cannot fail").to_vec()
    }
}

#[derive(Clone)]
enum State {
    Md5(OpensslMd5),
    Sha1(Sha1),
    Sha256(Sha256),
    Crc32(crc32fast::Hasher),
    Crc32c(u32),
    Crc64Nvme(crc64fast_nvme::Digest),
}

impl State {
    fn new(algorithm: Algorithm) -> Self {
        match algorithm {
            Algorithm::Md5 => State::Md5(OpensslMd5::new()),
            Algorithm::Sha1 => State::Sha1(Sha1::new()),
            Algorithm::Sha256 => State::Sha256(Sha256::new()),
            Algorithm::Crc32 => State::Crc32(crc32fast::Hasher::new()),
            Algorithm::Crc32c => State::Crc32c(0),
            Algorithm::Crc64Nvme => State::Crc64Nvme(crc64fast_nvme::Digest::new()),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            State::Md5(h) => h.update(data),
            State::Sha1(h) => h.update(data),
            State::Sha256(h) => h.update(data),
            State::Crc32(h) => h.update(data),
            State::Crc32c(crc) => *crc = crc32c::crc32c_append(*crc, data),
            State::Crc64Nvme(h) => h.write(data),
        }
    }

    fn digest(&self) -> Vec<u8> {
        match self.clone() {
            State::Md5(h) => h.finalize(),
            State::Sha1(h) => h.finalize().to_vec(),
            State::Sha256(h) => h.finalize().to_vec(),
            State::Crc32(h) => h.finalize().to_be_bytes().to_vec(),
            State::Crc32c(crc) => crc.to_be_bytes().to_vec(),
            State::Crc64Nvme(h) => h.sum64().to_be_bytes().to_vec(),
        }
    }
}

/// Computes several checksums over the same bytes in one pass.
#[derive(Clone)]
pub struct MultiHasher {
    states: Vec<(Algorithm, State)>,
}

impl MultiHasher {
    pub fn new(algorithms: &[Algorithm]) -> Self {
        let mut states: Vec<(Algorithm, State)> = Vec::new();
        for &a in algorithms {
            if !states.iter().any(|(have, _)| *have == a) {
                states.push((a, State::new(a)));
            }
        }
        MultiHasher { states }
    }

    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self> {
        let algorithms = names
            .iter()
            .map(|n| Algorithm::from_name(n.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        Ok(MultiHasher::new(&algorithms))
    }

    pub fn update(&mut self, data: &[u8]) {
        for (_, state) in self.states.iter_mut() {
            state.update(data);
        }
    }

    pub fn digests(&self) -> Vec<(Algorithm, Vec<u8>)> {
        self.states.iter().map(|(a, s)| (*a, s.digest())).collect()
    }

    pub fn digest_of(&self, algorithm: Algorithm) -> Option<Vec<u8>> {
        self.states
            .iter()
            .find(|(a, _)| *a == algorithm)
            .map(|(_, s)| s.digest())
    }
}

pub fn digest(algorithm: Algorithm, data: &[u8]) -> Vec<u8> {
    let mut state = State::new(algorithm);
    state.update(data);
    state.digest()
}

/// The ETag of a multipart object: hex(md5(md5_1 || ... || md5_n)) + "-n".
pub fn multipart_etag(part_md5s: &[&[u8]]) -> String {
    let mut h = OpensslMd5::new();
    for part in part_md5s {
        h.update(part);
    }
    format!("{}-{}", hex::encode(h.finalize()), part_md5s.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECK: &[u8] = b"123456789";

    fn hexd(a: Algorithm, data: &[u8]) -> String {
        hex::encode(digest(a, data))
    }

    #[test]
    fn known_vectors() {
        assert_eq!(
            hexd(Algorithm::Md5, b""),
            "d41d8cd98f00b204e9800998ecf8427e"
        );
        assert_eq!(
            hexd(Algorithm::Md5, b"abc"),
            "900150983cd24fb0d6963f7d28e17f72"
        );
        assert_eq!(
            hexd(Algorithm::Sha1, b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(
            hexd(Algorithm::Sha256, b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hexd(Algorithm::Crc32, CHECK), "cbf43926");
        assert_eq!(hexd(Algorithm::Crc32c, CHECK), "e3069283");
        assert_eq!(hexd(Algorithm::Crc64Nvme, CHECK), "ae8b14860a799888");
    }

    #[test]
    fn one_pass_equals_separate_and_chunking_does_not_matter() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut h = MultiHasher::new(&ALGORITHMS);
        for piece in data.chunks(777) {
            h.update(piece);
        }
        for (a, d) in h.digests() {
            assert_eq!(d, digest(a, &data), "{}", a.name());
        }
    }

    #[test]
    fn multipart_etag_of_two_parts() {
        let a = digest(Algorithm::Md5, b"a");
        let b = digest(Algorithm::Md5, b"b");
        let mut both = a.clone();
        both.extend_from_slice(&b);
        let expected = format!("{}-2", hexd(Algorithm::Md5, &both));
        assert_eq!(multipart_etag(&[&a, &b]), expected);
    }

    #[test]
    fn unknown_name_is_an_error() {
        assert!(Algorithm::from_name("md4").is_err());
    }
}
