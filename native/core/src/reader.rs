//! ObjectReader: positional reads of a plain data file, raw (legacy files), verified against
//! the block sums that follow the payload, or sealed (an encrypted object: the file is the
//! sealed stream, reads address its plaintext and open the packages they touch); read-ahead
//! hints for cold reads; is_cached().
//!
//! A plain data file with block sums is the payload, bytes [0, size), as the HTTP server
//! serves it, then a trailer: one 32-byte keyed BLAKE3 hash per BUFFER_SIZE block of the
//! payload (block n is bytes [n * BUFFER_SIZE, min(size, (n + 1) * BUFFER_SIZE)), hashed as
//! shards::block_hash(key, n, 0, bytes)), then the block count and the payload size (u64 LE
//! each) and the magic SUMS_MAGIC.

use crate::encryption::{self, DataKey, BLOCK_PACKAGES, SEALED_PACKAGE};
use crate::error::{Result, S3Error};
use crate::sealed::Opener;
use crate::shards::{block_hash, HASH_LEN};
use crate::writer::BUFFER_SIZE;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

pub const SUMS_MAGIC: &[u8; 8] = b"OXSUMS01";
/// The trailer's block count, payload size and magic.
pub const SUMS_FOOTER: usize = 24;
/// How far ahead of a read the kernel is asked to fetch (cold sequential reads run about
/// three times faster with it than on the kernel's own read-ahead).
pub const READ_AHEAD: u64 = 8 << 20;
const BLOCK: u64 = BUFFER_SIZE as u64;
/// Packages per positional read of a sealed file: one sealed block (the buffer of sealed bytes
/// stays in cache while it is opened into the caller's memory).
const SEALED_CHUNK: u64 = BLOCK_PACKAGES as u64;
/// Packages per positional read of a sealed file's scrub.
const SEALED_VERIFY_CHUNK: u64 = READ_AHEAD / SEALED_PACKAGE as u64;

/// The trailer of a payload of `size` bytes whose block hashes are `hashes`, in order.
pub fn sums_trailer(hashes: &[u8], size: u64) -> Vec<u8> {
    let mut trailer = Vec::with_capacity(hashes.len() + SUMS_FOOTER);
    trailer.extend_from_slice(hashes);
    trailer.extend_from_slice(&((hashes.len() / HASH_LEN) as u64).to_le_bytes());
    trailer.extend_from_slice(&size.to_le_bytes());
    trailer.extend_from_slice(SUMS_MAGIC);
    trailer
}

/// How many blocks a payload of `size` bytes has.
pub fn blocks_of(size: u64) -> u64 {
    size.div_ceil(BLOCK)
}

fn damaged_sums() -> S3Error {
    S3Error::new(
        "InternalError",
        "the data file's block sums are missing or damaged",
    )
}

fn corrupt(block: u64) -> S3Error {
    S3Error::new(
        "InternalError",
        format!("block {block} of the data file is corrupt"),
    )
}

// ---- read-ahead --------------------------------------------------------------------------

/// Asks the kernel to read a range of the file ahead (a hint: failures are ignored).
#[cfg(target_os = "linux")]
fn advise(file: &File, offset: u64, len: u64, advice: libc::c_int) {
    use std::os::fd::AsRawFd;
    // SAFETY: a system call on a descriptor borrowed for the call; no memory is passed.
    unsafe {
        libc::posix_fadvise(
            file.as_raw_fd(),
            offset as libc::off_t,
            len as libc::off_t,
            advice,
        );
    }
}

/// Tells the kernel the file will be read sequentially (a larger read-ahead of its own).
pub(crate) fn advise_sequential(file: &File) {
    #[cfg(target_os = "linux")]
    advise(file, 0, 0, libc::POSIX_FADV_SEQUENTIAL);
    #[cfg(not(target_os = "linux"))]
    let _ = file;
}

/// Read-ahead of one file: before each read, the `window` bytes beyond it are asked for
/// (POSIX_FADV_WILLNEED), so the disk works on the next reads while this one is served. What
/// was asked for already is not asked again.
pub(crate) struct ReadAhead {
    window: u64,
    /// The file's length: nothing past it is asked for.
    len: u64,
    /// How far the file is advised (where the last window ended).
    advised: u64,
}

impl ReadAhead {
    pub(crate) fn new(window: u64, len: u64) -> Self {
        ReadAhead {
            window,
            len,
            advised: 0,
        }
    }

    /// A read-ahead of `window` bytes, up to the file's length (unknown: no limit).
    pub(crate) fn of(file: &File, window: u64) -> Self {
        let len = file.metadata().map_or(u64::MAX, |m| m.len());
        Self::new(window, len)
    }

    /// A read of the file up to `end` comes next.
    pub(crate) fn before_read(&mut self, file: &File, end: u64) {
        let stop = end.saturating_add(self.window).min(self.len);
        // a jump, backwards or past the window: start over from this read
        let from = if (end..=stop).contains(&self.advised) {
            self.advised
        } else {
            end
        };
        if from < stop {
            #[cfg(target_os = "linux")]
            advise(file, from, stop - from, libc::POSIX_FADV_WILLNEED);
            #[cfg(not(target_os = "linux"))]
            let _ = file;
        }
        self.advised = stop;
    }
}

// ---- the reader --------------------------------------------------------------------------

/// The largest span of verified blocks a reader keeps for its next read.
const KEPT_SPAN: usize = 16 << 20;

/// The block sums of a file opened verified, and the verified blocks of the last read that
/// did not go straight to the caller (a read ending inside a block: the next sequential read
/// then neither re-reads nor re-hashes it).
struct Sums {
    key: [u8; 32],
    hashes: Vec<u8>,
    /// Verified payload bytes from offset `kept_at` (a block start); empty: none.
    kept: Vec<u8>,
    kept_at: u64,
}

pub struct ObjectReader {
    file: File,
    /// The payload's size (without the trailer; the plaintext's, when sealed).
    size: u64,
    sums: Option<Sums>,
    /// Some: the file is the sealed stream of a `size`-byte plaintext.
    seal: Option<Opener>,
    ahead: ReadAhead,
}

/// Fills `buf` from `offset`, stopping early only at the end of the file; how many bytes.
fn read_full(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

impl ObjectReader {
    /// A raw data file: every byte of it is payload (files written without block sums).
    pub fn open(path: &Path) -> Result<Self> {
        let (file, len) = Self::open_file(path)?;
        Ok(Self::new(file, len, len, None))
    }

    /// A data file with block sums, of a `size`-byte payload hashed with `key`: its trailer
    /// is checked now, every block when read.
    pub fn open_verified(path: &Path, size: u64, key: [u8; 32]) -> Result<Self> {
        let (file, len) = Self::open_file(path)?;
        let hashes = read_sums(&file, len, size)?;
        let sums = Sums {
            key,
            hashes,
            kept: Vec::new(),
            kept_at: 0,
        };
        Ok(Self::new(file, size, len, Some(sums)))
    }

    /// A sealed data file: the sealed stream of a `plain_size`-byte plaintext under `key`
    /// (encryption.rs), which reads return, package tags checked (no block sums: the tags
    /// verify every package). A file of another length than the stream's fails here.
    pub fn open_sealed(path: &Path, plain_size: u64, key: DataKey) -> Result<Self> {
        let (file, len) = Self::open_file(path)?;
        let want = encryption::sealed_len(plain_size);
        if len != want {
            return Err(S3Error::new(
                "InternalError",
                format!("the encrypted data file is {len} bytes where {want} are expected"),
            ));
        }
        let mut reader = Self::new(file, plain_size, len, None);
        reader.seal = Some(Opener::new(&key, plain_size));
        Ok(reader)
    }

    fn open_file(path: &Path) -> Result<(File, u64)> {
        let file = File::open(path).map_err(|e| S3Error::io("opening the data file", e))?;
        let len = file
            .metadata()
            .map_err(|e| S3Error::io("stat of the data file", e))?
            .len();
        advise_sequential(&file);
        Ok((file, len))
    }

    /// A reader of a file `len` bytes long.
    fn new(file: File, size: u64, len: u64, sums: Option<Sums>) -> Self {
        ObjectReader {
            file,
            size,
            sums,
            seal: None,
            ahead: ReadAhead::new(READ_AHEAD, len),
        }
    }

    /// The payload's size (the plaintext's, when sealed).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// How many packages a sealed reader has opened (none for another).
    pub fn packages_opened(&self) -> u64 {
        self.seal.as_ref().map_or(0, Opener::opened)
    }

    /// How many bytes read(offset, length) returns: the range cut at the payload's end.
    pub fn len_at(&self, offset: u64, length: usize) -> usize {
        let end = self.size.min(offset.saturating_add(length as u64));
        end.saturating_sub(offset) as usize
    }

    /// Exactly the payload's bytes [offset, min(offset + length, size)); verified, with sums:
    /// every block the range touches is read whole and checked, and a corrupt one fails the
    /// read (no unverified byte is returned). Sealed: the plaintext, from the packages the
    /// range touches only, each opened (InternalError "package N of the encrypted data is
    /// corrupt" for one that does not: altered, cut short, or under another key).
    pub fn read(&mut self, offset: u64, length: usize) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.len_at(offset, length)];
        self.read_into(offset, &mut out)?;
        Ok(out)
    }

    /// read(offset, out.len()) into `out`, which the range must fill (see len_at()).
    pub fn read_into(&mut self, offset: u64, out: &mut [u8]) -> Result<()> {
        if out.is_empty() {
            return Ok(());
        }
        if self.len_at(offset, out.len()) != out.len() {
            return Err(S3Error::new(
                "InternalError",
                "a read past the end of the data",
            ));
        }
        if self.sums.is_some() {
            return self.read_verified(offset, out);
        }
        if let Some(opener) = self.seal.as_mut() {
            let (file, ahead) = (&self.file, &mut self.ahead);
            return opener.read_into(offset, out, SEALED_CHUNK, |at, buf| {
                ahead.before_read(file, at + buf.len() as u64);
                read_full(file, buf, at).map_err(|e| S3Error::io("reading", e))
            });
        }
        self.ahead
            .before_read(&self.file, offset + out.len() as u64);
        self.file
            .read_exact_at(out, offset)
            .map_err(|e| S3Error::io("reading", e))
    }

    /// Where block n of the payload is.
    fn block_range(&self, n: u64) -> (u64, u64) {
        (n * BLOCK, self.size.min((n + 1) * BLOCK))
    }

    fn read_verified(&mut self, offset: u64, out: &mut [u8]) -> Result<()> {
        let taken = self.take_kept(offset, out);
        let (at, out) = (offset + taken as u64, &mut out[taken..]);
        if out.is_empty() {
            return Ok(());
        }
        let end = at + out.len() as u64;
        let (first, last) = (at / BLOCK, (end - 1) / BLOCK);
        let (start, stop) = (first * BLOCK, self.block_range(last).1);
        if (at, end) == (start, stop) {
            return self.read_blocks(first, last, out); // whole blocks: straight to the caller
        }
        let sums = self.sums.as_mut().expect("verified");
        let mut span = std::mem::take(&mut sums.kept);
        span.resize((stop - start) as usize, 0);
        let read = self.read_blocks(first, last, &mut span);
        let from = (at - start) as usize;
        if read.is_ok() {
            out.copy_from_slice(&span[from..from + out.len()]);
        }
        if read.is_ok() && span.len() <= KEPT_SPAN {
            let sums = self.sums.as_mut().expect("verified");
            (sums.kept, sums.kept_at) = (span, start);
        }
        read
    }

    /// Copies what the kept blocks hold of the range from `offset` to the front of `out`;
    /// how many bytes.
    fn take_kept(&self, offset: u64, out: &mut [u8]) -> usize {
        let Some(sums) = &self.sums else { return 0 };
        let kept_end = sums.kept_at + sums.kept.len() as u64;
        if !(sums.kept_at..kept_end).contains(&offset) {
            return 0;
        }
        let from = (offset - sums.kept_at) as usize;
        let n = out.len().min(sums.kept.len() - from);
        out[..n].copy_from_slice(&sums.kept[from..from + n]);
        n
    }

    /// Reads blocks first..=last of the payload into `span` (exactly their length) with one
    /// positional read and verifies them.
    fn read_blocks(&mut self, first: u64, last: u64, span: &mut [u8]) -> Result<()> {
        let start = first * BLOCK;
        self.ahead
            .before_read(&self.file, start + span.len() as u64);
        let got = read_full(&self.file, span, start).map_err(|e| S3Error::io("reading", e))?;
        match self.bad_blocks(first, &span[..got], last).first() {
            Some(&n) => Err(corrupt(n)),
            None => Ok(()),
        }
    }

    /// Which of blocks first..=last are short or fail their hash, given the bytes read from
    /// the start of block `first`.
    fn bad_blocks(&self, first: u64, bytes: &[u8], last: u64) -> Vec<u64> {
        let Some(sums) = &self.sums else {
            return Vec::new();
        };
        (first..=last)
            .filter(|&n| {
                let (start, stop) = self.block_range(n);
                let at = (
                    (start - first * BLOCK) as usize,
                    (stop - first * BLOCK) as usize,
                );
                let want = &sums.hashes[n as usize * HASH_LEN..][..HASH_LEN];
                bytes
                    .get(at.0..at.1)
                    .is_none_or(|data| block_hash(&sums.key, n, 0, data) != want)
            })
            .collect()
    }

    /// Reads and checks every block of the payload (a scrub); returns the corrupt or short
    /// ones. Fails only on an I/O error, or for a file opened without block sums. Sealed:
    /// opens every package and returns the BUFFER_SIZE blocks of plaintext (block n: packages
    /// 16n..16n + 16) with a package that does not open, as the verified reader does.
    pub fn verify(&mut self) -> Result<Vec<u64>> {
        if let Some(opener) = self.seal.as_mut() {
            let (file, ahead) = (&self.file, &mut self.ahead);
            let bad = opener.bad_packages(SEALED_VERIFY_CHUNK, |at, buf| {
                ahead.before_read(file, at + buf.len() as u64);
                read_full(file, buf, at).map_err(|e| S3Error::io("reading", e))
            })?;
            let mut blocks: Vec<u64> = bad.iter().map(|seq| seq / BLOCK_PACKAGES as u64).collect();
            blocks.dedup();
            return Ok(blocks);
        }
        if self.sums.is_none() {
            return Err(S3Error::new(
                "InternalError",
                "the data file was opened without block sums",
            ));
        }
        let blocks = blocks_of(self.size);
        let batch = READ_AHEAD / BLOCK;
        let mut bad = Vec::new();
        let mut buffer = Vec::new();
        let mut first = 0;
        while first < blocks {
            let last = (first + batch).min(blocks) - 1;
            let (start, stop) = (first * BLOCK, self.block_range(last).1);
            self.ahead.before_read(&self.file, stop);
            buffer.resize((stop - start) as usize, 0);
            let got =
                read_full(&self.file, &mut buffer, start).map_err(|e| S3Error::io("reading", e))?;
            bad.extend(self.bad_blocks(first, &buffer[..got], last));
            first = last + 1;
        }
        Ok(bad)
    }
}

/// The block hashes in the trailer of a file `len` bytes long, checked against the payload
/// size the caller knows.
fn read_sums(file: &File, len: u64, size: u64) -> Result<Vec<u8>> {
    let blocks = blocks_of(size);
    let hashes_len = blocks * HASH_LEN as u64;
    if len != size + hashes_len + SUMS_FOOTER as u64 {
        return Err(damaged_sums());
    }
    let mut trailer = vec![0u8; hashes_len as usize + SUMS_FOOTER];
    file.read_exact_at(&mut trailer, size)
        .map_err(|e| S3Error::io("reading the block sums", e))?;
    let footer = trailer.split_off(hashes_len as usize);
    let word = |at: usize| u64::from_le_bytes(footer[at..at + 8].try_into().expect("8 bytes"));
    if &footer[16..] != SUMS_MAGIC || word(0) != blocks || word(8) != size {
        return Err(damaged_sums());
    }
    Ok(trailer)
}

// ---- the page cache ----------------------------------------------------------------------

/// Whether every page of bytes [start, end) of the file is in the page cache (an empty range
/// is; any error, a range past the end of the file included, says no).
pub fn is_cached(path: &Path, start: u64, end: u64) -> bool {
    if start >= end {
        return true;
    }
    let Ok(file) = File::open(path) else {
        return false;
    };
    // in pieces, so a huge range needs no huge mapping or residency vector
    const PIECE: u64 = 256 << 20;
    let mut at = start;
    while at < end {
        let stop = end.min(at.saturating_add(PIECE));
        if !range_cached(&file, at, stop) {
            return false;
        }
        at = stop;
    }
    true
}

#[cfg(target_os = "linux")]
fn range_cached(file: &File, start: u64, end: u64) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: sysconf reads a constant of the system.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        n if n > 0 => n as u64,
        _ => return false,
    };
    let from = start / page * page; // mappings start on a page
    let len = (end - from) as usize;
    let mut resident = vec![0u8; len.div_ceil(page as usize)];
    // SAFETY: a fresh read-only shared mapping of the file, only passed to mincore (its
    // memory is never touched, so no page is faulted in) with a vector of one byte per page
    // of it, then unmapped.
    unsafe {
        let addr = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            from as libc::off_t,
        );
        if addr == libc::MAP_FAILED {
            return false;
        }
        let ok = libc::mincore(addr, len, resident.as_mut_ptr()) == 0;
        libc::munmap(addr, len);
        ok && resident.iter().all(|r| r & 1 == 1)
    }
}

#[cfg(not(target_os = "linux"))]
fn range_cached(_file: &File, _start: u64, _end: u64) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shards::shard_key;
    use crate::test_drives::flip;
    use std::fs;
    use std::path::PathBuf;

    #[test]
    fn reads_ranges_and_clamps_at_the_end() {
        let path = std::env::temp_dir().join(format!("oxstore-reader-{}", std::process::id()));
        std::fs::write(&path, b"0123456789").unwrap();
        let mut r = ObjectReader::open(&path).unwrap();
        assert_eq!(r.size(), 10);
        assert_eq!(r.read(2, 3).unwrap(), b"234");
        assert_eq!(r.read(8, 10).unwrap(), b"89");
        assert_eq!(r.read(12, 10).unwrap(), b"");
        std::fs::remove_file(path).unwrap();
    }

    const B: usize = BUFFER_SIZE;

    fn key() -> [u8; 32] {
        shard_key("data-id")
    }

    fn payload(size: usize) -> Vec<u8> {
        (0..size).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// A file of `data` and its trailer, as the writer makes it.
    fn with_sums(name: &str, data: &[u8]) -> PathBuf {
        let hashes: Vec<u8> = data
            .chunks(B)
            .enumerate()
            .flat_map(|(n, block)| block_hash(&key(), n as u64, 0, block))
            .collect();
        let path = crate::test_dir(&format!("reader-{name}")).join("f");
        let mut bytes = data.to_vec();
        bytes.extend(sums_trailer(&hashes, data.len() as u64));
        fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn the_trailer_round_trips() {
        for size in [0, 1, B - 1, B, 3 * B + 17] {
            let data = payload(size);
            let path = with_sums(&format!("round-{size}"), &data);
            let len = fs::metadata(&path).unwrap().len();
            assert_eq!(len, (size + 32 * size.div_ceil(B) + 24) as u64);
            let mut r = ObjectReader::open_verified(&path, size as u64, key()).unwrap();
            assert_eq!(r.size(), size as u64);
            assert_eq!(r.read(0, size + 100).unwrap(), data, "{size}");
            assert!(r.verify().unwrap().is_empty());
            // the raw reader sees the payload and then the trailer
            let mut raw = ObjectReader::open(&path).unwrap();
            assert_eq!(raw.read(0, size).unwrap(), data);
        }
    }

    #[test]
    fn verified_ranges_cross_blocks() {
        let size = 3 * B + 17;
        let data = payload(size);
        let path = with_sums("ranges", &data);
        let mut r = ObjectReader::open_verified(&path, size as u64, key()).unwrap();
        let ranges = [
            (0, 1),
            (B - 1, 2),
            (B - 100, 2 * B + 200),
            (B, B),
            (3 * B, 100),
            (size - 10, 100),
            (size, 10),
            (size + 10, 10),
        ];
        for (offset, len) in ranges {
            let want = &data[offset.min(size)..(offset + len).min(size)];
            assert_eq!(r.read(offset as u64, len).unwrap(), want, "{offset} {len}");
        }
        // sequential small reads, through the cached block
        let mut got = Vec::new();
        for offset in (0..size).step_by(300_001) {
            got.extend(r.read(offset as u64, 300_001).unwrap());
        }
        assert_eq!(got, data);
    }

    #[test]
    fn a_corrupt_block_fails_only_the_reads_touching_it() {
        let size = 3 * B + 17;
        let data = payload(size);
        let path = with_sums("corrupt", &data);
        flip(&path, B + 5);
        let mut r = ObjectReader::open_verified(&path, size as u64, key()).unwrap();
        assert_eq!(r.read(0, B).unwrap(), data[..B]);
        assert_eq!(r.read(2 * B as u64, 10).unwrap(), data[2 * B..2 * B + 10]);
        for (offset, len) in [(B - 1, 2), (B + 100, 1), (0, size)] {
            let err = r.read(offset as u64, len).unwrap_err();
            assert_eq!(err.code, "InternalError");
            assert_eq!(err.message, "block 1 of the data file is corrupt");
        }
        flip(&path, 3 * B + 1);
        assert_eq!(r.verify().unwrap(), vec![1, 3]);
        // a read ending inside a block keeps it: the next read there neither re-reads it
        // (the corruption is not seen) nor re-hashes it
        assert_eq!(
            r.read(3 * B as u64, 5).unwrap_err().message,
            "block 3 of the data file is corrupt"
        );
        assert_eq!(r.read(0, 10).unwrap(), data[..10]);
        flip(&path, 20);
        assert_eq!(r.read(10, 10).unwrap(), data[10..20]);
        let mut fresh = ObjectReader::open_verified(&path, size as u64, key()).unwrap();
        assert!(fresh.read(10, 10).is_err());
    }

    #[test]
    fn a_damaged_trailer_or_short_file_fails_open() {
        let size = 2 * B + 3;
        let data = payload(size);
        let path = with_sums("damaged", &data);
        let sums_error = |path: &Path, size: u64| {
            let err = ObjectReader::open_verified(path, size, key())
                .err()
                .unwrap();
            assert_eq!(err.code, "InternalError");
            assert_eq!(
                err.message,
                "the data file's block sums are missing or damaged"
            );
        };
        sums_error(&path, size as u64 + 1); // another size
        let whole = fs::read(&path).unwrap();
        flip(&path, whole.len() - 2); // the magic
        sums_error(&path, size as u64);
        fs::write(&path, &whole[..whole.len() - 1]).unwrap();
        sums_error(&path, size as u64);
        fs::write(&path, &data).unwrap(); // no trailer at all
        sums_error(&path, size as u64);
        // the file shrinks after open: the blocks gone are corrupt, never short reads
        fs::write(&path, &whole).unwrap();
        let mut r = ObjectReader::open_verified(&path, size as u64, key()).unwrap();
        fs::write(&path, &whole[..B + 10]).unwrap();
        assert_eq!(r.read(0, 10).unwrap(), data[..10]);
        assert_eq!(
            r.read(B as u64, 10).unwrap_err().message,
            "block 1 of the data file is corrupt"
        );
        assert_eq!(r.verify().unwrap(), vec![1, 2]);
    }

    #[test]
    fn read_ahead_advises_each_range_once() {
        let path = with_sums("ahead", b"x");
        let file = File::open(path).unwrap();
        let mut ahead = ReadAhead::new(8, 100);
        ahead.before_read(&file, 4);
        assert_eq!(ahead.advised, 12);
        ahead.before_read(&file, 8);
        assert_eq!(ahead.advised, 16);
        ahead.before_read(&file, 96); // clamped at the end of the file
        assert_eq!(ahead.advised, 100);
        ahead.before_read(&file, 2); // back to the start
        assert_eq!(ahead.advised, 10);
    }

    #[test]
    fn is_cached_sees_the_page_cache() {
        let path = crate::test_dir("reader-cached").join("f");
        fs::write(&path, payload(4 << 20)).unwrap();
        assert!(is_cached(&path, 0, 4 << 20));
        assert!(is_cached(&path, 100, 100), "an empty range");
        assert!(!is_cached(&path, 0, 8 << 20), "past the end of the file");
        assert!(!is_cached(&path.with_extension("gone"), 0, 1));
        let file = File::open(&path).unwrap();
        file.sync_data().unwrap();
        #[cfg(target_os = "linux")]
        advise(&file, 0, 0, libc::POSIX_FADV_DONTNEED);
        // the kernel may keep the pages: nothing is asserted then
        let _ = is_cached(&path, 0, 4 << 20);
    }

    mod sealed {
        use super::*;
        use crate::encryption::{seal_stream_into, sealed_len, PACKAGE};

        const P: u64 = PACKAGE as u64;

        fn data_key(byte: u8) -> DataKey {
            DataKey::from_bytes([byte; 32])
        }

        /// A data file of `plain` sealed under data_key(1), as the writer makes it.
        fn sealed_file(name: &str, plain: &[u8]) -> PathBuf {
            let mut sealed = vec![0u8; sealed_len(plain.len() as u64) as usize];
            seal_stream_into(&data_key(1), plain, &mut sealed).unwrap();
            let path = crate::test_dir(&format!("reader-sealed-{name}")).join("f");
            fs::write(&path, sealed).unwrap();
            path
        }

        #[test]
        fn a_ranged_read_opens_only_the_packages_it_touches() {
            let size = 3 * B + 17;
            let data = payload(size);
            let path = sealed_file("count", &data);
            let open = || ObjectReader::open_sealed(&path, size as u64, data_key(1)).unwrap();
            let cases = [
                (0, 1, 1),
                (P - 1, 1, 1),
                (P - 1, 2, 2),
                (5 * P + 3, 100, 1),
                (B as u64 - 1, 2, 2),
                (P, PACKAGE, 1),
                (P + 1, PACKAGE, 2),
                (size as u64 - 1, 1, 1),
                (0, size, 49),
                (size as u64, 10, 0),
            ];
            for (offset, len, packages) in cases {
                let mut reader = open();
                let start = (offset as usize).min(size);
                let want = &data[start..(start + len).min(size)];
                assert_eq!(reader.read(offset, len).unwrap(), want, "{offset}+{len}");
                assert_eq!(reader.packages_opened(), packages, "{offset}+{len}");
            }
            // sequential pieces ending inside packages: each package is opened once
            let mut reader = open();
            let mut got = Vec::new();
            for at in (0..size).step_by(10_000) {
                got.extend(reader.read(at as u64, 10_000).unwrap());
            }
            assert_eq!(got, data);
            assert_eq!(reader.packages_opened(), 49);
            assert_eq!(ObjectReader::open(&path).unwrap().packages_opened(), 0);
        }

        #[test]
        fn a_file_of_another_length_fails_open_and_a_shrunk_one_its_reads() {
            let size = 2 * B + 3;
            let data = payload(size);
            let path = sealed_file("length", &data);
            let open = |size: u64| ObjectReader::open_sealed(&path, size, data_key(1));
            let err = open(size as u64 + 1).err().unwrap();
            assert_eq!(err.code, "InternalError");
            assert!(err.message.contains("where"), "{}", err.message);
            let mut reader = open(size as u64).unwrap();
            let whole = fs::read(&path).unwrap();
            fs::write(&path, &whole[..whole.len() - 100]).unwrap();
            assert_eq!(reader.read(0, 10).unwrap(), data[..10]);
            let err = reader.read(size as u64 - 1, 1).unwrap_err();
            assert_eq!(err.message, "package 32 of the encrypted data is corrupt");
            // the last package's 19 bytes are gone, and 81 of the one before (in block 1)
            assert!(reader.read(31 * P, 1).is_err());
            assert_eq!(reader.read(30 * P, 1).unwrap(), data[30 * PACKAGE..][..1]);
            assert_eq!(reader.verify().unwrap(), vec![1, 2]);
        }

        #[test]
        fn a_sealed_reader_is_not_a_summed_one() {
            let data = payload(B + 1);
            let path = sealed_file("not-summed", &data);
            let size = data.len() as u64;
            assert!(ObjectReader::open_verified(&path, size, key()).is_err());
            let mut raw = ObjectReader::open(&path).unwrap();
            assert_eq!(raw.size(), sealed_len(size), "raw: the sealed stream");
            assert!(raw.verify().is_err());
        }
    }
}
