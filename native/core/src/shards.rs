//! An erasure-coded object on disk: k + m shard files, one per drive, written a stripe at a time
//! and read back verified, rebuilt from parity when a shard is missing, short or corrupt.
//!
//! Shard file `i` is a sequence of blocks, one per stripe: a 32-byte BLAKE3 hash keyed to the
//! object version (so a block of another object, or of another place, never passes for this
//! one), then the shard's `shard_len` bytes. Every stripe but the last holds `stripe_size`
//! bytes of the object; its shards are all `shard_len` long (the last stripe zero-padded), so
//! block `n` of every shard file starts at `n * (32 + shard_len)`.
//!
//! Writing survives losing drives down to a write quorum: a shard that cannot be created,
//! written, synced or renamed is dropped (its file removed) and the others go on.
//!
//! An encrypted object's shards hold its sealed stream (encryption.rs), striped like any other
//! bytes (the writer makes each sealed block one stripe): the blocks, their hashes, verify()
//! and heal() are of the sealed bytes and need no key. A reader opened sealed returns the
//! plaintext: each read becomes a read of the sealed bytes of the packages it touches. Whole
//! stripes of them are read as any blocks are, verified; where the packages hold only part of
//! a stripe (a small ranged read), only their own bytes are read from the data shards, without
//! the blocks' hashes: the packages' GCM tags check them, and a package that does not open is
//! read again the verified way (the bad shard found, its bytes rebuilt from the others).

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::ops::{Range, RangeInclusive};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::encryption::{self, DataKey, BLOCK_PACKAGES};
use crate::erasure::Codec;
use crate::error::S3Error;
use crate::reader::{advise_sequential, ReadAhead, READ_AHEAD};
use crate::scatter::{read_placed, Placed};
use crate::sealed::Opener;

pub const HASH_LEN: usize = 32;
/// How much of each shard verify() holds in memory at once.
const VERIFY_BATCH: usize = 8 << 20;
/// The largest read buffer a reader keeps for its next read (fresh memory is slow to touch).
const KEPT_BUFFER: usize = 16 << 20;
/// Packages per read of a sealed object's shards: eight sealed blocks, which are stripes as
/// the writer lays them out (8 MiB of plaintext, READ_AHEAD), each read one round over the
/// shards.
const SEALED_CHUNK: u64 = 8 * BLOCK_PACKAGES as u64;

/// The key of an object version's block hashes, from its data id.
pub fn shard_key(data_id: &str) -> [u8; 32] {
    blake3::derive_key("oxstore 2026-12 shard blocks", data_id.as_bytes())
}

/// Where one shard's hash is keyed: the version's key, the stripe, the shard.
pub(crate) fn block_hash(key: &[u8; 32], stripe: u64, shard: usize, data: &[u8]) -> [u8; HASH_LEN] {
    block_hash_of_parts(key, stripe, shard, &[data])
}

/// block_hash() of a block whose bytes are in several pieces, in order.
pub(crate) fn block_hash_of_parts(
    key: &[u8; 32],
    stripe: u64,
    shard: usize,
    parts: &[&[u8]],
) -> [u8; HASH_LEN] {
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(&stripe.to_le_bytes());
    hasher.update(&(shard as u32).to_le_bytes());
    for part in parts {
        hasher.update(part);
    }
    *hasher.finalize().as_bytes()
}

/// The shape of an erasure-coded object: its layout and its stripes.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub k: usize,
    pub m: usize,
    pub stripe_size: usize,
}

fn internal(message: impl Into<String>) -> S3Error {
    S3Error::new("InternalError", message)
}

/// Checks a layout, its number of shard paths and its write quorum (below k, an object could
/// be acknowledged that cannot be read back).
pub fn check_layout(shape: Shape, paths: usize, quorum: usize) -> Result<Codec, S3Error> {
    let codec = Codec::new(shape.k, shape.m)?;
    let (k, m) = (shape.k, shape.m);
    if paths != k + m {
        return Err(internal(format!("{paths} shard paths for {k}+{m}")));
    }
    if quorum < k || quorum > k + m {
        return Err(internal(format!("write quorum {quorum} for {k}+{m}")));
    }
    if shape.stripe_size == 0 {
        return Err(internal("empty stripes"));
    }
    Ok(codec)
}

/// Runs f over every item, each on its own thread (a single item on this one).
fn in_parallel<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.into_iter().map(f).collect();
    }
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .into_iter()
            .map(|item| scope.spawn(move || f(item)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a shard thread panicked"))
            .collect()
    })
}

/// The same failure again (io::Error is not Clone), keeping the OS error code.
fn same_error(err: &io::Error) -> io::Error {
    match err.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(err.kind(), err.to_string()),
    }
}

// ---- writing ---------------------------------------------------------------------------------

enum Job {
    /// Write this shard's block of a stripe (every shard of the stripe, shared).
    Block {
        stripe: u64,
        shards: Arc<Vec<Vec<u8>>>,
    },
    Sync,
}

/// One shard file being written by its own long-lived thread, so that a stripe goes to every
/// drive at once without starting threads per stripe.
struct ShardFile {
    temp: PathBuf,
    /// Where the file is once renamed into place.
    placed: Option<PathBuf>,
    jobs: Option<SyncSender<Job>>,
    done: Receiver<io::Result<()>>,
    thread: Option<JoinHandle<()>>,
}

fn create_temp(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

impl ShardFile {
    fn start(file: File, temp: &Path, shard: usize, key: [u8; 32]) -> io::Result<Self> {
        let (jobs, jobs_rx) = sync_channel(1);
        let (done_tx, done) = channel();
        let thread = std::thread::Builder::new()
            .name(format!("shard {shard}"))
            .spawn(move || shard_thread(file, shard, key, jobs_rx, done_tx))?;
        Ok(Self {
            temp: temp.to_path_buf(),
            placed: None,
            jobs: Some(jobs),
            done,
            thread: Some(thread),
        })
    }

    /// Hands the thread a job; false if the thread is gone. Its outcome comes from wait().
    fn send(&self, job: Job) -> bool {
        self.jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send(job).is_ok())
    }

    fn wait(&self) -> io::Result<()> {
        self.done
            .recv()
            .unwrap_or_else(|_| Err(io::Error::other("the shard thread ended")))
    }

    /// Ends the thread, which closes the file.
    fn stop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Stops and removes what this shard left on its drive.
    fn remove(mut self) {
        self.stop();
        let _ = fs::remove_file(self.placed.as_ref().unwrap_or(&self.temp));
    }
}

impl Drop for ShardFile {
    fn drop(&mut self) {
        self.stop();
    }
}

fn shard_thread(
    mut file: File,
    shard: usize,
    key: [u8; 32],
    jobs: Receiver<Job>,
    done: Sender<io::Result<()>>,
) {
    let mut at = 0u64;
    for job in jobs {
        let result = match job {
            Job::Block { stripe, shards } => {
                let data = &shards[shard];
                let written = file
                    .write_all(&block_hash(&key, stripe, shard, data))
                    .and_then(|()| file.write_all(data));
                let len = (HASH_LEN + data.len()) as u64;
                // let go of the stripe before answering: the writer then reuses its memory
                drop(shards);
                start_writeback(&file, at, len);
                at += len;
                written
            }
            Job::Sync => file.sync_all(),
        };
        if done.send(result).is_err() {
            break;
        }
    }
}

/// Starts writing a range of the file to disk without waiting, so that the fsync at the end
/// has little left to do (shard blocks, and sealed blocks, are not aligned for O_DIRECT).
#[cfg(target_os = "linux")]
pub(crate) fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: a system call on a descriptor borrowed for the call; no memory is passed. Its
    // failure only leaves the work to fsync.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// Why the writer cannot go on: a full drive says so (the client can act on it); otherwise
/// too few drives took their shard, which may pass (a drive returns): the service is
/// unavailable for this write, and the message names no file or OS error.
fn quorum_lost(live: usize, total: usize, quorum: usize, cause: Option<io::Error>) -> S3Error {
    match cause {
        Some(err) if matches!(err.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)) => {
            S3Error::io("shard write", err)
        }
        _ => S3Error::new(
            "ServiceUnavailable",
            format!("write quorum lost: {live} of {total} shards written, {quorum} needed"),
        ),
    }
}

pub struct ShardWriter {
    codec: Codec,
    shape: Shape,
    quorum: usize,
    /// The shards being written; None: an offline drive or a dropped shard.
    shards: Vec<Option<ShardFile>>,
    /// The last stripe's shard buffers, refilled for the next (fresh memory is slow to touch).
    spare: Option<Vec<Vec<u8>>>,
    /// Why no more can be written (quorum lost, aborted, finished): every later call fails so.
    closed: Option<S3Error>,
    stripes: u64,
    size: u64,
}

impl ShardWriter {
    /// Creates the k + m temp shard files (each on its own drive; None: the drive is offline).
    /// Fails unless at least `write_quorum` of them could be created.
    pub fn create(
        temp_paths: &[Option<PathBuf>],
        shape: Shape,
        key: [u8; 32],
        write_quorum: usize,
    ) -> Result<Self, S3Error> {
        Self::create_with(temp_paths, shape, key, write_quorum, create_temp)
    }

    /// create(), opening each temp file with `open` (tests make some of them fail).
    fn create_with(
        temp_paths: &[Option<PathBuf>],
        shape: Shape,
        key: [u8; 32],
        quorum: usize,
        open: fn(&Path) -> io::Result<File>,
    ) -> Result<Self, S3Error> {
        let codec = check_layout(shape, temp_paths.len(), quorum)?;
        let mut writer = Self {
            codec,
            shape,
            quorum,
            shards: temp_paths.iter().map(|_| None).collect(),
            spare: None,
            closed: None,
            stripes: 0,
            size: 0,
        };
        let mut live = temp_paths.iter().flatten().count();
        if live < quorum {
            return Err(quorum_lost(live, temp_paths.len(), quorum, None));
        }
        for (n, path) in temp_paths.iter().enumerate() {
            let Some(path) = path else { continue };
            match Self::open_shard(path, n, key, open) {
                Ok(shard) => writer.shards[n] = Some(shard),
                Err(err) => {
                    live -= 1;
                    if live < quorum {
                        // dropping the writer removes the files already created
                        return Err(quorum_lost(live, temp_paths.len(), quorum, Some(err)));
                    }
                }
            }
        }
        Ok(writer)
    }

    fn open_shard(
        path: &Path,
        shard: usize,
        key: [u8; 32],
        open: fn(&Path) -> io::Result<File>,
    ) -> io::Result<ShardFile> {
        let file = open(path)?;
        ShardFile::start(file, path, shard, key).inspect_err(|_| {
            let _ = fs::remove_file(path);
        })
    }

    /// The object's bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn live(&self) -> usize {
        self.shards.iter().flatten().count()
    }

    fn check_open(&self) -> Result<(), S3Error> {
        self.closed.clone().map_or(Ok(()), Err)
    }

    /// Codes one stripe (`stripe_size` bytes; the last may be shorter) and writes its blocks,
    /// one per shard file, in parallel. A shard whose write fails is dropped.
    pub fn write_stripe(&mut self, stripe: &[u8]) -> Result<(), S3Error> {
        self.check_open()?;
        if stripe.len() > self.shape.stripe_size {
            return Err(internal("a stripe larger than the layout's"));
        }
        let len = self.codec.shard_len(self.shape.stripe_size);
        let mut shards = self
            .spare
            .take()
            .unwrap_or_else(|| vec![vec![0u8; len]; self.shards.len()]);
        self.codec.encode_into(stripe, &mut shards)?;
        let shards = Arc::new(shards);
        let index = self.stripes;
        let failures = self.run(|| Job::Block {
            stripe: index,
            shards: Arc::clone(&shards),
        });
        self.spare = Arc::try_unwrap(shards).ok();
        self.drop_failed(failures)?;
        self.stripes += 1;
        self.size += stripe.len() as u64;
        Ok(())
    }

    /// Runs a job on every live shard's thread at once; returns the shards that failed it.
    fn run(&self, job: impl Fn() -> Job) -> Vec<(usize, io::Error)> {
        let sent: Vec<(usize, &ShardFile, bool)> = self
            .shards
            .iter()
            .enumerate()
            .filter_map(|(n, shard)| shard.as_ref().map(|s| (n, s, s.send(job()))))
            .collect();
        sent.into_iter()
            .filter_map(|(n, shard, sent)| {
                let result = if sent {
                    shard.wait()
                } else {
                    Err(io::Error::other("the shard thread ended"))
                };
                result.err().map(|err| (n, err))
            })
            .collect()
    }

    fn drop_failed(&mut self, failures: Vec<(usize, io::Error)>) -> Result<(), S3Error> {
        for (n, err) in failures {
            self.drop_shard(n, err);
        }
        self.check_open()
    }

    /// Gives up on a shard (its file removed); below the quorum, on the object.
    fn drop_shard(&mut self, n: usize, cause: io::Error) {
        if let Some(shard) = self.shards[n].take() {
            shard.remove();
        }
        let live = self.live();
        if self.closed.is_none() && live < self.quorum {
            let lost = quorum_lost(live, self.shards.len(), self.quorum, Some(cause));
            self.closed = Some(lost);
        }
    }

    /// Makes every shard durable and puts it in place: fsync, rename to its final path,
    /// fsync of each directory. A shard failing any step is dropped; below the write quorum
    /// nothing stays, neither temp nor final files. Returns which shards are written.
    pub fn finish(&mut self, final_paths: &[Option<PathBuf>]) -> Result<Vec<bool>, S3Error> {
        let placed = self.place(final_paths);
        if placed.is_err() {
            self.abort();
        }
        placed
    }

    fn place(&mut self, final_paths: &[Option<PathBuf>]) -> Result<Vec<bool>, S3Error> {
        self.check_open()?;
        if final_paths.len() != self.shards.len() {
            return Err(internal(format!(
                "{} final paths for {} shards",
                final_paths.len(),
                self.shards.len()
            )));
        }
        let failures = self.run(|| Job::Sync);
        self.drop_failed(failures)?;
        for shard in self.shards.iter_mut().flatten() {
            shard.stop();
        }
        self.rename_all(final_paths)?;
        self.sync_dirs()?;
        let written = self.shards.iter().map(Option::is_some).collect();
        // committed: from now on nothing is removed
        self.shards.iter_mut().for_each(|shard| *shard = None);
        self.closed = Some(internal("the shard writer is finished"));
        Ok(written)
    }

    fn rename_all(&mut self, final_paths: &[Option<PathBuf>]) -> Result<(), S3Error> {
        for (n, path) in final_paths.iter().enumerate() {
            let Some(shard) = self.shards[n].as_mut() else {
                continue;
            };
            let renamed = match path {
                Some(path) => fs::rename(&shard.temp, path).map(|()| path.clone()),
                None => Err(io::Error::other("no final path for a written shard")),
            };
            match renamed {
                Ok(path) => shard.placed = Some(path),
                Err(err) => self.drop_shard(n, err),
            }
        }
        self.check_open()
    }

    /// Makes the renames durable: each directory once, all of them at the same time.
    fn sync_dirs(&mut self) -> Result<(), S3Error> {
        let dir_of = |shard: &ShardFile| -> PathBuf {
            let path = shard.placed.as_deref().unwrap_or(&shard.temp);
            match path.parent() {
                Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
                _ => PathBuf::from("."),
            }
        };
        let mut dirs: Vec<PathBuf> = self.shards.iter().flatten().map(dir_of).collect();
        dirs.sort();
        dirs.dedup();
        let synced = in_parallel(dirs.iter().collect(), |dir| {
            File::open(dir).and_then(|d| d.sync_all())
        });
        for (dir, result) in dirs.iter().zip(synced) {
            let Err(err) = result else { continue };
            for n in 0..self.shards.len() {
                if self.shards[n].as_ref().is_some_and(|s| &dir_of(s) == dir) {
                    self.drop_shard(n, same_error(&err));
                }
            }
        }
        self.check_open()
    }

    /// Removes every file written, temp or already renamed into place; idempotent. Nothing
    /// once finish() has succeeded.
    pub fn abort(&mut self) {
        for shard in self.shards.iter_mut() {
            if let Some(shard) = shard.take() {
                shard.remove();
            }
        }
        if self.closed.is_none() {
            self.closed = Some(internal("the shard writer was aborted"));
        }
    }
}

impl Drop for ShardWriter {
    fn drop(&mut self) {
        self.abort();
    }
}

// ---- reading ---------------------------------------------------------------------------------

/// What reading a stripe found: its bytes, and the shards found damaged (to heal).
pub struct Stripe {
    pub data: Vec<u8>,
    pub damaged: Vec<usize>,
}

/// Consecutive blocks of one shard, read with one positional read: `good[n]` says whether
/// block `first + n` is whole and its hash holds (`bytes` may be longer: a reused buffer).
struct Span {
    first: u64,
    bytes: Vec<u8>,
    good: Vec<bool>,
}

/// A read of `count` blocks of a shard from block `first`.
struct Want {
    shard: usize,
    first: u64,
    count: usize,
}

/// Up to buf.len() bytes from offset: fewer at the end of the file or on an error.
fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    got
}

/// Reads and verifies consecutive blocks of a shard into `bytes` (no file: none of them is
/// good).
fn read_span(
    file: Option<&File>,
    key: &[u8; 32],
    want: &Want,
    block_len: usize,
    mut bytes: Vec<u8>,
) -> Span {
    let mut got = 0;
    if let Some(file) = file {
        let len = want.count * block_len;
        if bytes.len() < len {
            bytes.resize(len, 0);
        }
        got = read_at_most(file, &mut bytes[..len], want.first * block_len as u64);
    }
    let good = (0..want.count)
        .map(|n| {
            bytes[..got]
                .get(n * block_len..(n + 1) * block_len)
                .is_some_and(|block| {
                    let (hash, data) = block.split_at(HASH_LEN);
                    hash == block_hash(key, want.first + n as u64, want.shard, data)
                })
        })
        .collect();
    Span {
        first: want.first,
        bytes,
        good,
    }
}

/// Every block one read has fetched, by shard.
struct Fetched {
    spans: Vec<Vec<Span>>,
    block_len: usize,
}

impl Fetched {
    fn spans(&self, shard: usize, stripe: u64) -> impl Iterator<Item = (&Span, usize)> {
        self.spans[shard].iter().filter_map(move |span| {
            let n = stripe.checked_sub(span.first)? as usize;
            (n < span.good.len()).then_some((span, n))
        })
    }

    fn tried(&self, shard: usize, stripe: u64) -> bool {
        self.spans(shard, stripe).next().is_some()
    }

    /// The shard's verified bytes of a stripe, if read and good.
    fn block(&self, shard: usize, stripe: u64) -> Option<&[u8]> {
        let (span, n) = self.spans(shard, stripe).find(|(span, n)| span.good[*n])?;
        let at = n * self.block_len;
        Some(&span.bytes[at + HASH_LEN..at + self.block_len])
    }

    fn good(&self, stripe: u64) -> usize {
        (0..self.spans.len())
            .filter(|&shard| self.block(shard, stripe).is_some())
            .count()
    }

    /// The shards with a block that was read and is missing, short or corrupt.
    fn damaged(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.spans.len()).filter(|&shard| {
            self.spans[shard]
                .iter()
                .any(|span| span.good.contains(&false))
        })
    }
}

/// One shard's part of a fast read: a data shard's blocks read into their places in the
/// output (`skip`: not read, the shard is absent and its blocks get rebuilt there), or a
/// parity shard's blocks read into a buffer, to rebuild from.
enum DirectRead<'o> {
    Data {
        shard: usize,
        blocks: Vec<Placed<'o>>,
        skip: bool,
    },
    Parity {
        want: Want,
        buffer: Vec<u8>,
    },
}

/// A DirectRead done: whether its blocks are whole and good.
enum DirectDone<'o> {
    Data {
        good: bool,
        blocks: Vec<Placed<'o>>,
        skip: bool,
    },
    Parity {
        shard: usize,
        span: Span,
    },
}

impl<'o> DirectRead<'o> {
    /// How many blocks it reads.
    fn len(&self, files: &[Option<File>]) -> usize {
        match self {
            DirectRead::Data { skip: true, .. } => 0,
            DirectRead::Data { shard, blocks, .. } => {
                files[*shard].as_ref().map_or(0, |_| blocks.len())
            }
            DirectRead::Parity { want, .. } => files[want.shard].as_ref().map_or(0, |_| want.count),
        }
    }

    fn run(self, files: &[Option<File>], key: &[u8; 32], block_len: usize) -> DirectDone<'o> {
        match self {
            DirectRead::Data {
                blocks, skip: true, ..
            } => DirectDone::Data {
                good: true,
                blocks,
                skip: true,
            },
            DirectRead::Data {
                shard, mut blocks, ..
            } => {
                let good = files[shard]
                    .as_ref()
                    .is_some_and(|file| read_placed(file, key, shard, block_len, &mut blocks));
                DirectDone::Data {
                    good,
                    blocks,
                    skip: false,
                }
            }
            DirectRead::Parity { want, buffer } => DirectDone::Parity {
                shard: want.shard,
                span: read_span(files[want.shard].as_ref(), key, &want, block_len, buffer),
            },
        }
    }
}

impl DirectDone<'_> {
    fn good(&self) -> bool {
        match self {
            DirectDone::Data { good, .. } => *good,
            DirectDone::Parity { span, .. } => span.good.iter().all(|&g| g),
        }
    }
}

pub struct ShardReader {
    codec: Codec,
    shape: Shape,
    key: [u8; 32],
    /// The length of the bytes striped over the shards (the sealed stream's, when sealed).
    size: u64,
    /// Some: the shards hold a sealed stream, and reads return its plaintext.
    seal: Option<Opener>,
    files: Vec<Option<File>>,
    /// Where each shard's file is (None: its drive is offline), for healing.
    paths: Vec<Option<PathBuf>>,
    /// No path given: the drive is offline, known to the caller, not reported as damaged.
    offline: Vec<bool>,
    /// Every shard found missing, short, corrupt or another object's so far.
    damaged: BTreeSet<usize>,
    /// Read buffers of the last read, for the next.
    buffers: Vec<Vec<u8>>,
    /// Each shard file's read-ahead.
    ahead: Vec<ReadAhead>,
    /// Bytes asked of the shard files by reads (verify() and heal() aside).
    bytes_read: u64,
}

impl ShardReader {
    /// Opens the shards there are (None: an offline drive; a file that cannot be opened is
    /// missing, hence damaged).
    pub fn open(
        paths: &[Option<PathBuf>],
        shape: Shape,
        size: u64,
        key: [u8; 32],
    ) -> Result<Self, S3Error> {
        let codec = check_layout(shape, paths.len(), shape.k)?;
        let files: Vec<Option<File>> = paths
            .iter()
            .map(|path| path.as_ref().and_then(|p| File::open(p).ok()))
            .collect();
        files.iter().flatten().for_each(advise_sequential);
        let ahead = files
            .iter()
            .map(|file| match file {
                Some(file) => ReadAhead::of(file, Self::read_ahead(shape)),
                None => ReadAhead::new(0, 0), // never read
            })
            .collect();
        let offline: Vec<bool> = paths.iter().map(Option::is_none).collect();
        let damaged = (0..paths.len())
            .filter(|&n| !offline[n] && files[n].is_none())
            .collect();
        Ok(Self {
            codec,
            shape,
            key,
            size,
            seal: None,
            files,
            paths: paths.to_vec(),
            offline,
            damaged,
            buffers: Vec::new(),
            ahead,
            bytes_read: 0,
        })
    }

    /// The shards of an encrypted object: the sealed stream of a `plain_size`-byte plaintext
    /// sealed under `seal` (sealed_len(plain_size) bytes, in stripes of `shape.stripe_size`),
    /// blocks hashed with `key` as for any object. read() and read_into() return plaintext;
    /// verify(), heal(), read_stripe() and stripes() are of the sealed stream.
    pub fn open_sealed(
        paths: &[Option<PathBuf>],
        shape: Shape,
        plain_size: u64,
        key: [u8; 32],
        seal: DataKey,
    ) -> Result<Self, S3Error> {
        let mut reader = Self::open(paths, shape, encryption::sealed_len(plain_size), key)?;
        reader.seal = Some(Opener::new(&seal, plain_size));
        Ok(reader)
    }

    /// How far ahead of a read each shard file is fetched: READ_AHEAD of the object in all.
    fn read_ahead(shape: Shape) -> u64 {
        (READ_AHEAD / shape.k as u64).max(1 << 20)
    }

    /// The size reads address: the object's (the plaintext's, when sealed).
    pub fn size(&self) -> u64 {
        self.seal.as_ref().map_or(self.size, Opener::plain_len)
    }

    /// The length of the bytes striped over the shards (the sealed stream's, when sealed).
    pub fn stored_size(&self) -> u64 {
        self.size
    }

    /// How many packages a sealed reader has opened (none for another).
    pub fn packages_opened(&self) -> u64 {
        self.seal.as_ref().map_or(0, Opener::opened)
    }

    /// How many bytes reads have asked of the shard files so far (blocks with their hashes,
    /// or a sealed read's package bytes alone; verify() and heal() not counted).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    pub fn stripes(&self) -> u64 {
        self.size.div_ceil(self.shape.stripe_size as u64)
    }

    /// The shards found damaged so far, in order.
    pub fn damaged(&self) -> Vec<usize> {
        self.damaged.iter().copied().collect()
    }

    fn shard_len(&self) -> usize {
        self.codec.shard_len(self.shape.stripe_size)
    }

    fn block_len(&self) -> usize {
        HASH_LEN + self.shard_len()
    }

    /// Stripe `n` (of the sealed stream, when sealed), and the shards found damaged while
    /// reading it.
    pub fn read_stripe(&mut self, n: u64) -> Result<Stripe, S3Error> {
        let offset = n.saturating_mul(self.shape.stripe_size as u64);
        let mut data = vec![0u8; self.stored_len_at(offset, self.shape.stripe_size)];
        let damaged = self.read_range(offset, &mut data)?;
        Ok(Stripe { data, damaged })
    }

    /// How many bytes read(offset, len) returns: the range cut at the object's end (the
    /// plaintext's, when sealed).
    pub fn len_at(&self, offset: u64, len: usize) -> usize {
        let end = self.size().min(offset.saturating_add(len as u64));
        end.saturating_sub(offset) as usize
    }

    /// len_at() of the bytes striped over the shards.
    fn stored_len_at(&self, offset: u64, len: usize) -> usize {
        let end = self.size.min(offset.saturating_add(len as u64));
        end.saturating_sub(offset) as usize
    }

    /// The object's bytes [offset, offset + len), cut at its end. Each shard needed is read
    /// with one positional read over the stripes of the range, all shards at once; parity is
    /// read only for the stripes where a data block is missing, short or corrupt. Fails,
    /// never returning wrong bytes, when a stripe has fewer than k good shards.
    pub fn read(&mut self, offset: u64, len: usize) -> Result<Vec<u8>, S3Error> {
        let mut out = vec![0u8; self.len_at(offset, len)];
        self.read_into(offset, &mut out)?;
        Ok(out)
    }

    /// read(offset, out.len()) into `out`, which the range must fill (see len_at()). Sealed:
    /// the plaintext, from the sealed bytes of the packages the range touches only (read in
    /// rounds of whole stripes, READ_AHEAD at most; see read_sealed()), each package opened
    /// (InternalError "package N of the encrypted data is corrupt" for one that does not, with
    /// `out` zeroed).
    ///
    /// Package bytes read unchecked (not whole blocks: see read_unchecked()) that do not all
    /// open are read again the careful way: the whole range, every block verified by its hash,
    /// which finds the bad shard (damaged()) and rebuilds its bytes from the others.
    pub fn read_into(&mut self, offset: u64, out: &mut [u8]) -> Result<(), S3Error> {
        let Some(mut opener) = self.seal.take() else {
            return self.read_range(offset, out).map(|_| ());
        };
        let mut unchecked = false;
        let mut read = opener.read_into(offset, out, SEALED_CHUNK, |at, buf| {
            self.read_sealed(at, buf, &mut unchecked)
        });
        if read.is_err() && unchecked {
            read = opener.read_into(offset, out, SEALED_CHUNK, |at, buf| {
                self.read_range(at, buf).map(|_| buf.len())
            });
        }
        self.seal = Some(opener);
        read
    }

    /// Fills `buf` with the sealed bytes from `at` (whole packages) for the opener: the full
    /// stripes among them by read_range() (blocks verified by their hashes, the fast path),
    /// the packages of a stripe the range holds only part of (a small read, the ends of a
    /// large one, the last stripe, which is shorter) by read_unchecked() when it can
    /// (`unchecked` then set), else by read_range() too.
    fn read_sealed(
        &mut self,
        at: u64,
        buf: &mut [u8],
        unchecked: &mut bool,
    ) -> Result<usize, S3Error> {
        let stripe = self.shape.stripe_size as u64;
        let end = at + buf.len() as u64;
        let whole_from = at.next_multiple_of(stripe).min(end);
        let whole_to = (end / stripe * stripe).max(whole_from);
        let (head, rest) = buf.split_at_mut((whole_from - at) as usize);
        let (whole, tail) = rest.split_at_mut((whole_to - whole_from) as usize);
        let parts = [
            (at, head, false),
            (whole_from, whole, true),
            (whole_to, tail, false),
        ];
        for (from, part, whole) in parts {
            if part.is_empty() {
                continue;
            }
            if !whole && self.read_unchecked(from, part) {
                *unchecked = true;
            } else {
                self.read_range(from, part)?;
            }
        }
        Ok(buf.len())
    }

    /// Reads the bytes [at, at + out.len()) of one stripe as they are from the data shards
    /// holding them (only those bytes: no block whole, no hash), for a caller that checks
    /// them otherwise (GCM tags). False, having read nothing, when a data shard it needs is
    /// missing or known damaged; false as well when a read comes up short or fails.
    fn read_unchecked(&mut self, at: u64, out: &mut [u8]) -> bool {
        let range = at..at + out.len() as u64;
        let s = at / self.shape.stripe_size as u64;
        let block_len = self.block_len() as u64;
        let mut reads: Vec<(&File, u64, &mut [u8])> = Vec::new();
        let mut rest = out;
        for shard in 0..self.shape.k {
            let Some((offset, len)) = self.part(s, shard, &range) else {
                continue;
            };
            let Some(file) = self.files[shard].as_ref() else {
                return false;
            };
            if self.damaged.contains(&shard) {
                return false;
            }
            let offset = s * block_len + (HASH_LEN + offset) as u64;
            self.ahead[shard].before_read(file, offset + len as u64);
            let (part, tail) = std::mem::take(&mut rest).split_at_mut(len);
            rest = tail;
            reads.push((file, offset, part));
        }
        self.bytes_read += range.end - range.start;
        in_parallel(reads, |(file, offset, part)| {
            read_at_most(file, part, offset) == part.len()
        })
        .into_iter()
        .all(|whole| whole)
    }

    /// Fills `out` from `offset` of the bytes striped over the shards; returns the shards
    /// found damaged.
    fn read_range(&mut self, offset: u64, out: &mut [u8]) -> Result<Vec<usize>, S3Error> {
        if out.is_empty() {
            return Ok(Vec::new());
        }
        if self.stored_len_at(offset, out.len()) != out.len() {
            return Err(internal("a read past the end of the object"));
        }
        let range = offset..offset + out.len() as u64;
        if self.read_direct(&range, out) {
            return Ok(Vec::new());
        }
        let mut fetched = Fetched {
            spans: (0..self.files.len()).map(|_| Vec::new()).collect(),
            block_len: self.block_len(),
        };
        let wants = self.data_wants(&range);
        self.fetch(wants, &mut fetched);
        let filled = self
            .fetch_for_rebuild(&range, &mut fetched)
            .and_then(|()| self.assemble(&range, &fetched, out));
        let damaged = self.note_damage(fetched.damaged());
        self.keep_buffers(fetched);
        filled.map(|()| damaged)
    }

    /// The fast read: each data shard's blocks of the range read straight into `out` and
    /// checked there; a data shard known to be missing or damaged is rebuilt in `out` from
    /// parity blocks read beside them (when the range is whole blocks: a rebuild needs them).
    /// False when that cannot be done, or a block proves missing, short or corrupt: the
    /// careful read (which finds out which, and rebuilds it) is then left to do.
    fn read_direct(&mut self, range: &Range<u64>, out: &mut [u8]) -> bool {
        let k = self.shape.k;
        let usable = |n: usize| self.files[n].is_some() && !self.damaged.contains(&n);
        let absent: Vec<bool> = (0..k).map(|n| !usable(n)).collect();
        let missing = absent.iter().filter(|&&a| a).count();
        let stand_ins: Vec<usize> = (k..self.files.len())
            .filter(|&n| usable(n))
            .take(missing)
            .collect();
        let placed = self.placed(range, out);
        let stripes = self.stripes_of(range);
        let first = *stripes.start();
        let count = (stripes.end() - first + 1) as usize;
        // a rebuild in place needs every data block of every stripe whole in `out` (a data
        // shard may hold nothing of a stripe: the range, or the object, ends before it)
        let partial = placed.iter().flatten().any(|b| b.before + b.after > 0)
            || placed.iter().any(|blocks| blocks.len() != count);
        if stand_ins.len() < missing || (missing > 0 && partial) {
            return false;
        }
        let mut reads: Vec<DirectRead<'_>> = Vec::with_capacity(k + missing);
        for (shard, blocks) in placed.into_iter().enumerate() {
            reads.push(DirectRead::Data {
                shard,
                blocks,
                skip: absent[shard],
            });
        }
        for &shard in &stand_ins {
            let want = Want {
                shard,
                first,
                count,
            };
            reads.push(DirectRead::Parity {
                want,
                buffer: self.buffers.pop().unwrap_or_default(),
            });
        }
        self.read_ahead_for(&reads);
        self.bytes_read += reads.iter().map(|r| r.len(&self.files)).sum::<usize>() as u64
            * self.block_len() as u64;
        let (files, key, block_len) = (&self.files, &self.key, self.block_len());
        let done = in_parallel(reads, |read| read.run(files, key, block_len));
        if done.iter().any(|d| !d.good()) {
            return false;
        }
        missing == 0 || self.rebuild_in_place(done, count)
    }

    /// Each data shard's blocks of the range, with the part of `out` each one fills.
    fn placed<'o>(&self, range: &Range<u64>, out: &'o mut [u8]) -> Vec<Vec<Placed<'o>>> {
        let mut placed: Vec<Vec<Placed<'o>>> = (0..self.shape.k).map(|_| Vec::new()).collect();
        let mut rest = out;
        for s in self.stripes_of(range) {
            for (shard, blocks) in placed.iter_mut().enumerate() {
                if let Some((at, len)) = self.part(s, shard, range) {
                    let (part, tail) = std::mem::take(&mut rest).split_at_mut(len);
                    rest = tail;
                    let after = self.shard_len() - at - len;
                    blocks.push(Placed {
                        stripe: s,
                        before: at,
                        out: part,
                        after,
                    });
                }
            }
        }
        placed
    }

    fn read_ahead_for(&mut self, reads: &[DirectRead<'_>]) {
        let block_len = self.block_len() as u64;
        for read in reads {
            let (shard, end) = match read {
                DirectRead::Data { skip: true, .. } => continue,
                DirectRead::Data { shard, blocks, .. } => match blocks.last() {
                    Some(last) => (*shard, last.stripe + 1),
                    None => continue,
                },
                DirectRead::Parity { want, .. } => (want.shard, want.first + want.count as u64),
            };
            if let Some(file) = &self.files[shard] {
                self.ahead[shard].before_read(file, end * block_len);
            }
        }
    }

    /// Rebuilds the absent data shards' blocks in `out`, stripe by stripe, from the blocks
    /// read (data in `out`, parity in their spans); true when every stripe was rebuilt.
    fn rebuild_in_place(&mut self, done: Vec<DirectDone<'_>>, count: usize) -> bool {
        let n = self.files.len();
        let (shard_len, block_len) = (self.shard_len(), self.block_len());
        let mut data: Vec<(Vec<Placed<'_>>, bool)> = Vec::new();
        let mut parity: Vec<Option<Span>> = (0..n).map(|_| None).collect();
        for d in done {
            match d {
                DirectDone::Data { blocks, skip, .. } => data.push((blocks, !skip)),
                DirectDone::Parity { shard, span } => parity[shard] = Some(span),
            }
        }
        let unread = parity[self.shape.k..]
            .iter()
            .filter(|p| p.is_none())
            .count();
        let mut scratch = vec![0u8; unread * shard_len];
        for t in 0..count {
            let mut shards: Vec<(&mut [u8], bool)> = Vec::with_capacity(n);
            for (blocks, here) in data.iter_mut() {
                shards.push((&mut *blocks[t].out, *here));
            }
            let mut spare = scratch.chunks_mut(shard_len.max(1));
            for span in parity[self.shape.k..].iter_mut() {
                match span {
                    Some(span) => {
                        let at = t * block_len + HASH_LEN;
                        shards.push((&mut span.bytes[at..at + shard_len], true));
                    }
                    None => shards.push((spare.next().unwrap_or_default(), false)),
                }
            }
            if self.codec.reconstruct_data_in(&mut shards).is_err() {
                return false;
            }
        }
        self.buffers
            .extend(parity.into_iter().flatten().map(|span| span.bytes));
        true
    }

    fn keep_buffers(&mut self, fetched: Fetched) {
        let spans = fetched.spans.into_iter().flatten();
        let kept = spans
            .map(|span| span.bytes)
            .filter(|b| b.len() <= KEPT_BUFFER);
        self.buffers = kept.take(self.files.len()).collect();
    }

    fn stripes_of(&self, range: &Range<u64>) -> RangeInclusive<u64> {
        let stripe = self.shape.stripe_size as u64;
        range.start / stripe..=(range.end - 1) / stripe
    }

    /// Where data shard `shard` holds bytes of the range in stripe `s`: (offset in its block,
    /// length).
    fn part(&self, s: u64, shard: usize, range: &Range<u64>) -> Option<(usize, usize)> {
        let stripe = self.shape.stripe_size as u64;
        let len = self.shard_len() as u64;
        let start = s * stripe + shard as u64 * len;
        let stop = s * stripe + ((shard as u64 + 1) * len).min(stripe);
        let (lo, hi) = (start.max(range.start), stop.min(range.end));
        (lo < hi).then(|| ((lo - start) as usize, (hi - lo) as usize))
    }

    /// Each data shard over the stripes where it holds bytes of the range.
    fn data_wants(&self, range: &Range<u64>) -> Vec<Want> {
        (0..self.shape.k)
            .filter_map(|shard| {
                let mut stripes = self
                    .stripes_of(range)
                    .filter(|&s| self.part(s, shard, range).is_some());
                let first = stripes.next()?;
                let last = stripes.last().unwrap_or(first);
                Some(Want {
                    shard,
                    first,
                    count: (last - first + 1) as usize,
                })
            })
            .collect()
    }

    fn fetch(&mut self, wants: Vec<Want>, into: &mut Fetched) {
        let block_len = self.block_len() as u64;
        for want in &wants {
            if let Some(file) = &self.files[want.shard] {
                let end = (want.first + want.count as u64) * block_len;
                self.ahead[want.shard].before_read(file, end);
                self.bytes_read += want.count as u64 * block_len;
            }
        }
        let jobs: Vec<(Want, Vec<u8>)> = wants
            .into_iter()
            .map(|want| (want, self.buffers.pop().unwrap_or_default()))
            .collect();
        let (files, key, block_len) = (&self.files, &self.key, self.block_len());
        let spans = in_parallel(jobs, |(want, buffer)| {
            let span = read_span(files[want.shard].as_ref(), key, &want, block_len, buffer);
            (want.shard, span)
        });
        for (shard, span) in spans {
            into.spans[shard].push(span);
        }
    }

    /// Whether a data block the range needs in stripe `s` is not good.
    fn needs_rebuild(&self, s: u64, range: &Range<u64>, fetched: &Fetched) -> bool {
        (0..self.shape.k)
            .any(|shard| self.part(s, shard, range).is_some() && fetched.block(shard, s).is_none())
    }

    /// Reads more shards, in rounds, until every stripe to rebuild has k good blocks.
    fn fetch_for_rebuild(
        &mut self,
        range: &Range<u64>,
        fetched: &mut Fetched,
    ) -> Result<(), S3Error> {
        let (k, n) = (self.shape.k, self.files.len());
        loop {
            // per shard, the first and last stripe it is wanted for
            let mut wanted: Vec<Option<(u64, u64)>> = vec![None; n];
            for s in self.stripes_of(range) {
                let good = fetched.good(s);
                if good >= k || !self.needs_rebuild(s, range, fetched) {
                    continue;
                }
                let untried: Vec<usize> = (0..n)
                    .filter(|&j| self.files[j].is_some() && !fetched.tried(j, s))
                    .collect();
                // (when too few are left, they are still read: the error and the damage
                // found then tell all there is)
                if untried.is_empty() {
                    return Err(self.lost(s, good));
                }
                for &j in untried.iter().take(k - good) {
                    let (first, last) = wanted[j].get_or_insert((s, s));
                    *first = (*first).min(s);
                    *last = (*last).max(s);
                }
            }
            let wants: Vec<Want> = wanted
                .iter()
                .enumerate()
                .filter_map(|(shard, w)| {
                    w.map(|(first, last)| Want {
                        shard,
                        first,
                        count: (last - first + 1) as usize,
                    })
                })
                .collect();
            if wants.is_empty() {
                return Ok(());
            }
            self.fetch(wants, fetched);
        }
    }

    fn lost(&self, s: u64, good: usize) -> S3Error {
        internal(format!(
            "stripe {s}: {good} of {} shards readable, {} needed: the stripe is lost, the object \
             unreadable",
            self.files.len(),
            self.shape.k
        ))
    }

    /// Fills `out` with the range's bytes, stripe by stripe, from the data blocks or rebuilt
    /// ones.
    fn assemble(
        &self,
        range: &Range<u64>,
        fetched: &Fetched,
        mut out: &mut [u8],
    ) -> Result<(), S3Error> {
        for s in self.stripes_of(range) {
            if self.needs_rebuild(s, range, fetched) {
                let shards = self.rebuild(s, fetched)?;
                let data: Vec<Option<&[u8]>> = shards.iter().map(|b| b.as_deref()).collect();
                out = self.copy_parts(s, range, &data, out)?;
            } else {
                let data: Vec<Option<&[u8]>> =
                    (0..self.shape.k).map(|i| fetched.block(i, s)).collect();
                out = self.copy_parts(s, range, &data, out)?;
            }
        }
        Ok(())
    }

    fn rebuild(&self, s: u64, fetched: &Fetched) -> Result<Vec<Option<Vec<u8>>>, S3Error> {
        let mut shards: Vec<Option<Vec<u8>>> = (0..self.files.len())
            .map(|j| fetched.block(j, s).map(<[u8]>::to_vec))
            .collect();
        self.codec.reconstruct(&mut shards, false)?;
        Ok(shards)
    }

    /// Copies stripe `s`'s part of the range to the front of `out`; returns the rest of it.
    fn copy_parts<'o>(
        &self,
        s: u64,
        range: &Range<u64>,
        data: &[Option<&[u8]>],
        mut out: &'o mut [u8],
    ) -> Result<&'o mut [u8], S3Error> {
        for (shard, block) in data.iter().enumerate().take(self.shape.k) {
            if let Some((at, len)) = self.part(s, shard, range) {
                let block = block.ok_or_else(|| internal("a data shard is missing"))?;
                let (part, rest) = out.split_at_mut(len);
                part.copy_from_slice(&block[at..at + len]);
                out = rest;
            }
        }
        Ok(out)
    }

    /// Records damage found (offline drives aside); returns it.
    fn note_damage(&mut self, found: impl Iterator<Item = usize>) -> Vec<usize> {
        let found: Vec<usize> = found.filter(|&n| !self.offline[n]).collect();
        self.damaged.extend(&found);
        found
    }

    /// Reads and verifies every block of every shard, data and parity (a scrub); returns every
    /// shard that is not whole and good, those of offline drives too (they need healing once
    /// back). Fails only when some stripe has fewer than k good blocks.
    pub fn verify(&mut self) -> Result<Vec<usize>, S3Error> {
        let stripes = self.stripes();
        let block_len = self.block_len();
        let batch = (VERIFY_BATCH / block_len).max(1) as u64;
        let (files, key) = (&self.files, &self.key);
        let good: Vec<Vec<bool>> = in_parallel((0..files.len()).collect(), |shard| {
            let mut good = Vec::with_capacity(stripes as usize);
            let (mut first, mut buffer) = (0, Vec::new());
            let mut ahead = files[shard]
                .as_ref()
                .map(|file| ReadAhead::of(file, VERIFY_BATCH as u64));
            while first < stripes {
                let count = batch.min(stripes - first) as usize;
                if let (Some(file), Some(ahead)) = (&files[shard], &mut ahead) {
                    ahead.before_read(file, (first + count as u64) * block_len as u64);
                }
                let want = Want {
                    shard,
                    first,
                    count,
                };
                let span = read_span(files[shard].as_ref(), key, &want, block_len, buffer);
                good.extend(span.good);
                buffer = span.bytes;
                first += count as u64;
            }
            good
        });
        let bad: Vec<usize> = (0..self.files.len())
            .filter(|&n| self.files[n].is_none() || good[n].contains(&false))
            .collect();
        self.note_damage(bad.iter().copied());
        for s in 0..stripes {
            let readable = good.iter().filter(|g| g[s as usize]).count();
            if readable < self.shape.k {
                return Err(self.lost(s, readable));
            }
        }
        Ok(bad)
    }
}

// ---- healing ---------------------------------------------------------------------------------

impl ShardReader {
    /// Rebuilds every shard that is not whole and good and has somewhere to go (`temps[n]`:
    /// its drive is online). Each is written whole at its temp path, block by block from the
    /// good blocks of every shard (through the code where its own block is bad), synced,
    /// renamed over its file, and its directory synced. Returns the shards rebuilt and those
    /// left (damaged, with no temp path). Fails, leaving every shard file as it was, when a
    /// stripe has fewer than k good blocks.
    pub fn heal(&mut self, temps: &[Option<PathBuf>]) -> Result<(Vec<usize>, Vec<usize>), S3Error> {
        if temps.len() != self.files.len() {
            return Err(internal("one temp path per shard"));
        }
        let (targets, left): (Vec<usize>, Vec<usize>) = self
            .verify()?
            .into_iter()
            .partition(|&n| temps[n].is_some() && self.paths[n].is_some());
        if targets.is_empty() {
            return Ok((targets, left));
        }
        let temps: Vec<PathBuf> = targets.iter().filter_map(|&n| temps[n].clone()).collect();
        let healed = self.rebuild_shards(&targets, &temps);
        if healed.is_err() {
            temps.iter().for_each(|t| drop(fs::remove_file(t)));
        }
        healed?;
        for n in &targets {
            self.damaged.remove(n);
        }
        Ok((targets, left))
    }

    fn rebuild_shards(&self, targets: &[usize], temps: &[PathBuf]) -> Result<(), S3Error> {
        let mut files = temps
            .iter()
            .map(|t| File::create(t).map_err(|e| S3Error::io("creating a healed shard", e)))
            .collect::<Result<Vec<_>, _>>()?;
        for s in 0..self.stripes() {
            let shards = self.whole_stripe(s)?;
            for (file, &n) in files.iter_mut().zip(targets) {
                let block = shards[n]
                    .as_deref()
                    .ok_or_else(|| internal("a shard not rebuilt"))?;
                file.write_all(&block_hash(&self.key, s, n, block))
                    .and_then(|()| file.write_all(block))
                    .map_err(|e| S3Error::io("writing a healed shard", e))?;
            }
        }
        for ((file, temp), &n) in files.iter().zip(temps).zip(targets) {
            let path = self.paths[n]
                .as_ref()
                .ok_or_else(|| internal("no shard path"))?;
            file.sync_all()
                .map_err(|e| S3Error::io("fsync of a healed shard", e))?;
            fs::rename(temp, path).map_err(|e| S3Error::io("renaming a healed shard", e))?;
            if let Some(dir) = path.parent() {
                crate::writer::sync_dir(dir)?;
            }
        }
        Ok(())
    }

    /// Every shard's block of stripe `s`, the bad ones rebuilt (parity included).
    fn whole_stripe(&self, s: u64) -> Result<Vec<Option<Vec<u8>>>, S3Error> {
        let block_len = self.block_len();
        let (files, key) = (&self.files, &self.key);
        let mut shards: Vec<Option<Vec<u8>>> = in_parallel((0..files.len()).collect(), |shard| {
            let want = Want {
                shard,
                first: s,
                count: 1,
            };
            let span = read_span(files[shard].as_ref(), key, &want, block_len, Vec::new());
            span.good[0].then(|| span.bytes[HASH_LEN..block_len].to_vec())
        });
        let good = shards.iter().filter(|b| b.is_some()).count();
        if good < self.shape.k {
            return Err(self.lost(s, good));
        }
        self.codec.reconstruct(&mut shards, true)?;
        Ok(shards)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_drives::{files_in, flip, in_each};

    const KEY: [u8; 32] = [7; 32];
    const STRIPE: usize = 64 * 1024;

    fn shape(k: usize, m: usize) -> Shape {
        Shape {
            k,
            m,
            stripe_size: STRIPE,
        }
    }

    fn object(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 13 + i / 1000) as u8).collect()
    }

    fn drives(name: &str, n: usize) -> Vec<PathBuf> {
        crate::test_drives::drives(&format!("shards-{name}"), n)
    }

    fn write(dirs: &[PathBuf], shape: Shape, data: &[u8], key: [u8; 32]) -> Vec<PathBuf> {
        let mut writer = ShardWriter::create(&in_each(dirs, "t"), shape, key, dirs.len()).unwrap();
        for stripe in data.chunks(shape.stripe_size) {
            writer.write_stripe(stripe).unwrap();
        }
        assert_eq!(writer.size(), data.len() as u64);
        let written = writer.finish(&in_each(dirs, "f")).unwrap();
        assert!(written.iter().all(|&w| w));
        drop(writer); // a finished writer removes nothing
        let finals: Vec<PathBuf> = dirs.iter().map(|d| d.join("f")).collect();
        assert_eq!(files_in(dirs).len(), finals.len(), "only the final files");
        finals
    }

    fn open(paths: &[PathBuf], shape: Shape, len: usize) -> ShardReader {
        let paths: Vec<Option<PathBuf>> = paths.iter().cloned().map(Some).collect();
        ShardReader::open(&paths, shape, len as u64, KEY).unwrap()
    }

    fn ranges(len: usize) -> Vec<(u64, usize)> {
        let s = STRIPE as u64;
        vec![
            (0, len),
            (0, 1),
            (1, 100),
            (s - 1, 2),              // across the first stripe boundary
            (s - 10, STRIPE + 20),   // across two
            (s / 2 + 3, 2 * STRIPE), // starts in a second data shard
            (len as u64 / 2, len),   // to the end, cut
            (len.saturating_sub(1) as u64, 10),
            (len as u64, 5),
            (len as u64 + 5, 5),
        ]
    }

    fn check_ranges(reader: &mut ShardReader, data: &[u8]) {
        for (offset, len) in ranges(data.len()) {
            let start = (offset as usize).min(data.len());
            let end = (offset as usize).saturating_add(len).min(data.len());
            let got = reader.read(offset, len).unwrap();
            assert_eq!(
                got,
                &data[start..end],
                "range {offset}+{len} of {}",
                data.len()
            );
        }
    }

    #[test]
    fn objects_read_back_whole_and_by_ranges() {
        for (k, m) in [(2, 2), (4, 2), (1, 2), (2, 1), (3, 1), (2, 0), (1, 0)] {
            for len in [0, 1, STRIPE - 1, STRIPE, 3 * STRIPE + 17] {
                let dirs = drives(&format!("round-{k}-{m}-{len}"), k + m);
                let data = object(len);
                let paths = write(&dirs, shape(k, m), &data, KEY);
                let mut reader = open(&paths, shape(k, m), len);
                check_ranges(&mut reader, &data);
                let mut stripes = Vec::new();
                for n in 0..reader.stripes() {
                    stripes.extend(reader.read_stripe(n).unwrap().data);
                }
                assert_eq!(stripes, data);
                assert_eq!(reader.verify().unwrap(), Vec::<usize>::new());
                assert!(reader.damaged().is_empty());
            }
        }
    }

    #[test]
    fn one_data_shard_makes_copies() {
        let dirs = drives("copies", 3);
        let data = object(3 * STRIPE + 17);
        let paths = write(&dirs, shape(1, 2), &data, KEY);
        let shards: Vec<Vec<u8>> = paths.iter().map(|p| fs::read(p).unwrap()).collect();
        let block = HASH_LEN + STRIPE;
        assert_eq!(shards[0].len(), 4 * block);
        for shard in &shards[1..] {
            for n in 0..4 {
                let data = n * block + HASH_LEN..(n + 1) * block;
                assert_eq!(shard[data.clone()], shards[0][data]);
            }
        }
        // any single shard reads it back
        for keep in 0..3 {
            let only: Vec<Option<PathBuf>> = (0..3)
                .map(|i| (i == keep).then(|| paths[i].clone()))
                .collect();
            let mut reader = ShardReader::open(&only, shape(1, 2), data.len() as u64, KEY).unwrap();
            assert_eq!(reader.read(0, data.len()).unwrap(), data);
        }
    }

    #[test]
    fn missing_short_corrupt_and_foreign_shards_are_rebuilt_and_reported() {
        let len = 3 * STRIPE + 17;
        let data = object(len);
        let foreign = {
            let dirs = drives("damage-foreign", 6);
            let other: Vec<u8> = data.iter().rev().copied().collect();
            write(&dirs, shape(4, 2), &other, shard_key("another version"))
        };
        type Damage = fn(&[PathBuf], &[PathBuf]);
        let cases: [(&str, Damage, Vec<usize>); 5] = [
            ("missing", |p, _| fs::remove_file(&p[1]).unwrap(), vec![1]),
            (
                "truncated",
                |p, _| {
                    let bytes = fs::read(&p[2]).unwrap();
                    fs::write(&p[2], &bytes[..bytes.len() / 2]).unwrap();
                },
                vec![2],
            ),
            (
                "flipped",
                |p, _| flip(&p[3], 2 * (HASH_LEN + STRIPE / 4) + 40),
                vec![3],
            ),
            ("flipped-hash", |p, _| flip(&p[0], 3), vec![0]),
            (
                "foreign",
                |p, f| {
                    fs::copy(&f[0], &p[0]).unwrap();
                    fs::copy(&f[2], &p[2]).unwrap();
                },
                vec![0, 2],
            ),
        ];
        for (name, damage, damaged) in cases {
            let dirs = drives(&format!("damage-{name}"), 6);
            let paths = write(&dirs, shape(4, 2), &data, KEY);
            damage(&paths, &foreign);
            let mut reader = open(&paths, shape(4, 2), len);
            check_ranges(&mut reader, &data);
            assert_eq!(reader.damaged(), damaged, "{name}");
            let mut reader = open(&paths, shape(4, 2), len);
            assert_eq!(reader.verify().unwrap(), damaged, "{name}");
        }
    }

    #[test]
    fn whole_stripes_are_rebuilt_in_place_for_absent_data_shards() {
        let len = 4 * STRIPE;
        let data = object(len);
        for (k, m) in [(2, 2), (4, 2), (2, 1), (1, 2)] {
            let dirs = drives(&format!("in-place-{k}-{m}"), k + m);
            let paths = write(&dirs, shape(k, m), &data, KEY);
            // data shard 0 offline; with m = 2 the first parity shard corrupt as well, so the
            // fast read's stand-in fails and the careful one takes over
            let mut given: Vec<Option<PathBuf>> = paths.iter().cloned().map(Some).collect();
            given[0] = None;
            if m == 2 {
                flip(&paths[k], HASH_LEN + 5);
            }
            let mut reader = ShardReader::open(&given, shape(k, m), len as u64, KEY).unwrap();
            for offset in (0..len).step_by(2 * STRIPE) {
                let got = reader.read(offset as u64, 2 * STRIPE).unwrap();
                assert_eq!(
                    got,
                    &data[offset..offset + 2 * STRIPE],
                    "{k}+{m} at {offset}"
                );
            }
            assert_eq!(reader.read(0, len).unwrap(), data, "{k}+{m}");
            let corrupt_parity = if m == 2 { vec![k] } else { vec![] };
            assert_eq!(reader.damaged(), corrupt_parity, "{k}+{m}");
        }
    }

    #[test]
    fn unread_parity_is_only_found_by_verify() {
        let dirs = drives("parity", 4);
        let data = object(2 * STRIPE);
        let paths = write(&dirs, shape(2, 2), &data, KEY);
        flip(&paths[3], HASH_LEN + 1);
        let mut reader = open(&paths, shape(2, 2), data.len());
        assert_eq!(reader.read(0, data.len()).unwrap(), data);
        assert!(
            reader.damaged().is_empty(),
            "parity is not read on a healthy read"
        );
        assert_eq!(reader.verify().unwrap(), vec![3]);
        assert_eq!(reader.damaged(), vec![3]);
    }

    #[test]
    fn beyond_parity_is_an_error_never_wrong_bytes() {
        let dirs = drives("lost", 4);
        let data = object(3 * STRIPE + 17);
        let paths = write(&dirs, shape(2, 2), &data, KEY);
        fs::remove_file(&paths[0]).unwrap();
        flip(&paths[1], HASH_LEN + 2 * (HASH_LEN + STRIPE / 2)); // stripe 2 of shard 1
                                                                 // every stripe but the third still has k good blocks
        let mut reader = open(&paths, shape(2, 2), data.len());
        assert_eq!(reader.read(0, STRIPE).unwrap(), data[..STRIPE]);
        fs::remove_file(&paths[2]).unwrap();
        let mut reader = open(&paths, shape(2, 2), data.len());
        assert_eq!(
            reader.read(0, 10).unwrap(),
            data[..10],
            "stripe 0 still readable"
        );
        let err = reader.read(0, data.len()).unwrap_err();
        assert_eq!(err.code, "InternalError");
        assert!(
            err.message.contains("stripe 2: 1 of 4 shards readable"),
            "{}",
            err.message
        );
        assert!(err.message.contains("lost"), "{}", err.message);
        assert_eq!(reader.damaged(), vec![0, 1, 2]);
        let err = reader.verify().unwrap_err();
        assert!(err.message.contains("lost"), "{}", err.message);
        // offline drives, not damage
        let offline = [None, Some(paths[1].clone()), None, Some(paths[3].clone())];
        let mut reader = ShardReader::open(&offline, shape(2, 2), data.len() as u64, KEY).unwrap();
        assert!(reader.read(2 * STRIPE as u64, 10).is_err());
        assert_eq!(reader.damaged(), vec![1]);
    }

    #[test]
    fn a_write_quorum_survives_an_offline_drive() {
        let dirs = drives("quorum", 4);
        let data = object(2 * STRIPE + 5);
        let mut temps = in_each(&dirs, "t");
        temps[2] = None;
        let mut writer = ShardWriter::create(&temps, shape(2, 2), KEY, 3).unwrap();
        for stripe in data.chunks(STRIPE) {
            writer.write_stripe(stripe).unwrap();
        }
        let mut finals = in_each(&dirs, "f");
        finals[2] = None;
        assert_eq!(
            writer.finish(&finals).unwrap(),
            vec![true, true, false, true]
        );
        let mut reader = ShardReader::open(&finals, shape(2, 2), data.len() as u64, KEY).unwrap();
        assert_eq!(reader.read(0, data.len()).unwrap(), data);
        assert!(
            reader.damaged().is_empty(),
            "an offline drive is not damage"
        );
        assert_eq!(
            reader.verify().unwrap(),
            vec![2],
            "but its shard needs healing"
        );
        assert!(reader.damaged().is_empty());
        assert_eq!(files_in(&dirs).len(), 3);

        temps[1] = None;
        let err = ShardWriter::create(&temps, shape(2, 2), KEY, 3)
            .err()
            .unwrap();
        assert_eq!(err.code, "ServiceUnavailable");
        assert!(
            err.message
                .contains("write quorum lost: 2 of 4 shards written, 3 needed"),
            "{}",
            err.message
        );
        assert!(
            ShardWriter::create(&temps, shape(2, 2), KEY, 1).is_err(),
            "quorum < k"
        );
        assert!(
            ShardWriter::create(&temps, shape(2, 2), KEY, 5).is_err(),
            "quorum > k + m"
        );
    }

    #[test]
    fn a_shard_that_cannot_be_created_is_dropped() {
        let dirs = drives("create", 4);
        let mut temps = in_each(&dirs, "t");
        temps[0] = Some(dirs[0].join("gone").join("t"));
        let mut writer = ShardWriter::create(&temps, shape(2, 2), KEY, 3).unwrap();
        writer.write_stripe(&object(100)).unwrap();
        let written = writer.finish(&in_each(&dirs, "f")).unwrap();
        assert_eq!(written, vec![false, true, true, true]);
        assert!(ShardWriter::create(&temps, shape(2, 2), KEY, 4).is_err());
        assert_eq!(
            files_in(&dirs).len(),
            3,
            "nothing left by the failed create"
        );
    }

    /// Temp files whose writes fail: "full" ones on /dev/full (ENOSPC), "ro" ones created then
    /// opened read-only (EBADF).
    fn failing_open(path: &Path) -> io::Result<File> {
        match path.file_name().and_then(|n| n.to_str()) {
            Some("full") => OpenOptions::new().write(true).open("/dev/full"),
            Some("ro") => {
                create_temp(path)?;
                File::open(path)
            }
            _ => create_temp(path),
        }
    }

    #[test]
    fn a_shard_whose_write_fails_is_dropped_and_removed() {
        let dirs = drives("write-fails", 4);
        let data = object(3 * STRIPE);
        let mut temps = in_each(&dirs, "t");
        temps[1] = Some(dirs[1].join("ro"));
        let mut writer =
            ShardWriter::create_with(&temps, shape(2, 2), KEY, 3, failing_open).unwrap();
        writer.write_stripe(&data[..STRIPE]).unwrap();
        assert!(
            !dirs[1].join("ro").exists(),
            "the dropped shard's file is removed"
        );
        for stripe in data[STRIPE..].chunks(STRIPE) {
            writer.write_stripe(stripe).unwrap();
        }
        let finals = in_each(&dirs, "f");
        assert_eq!(
            writer.finish(&finals).unwrap(),
            vec![true, false, true, true]
        );
        let mut reader = ShardReader::open(&finals, shape(2, 2), data.len() as u64, KEY).unwrap();
        assert_eq!(reader.read(0, data.len()).unwrap(), data);
        assert_eq!(
            reader.damaged(),
            vec![1],
            "its final file was never written"
        );

        // below the quorum: a full disk answers InsufficientStorage, and nothing is left
        let dirs = drives("write-fails-full", 4);
        let mut temps = in_each(&dirs, "t");
        temps[1] = Some(dirs[1].join("full"));
        temps[2] = None;
        let mut writer =
            ShardWriter::create_with(&temps, shape(2, 2), KEY, 3, failing_open).unwrap();
        let err = writer.write_stripe(&data[..STRIPE]).unwrap_err();
        assert_eq!(err.code, "InsufficientStorage");
        assert_eq!(
            writer.write_stripe(&data[..10]).unwrap_err(),
            err,
            "it stays failed"
        );
        drop(writer);
        assert!(files_in(&dirs).is_empty());

        let dirs = drives("write-fails-ro", 4);
        let mut temps = in_each(&dirs, "t");
        temps[0] = Some(dirs[0].join("ro"));
        temps[3] = Some(dirs[3].join("ro"));
        let mut writer =
            ShardWriter::create_with(&temps, shape(2, 2), KEY, 3, failing_open).unwrap();
        let err = writer.write_stripe(&data[..10]).unwrap_err();
        assert_eq!(err.code, "ServiceUnavailable");
        assert!(
            err.message.contains("write quorum lost: 2 of 4"),
            "{}",
            err.message
        );
        writer.abort();
        assert!(files_in(&dirs).is_empty());
    }

    #[test]
    fn a_failed_finish_leaves_nothing_anywhere() {
        let dirs = drives("finish-fails", 4);
        let mut writer = ShardWriter::create(&in_each(&dirs, "t"), shape(2, 2), KEY, 4).unwrap();
        writer.write_stripe(&object(1000)).unwrap();
        let mut finals = in_each(&dirs, "f");
        finals[3] = Some(dirs[3].join("gone").join("f")); // its rename fails
        let err = writer.finish(&finals).unwrap_err();
        assert!(
            err.message.contains("write quorum lost: 3 of 4"),
            "{}",
            err.message
        );
        assert!(files_in(&dirs).is_empty(), "{:?}", files_in(&dirs));

        // with quorum 3 the same failure only drops the shard
        let mut writer = ShardWriter::create(&in_each(&dirs, "t"), shape(2, 2), KEY, 3).unwrap();
        writer.write_stripe(&object(1000)).unwrap();
        assert_eq!(
            writer.finish(&finals).unwrap(),
            vec![true, true, true, false]
        );
        assert_eq!(files_in(&dirs).len(), 3);
    }

    #[test]
    fn abort_and_drop_remove_every_temp_file() {
        let dirs = drives("abort", 4);
        let mut writer = ShardWriter::create(&in_each(&dirs, "t"), shape(2, 2), KEY, 4).unwrap();
        writer.write_stripe(&object(STRIPE)).unwrap();
        assert_eq!(files_in(&dirs).len(), 4);
        writer.abort();
        writer.abort();
        assert!(files_in(&dirs).is_empty());
        assert!(writer.write_stripe(b"x").is_err());
        {
            let mut writer =
                ShardWriter::create(&in_each(&dirs, "t"), shape(2, 2), KEY, 4).unwrap();
            writer.write_stripe(&object(STRIPE)).unwrap();
        }
        assert!(files_in(&dirs).is_empty());
    }

    #[test]
    fn the_shard_key_is_derived_from_the_data_id() {
        assert_eq!(shard_key("a"), shard_key("a"));
        assert_ne!(shard_key("a"), shard_key("b"));
        assert_eq!(
            shard_key("a"),
            blake3::derive_key("oxstore 2026-12 shard blocks", b"a")
        );
    }

    #[test]
    fn heal_rebuilds_damaged_shards_byte_for_byte() {
        for (k, m) in [(2, 2), (1, 2), (2, 1)] {
            let dirs = drives(&format!("heal-{k}-{m}"), k + m);
            let data = object(3 * STRIPE + 17);
            let paths = write(&dirs, shape(k, m), &data, KEY);
            let whole: Vec<Vec<u8>> = paths.iter().map(|p| fs::read(p).unwrap()).collect();
            fs::remove_file(&paths[0]).unwrap();
            let mut damaged = vec![0];
            if m > 1 {
                let mut rotten = whole[k + m - 1].clone();
                let at = rotten.len() - 5; // the last block of the last shard
                rotten[at] ^= 1;
                fs::write(&paths[k + m - 1], rotten).unwrap();
                damaged.push(k + m - 1);
            }
            let mut reader = open(&paths, shape(k, m), data.len());
            let temps = in_each(&dirs, "heal");
            let (healed, left) = reader.heal(&temps).unwrap();
            assert_eq!((healed, left), (damaged, vec![]));
            for (path, before) in paths.iter().zip(&whole) {
                assert_eq!(&fs::read(path).unwrap(), before, "{k}+{m}: {path:?}");
            }
            assert!(reader.damaged().is_empty());
            let mut again = open(&paths, shape(k, m), data.len());
            assert!(again.verify().unwrap().is_empty());
            assert_eq!(files_in(&dirs).len(), k + m, "no temp file left");
        }
    }

    #[test]
    fn heal_leaves_offline_shards_and_fails_beyond_parity() {
        let dirs = drives("heal-offline", 4);
        let data = object(2 * STRIPE + 3);
        let paths = write(&dirs, shape(2, 2), &data, KEY);
        fs::remove_file(&paths[1]).unwrap();
        let mut with_offline: Vec<Option<PathBuf>> = paths.iter().cloned().map(Some).collect();
        with_offline[3] = None;
        let mut reader =
            ShardReader::open(&with_offline, shape(2, 2), data.len() as u64, KEY).unwrap();
        let mut temps = in_each(&dirs, "heal");
        temps[3] = None;
        assert_eq!(reader.heal(&temps).unwrap(), (vec![1], vec![3]));
        assert!(paths[1].exists());

        for path in &paths[..3] {
            fs::write(path, b"short").unwrap();
        }
        let before: Vec<Vec<u8>> = paths.iter().map(|p| fs::read(p).unwrap()).collect();
        let mut reader = open(&paths, shape(2, 2), data.len());
        let err = reader.heal(&in_each(&dirs, "heal")).unwrap_err();
        assert!(
            err.message.contains("the stripe is lost"),
            "{}",
            err.message
        );
        let after: Vec<Vec<u8>> = paths.iter().map(|p| fs::read(p).unwrap()).collect();
        assert_eq!(before, after, "nothing changed");
        assert_eq!(files_in(&dirs).len(), 4, "no temp file left");
    }

    #[test]
    fn a_data_shard_holding_nothing_of_a_stripe_is_rebuilt_carefully() {
        // the last stripe is one shard's worth: data shard 1 holds none of it (a rebuild in
        // place of shard 1 once indexed its missing block there and panicked)
        let dirs = drives("ragged", 4);
        let data = object(3 * STRIPE + STRIPE / 2);
        let paths = write(&dirs, shape(2, 2), &data, KEY);
        fs::remove_file(&paths[1]).unwrap();
        let mut reader = open(&paths, shape(2, 2), data.len());
        assert_eq!(reader.read(0, data.len()).unwrap(), data);
        assert_eq!(reader.damaged(), vec![1]);
        let dirs = drives("ragged-range", 4);
        let paths = write(&dirs, shape(2, 2), &data, KEY);
        fs::remove_file(&paths[0]).unwrap();
        let mut reader = open(&paths, shape(2, 2), data.len());
        let half = STRIPE / 2;
        assert_eq!(
            reader.read(0, half).unwrap(),
            data[..half],
            "shard 0's part only"
        );
        assert_eq!(reader.read(0, data.len()).unwrap(), data);
    }

    mod sealed {
        use super::*;
        use crate::encryption::{
            seal_stream_into, sealed_len, sealed_range, PACKAGE, SEALED_BLOCK, SEALED_PACKAGE, TAG,
        };

        const SHAPE: Shape = Shape {
            k: 2,
            m: 2,
            stripe_size: SEALED_BLOCK,
        };
        const MIB: usize = 1 << 20;

        fn data_key(byte: u8) -> DataKey {
            DataKey::from_bytes([byte; 32])
        }

        /// `plain` sealed under data_key(1), striped over 2+2 shard files as the writer does.
        fn write_sealed(name: &str, plain: &[u8]) -> Vec<PathBuf> {
            write_sealed_as(name, SHAPE, plain)
        }

        /// write_sealed() in another shape (stripes of SEALED_BLOCK).
        fn write_sealed_as(name: &str, shape: Shape, plain: &[u8]) -> Vec<PathBuf> {
            let mut sealed = vec![0u8; sealed_len(plain.len() as u64) as usize];
            seal_stream_into(&data_key(1), plain, &mut sealed).unwrap();
            write(&drives(name, shape.k + shape.m), shape, &sealed, KEY)
        }

        fn open_sealed(paths: &[PathBuf], size: usize, key: DataKey) -> ShardReader {
            let paths: Vec<Option<PathBuf>> = paths.iter().cloned().map(Some).collect();
            ShardReader::open_sealed(&paths, SHAPE, size as u64, KEY, key).unwrap()
        }

        fn open_sealed_as(paths: &[PathBuf], shape: Shape, size: usize) -> ShardReader {
            let paths: Vec<Option<PathBuf>> = paths.iter().cloned().map(Some).collect();
            ShardReader::open_sealed(&paths, shape, size as u64, KEY, data_key(1)).unwrap()
        }

        #[test]
        fn a_ranged_read_opens_only_the_packages_it_touches() {
            let size = 5 * MIB + 3;
            let data = object(size);
            let paths = write_sealed("sealed-count", &data);
            let p = PACKAGE as u64;
            for (offset, len, packages) in [
                (0, 1, 1),
                (p - 1, 2, 2),
                (MIB as u64 - 1, 2, 2),
                (17 * p + 4, PACKAGE, 2),
                (size as u64 - 1, 1, 1),
                (0, size, 81),
            ] {
                let mut reader = open_sealed(&paths, size, data_key(1));
                let start = offset as usize;
                let want = &data[start..(start + len).min(size)];
                assert_eq!(reader.read(offset, len).unwrap(), want, "{offset}+{len}");
                assert_eq!(reader.packages_opened(), packages, "{offset}+{len}");
            }
        }

        #[test]
        fn verify_and_heal_work_on_the_sealed_stream_without_the_key() {
            let size = 3 * MIB + 17;
            let data = object(size);
            let paths = write_sealed("sealed-heal", &data);
            let block_len = HASH_LEN + SEALED_BLOCK / 2;
            flip(&paths[1], block_len + HASH_LEN + 7); // stripe 1 of shard 1
            fs::remove_file(&paths[3]).unwrap();
            let options: Vec<Option<PathBuf>> = paths.iter().cloned().map(Some).collect();
            let stored = sealed_len(size as u64);
            let mut scrub = ShardReader::open(&options, SHAPE, stored, KEY).unwrap();
            assert_eq!(scrub.stripes(), 4);
            assert_eq!(scrub.verify().unwrap(), vec![1, 3]);
            let temps: Vec<Option<PathBuf>> = paths
                .iter()
                .map(|p| Some(p.with_extension("heal")))
                .collect();
            assert_eq!(scrub.heal(&temps).unwrap(), (vec![1, 3], vec![]));
            let mut reader = open_sealed(&paths, size, data_key(1));
            assert_eq!(reader.verify().unwrap(), Vec::<usize>::new());
            assert_eq!(reader.read(0, size).unwrap(), data);
            assert!(reader.damaged().is_empty());
            assert_eq!((reader.size(), reader.stored_size()), (size as u64, stored));
        }

        #[test]
        fn beyond_parity_or_another_key_fails_never_wrong_bytes() {
            let size = MIB + 100;
            let data = object(size);
            let paths = write_sealed("sealed-lost", &data);
            let mut other = open_sealed(&paths, size, data_key(2));
            let err = other.read(10, 10).unwrap_err();
            assert_eq!(err.message, "package 0 of the encrypted data is corrupt");
            for path in &paths[..3] {
                fs::remove_file(path).unwrap();
            }
            let mut reader = open_sealed(&paths, size, data_key(1));
            let err = reader.read(0, size).unwrap_err();
            assert!(err.message.contains("lost"), "{}", err.message);
        }

        fn sealed_shape(k: usize, m: usize) -> Shape {
            Shape {
                k,
                m,
                stripe_size: SEALED_BLOCK,
            }
        }

        /// Where byte `at` of the sealed stream is: (data shard, offset in its file).
        fn locate(shape: Shape, at: usize) -> (usize, usize) {
            let shard_len = Codec::new(shape.k, shape.m)
                .unwrap()
                .shard_len(SEALED_BLOCK);
            let (s, inside) = (at / SEALED_BLOCK, at % SEALED_BLOCK);
            let shard = inside / shard_len;
            let offset = s * (HASH_LEN + shard_len) + HASH_LEN + inside % shard_len;
            (shard, offset)
        }

        /// The first package whose sealed bytes straddle two data shards' blocks.
        fn straddling(shape: Shape) -> Option<u64> {
            (0..BLOCK_PACKAGES).map(|n| n as u64).find(|&n| {
                let start = n as usize * SEALED_PACKAGE;
                locate(shape, start).0 != locate(shape, start + SEALED_PACKAGE - 1).0
            })
        }

        /// The sealed bytes of the packages a read of `len` from `offset` touches.
        fn package_bytes(size: usize, offset: u64, len: usize) -> u64 {
            let span = sealed_range(size as u64, offset..offset + len as u64).1;
            span.end - span.start
        }

        #[test]
        fn small_reads_read_only_their_packages_bytes() {
            let size = 3 * MIB + 1000; // the last stripe short: one package and a piece
            let data = object(size);
            let p = PACKAGE as u64;
            for (k, m) in [(2, 2), (3, 1), (6, 2), (4, 2)] {
                let shape = sealed_shape(k, m);
                let paths = write_sealed_as(&format!("sealed-small-{k}-{m}"), shape, &data);
                let mut cases = vec![
                    (0, 1),
                    (p - 1, 2),                     // two packages
                    (MIB as u64 - 1, 2),            // two stripes
                    (MIB as u64 + 3 * p + 7, 1000), // inside stripe 1
                    (size as u64 - 1, 1),           // in the last, short stripe
                    (3 * MIB as u64 - 5, 1005),     // the last stripe whole, from its start
                ];
                if let Some(n) = straddling(shape) {
                    cases.push((n * p + 10, 1)); // one package in two data shards
                    cases.push((MIB as u64 + n * p + p - 1, 1));
                }
                assert_eq!(straddling(shape).is_some(), k == 3 || k == 6, "{k}+{m}");
                for (offset, len) in cases {
                    let mut reader = open_sealed_as(&paths, shape, size);
                    let start = offset as usize;
                    let want = &data[start..(start + len).min(size)];
                    assert_eq!(
                        reader.read(offset, len).unwrap(),
                        want,
                        "{k}+{m} {offset}+{len}"
                    );
                    assert_eq!(
                        reader.bytes_read(),
                        package_bytes(size, offset, len),
                        "{k}+{m} {offset}+{len}: the packages' bytes only"
                    );
                    assert!(reader.damaged().is_empty());
                }
                // whole stripes still go the verified way: every data block, hash and all
                let mut reader = open_sealed_as(&paths, shape, size);
                assert_eq!(reader.read(0, MIB).unwrap(), data[..MIB]);
                let block_len = HASH_LEN + Codec::new(k, m).unwrap().shard_len(SEALED_BLOCK);
                assert_eq!(reader.bytes_read(), (k * block_len) as u64, "{k}+{m}");
                let mut reader = open_sealed_as(&paths, shape, size);
                assert_eq!(reader.read(0, size).unwrap(), data, "{k}+{m}");
            }
        }

        #[test]
        fn a_package_that_does_not_open_is_read_again_verified_and_rebuilt() {
            let size = 2 * MIB + 5;
            let data = object(size);
            let p = PACKAGE as u64;
            for (k, m) in [(2, 2), (6, 2)] {
                let shape = sealed_shape(k, m);
                // package 3, package 17 (in stripe 1), and one straddling two data shards:
                // a byte of its ciphertext in the first shard, and one in the second
                let mut targets = vec![(3, 100), (17, 5000)];
                if let Some(n) = straddling(shape) {
                    targets.push((n, 1));
                    targets.push((n, SEALED_PACKAGE - 1 - TAG - 1));
                }
                for (n, (seq, inside)) in targets.into_iter().enumerate() {
                    let name = format!("sealed-flip-{k}-{m}-{n}");
                    let paths = write_sealed_as(&name, shape, &data);
                    let (shard, at) = locate(shape, seq as usize * SEALED_PACKAGE + inside);
                    flip(&paths[shard], at);
                    for (offset, len) in [(seq * p + 7, 1), (seq * p - 1, 2)] {
                        let mut reader = open_sealed_as(&paths, shape, size);
                        let got = reader.read(offset, len).unwrap();
                        let start = offset as usize;
                        assert_eq!(got, data[start..start + len], "{name} {offset}+{len}");
                        assert_eq!(reader.damaged(), vec![shard], "{name} {offset}+{len}");
                        assert!(reader.bytes_read() > package_bytes(size, offset, len));
                    }
                    let mut reader = open_sealed_as(&paths, shape, size);
                    assert_eq!(reader.read(0, size).unwrap(), data, "{name}");
                    assert_eq!(reader.damaged(), vec![shard], "{name}");
                }
            }
        }

        #[test]
        fn small_reads_survive_missing_short_and_misplaced_shards() {
            let size = MIB + 7 * PACKAGE + 3;
            let data = object(size);
            let p = PACKAGE as u64;
            let shape = sealed_shape(2, 2);
            type Damage = fn(&[PathBuf]);
            let cases: [(&str, Damage, Vec<usize>); 5] = [
                ("missing", |p| fs::remove_file(&p[0]).unwrap(), vec![0]),
                (
                    "two-missing",
                    |p| p[..2].iter().for_each(|p| fs::remove_file(p).unwrap()),
                    vec![0, 1],
                ),
                (
                    "data-and-parity-missing",
                    |p| {
                        [&p[1], &p[2]]
                            .iter()
                            .for_each(|p| fs::remove_file(p).unwrap())
                    },
                    vec![1, 2],
                ),
                (
                    "short",
                    |p| {
                        let file = OpenOptions::new().write(true).open(&p[0]).unwrap();
                        file.set_len(HASH_LEN as u64 + 100).unwrap();
                    },
                    vec![0],
                ),
                (
                    "misplaced",
                    |p| {
                        fs::copy(&p[1], &p[0]).unwrap();
                    },
                    vec![0],
                ),
            ];
            for (name, damage, damaged) in cases {
                let paths = write_sealed_as(&format!("sealed-damage-{name}"), shape, &data);
                damage(&paths);
                for (offset, len) in [(0, 1), (p + 3, 1), (7 * p + 1, 1), (p - 1, 2)] {
                    let mut reader = open_sealed_as(&paths, shape, size);
                    let start = offset as usize;
                    let got = reader.read(offset, len).unwrap();
                    assert_eq!(got, data[start..start + len], "{name} {offset}+{len}");
                    assert_eq!(reader.damaged(), damaged, "{name} {offset}+{len}");
                }
                let mut reader = open_sealed_as(&paths, shape, size);
                assert_eq!(reader.read(0, size).unwrap(), data, "{name}");
            }
            // an offline data shard is no damage; beyond parity an error, never wrong bytes
            let paths = write_sealed_as("sealed-damage-offline", shape, &data);
            let mut given: Vec<Option<PathBuf>> = paths.iter().cloned().map(Some).collect();
            given[0] = None;
            let mut reader =
                ShardReader::open_sealed(&given, shape, size as u64, KEY, data_key(1)).unwrap();
            assert_eq!(reader.read(5, 1).unwrap(), data[5..6]);
            assert!(reader.damaged().is_empty());
            for path in &paths[..3] {
                fs::remove_file(path).unwrap();
            }
            for (offset, len) in [(5, 1), (MIB as u64 + 5, 1), (p - 1, 2), (0, size)] {
                let mut reader = open_sealed_as(&paths, shape, size);
                let mut out = vec![9u8; len];
                let err = reader.read_into(offset, &mut out).unwrap_err();
                assert!(err.message.contains("lost"), "{}", err.message);
                assert!(out.iter().all(|&b| b == 0), "no byte of it returned");
            }
        }
    }
}
