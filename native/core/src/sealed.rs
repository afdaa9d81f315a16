//! Reading plaintext out of a sealed stream (encryption.rs's format) wherever it is stored: a
//! plain data file, k + m shard files, or bytes in memory. The readers address plaintext
//! offsets; an [`Opener`] turns each read into reads of exactly the sealed bytes of the
//! packages the range touches, in chunks of a few packages into one reused buffer, and opens
//! them straight into the caller's output (tags checked: a package that does not open fails
//! the read, and no byte of it is returned).
//!
//! A read that ends inside a package keeps that package's plaintext, so that the next read of
//! a sequential stream in small pieces (a paced response) neither reads nor opens it again.

use crate::encryption::{
    self, corrupt, packages, plain_span, sealed_range, sealed_span, DataKey, PackageCipher,
    SEALED_PACKAGE,
};
use crate::error::{Result, S3Error};

/// Opens the packages of one sealed stream of a known plaintext length, a range at a time.
pub struct Opener {
    cipher: PackageCipher,
    plain_len: u64,
    /// The sealed bytes of one chunk of a read, reused from read to read (fresh memory is slow
    /// to touch).
    scratch: Vec<u8>,
    /// The plaintext of one package partly in a read (see PackageCipher::open_range_into()).
    edge: Vec<u8>,
    /// The package whose plaintext `edge` holds, opened and good.
    kept: Option<u64>,
    /// How many packages have been opened (tests count them).
    opened: u64,
}

impl Opener {
    /// An opener of the sealed stream of a `plain_len`-byte plaintext, sealed under `key`.
    pub fn new(key: &DataKey, plain_len: u64) -> Self {
        Opener {
            cipher: PackageCipher::new(key),
            plain_len,
            scratch: Vec::new(),
            edge: Vec::new(),
            kept: None,
            opened: 0,
        }
    }

    pub fn plain_len(&self) -> u64 {
        self.plain_len
    }

    /// The sealed stream's length.
    pub fn sealed_len(&self) -> u64 {
        encryption::sealed_len(self.plain_len)
    }

    /// How many bytes a read of `length` from `offset` returns: the range cut at the end.
    pub fn len_at(&self, offset: u64, length: usize) -> usize {
        let end = self.plain_len.min(offset.saturating_add(length as u64));
        end.saturating_sub(offset) as usize
    }

    /// How many packages this opener has opened so far.
    pub fn opened(&self) -> u64 {
        self.opened
    }

    /// Plaintext bytes [offset, offset + out.len()) into `out`, which the range must fill (see
    /// len_at()). `read(at, buf)` fills `buf` with the sealed stream's bytes from `at` and
    /// returns how many it could (fewer only when the data ends early: the package cut short
    /// is then corrupt); it is called for chunks of at most `chunk` packages, each chunk
    /// ending on a multiple of `chunk` packages (a stripe boundary, for shards). On any error
    /// `out` is zeroed.
    pub fn read_into(
        &mut self,
        offset: u64,
        out: &mut [u8],
        chunk: u64,
        read: impl FnMut(u64, &mut [u8]) -> Result<usize>,
    ) -> Result<()> {
        if self.len_at(offset, out.len()) != out.len() {
            return Err(S3Error::new(
                "InternalError",
                "a read past the end of the data",
            ));
        }
        let result = self.read_range(offset, out, chunk.max(1), read);
        if result.is_err() {
            out.fill(0);
            self.kept = None;
        }
        result
    }

    fn read_range(
        &mut self,
        offset: u64,
        out: &mut [u8],
        chunk: u64,
        mut read: impl FnMut(u64, &mut [u8]) -> Result<usize>,
    ) -> Result<()> {
        let end = offset + out.len() as u64;
        let at = offset + self.take_kept(offset, out) as u64;
        let (wanted, _) = sealed_range(self.plain_len, at..end);
        let mut first = wanted.start;
        while first < wanted.end {
            let stop = (first / chunk + 1).saturating_mul(chunk).min(wanted.end);
            let span = sealed_span(self.plain_len, &(first..stop));
            let len = (span.end - span.start) as usize;
            if self.scratch.len() < len {
                self.scratch.resize(len, 0);
            }
            let got = read(span.start, &mut self.scratch[..len])?;
            if got < len {
                return Err(corrupt(first + (got / SEALED_PACKAGE) as u64));
            }
            let plain = plain_span(self.plain_len, &(first..stop));
            let (lo, hi) = (at.max(plain.start), end.min(plain.end));
            let into = &mut out[(lo - offset) as usize..(hi - offset) as usize];
            let held = self.cipher.open_range_into(
                self.plain_len,
                first..stop,
                &self.scratch[..len],
                lo..hi,
                into,
                &mut self.edge,
            );
            // Ok(None): no package went through the edge, which still holds the kept one
            if let Some(seq) = held? {
                self.kept = Some(seq);
            }
            self.opened += stop - first;
            first = stop;
        }
        Ok(())
    }

    /// Copies what the kept package holds of the range from `offset` to the front of `out`;
    /// how many bytes.
    fn take_kept(&self, offset: u64, out: &mut [u8]) -> usize {
        let Some(seq) = self.kept else { return 0 };
        let plain = plain_span(self.plain_len, &(seq..seq + 1));
        if !plain.contains(&offset) {
            return 0;
        }
        let from = (offset - plain.start) as usize;
        let n = out.len().min((plain.end - offset) as usize);
        out[..n].copy_from_slice(&self.edge[from..from + n]);
        n
    }

    /// Opens every package of the stream (a scrub), reading it in chunks of `chunk` packages
    /// with `read` (as read_into() does); returns the packages that do not open, or are cut
    /// short, in order. Fails only when `read` does.
    pub fn bad_packages(
        &mut self,
        chunk: u64,
        mut read: impl FnMut(u64, &mut [u8]) -> Result<usize>,
    ) -> Result<Vec<u64>> {
        let (total, chunk) = (packages(self.plain_len), chunk.max(1));
        let mut bad = Vec::new();
        let mut first = 0;
        while first < total {
            let stop = (first + chunk).min(total);
            let span = sealed_span(self.plain_len, &(first..stop));
            let len = (span.end - span.start) as usize;
            if self.scratch.len() < len {
                self.scratch.resize(len, 0);
            }
            let got = read(span.start, &mut self.scratch[..len])?;
            let checked = &mut self.scratch[..got.min(len)];
            bad.extend(
                self.cipher
                    .bad_packages(self.plain_len, first..stop, checked),
            );
            self.opened += stop - first;
            first = stop;
        }
        Ok(bad)
    }
}

/// Plaintext bytes [offset, offset + length) of a sealed stream held in memory (an inline
/// payload), cut at the plaintext's end; only the packages the range touches are opened.
pub fn open_range(
    key: &DataKey,
    sealed: &[u8],
    plain_len: u64,
    offset: u64,
    length: usize,
) -> Result<Vec<u8>> {
    let end = plain_len.min(offset.saturating_add(length as u64));
    let mut out = vec![0u8; end.saturating_sub(offset) as usize];
    open_range_into(key, sealed, plain_len, offset, &mut out)?;
    Ok(out)
}

/// open_range() into `out`, which the range must fill (no more than the plaintext has from
/// `offset`); on an error `out` is zeroed.
pub fn open_range_into(
    key: &DataKey,
    sealed: &[u8],
    plain_len: u64,
    offset: u64,
    out: &mut [u8],
) -> Result<()> {
    if sealed.len() as u64 != encryption::sealed_len(plain_len) {
        return Err(S3Error::new(
            "InternalError",
            format!(
                "{} bytes of encrypted data for {plain_len} bytes of plaintext",
                sealed.len()
            ),
        ));
    }
    if out.len() as u64 > plain_len.saturating_sub(offset) {
        return Err(S3Error::new(
            "InternalError",
            "a read past the end of the data",
        ));
    }
    if out.is_empty() {
        return Ok(());
    }
    // straight from the caller's bytes: no copy before the packages are opened into `out`
    let end = offset + out.len() as u64;
    let (packages, span) = sealed_range(plain_len, offset..end);
    let sealed = &sealed[span.start as usize..span.end as usize];
    let (cipher, mut edge) = (PackageCipher::new(key), Vec::new());
    cipher
        .open_range_into(plain_len, packages, sealed, offset..end, out, &mut edge)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encryption::{seal_stream_into, sealed_len, PACKAGE};

    const P: usize = PACKAGE;

    fn key(byte: u8) -> DataKey {
        DataKey::from_bytes([byte; 32])
    }

    fn data(n: usize) -> Vec<u8> {
        let mut bytes = vec![0u8; n];
        blake3::Hasher::new().finalize_xof().fill(&mut bytes);
        bytes
    }

    fn sealed(key: &DataKey, plain: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; sealed_len(plain.len() as u64) as usize];
        seal_stream_into(key, plain, &mut out).unwrap();
        out
    }

    /// Reads `range` with a fresh opener over `stream` in chunks of `chunk` packages; returns
    /// the bytes and the sealed ranges read (start, end).
    fn read(
        stream: &[u8],
        n: usize,
        offset: u64,
        len: usize,
        chunk: u64,
    ) -> (Result<Vec<u8>>, Vec<(u64, u64)>) {
        let mut opener = Opener::new(&key(1), n as u64);
        read_with(&mut opener, stream, offset, len, chunk)
    }

    fn read_with(
        opener: &mut Opener,
        stream: &[u8],
        offset: u64,
        len: usize,
        chunk: u64,
    ) -> (Result<Vec<u8>>, Vec<(u64, u64)>) {
        let mut reads = Vec::new();
        let mut out = vec![0u8; opener.len_at(offset, len)];
        let result = opener.read_into(offset, &mut out, chunk, |at, buf| {
            reads.push((at, at + buf.len() as u64));
            let from = (at as usize).min(stream.len());
            let got = buf.len().min(stream.len() - from);
            buf[..got].copy_from_slice(&stream[from..from + got]);
            Ok(got)
        });
        (result.map(|()| out), reads)
    }

    #[test]
    fn ranges_read_only_their_packages_in_chunks() {
        let n = 5 * P + 3;
        let (plain, stream) = (data(n), sealed(&key(1), &data(n)));
        let s = SEALED_PACKAGE as u64;
        let p = P as u64;
        let end = stream.len() as u64;
        let cases = [
            (0, 1, 16, vec![(0, s)]),
            (p - 1, 2, 16, vec![(0, 2 * s)]),
            (p + 5, 10, 16, vec![(s, 2 * s)]),
            (0, n, 2, vec![(0, 2 * s), (2 * s, 4 * s), (4 * s, end)]),
            (p + 1, 2 * P, 2, vec![(s, 2 * s), (2 * s, 4 * s)]),
            (5 * p + 2, 100, 16, vec![(5 * s, end)]),
            (n as u64, 10, 16, vec![]),
        ];
        for (offset, len, chunk, want) in cases {
            let (got, reads) = read(&stream, n, offset, len, chunk);
            let from = (offset as usize).min(n);
            let to = (from + len).min(n);
            assert_eq!(got.unwrap(), plain[from..to], "{offset}+{len}");
            assert_eq!(reads, want, "{offset}+{len} in chunks of {chunk}");
        }
    }

    #[test]
    fn a_read_ending_inside_a_package_keeps_it_for_the_next() {
        let n = 4 * P + 10;
        let (plain, stream) = (data(n), sealed(&key(1), &data(n)));
        let mut opener = Opener::new(&key(1), n as u64);
        let mut got = Vec::new();
        let mut reads = 0;
        for at in (0..n).step_by(10_000) {
            let (bytes, sealed_reads) = read_with(&mut opener, &stream, at as u64, 10_000, 16);
            got.extend(bytes.unwrap());
            reads += sealed_reads.len();
        }
        assert_eq!(got, plain);
        assert_eq!(opener.opened(), 5, "every package opened once");
        assert_eq!(reads, 5);
    }

    #[test]
    fn a_corrupt_or_short_package_fails_only_the_reads_touching_it() {
        let n = 3 * P + 100;
        let plain = data(n);
        let mut stream = sealed(&key(1), &plain);
        stream[SEALED_PACKAGE + 7] ^= 1; // package 1
        let (good, _) = read(&stream, n, 0, P, 16);
        assert_eq!(good.unwrap(), plain[..P]);
        assert_eq!(
            read(&stream, n, 2 * P as u64, 5, 16).0.unwrap(),
            plain[2 * P..][..5]
        );
        for (offset, len) in [(P as u64 - 1, 2), (P as u64 + 10, 1), (0, n)] {
            let err = read(&stream, n, offset, len, 16).0.unwrap_err();
            assert_eq!(err.code, "InternalError");
            assert_eq!(err.message, "package 1 of the encrypted data is corrupt");
        }
        let mut opener = Opener::new(&key(1), n as u64);
        let mut out = vec![7u8; n];
        let failed = opener.read_into(0, &mut out, 1, |at, buf| {
            buf.copy_from_slice(&stream[at as usize..][..buf.len()]);
            Ok(buf.len())
        });
        assert!(failed.is_err());
        assert!(out.iter().all(|&b| b == 0), "a failed read leaves zeros");

        let short = &sealed(&key(1), &plain)[..2 * SEALED_PACKAGE + 5];
        let err = read(short, n, 0, n, 16).0.unwrap_err();
        assert_eq!(err.message, "package 2 of the encrypted data is corrupt");
        assert!(read(short, n, 0, 2 * P, 16).0.is_ok(), "before the cut");

        let other = sealed(&key(2), &plain);
        assert!(read(&other, n, 5, 1, 16).0.is_err(), "another key");
    }

    #[test]
    fn a_scrub_names_every_bad_package() {
        let n = 40 * P + 1;
        let mut stream = sealed(&key(1), &data(n));
        stream[3 * SEALED_PACKAGE] ^= 1;
        stream[20 * SEALED_PACKAGE + 100] ^= 1;
        let cut = stream.len() - 3; // the last package cut short
        let mut opener = Opener::new(&key(1), n as u64);
        let bad = opener
            .bad_packages(16, |at, buf| {
                let from = (at as usize).min(cut);
                let got = buf.len().min(cut - from);
                buf[..got].copy_from_slice(&stream[from..from + got]);
                Ok(got)
            })
            .unwrap();
        assert_eq!(bad, vec![3, 20, 40]);
    }

    #[test]
    fn in_memory_ranges_open_and_check_their_length() {
        for n in [0, 1, 13, P, P + 1, 3 * P + 7] {
            let plain = data(n);
            let stream = sealed(&key(1), &plain);
            assert_eq!(
                open_range(&key(1), &stream, n as u64, 0, n + 5).unwrap(),
                plain
            );
            let mid = n / 2;
            let got = open_range(&key(1), &stream, n as u64, mid as u64, P).unwrap();
            assert_eq!(got, plain[mid..(mid + P).min(n)], "size {n}");
            assert!(open_range(&key(1), &stream[1..], n as u64, 0, 1).is_err());
            assert!(open_range(&key(2), &stream, n as u64, 0, 1).is_err() || n == 0);
        }
    }
}
