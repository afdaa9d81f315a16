//! ObjectWriter: streams a payload into a temp file, or into k + m temp shard files (erasure
//! coded or replicated), hashing on one thread and writing on another, then verifies, fsyncs
//! and renames it into place.
//!
//! feed() only copies into a pooled, page-aligned block. Full blocks go to the hash thread,
//! then to the write thread (for a file, O_DIRECT where the file system allows it: no
//! page-cache copy and no big fsync at the end; for shards, one stripe per block), then back
//! to the pool, so hashing overlaps with receiving and writing and memory stays bounded
//! (BUFFERS x BUFFER_SIZE per upload). Small payloads never start the threads: they are hashed
//! and written in finish().
//!
//! A file target with `sums` is followed by its block sums (the format is in reader.rs): the
//! write thread hashes each block it writes (BLAKE3 keyed; the hash thread is busy with MD5),
//! and the trailer is appended after the tail, before the fsync.
//!
//! With a data key (server-side encryption) the payload is stored sealed (encryption.rs):
//! the hash thread still hashes the plaintext (checksums and the ETag are of what the client
//! sent), and the write thread seals each block into one reused buffer, SEALED_BLOCK bytes
//! per full block, before writing it. The stream's last package must carry the last flag,
//! and a full block is the last one when nothing follows it, which only the next block or
//! finish() tells: the write thread holds the newest block back, sealed and written once the
//! next one comes, or by finish() with the tail (flagged last when the tail is empty). A file
//! has no block sums then (the tags verify every package) and still goes to disk O_DIRECT:
//! a sealed block (1 MiB + 256) is not a whole number of pages, so each block is sealed into
//! a page-aligned buffer after what is left of the one before, the whole pages are written
//! and the rest (less than a page) moves to the front for the next (the page cache's copy of
//! every block cost a sealed PUT a fifth more time on a 2-core machine). Shards take the
//! sealed stream in stripes of SEALED_BLOCK; an inline payload is returned sealed.

use crate::block::{Block, ALIGN};
use crate::checksum::{Algorithm, MultiHasher};
use crate::chunked::{ChunkedDecoder, Mode, Signer};
use crate::encryption::{
    seal_stream_into, sealed_len, DataKey, PackageCipher, BLOCK_PACKAGES, PACKAGE, SEALED_BLOCK,
};
use crate::error::{Result, S3Error};
use crate::reader::sums_trailer;
use crate::shards::{block_hash, check_layout, start_writeback, Shape, ShardWriter, HASH_LEN};
use base64::Engine;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

pub const BUFFER_SIZE: usize = 1 << 20;
pub const BUFFERS: usize = 8;

// a full block seals to exactly SEALED_BLOCK: whole packages
const _: () = assert!(BUFFER_SIZE == BLOCK_PACKAGES * PACKAGE);

pub struct ChunkedConfig {
    pub mode: Mode,
    pub signer: Option<Signer>,
    pub trailer: Option<String>,
    pub decoded_length: Option<u64>,
}

#[derive(Debug)]
pub struct WriteResult {
    /// The payload's size (the plaintext's, when sealed).
    pub size: u64,
    /// The bytes stored for it (in the file or striped over the shards, trailer aside, or
    /// inline): sealed_len(size) when sealed, else size.
    pub stored_size: u64,
    pub digests: Vec<(Algorithm, Vec<u8>)>,
    pub trailers: Vec<(String, String)>,
    /// The payload itself when it fit under the inline limit: no file was written. Sealed,
    /// when the writer has a data key (sealed_len(size) bytes).
    pub inline: Option<Vec<u8>>,
    /// For shards written: which of them are (false: offline or dropped). None otherwise.
    pub shards: Option<Vec<bool>>,
}

/// Where a payload that outgrows memory is written.
pub enum Target {
    /// One temp file; with `sums` (the key of its block hashes) the payload is followed by
    /// its block sums.
    File {
        path: PathBuf,
        sums: Option<[u8; 32]>,
    },
    /// k + m temp shard files (None: the drive is offline), a stripe per BUFFER_SIZE block
    /// (`shape.stripe_size` is BUFFER_SIZE; with a data key SEALED_BLOCK, a stripe per sealed
    /// block); at least `quorum` of them must be written.
    Shards {
        temp_paths: Vec<Option<PathBuf>>,
        shape: Shape,
        key: [u8; 32],
        quorum: usize,
    },
}

/// Where finish() renames what the target wrote: the one final path, or one per shard.
pub enum Dest<'a> {
    File(&'a Path),
    Shards(&'a [Option<PathBuf>]),
}

struct Pipeline {
    to_hash: SyncSender<Block>,
    pool: Receiver<Block>,
    /// Blocks back from the write thread, ready to fill.
    free: Vec<Block>,
    allocated: usize,
    hash_thread: JoinHandle<MultiHasher>,
    /// Hands the stream back (to finish, or to drop: removing its files) with how it went.
    write_thread: JoinHandle<(Stream, Result<()>)>,
}

enum Sink {
    /// Less than a block so far: nothing written, no file created yet.
    Buffered(MultiHasher),
    Threaded(Pipeline),
    Closed,
}

pub struct ObjectWriter {
    target: Target,
    decoder: Option<ChunkedDecoder>,
    chunked: Option<ChunkedConfig>,
    buffer: Block,
    sink: Sink,
    size: u64,
    max_size: Option<u64>,
    inline_limit: u64,
    /// Some: the payload is stored sealed under this data key.
    seal: Option<DataKey>,
}

/// The block hashes of a file being written with sums: one per BUFFER_SIZE block, in order.
struct BlockSums {
    key: [u8; 32],
    hashes: Vec<u8>,
    size: u64,
}

impl BlockSums {
    fn add(&mut self, block: &[u8]) {
        let n = (self.hashes.len() / HASH_LEN) as u64;
        self.hashes
            .extend_from_slice(&block_hash(&self.key, n, 0, block));
        self.size += block.len() as u64;
    }
}

/// A temp file, removed unless it was renamed into place.
struct TempFile {
    file: File,
    path: PathBuf,
    direct: bool,
    /// A full block written through the page cache (sealed, where O_DIRECT is refused) has
    /// its writeback started, so that the fsync at the end has little left to do.
    writeback: bool,
    /// Bytes written so far.
    written: u64,
    placed: bool,
    /// Some: block sums follow the payload.
    sums: Option<BlockSums>,
}

impl TempFile {
    fn create(path: &Path, sums: Option<[u8; 32]>) -> Result<Self> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| S3Error::io("creating the temp file", e))?;
        Ok(TempFile {
            file,
            path: path.to_path_buf(),
            direct: false,
            writeback: false,
            written: 0,
            placed: false,
            sums: sums.map(|key| BlockSums {
                key,
                hashes: Vec::new(),
                size: 0,
            }),
        })
    }

    /// A full block: written (O_DIRECT when on), then hashed when the file has sums.
    fn write_full(&mut self, data: &[u8]) -> io::Result<()> {
        self.write_block(data)?;
        if let Some(sums) = &mut self.sums {
            sums.add(data);
        }
        Ok(())
    }

    /// The last, partial block (through the page cache), then the block sums if any.
    fn write_tail(&mut self, data: &[u8]) -> io::Result<()> {
        self.file.write_all(data)?;
        self.written += data.len() as u64;
        let Some(mut sums) = self.sums.take() else {
            return Ok(());
        };
        if !data.is_empty() {
            sums.add(data);
        }
        self.file.write_all(&sums_trailer(&sums.hashes, sums.size))
    }

    fn write_block(&mut self, data: &[u8]) -> io::Result<()> {
        let mut result = self.file.write_all(data);
        if self.direct && matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EINVAL)) {
            // this file system refuses O_DIRECT writes: write through the page cache
            self.direct = !set_direct(&self.file, false);
            result = self.file.write_all(data);
        }
        if result.is_ok() {
            if self.writeback && !self.direct {
                start_writeback(&self.file, self.written, data.len() as u64);
            }
            self.written += data.len() as u64;
        }
        result
    }

    fn place(mut self, final_path: &Path) -> Result<()> {
        self.file.sync_all().map_err(|e| S3Error::io("fsync", e))?;
        fs::rename(&self.path, final_path).map_err(|e| S3Error::io("rename", e))?;
        self.placed = true;
        if let Some(dir) = final_path.parent() {
            if let Err(err) = sync_dir(dir) {
                // the request fails: its file must not stay behind, durable or not
                let _ = fs::remove_file(final_path);
                return Err(err);
            }
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.placed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// What the payload is written to; dropped unfinished, it removes its files.
enum Output {
    File(TempFile),
    /// Boxed: its codec is large, the file variant small.
    Shards(Box<ShardWriter>),
}

impl Output {
    fn create(target: &Target) -> Result<Self> {
        match target {
            Target::File { path, sums } => TempFile::create(path, *sums).map(Output::File),
            Target::Shards {
                temp_paths,
                shape,
                key,
                quorum,
            } => ShardWriter::create(temp_paths, *shape, *key, *quorum)
                .map(|s| Output::Shards(Box::new(s))),
        }
    }

    /// Full blocks come next: for a file, O_DIRECT when the file system takes it.
    fn start_blocks(&mut self) {
        if let Output::File(f) = self {
            f.direct = set_direct(&f.file, true);
        }
    }

    /// The tail comes next, through the page cache.
    fn end_blocks(&mut self) {
        if let Output::File(f) = self {
            set_direct(&f.file, false);
            f.direct = false;
        }
    }

    /// A full block: written as is, or coded as one stripe.
    fn write_block(&mut self, data: &[u8]) -> Result<()> {
        match self {
            Output::File(f) => f.write_full(data).map_err(|e| S3Error::io("writing", e)),
            Output::Shards(s) => s.write_stripe(data),
        }
    }

    /// The last, partial block (the last stripe; none when empty).
    fn write_tail(&mut self, data: &[u8]) -> Result<()> {
        match self {
            Output::File(f) => f.write_tail(data).map_err(|e| S3Error::io("writing", e)),
            Output::Shards(_) if data.is_empty() => Ok(()),
            Output::Shards(s) => s.write_stripe(data),
        }
    }

    /// Makes it durable and renames it into place; for shards, which of them are written.
    fn place(self, dest: Dest<'_>) -> Result<Option<Vec<bool>>> {
        match (self, dest) {
            (Output::File(f), Dest::File(path)) => f.place(path).map(|()| None),
            (Output::Shards(mut s), Dest::Shards(paths)) => s.finish(paths).map(Some),
            _ => Err(S3Error::new(
                "InternalError",
                "finish() to another kind of destination than the writer's",
            )),
        }
    }
}

/// Page-aligned room for sealed bytes (a Block's trick: padding up to the aligned start), so
/// that a sealed file's blocks can go to disk O_DIRECT from it: whole pages are written and
/// the rest of a block, less than a page, waits at the front for the next block.
struct Stage {
    mem: Vec<u8>,
    start: usize,
    /// Sealed bytes at the front not written yet.
    carry: usize,
}

impl Stage {
    /// `len` bytes of room after the carried bytes (grown when short, the carry kept, with
    /// room for any carry: blocks of the same length never grow it again).
    fn room(&mut self, len: usize) -> &mut [u8] {
        let need = self.carry + len;
        if self.mem.len() < self.start + need {
            let mut mem = vec![0u8; ALIGN + len + ALIGN];
            let start = mem.as_ptr().align_offset(ALIGN);
            let carried = self.start..self.start + self.carry;
            mem[start..start + self.carry].copy_from_slice(&self.mem[carried]);
            (self.mem, self.start) = (mem, start);
        }
        &mut self.mem[self.start + self.carry..self.start + need]
    }

    /// The first `len` staged bytes (carried ones first).
    fn bytes(&self, len: usize) -> &[u8] {
        &self.mem[self.start..self.start + len]
    }

    /// `written` of the `staged` bytes went out: the rest moves to the front.
    fn keep(&mut self, staged: usize, written: usize) {
        let at = self.start;
        self.mem.copy_within(at + written..at + staged, at);
        self.carry = staged - written;
    }
}

/// Seals the payload's blocks for a stream with a data key (see the module's doc).
struct Sealer {
    cipher: PackageCipher,
    /// The number of the next package to seal.
    seq: u64,
    /// The newest full block, not sealed yet: whether its last package ends the stream is
    /// known only when the next block or the tail comes.
    held: Option<Block>,
    /// Where blocks are sealed, reused for every block (allocated once, at its first use).
    stage: Stage,
}

impl Sealer {
    /// Seals `plain` (full packages unless `last`) after the carried bytes; how many bytes
    /// are staged now.
    fn seal(&mut self, plain: &[u8], last: bool) -> Result<usize> {
        let room = self.stage.room(sealed_len(plain.len() as u64) as usize);
        let len = self.cipher.seal_block_into(self.seq, last, plain, room)?;
        self.seq += plain.len().div_ceil(PACKAGE).max(1) as u64;
        Ok(self.stage.carry + len)
    }
}

/// What the payload is written through: the output, sealed on the way when there is a key.
struct Stream {
    output: Output,
    sealer: Option<Sealer>,
}

impl Stream {
    fn create(target: &Target, seal: Option<&DataKey>) -> Result<Self> {
        Ok(Stream {
            output: Output::create(target)?,
            sealer: seal.map(|key| Sealer {
                cipher: PackageCipher::new(key),
                seq: 0,
                held: None,
                stage: Stage {
                    mem: Vec::new(),
                    start: 0,
                    carry: 0,
                },
            }),
        })
    }

    /// Full blocks come next: for a file, O_DIRECT when the file system takes it (sealed,
    /// whole pages of it; when it does not, the writeback of each block is started once it
    /// is written).
    fn start_blocks(&mut self) {
        self.output.start_blocks();
        if let (Some(_), Output::File(f)) = (&self.sealer, &mut self.output) {
            f.writeback = true;
        }
    }

    fn end_blocks(&mut self) {
        self.output.end_blocks();
    }

    /// Writes a full block, or holds it back and writes the one held before, sealed; returns
    /// the block now free to refill (the pool's memory) with how the write went.
    fn write_block(&mut self, block: Block) -> (Result<()>, Option<Block>) {
        let Some(sealer) = self.sealer.as_mut() else {
            let written = self.output.write_block(block.as_slice());
            return (written, Some(block));
        };
        let Some(previous) = sealer.held.replace(block) else {
            return (Ok(()), None);
        };
        let written = self.write_sealed(previous.as_slice(), false, true);
        (written, Some(previous))
    }

    /// Seals `plain` and writes it as a full block; with `pages`, a file gets whole pages
    /// only (O_DIRECT), the rest carried to the next.
    fn write_sealed(&mut self, plain: &[u8], last: bool, pages: bool) -> Result<()> {
        let Stream { output, sealer } = self;
        let sealer = sealer.as_mut().expect("a sealed stream");
        let staged = sealer.seal(plain, last)?;
        let written = match output {
            Output::File(_) if pages => staged / ALIGN * ALIGN,
            _ => staged,
        };
        output.write_block(sealer.stage.bytes(written))?;
        sealer.stage.keep(staged, written);
        Ok(())
    }

    /// The tail (the last, partial block; empty when the payload is whole blocks or nothing),
    /// through the page cache: written as it is, or sealed after the held block (and what
    /// was carried of the one before), the stream's last package flagged.
    fn write_tail(&mut self, tail: &[u8]) -> Result<()> {
        let Some(sealer) = self.sealer.as_mut() else {
            return self.output.write_tail(tail);
        };
        if let Some(held) = sealer.held.take() {
            self.write_sealed(held.as_slice(), tail.is_empty(), false)?;
            if tail.is_empty() {
                return self.output.write_tail(&[]);
            }
        }
        // an empty payload is one empty package: 16 bytes, the last stripe of shards too
        let Stream { output, sealer } = self;
        let sealer = sealer.as_mut().expect("a sealed stream");
        let staged = sealer.seal(tail, true)?;
        output.write_tail(sealer.stage.bytes(staged))?;
        sealer.stage.keep(staged, staged);
        Ok(())
    }
}

fn spawn_pipeline(mut hasher: MultiHasher, mut stream: Stream) -> Pipeline {
    // Room for every block in both queues: only waiting for a free block ever blocks feed(),
    // which is what would_block() predicts.
    let (to_hash, hash_rx) = sync_channel::<Block>(BUFFERS);
    let (to_write, write_rx) = sync_channel::<Block>(BUFFERS);
    let (pool_tx, pool) = channel::<Block>();
    let hash_thread = std::thread::spawn(move || {
        for buf in hash_rx {
            hasher.update(buf.as_slice());
            if to_write.send(buf).is_err() {
                break;
            }
        }
        hasher
    });
    let write_thread = std::thread::spawn(move || {
        let result = write_blocks(&mut stream, write_rx, pool_tx);
        (stream, result)
    });
    Pipeline {
        to_hash,
        pool,
        free: Vec::new(),
        allocated: 0,
        hash_thread,
        write_thread,
    }
}

/// Writes every full block; after a failure keeps draining so the producer never blocks
/// forever.
fn write_blocks(stream: &mut Stream, rx: Receiver<Block>, pool: Sender<Block>) -> Result<()> {
    let mut result = Ok(());
    stream.start_blocks();
    for buf in rx {
        let free = match result {
            Ok(()) => {
                let (written, free) = stream.write_block(buf);
                result = written;
                free
            }
            Err(_) => Some(buf),
        };
        if let Some(mut free) = free {
            free.clear();
            let _ = pool.send(free);
        }
    }
    stream.end_blocks();
    result
}

/// Turns O_DIRECT on or off for an open file; true if the flag is now as asked.
#[cfg(target_os = "linux")]
fn set_direct(file: &File, on: bool) -> bool {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor this function borrows; no memory is passed.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return false;
        }
        let wanted = if on {
            flags | libc::O_DIRECT
        } else {
            flags & !libc::O_DIRECT
        };
        libc::fcntl(fd, libc::F_SETFL, wanted) == 0
    }
}

#[cfg(not(target_os = "linux"))]
fn set_direct(_file: &File, on: bool) -> bool {
    !on
}

impl ObjectWriter {
    /// A writer whose payload goes to `target`, or stays in memory and is returned by
    /// finish() when it is at most `inline_limit` bytes (for objects kept in the metadata;
    /// 0: never).
    pub fn create(
        target: Target,
        algorithms: &[Algorithm],
        chunked: Option<ChunkedConfig>,
        max_size: Option<u64>,
        inline_limit: u64,
    ) -> Result<Self> {
        Self::create_sealed(target, algorithms, chunked, max_size, inline_limit, None)
    }

    /// create(), storing the payload sealed under `seal` when given (see the module's doc): a
    /// file target must then have no `sums`, a shards target stripes of SEALED_BLOCK.
    pub fn create_sealed(
        target: Target,
        algorithms: &[Algorithm],
        chunked: Option<ChunkedConfig>,
        max_size: Option<u64>,
        inline_limit: u64,
        seal: Option<DataKey>,
    ) -> Result<Self> {
        check_target(&target, seal.is_some())?;
        let decoder = match &chunked {
            Some(c) => Some(ChunkedDecoder::new(c.mode, c.signer.clone())?),
            None => None,
        };
        Ok(ObjectWriter {
            target,
            decoder,
            chunked,
            buffer: Block::new(BUFFER_SIZE),
            sink: Sink::Buffered(MultiHasher::new(algorithms)),
            size: 0,
            max_size,
            inline_limit: inline_limit.min(BUFFER_SIZE as u64),
            seal,
        })
    }

    /// Whether the payload goes to shard files (finish() then takes Dest::Shards).
    pub fn writes_shards(&self) -> bool {
        matches!(self.target, Target::Shards { .. })
    }

    pub fn feed(&mut self, data: &[u8]) -> Result<()> {
        match self.decoder.take() {
            Some(mut decoder) => {
                let result = decoder.feed(data, &mut |payload| self.accept(payload));
                self.decoder = Some(decoder);
                result
            }
            None => self.accept(data),
        }
    }

    fn accept(&mut self, mut data: &[u8]) -> Result<()> {
        self.size += data.len() as u64;
        if let Some(max) = self.max_size {
            if self.size > max {
                return Err(S3Error::new(
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed object size.",
                ));
            }
        }
        while !data.is_empty() {
            let taken = self.buffer.push(data);
            data = &data[taken..];
            if self.buffer.is_full() {
                self.send_buffer()?;
            }
        }
        Ok(())
    }

    /// Whether finish() will touch no file: the payload so far is held in memory and fits the
    /// inline limit (more input may still change that). An event loop then finishes in place.
    pub fn stays_inline(&self) -> bool {
        matches!(self.sink, Sink::Buffered(..))
            && self.inline_limit > 0
            && self.size <= self.inline_limit
    }

    /// Whether feeding `len` more input bytes would have to wait for the disk (all blocks in
    /// flight). Input is never shorter than the payload it decodes to, so this errs towards
    /// "would block". A caller with other work to do (an event loop) then feeds from a thread.
    pub fn would_block(&mut self, len: usize) -> bool {
        let blocks_to_send = (self.buffer.as_slice().len() + len) / BUFFER_SIZE;
        let Sink::Threaded(p) = &mut self.sink else {
            return blocks_to_send > BUFFERS;
        };
        while let Ok(block) = p.pool.try_recv() {
            p.free.push(block);
        }
        blocks_to_send > p.free.len() + (BUFFERS - p.allocated)
    }

    fn send_buffer(&mut self) -> Result<()> {
        if let Sink::Buffered(..) = self.sink {
            let stream = Stream::create(&self.target, self.seal.as_ref())?;
            let Sink::Buffered(hasher) = std::mem::replace(&mut self.sink, Sink::Closed) else {
                unreachable!()
            };
            self.sink = Sink::Threaded(spawn_pipeline(hasher, stream));
        }
        let Sink::Threaded(p) = &mut self.sink else {
            return Err(S3Error::new("InternalError", "writer is closed"));
        };
        let next = if let Some(block) = p.free.pop() {
            block
        } else if p.allocated < BUFFERS {
            p.allocated += 1;
            Block::new(BUFFER_SIZE)
        } else {
            p.pool
                .recv()
                .map_err(|_| S3Error::new("InternalError", "writer thread ended"))?
        };
        let full = std::mem::replace(&mut self.buffer, next);
        p.to_hash
            .send(full)
            .map_err(|_| S3Error::new("InternalError", "hash thread ended"))
    }

    /// Ends the stream: hashes and writes what is left; returns the hasher and the stream, or
    /// none when the payload stays inline (in `self.buffer`).
    fn drain(&mut self) -> Result<(MultiHasher, Option<Stream>)> {
        match std::mem::replace(&mut self.sink, Sink::Closed) {
            Sink::Buffered(mut hasher)
                if self.inline_limit > 0 && self.size <= self.inline_limit =>
            {
                hasher.update(self.buffer.as_slice());
                Ok((hasher, None))
            }
            Sink::Buffered(hasher) => {
                let stream = Stream::create(&self.target, self.seal.as_ref())?;
                self.write_tail(hasher, stream)
            }
            Sink::Threaded(p) => {
                drop(p.to_hash);
                let hasher = p
                    .hash_thread
                    .join()
                    .map_err(|_| S3Error::new("InternalError", "hash thread panicked"))?;
                let (stream, written) = p
                    .write_thread
                    .join()
                    .map_err(|_| S3Error::new("InternalError", "write thread panicked"))?;
                written?;
                self.write_tail(hasher, stream)
            }
            Sink::Closed => Err(S3Error::new("InternalError", "writer is closed")),
        }
    }

    /// The last, partial block: hashed and written here, through the page cache.
    fn write_tail(
        &mut self,
        mut hasher: MultiHasher,
        mut stream: Stream,
    ) -> Result<(MultiHasher, Option<Stream>)> {
        hasher.update(self.buffer.as_slice());
        stream.write_tail(self.buffer.as_slice())?;
        self.buffer.clear();
        Ok((hasher, Some(stream)))
    }

    /// Ends the payload, checks it (size, trailer, digests) and only then makes it durable
    /// and renames it to `dest` (of the target's kind; unused when the payload stays inline).
    /// On any error nothing it wrote remains.
    pub fn finish(
        &mut self,
        dest: Dest<'_>,
        expected: &[(Algorithm, Vec<u8>)],
        expected_size: Option<u64>,
    ) -> Result<WriteResult> {
        let result = self.finish_inner(dest, expected, expected_size);
        if result.is_err() {
            self.abort();
        }
        result
    }

    fn finish_inner(
        &mut self,
        dest: Dest<'_>,
        expected: &[(Algorithm, Vec<u8>)],
        expected_size: Option<u64>,
    ) -> Result<WriteResult> {
        if let Some(decoder) = self.decoder.as_mut() {
            decoder.finish()?;
        }
        // an error from here on drops the output, which removes its files
        let (hasher, output) = self.drain()?;
        self.check_size(expected_size)?;
        let trailers = self
            .decoder
            .as_ref()
            .map(|d| d.trailers().to_vec())
            .unwrap_or_default();
        self.check_trailer(&hasher, &trailers)?;
        check_digests(&hasher, expected)?;
        let (inline, shards) = match output {
            None => (Some(self.inline_payload()?), None),
            Some(stream) => (None, stream.output.place(dest)?),
        };
        let stored_size = match self.seal {
            Some(_) => sealed_len(self.size),
            None => self.size,
        };
        Ok(WriteResult {
            size: self.size,
            stored_size,
            digests: hasher.digests(),
            trailers,
            inline,
            shards,
        })
    }

    /// The payload kept in memory, as it is stored: sealed when there is a key.
    fn inline_payload(&self) -> Result<Vec<u8>> {
        let plain = self.buffer.as_slice();
        let Some(key) = &self.seal else {
            return Ok(plain.to_vec());
        };
        let mut sealed = vec![0u8; sealed_len(plain.len() as u64) as usize];
        seal_stream_into(key, plain, &mut sealed)?;
        Ok(sealed)
    }

    fn check_size(&self, expected_size: Option<u64>) -> Result<()> {
        let declared = self
            .chunked
            .as_ref()
            .and_then(|c| c.decoded_length)
            .or(expected_size);
        match declared {
            Some(n) if n != self.size => Err(S3Error::new(
                "IncompleteBody",
                "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            )),
            _ => Ok(()),
        }
    }

    fn check_trailer(&self, hasher: &MultiHasher, trailers: &[(String, String)]) -> Result<()> {
        let Some(name) = self.chunked.as_ref().and_then(|c| c.trailer.as_deref()) else {
            return Ok(());
        };
        let value = trailers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| {
                S3Error::new("InvalidRequest", format!("The trailer {name} is missing."))
            })?;
        let algorithm = name
            .strip_prefix("x-amz-checksum-")
            .ok_or_else(|| S3Error::new("InvalidRequest", format!("unsupported trailer {name}")))
            .and_then(Algorithm::from_name)?;
        let computed = hasher
            .digest_of(algorithm)
            .ok_or_else(|| S3Error::new("InternalError", "trailer checksum was not computed"))?;
        let encoded = base64::engine::general_purpose::STANDARD.encode(computed);
        if encoded != value {
            return Err(S3Error::new(
                "BadDigest",
                format!(
                    "The {} you specified did not match the calculated checksum.",
                    algorithm.name().to_uppercase()
                ),
            ));
        }
        Ok(())
    }

    /// Stops the threads and removes the temp file(s); idempotent.
    pub fn abort(&mut self) {
        if let Sink::Threaded(p) = std::mem::replace(&mut self.sink, Sink::Closed) {
            drop(p.to_hash);
            let _ = p.hash_thread.join();
            // the output comes back and is dropped: it removes what it wrote
            let _ = p.write_thread.join();
        }
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        if !matches!(self.sink, Sink::Closed) {
            self.abort();
        }
    }
}

/// A target, checked before anything is written: a shard target's layout and stripes (of
/// SEALED_BLOCK when `sealed`, else BUFFER_SIZE); no block sums for a sealed file (the GCM
/// tags verify every package, and the reader of sums would not open it).
fn check_target(target: &Target, sealed: bool) -> Result<()> {
    let (temp_paths, shape, quorum) = match target {
        Target::File { sums: Some(_), .. } if sealed => {
            return Err(S3Error::new(
                "InternalError",
                "block sums and a data key do not go together: the encryption's tags verify \
                 every package",
            ))
        }
        Target::File { .. } => return Ok(()),
        Target::Shards {
            temp_paths,
            shape,
            quorum,
            ..
        } => (temp_paths, shape, quorum),
    };
    check_layout(*shape, temp_paths.len(), *quorum)?;
    let (stripe, name) = match sealed {
        true => (SEALED_BLOCK, "SEALED_BLOCK"),
        false => (BUFFER_SIZE, "BUFFER_SIZE"),
    };
    if shape.stripe_size != stripe {
        return Err(S3Error::new(
            "InternalError",
            format!("stripes of {} bytes, not {name}", shape.stripe_size),
        ));
    }
    Ok(())
}

fn check_digests(hasher: &MultiHasher, expected: &[(Algorithm, Vec<u8>)]) -> Result<()> {
    for (algorithm, want) in expected {
        let got = hasher
            .digest_of(*algorithm)
            .ok_or_else(|| S3Error::new("InternalError", "expected digest was not computed"))?;
        if &got != want {
            return Err(match algorithm {
                Algorithm::Md5 => S3Error::new(
                    "BadDigest",
                    "The Content-MD5 you specified did not match what we received.",
                ),
                Algorithm::Sha256 if want.len() == 32 => S3Error::new(
                    "XAmzContentSHA256Mismatch",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.",
                ),
                other => S3Error::new(
                    "BadDigest",
                    format!(
                        "The {} you specified did not match the calculated checksum.",
                        other.name().to_uppercase()
                    ),
                ),
            });
        }
    }
    Ok(())
}

pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| S3Error::io("fsync of the directory", e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::digest;

    fn tmpdir(name: &str) -> PathBuf {
        crate::test_dir(&format!("writer-{name}"))
    }

    fn file(path: impl Into<PathBuf>) -> Target {
        Target::File {
            path: path.into(),
            sums: None,
        }
    }

    #[test]
    fn writes_hashes_and_renames_small_and_large_payloads() {
        let dir = tmpdir("ok");
        for size in [
            0usize,
            10,
            BUFFER_SIZE - 1,
            BUFFER_SIZE,
            3 * BUFFER_SIZE + 17,
            20 * BUFFER_SIZE,
        ] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 256) as u8).collect();
            let tmp = dir.join("t");
            let fin = dir.join(format!("f{size}"));
            let mut w = ObjectWriter::create(
                file(&tmp),
                &[Algorithm::Md5, Algorithm::Crc32],
                None,
                None,
                0,
            )
            .unwrap();
            for piece in data.chunks(65_537) {
                w.feed(piece).unwrap();
            }
            let md5 = digest(Algorithm::Md5, &data);
            let r = w
                .finish(
                    Dest::File(&fin),
                    &[(Algorithm::Md5, md5.clone())],
                    Some(size as u64),
                )
                .unwrap();
            assert_eq!(r.size, size as u64);
            assert_eq!(r.digests[0], (Algorithm::Md5, md5));
            assert_eq!(fs::read(&fin).unwrap(), data, "no sums: the payload only");
            assert!(!tmp.exists());
        }
    }

    #[test]
    fn block_sums_follow_the_payload_and_verify() {
        use crate::reader::ObjectReader;
        use crate::shards::shard_key;
        let dir = tmpdir("sums");
        for size in [
            0usize,
            1,
            BUFFER_SIZE - 1,
            BUFFER_SIZE,
            3 * BUFFER_SIZE + 17,
        ] {
            let data: Vec<u8> = (0..size).map(|i| (i * 7 % 256) as u8).collect();
            let (tmp, fin) = (dir.join("t"), dir.join(format!("f{size}")));
            let target = Target::File {
                path: tmp.clone(),
                sums: Some(shard_key("data-id")),
            };
            let mut w = ObjectWriter::create(target, &[Algorithm::Md5], None, None, 0).unwrap();
            for piece in data.chunks(65_537) {
                w.feed(piece).unwrap();
            }
            let md5 = digest(Algorithm::Md5, &data);
            let r = w
                .finish(
                    Dest::File(&fin),
                    &[(Algorithm::Md5, md5)],
                    Some(size as u64),
                )
                .unwrap();
            assert_eq!(r.size, size as u64);
            let blocks = size.div_ceil(BUFFER_SIZE);
            let bytes = fs::read(&fin).unwrap();
            assert_eq!(bytes.len(), size + 32 * blocks + 24, "{size}");
            assert_eq!(bytes[..size], data, "the payload stays raw");
            let mut reader =
                ObjectReader::open_verified(&fin, size as u64, shard_key("data-id")).unwrap();
            assert_eq!(reader.read(0, size).unwrap(), data);
            assert!(reader.verify().unwrap().is_empty());
            let mut other =
                ObjectReader::open_verified(&fin, size as u64, shard_key("other")).unwrap();
            let bad = other.verify().unwrap();
            assert_eq!(bad.len(), blocks, "another key's hashes do not hold");
            assert!(!tmp.exists());
        }
    }

    #[test]
    fn a_bad_digest_leaves_nothing() {
        let dir = tmpdir("bad");
        let tmp = dir.join("t");
        let fin = dir.join("f");
        let mut w = ObjectWriter::create(file(&tmp), &[Algorithm::Md5], None, None, 0).unwrap();
        w.feed(&vec![1u8; 3 * BUFFER_SIZE]).unwrap();
        let err = w
            .finish(Dest::File(&fin), &[(Algorithm::Md5, vec![0; 16])], None)
            .err()
            .unwrap();
        assert_eq!(err.code, "BadDigest");
        assert!(!tmp.exists() && !fin.exists());
    }

    #[test]
    fn a_short_body_is_incomplete_and_drop_cleans_up() {
        let dir = tmpdir("short");
        let tmp = dir.join("t");
        let mut w = ObjectWriter::create(file(&tmp), &[Algorithm::Md5], None, None, 0).unwrap();
        w.feed(b"abc").unwrap();
        let err = w
            .finish(Dest::File(&dir.join("f")), &[], Some(4))
            .err()
            .unwrap();
        assert_eq!(err.code, "IncompleteBody");
        assert!(!tmp.exists());
        let tmp2 = dir.join("t2");
        {
            let mut w =
                ObjectWriter::create(file(&tmp2), &[Algorithm::Md5], None, None, 0).unwrap();
            w.feed(&vec![0u8; 2 * BUFFER_SIZE]).unwrap();
        }
        assert!(!tmp2.exists());
    }

    #[test]
    fn small_payloads_stay_inline_and_create_no_file() {
        let dir = tmpdir("inline");
        let tmp = dir.join("t");
        let fin = dir.join("f");
        let mut w = ObjectWriter::create(file(&tmp), &[Algorithm::Md5], None, None, 100).unwrap();
        w.feed(b"small").unwrap();
        assert!(w.stays_inline());
        let r = w.finish(Dest::File(&fin), &[], Some(5)).unwrap();
        assert_eq!(r.inline.as_deref(), Some(&b"small"[..]));
        assert_eq!(r.digests[0].1, digest(Algorithm::Md5, b"small"));
        assert!(!tmp.exists() && !fin.exists());
        let mut w = ObjectWriter::create(file(&tmp), &[Algorithm::Md5], None, None, 4).unwrap();
        assert!(w.stays_inline());
        w.feed(b"small").unwrap();
        assert!(!w.stays_inline()); // over the limit: finish() writes the file
        let r = w.finish(Dest::File(&fin), &[], Some(5)).unwrap();
        assert!(r.inline.is_none());
        assert_eq!(fs::read(&fin).unwrap(), b"small");
    }

    #[test]
    fn would_block_predicts_the_pool() {
        let dir = tmpdir("would-block");
        let mut w =
            ObjectWriter::create(file(dir.join("t")), &[Algorithm::Md5], None, None, 0).unwrap();
        assert!(!w.would_block(BUFFER_SIZE * BUFFERS));
        assert!(w.would_block(BUFFER_SIZE * (BUFFERS + 1)));
        w.feed(&vec![0u8; 3 * BUFFER_SIZE]).unwrap();
        assert!(w.would_block(BUFFER_SIZE * (BUFFERS + 1)));
        w.abort();
    }

    #[test]
    fn max_size_is_enforced_while_streaming() {
        let dir = tmpdir("max");
        let mut w = ObjectWriter::create(file(dir.join("t")), &[Algorithm::Md5], None, Some(10), 0)
            .unwrap();
        w.feed(b"0123456789").unwrap();
        assert_eq!(w.feed(b"x").err().unwrap().code, "EntityTooLarge");
    }

    mod erasure {
        use super::*;
        use crate::shards::{shard_key, ShardReader};
        use crate::test_drives::{files_in, in_each};

        const SHAPE: Shape = Shape {
            k: 2,
            m: 2,
            stripe_size: BUFFER_SIZE,
        };

        fn drives(name: &str) -> Vec<PathBuf> {
            crate::test_drives::drives(&format!("writer-erasure-{name}"), 4)
        }

        /// A writer of 2+2 shards to temp files "t" on the drives.
        fn sharded(dirs: &[PathBuf], inline_limit: u64) -> ObjectWriter {
            let target = shards(in_each(dirs, "t"), 4);
            ObjectWriter::create(target, &[Algorithm::Md5], None, None, inline_limit).unwrap()
        }

        fn shards(temp_paths: Vec<Option<PathBuf>>, quorum: usize) -> Target {
            Target::Shards {
                temp_paths,
                shape: SHAPE,
                key: shard_key("data-id"),
                quorum,
            }
        }

        fn payload(size: usize) -> Vec<u8> {
            (0..size).map(|i| (i * 7 % 251) as u8).collect()
        }

        #[test]
        fn small_and_large_payloads_are_written_as_shards() {
            for size in [
                0usize,
                10,
                BUFFER_SIZE - 1,
                BUFFER_SIZE,
                3 * BUFFER_SIZE + 17,
            ] {
                let dirs = drives(&format!("ok-{size}"));
                let data = payload(size);
                let mut temps = in_each(&dirs, "t");
                temps[1] = None; // one drive offline
                let mut w =
                    ObjectWriter::create(shards(temps, 3), &[Algorithm::Md5], None, None, 0)
                        .unwrap();
                assert!(w.writes_shards());
                for piece in data.chunks(65_537) {
                    w.feed(piece).unwrap();
                }
                let md5 = digest(Algorithm::Md5, &data);
                let mut finals = in_each(&dirs, "f");
                finals[1] = None;
                let r = w
                    .finish(
                        Dest::Shards(&finals),
                        &[(Algorithm::Md5, md5)],
                        Some(size as u64),
                    )
                    .unwrap();
                assert_eq!(r.size, size as u64);
                assert_eq!(r.shards, Some(vec![true, false, true, true]));
                assert!(r.inline.is_none());
                assert_eq!(files_in(&dirs).len(), 3, "the final shards only");
                let mut reader =
                    ShardReader::open(&finals, SHAPE, size as u64, shard_key("data-id")).unwrap();
                assert_eq!(reader.read(0, size).unwrap(), data);
                assert!(reader.damaged().is_empty());
            }
        }

        #[test]
        fn small_payloads_stay_inline_without_shard_files() {
            let dirs = drives("inline");
            let mut w = sharded(&dirs, 100);
            w.feed(b"small").unwrap();
            let r = w
                .finish(Dest::Shards(&in_each(&dirs, "f")), &[], None)
                .unwrap();
            assert_eq!(r.inline.as_deref(), Some(&b"small"[..]));
            assert!(r.shards.is_none());
            assert!(files_in(&dirs).is_empty());
        }

        #[test]
        fn a_bad_digest_leaves_nothing_on_any_drive() {
            for size in [10, 3 * BUFFER_SIZE + 5] {
                let dirs = drives(&format!("bad-{size}"));
                let mut w = sharded(&dirs, 0);
                w.feed(&payload(size)).unwrap();
                let err = w
                    .finish(
                        Dest::Shards(&in_each(&dirs, "f")),
                        &[(Algorithm::Md5, vec![0; 16])],
                        None,
                    )
                    .err()
                    .unwrap();
                assert_eq!(err.code, "BadDigest");
                assert!(files_in(&dirs).is_empty());
            }
        }

        #[test]
        fn a_lost_quorum_or_a_wrong_destination_leaves_nothing() {
            let dirs = drives("quorum");
            let mut temps = in_each(&dirs, "t");
            temps[3] = Some(dirs[3].join("gone").join("t")); // cannot be created
            let mut w =
                ObjectWriter::create(shards(temps, 4), &[Algorithm::Md5], None, None, 0).unwrap();
            let err = w.feed(&payload(2 * BUFFER_SIZE)).err();
            // the first full block creates the shards: feed() or finish() fails
            let err = err.unwrap_or_else(|| {
                w.finish(Dest::Shards(&in_each(&dirs, "f")), &[], None)
                    .err()
                    .unwrap()
            });
            assert!(err.message.contains("write quorum lost"), "{}", err.message);
            w.abort();
            assert!(files_in(&dirs).is_empty());

            let mut w = sharded(&dirs, 0);
            w.feed(&payload(BUFFER_SIZE + 1)).unwrap();
            assert!(w.finish(Dest::File(&dirs[0].join("f")), &[], None).is_err());
            assert!(files_in(&dirs).is_empty());
        }

        #[test]
        fn abort_and_drop_remove_every_temp_shard() {
            let dirs = drives("abort");
            let mut w = sharded(&dirs, 0);
            w.feed(&payload(3 * BUFFER_SIZE)).unwrap();
            w.abort();
            w.abort();
            assert!(files_in(&dirs).is_empty());
            {
                let mut w = sharded(&dirs, 0);
                w.feed(&payload(3 * BUFFER_SIZE)).unwrap();
            }
            assert!(files_in(&dirs).is_empty());
        }

        #[test]
        fn layouts_are_checked_at_create() {
            let dirs = drives("layout");
            let bad = |target| ObjectWriter::create(target, &[], None, None, 0).is_err();
            assert!(bad(shards(in_each(&dirs, "t")[..3].to_vec(), 3)));
            assert!(bad(shards(in_each(&dirs, "t"), 1)));
            assert!(bad(Target::Shards {
                temp_paths: in_each(&dirs, "t"),
                shape: Shape {
                    stripe_size: 4096,
                    ..SHAPE
                },
                key: [0; 32],
                quorum: 3,
            }));
            // offline drives only matter once a file is written (an inline payload needs none)
            let offline = vec![None, None, None, Some(dirs[3].join("t"))];
            assert!(!bad(shards(offline, 3)));
        }
    }

    mod sealed {
        use super::*;
        use crate::encryption::{DataKey, PACKAGE, SEALED_BLOCK, SEALED_PACKAGE};
        use crate::reader::ObjectReader;
        use crate::sealed::open_range;
        use crate::shards::{shard_key, ShardReader};
        use crate::test_drives::{files_in, flip, in_each};

        const B: usize = BUFFER_SIZE;
        const P: usize = PACKAGE;
        /// Empty, tiny, one package, one block, a block and a bit, whole blocks only (no
        /// tail: the last full block is the stream's last), and blocks and a tail.
        const SIZES: [usize; 8] = [0, 1, 13, P, B, B + 17, 3 * B, 5 * B + 3];
        const SHAPE: Shape = Shape {
            k: 2,
            m: 2,
            stripe_size: SEALED_BLOCK,
        };

        fn key(byte: u8) -> DataKey {
            DataKey::from_bytes([byte; 32])
        }

        /// `n` bytes that differ from any other offset's (a misplaced byte shows).
        fn payload(n: usize) -> Vec<u8> {
            let mut bytes = vec![0u8; n];
            blake3::Hasher::new().finalize_xof().fill(&mut bytes);
            bytes
        }

        /// `plain` sealed as one stream under key(1): what the writer must store.
        fn sealed(plain: &[u8]) -> Vec<u8> {
            let mut out = vec![0u8; sealed_len(plain.len() as u64) as usize];
            seal_stream_into(&key(1), plain, &mut out).unwrap();
            out
        }

        fn file_target(dir: &Path) -> Target {
            file(dir.join("t"))
        }

        fn shards_target(dirs: &[PathBuf]) -> Target {
            Target::Shards {
                temp_paths: in_each(dirs, "t"),
                shape: SHAPE,
                key: shard_key("data-id"),
                quorum: 4,
            }
        }

        /// Writes `data` sealed under key(1), fed in odd pieces, and checks what finish()
        /// says: the plaintext's size and digest, the sealed size stored.
        fn write(target: Target, data: &[u8], inline_limit: u64, dest: Dest<'_>) -> WriteResult {
            let seal = Some(key(1));
            let mut w = ObjectWriter::create_sealed(
                target,
                &[Algorithm::Md5],
                None,
                None,
                inline_limit,
                seal,
            )
            .unwrap();
            for piece in data.chunks(65_537) {
                w.feed(piece).unwrap();
            }
            let md5 = digest(Algorithm::Md5, data);
            let len = data.len() as u64;
            let r = w
                .finish(dest, &[(Algorithm::Md5, md5.clone())], Some(len))
                .unwrap();
            assert_eq!(r.size, len);
            assert_eq!(r.stored_size, sealed_len(len));
            assert_eq!(r.digests[0], (Algorithm::Md5, md5), "of the plaintext");
            r
        }

        /// Ranges across package, block (and stripe: one per block) boundaries, cut at the
        /// end or past it.
        fn ranges(len: usize) -> Vec<(u64, usize)> {
            let (p, b, n) = (P as u64, B as u64, len as u64);
            vec![
                (0, len),
                (0, 1),
                (1, 100),
                (p - 1, 2),
                (p, P),
                (p - 10, 3 * P),
                (b - 1, 2),
                (b - 100, B + 200),
                (b, B),
                (2 * b + 5, 2 * B),
                (n / 2, len),
                (n.saturating_sub(1), 10),
                (n, 5),
                (n + 5, 5),
            ]
        }

        fn check_ranges(mut read: impl FnMut(u64, usize) -> Vec<u8>, data: &[u8]) {
            for (offset, len) in ranges(data.len()) {
                let start = (offset as usize).min(data.len());
                let end = (start + len).min(data.len());
                let got = read(offset, len);
                assert!(got == data[start..end], "{offset}+{len} of {}", data.len());
            }
            // sequential reads in pieces that end inside packages and blocks
            let mut got = Vec::new();
            for at in (0..data.len()).step_by(100_003) {
                got.extend(read(at as u64, 100_003));
            }
            assert!(got == data, "sequential pieces of {}", data.len());
        }

        #[test]
        fn a_file_is_the_sealed_stream_and_reads_back_by_ranges() {
            // 17 MiB + 5: the bytes carried past whole pages (256 per block) wrap a page
            for size in SIZES.into_iter().chain([17 * B + 5]) {
                let dir = tmpdir(&format!("sealed-file-{size}"));
                let data = payload(size);
                let fin = dir.join("f");
                let r = write(file_target(&dir), &data, 0, Dest::File(&fin));
                assert!(r.inline.is_none());
                let stored = fs::read(&fin).unwrap();
                assert!(
                    stored == sealed(&data),
                    "size {size}: exactly the sealed stream"
                );
                let mut reader = ObjectReader::open_sealed(&fin, size as u64, key(1)).unwrap();
                assert_eq!(reader.size(), size as u64);
                check_ranges(|at, len| reader.read(at, len).unwrap(), &data);
                assert!(reader.verify().unwrap().is_empty());
                assert!(!dir.join("t").exists());
            }
        }

        #[test]
        fn shards_stripe_the_sealed_stream_and_read_back_by_ranges() {
            for size in SIZES {
                let dirs = crate::test_drives::drives(&format!("writer-sealed-{size}"), 4);
                let data = payload(size);
                let finals = in_each(&dirs, "f");
                let r = write(shards_target(&dirs), &data, 0, Dest::Shards(&finals));
                assert_eq!(r.shards, Some(vec![true; 4]));
                let open = |finals: &[Option<PathBuf>]| {
                    let (plain, id) = (size as u64, shard_key("data-id"));
                    ShardReader::open_sealed(finals, SHAPE, plain, id, key(1)).unwrap()
                };
                let mut reader = open(&finals);
                assert_eq!(reader.size(), size as u64);
                assert_eq!(reader.stored_size(), sealed_len(size as u64));
                assert_eq!(reader.stripes(), (size as u64).div_ceil(B as u64).max(1));
                let mut stripes = Vec::new();
                for n in 0..reader.stripes() {
                    stripes.extend(reader.read_stripe(n).unwrap().data);
                }
                assert!(
                    stripes == sealed(&data),
                    "size {size}: the sealed stream, striped"
                );
                check_ranges(|at, len| reader.read(at, len).unwrap(), &data);
                assert!(reader.verify().unwrap().is_empty());
                assert!(reader.damaged().is_empty());

                fs::remove_file(dirs[0].join("f")).unwrap();
                let mut reader = open(&finals);
                check_ranges(|at, len| reader.read(at, len).unwrap(), &data);
                assert_eq!(reader.damaged(), vec![0], "size {size}");
                assert_eq!(reader.verify().unwrap(), vec![0]);
            }
        }

        #[test]
        fn a_flipped_byte_fails_only_the_ranges_touching_its_package() {
            let dir = tmpdir("sealed-flip");
            let size = 3 * B + 17;
            let data = payload(size);
            let fin = dir.join("f");
            write(file_target(&dir), &data, 0, Dest::File(&fin));
            flip(&fin, 20 * SEALED_PACKAGE + 5); // package 20, in block 1
            let mut reader = ObjectReader::open_sealed(&fin, size as u64, key(1)).unwrap();
            let p = P as u64;
            assert_eq!(reader.read(0, B).unwrap(), data[..B]);
            assert_eq!(reader.read(21 * p, 10).unwrap(), data[21 * P..][..10]);
            assert_eq!(reader.read(19 * p, P).unwrap(), data[19 * P..][..P]);
            for (offset, len) in [(20 * p, 1), (20 * p - 1, 2), (19 * p + 5, P), (0, size)] {
                let err = reader.read(offset, len).unwrap_err();
                assert_eq!(err.code, "InternalError");
                assert_eq!(
                    err.message, "package 20 of the encrypted data is corrupt",
                    "{offset}+{len}"
                );
            }
            assert_eq!(reader.verify().unwrap(), vec![1], "the damaged MiB block");
            flip(&fin, sealed_len(size as u64) as usize - 1); // the last tag
            assert_eq!(reader.verify().unwrap(), vec![1, 3]);
            assert!(reader.read(size as u64 - 1, 1).is_err());
        }

        #[test]
        fn another_key_does_not_open() {
            let size = B + 17;
            let data = payload(size);
            let dir = tmpdir("sealed-other-key");
            let fin = dir.join("f");
            write(file_target(&dir), &data, 0, Dest::File(&fin));
            let mut reader = ObjectReader::open_sealed(&fin, size as u64, key(2)).unwrap();
            assert!(reader.read(0, 1).is_err());
            assert_eq!(reader.verify().unwrap(), vec![0, 1]);

            let dirs = crate::test_drives::drives("writer-sealed-other-key", 4);
            let finals = in_each(&dirs, "f");
            write(shards_target(&dirs), &data, 0, Dest::Shards(&finals));
            let (plain, id) = (size as u64, shard_key("data-id"));
            let mut reader = ShardReader::open_sealed(&finals, SHAPE, plain, id, key(2)).unwrap();
            let err = reader.read(B as u64, 5).unwrap_err();
            assert_eq!(err.message, "package 16 of the encrypted data is corrupt");
            assert!(
                reader.damaged().is_empty(),
                "the shards themselves are good"
            );
        }

        #[test]
        fn small_payloads_stay_inline_sealed() {
            for size in [0, 1, 13, 100] {
                let dir = tmpdir(&format!("sealed-inline-{size}"));
                let data = payload(size);
                let fin = dir.join("f");
                let r = write(file_target(&dir), &data, 100, Dest::File(&fin));
                let inline = r.inline.unwrap();
                assert_eq!(inline.len() as u64, sealed_len(size as u64));
                assert!(inline == sealed(&data), "never the plaintext");
                let all = open_range(&key(1), &inline, size as u64, 0, size + 1).unwrap();
                assert_eq!(all, data);
                let some = open_range(&key(1), &inline, size as u64, 1, 5).unwrap();
                assert_eq!(some, data[1.min(size)..6.min(size)]);
                assert!(files_in(&[dir]).is_empty());
            }
            let dirs = crate::test_drives::drives("writer-sealed-inline", 4);
            let r = write(shards_target(&dirs), b"small", 100, Dest::Shards(&[]));
            assert_eq!(r.inline.unwrap(), sealed(b"small"));
            assert!(files_in(&dirs).is_empty());
        }

        #[test]
        fn the_empty_object_is_one_empty_package() {
            let dir = tmpdir("sealed-empty");
            let fin = dir.join("f");
            write(file_target(&dir), b"", 0, Dest::File(&fin));
            assert_eq!(fs::read(&fin).unwrap().len(), 16);
            let mut reader = ObjectReader::open_sealed(&fin, 0, key(1)).unwrap();
            assert!(reader.read(0, 10).unwrap().is_empty());
            assert!(reader.verify().unwrap().is_empty());

            let dirs = crate::test_drives::drives("writer-sealed-empty", 4);
            let finals = in_each(&dirs, "f");
            write(shards_target(&dirs), b"", 0, Dest::Shards(&finals));
            let id = shard_key("data-id");
            let mut reader = ShardReader::open_sealed(&finals, SHAPE, 0, id, key(1)).unwrap();
            assert_eq!(reader.stripes(), 1, "one stripe of 16 bytes");
            assert_eq!(reader.read_stripe(0).unwrap().data, sealed(b""));
            assert!(reader.verify().unwrap().is_empty());
        }

        #[test]
        fn sums_with_a_key_and_unsealed_stripes_are_refused() {
            let dir = tmpdir("sealed-refused");
            let create = |target| {
                ObjectWriter::create_sealed(target, &[], None, None, 0, Some(key(1)))
                    .err()
                    .map(|e| (e.code, e.message))
            };
            let sums = Target::File {
                path: dir.join("t"),
                sums: Some(shard_key("data-id")),
            };
            let (code, message) = create(sums).unwrap();
            assert_eq!(code, "InternalError");
            assert!(message.contains("block sums"), "{message}");
            let dirs = crate::test_drives::drives("writer-sealed-refused-drives", 4);
            let unsealed = Target::Shards {
                temp_paths: in_each(&dirs, "t"),
                shape: Shape {
                    stripe_size: BUFFER_SIZE,
                    ..SHAPE
                },
                key: shard_key("data-id"),
                quorum: 4,
            };
            assert!(create(unsealed).is_some());
            let unkeyed = ObjectWriter::create(shards_target(&dirs), &[], None, None, 0);
            assert!(unkeyed.is_err(), "SEALED_BLOCK stripes without a key");
            assert!(files_in(&[dir]).is_empty());
        }

        #[test]
        fn a_failed_sealed_write_leaves_nothing() {
            let dir = tmpdir("sealed-bad-digest");
            let fin = dir.join("f");
            let mut w = ObjectWriter::create_sealed(
                file_target(&dir),
                &[Algorithm::Md5],
                None,
                None,
                0,
                Some(key(1)),
            )
            .unwrap();
            w.feed(&payload(3 * B)).unwrap();
            let wrong = [(Algorithm::Md5, vec![0; 16])];
            let err = w.finish(Dest::File(&fin), &wrong, None).err().unwrap();
            assert_eq!(err.code, "BadDigest");
            assert!(files_in(&[dir]).is_empty());
        }
    }
}
