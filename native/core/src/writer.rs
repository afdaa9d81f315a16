//! ObjectWriter: streams a payload into a temp file, hashing on one thread and writing on
//! another, then verifies, fsyncs and renames it into place.
//!
//! feed() only copies into a pooled, page-aligned block. Full blocks go to the hash thread,
//! then to the write thread (O_DIRECT where the file system allows it: no page-cache copy and
//! no big fsync at the end), then back to the pool, so hashing overlaps with receiving and
//! writing and memory stays bounded (BUFFERS x BUFFER_SIZE per upload). Small payloads never
//! start the threads: they are hashed and written in finish().

use crate::block::Block;
use crate::checksum::{Algorithm, MultiHasher};
use crate::chunked::{ChunkedDecoder, Mode, Signer};
use crate::error::{Result, S3Error};
use base64::Engine;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

pub const BUFFER_SIZE: usize = 1 << 20;
pub const BUFFERS: usize = 8;

pub struct ChunkedConfig {
    pub mode: Mode,
    pub signer: Option<Signer>,
    pub trailer: Option<String>,
    pub decoded_length: Option<u64>,
}

#[derive(Debug)]
pub struct WriteResult {
    pub size: u64,
    pub digests: Vec<(Algorithm, Vec<u8>)>,
    pub trailers: Vec<(String, String)>,
    /// The payload itself when it fit under the inline limit: no file was written.
    pub inline: Option<Vec<u8>>,
}

struct Pipeline {
    to_hash: SyncSender<Block>,
    pool: Receiver<Block>,
    /// Blocks back from the write thread, ready to fill.
    free: Vec<Block>,
    allocated: usize,
    hash_thread: JoinHandle<MultiHasher>,
    write_thread: JoinHandle<std::io::Result<File>>,
}

enum Sink {
    /// Less than a block so far: nothing written, no file created yet.
    Buffered(MultiHasher),
    Threaded(Pipeline),
    Closed,
}

pub struct ObjectWriter {
    temp_path: PathBuf,
    decoder: Option<ChunkedDecoder>,
    chunked: Option<ChunkedConfig>,
    buffer: Block,
    sink: Sink,
    size: u64,
    max_size: Option<u64>,
    inline_limit: u64,
}

fn spawn_pipeline(mut hasher: MultiHasher, mut file: File) -> Pipeline {
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
    let write_thread =
        std::thread::spawn(move || write_all(&mut file, write_rx, pool_tx).map(|_| file));
    Pipeline {
        to_hash,
        pool,
        free: Vec::new(),
        allocated: 0,
        hash_thread,
        write_thread,
    }
}

/// Writes every full block, with O_DIRECT when the file system takes it; after a failure
/// keeps draining so the producer never blocks forever.
fn write_all(file: &mut File, rx: Receiver<Block>, pool: Sender<Block>) -> std::io::Result<()> {
    let mut result = Ok(());
    let mut direct = set_direct(file, true);
    for mut buf in rx {
        if result.is_ok() {
            result = file.write_all(buf.as_slice());
            if direct && matches!(&result, Err(e) if e.raw_os_error() == Some(libc::EINVAL)) {
                // this file system refuses O_DIRECT writes: write through the page cache
                direct = !set_direct(file, false);
                result = file.write_all(buf.as_slice());
            }
        }
        buf.clear();
        let _ = pool.send(buf);
    }
    set_direct(file, false);
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
    /// A writer whose payload goes to `temp_path`, or stays in memory and is returned by
    /// finish() when it is at most `inline_limit` bytes (for objects kept in the metadata;
    /// 0: never).
    pub fn create(
        temp_path: &Path,
        algorithms: &[Algorithm],
        chunked: Option<ChunkedConfig>,
        max_size: Option<u64>,
        inline_limit: u64,
    ) -> Result<Self> {
        let decoder = match &chunked {
            Some(c) => Some(ChunkedDecoder::new(c.mode, c.signer.clone())?),
            None => None,
        };
        Ok(ObjectWriter {
            temp_path: temp_path.to_path_buf(),
            decoder,
            chunked,
            buffer: Block::new(BUFFER_SIZE),
            sink: Sink::Buffered(MultiHasher::new(algorithms)),
            size: 0,
            max_size,
            inline_limit: inline_limit.min(BUFFER_SIZE as u64),
        })
    }

    fn open_temp(&self) -> Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&self.temp_path)
            .map_err(|e| S3Error::io("creating the temp file", e))
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
            let file = self.open_temp()?;
            let Sink::Buffered(hasher) = std::mem::replace(&mut self.sink, Sink::Closed) else {
                unreachable!()
            };
            self.sink = Sink::Threaded(spawn_pipeline(hasher, file));
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

    /// Ends the stream: hashes and writes what is left; returns the hasher and the file, or
    /// no file when the payload stays inline (in `self.buffer`).
    fn drain(&mut self) -> Result<(MultiHasher, Option<File>)> {
        match std::mem::replace(&mut self.sink, Sink::Closed) {
            Sink::Buffered(mut hasher)
                if self.inline_limit > 0 && self.size <= self.inline_limit =>
            {
                hasher.update(self.buffer.as_slice());
                Ok((hasher, None))
            }
            Sink::Buffered(hasher) => {
                let file = self.open_temp()?;
                self.write_tail(hasher, file)
            }
            Sink::Threaded(p) => {
                drop(p.to_hash);
                let hasher = p
                    .hash_thread
                    .join()
                    .map_err(|_| S3Error::new("InternalError", "hash thread panicked"))?;
                let file = p
                    .write_thread
                    .join()
                    .map_err(|_| S3Error::new("InternalError", "write thread panicked"))?
                    .map_err(|e| S3Error::io("writing", e))?;
                self.write_tail(hasher, file)
            }
            Sink::Closed => Err(S3Error::new("InternalError", "writer is closed")),
        }
    }

    /// The last, partial block: hashed and written here, through the page cache.
    fn write_tail(
        &mut self,
        mut hasher: MultiHasher,
        mut file: File,
    ) -> Result<(MultiHasher, Option<File>)> {
        hasher.update(self.buffer.as_slice());
        file.write_all(self.buffer.as_slice())
            .map_err(|e| S3Error::io("writing", e))?;
        self.buffer.clear();
        Ok((hasher, Some(file)))
    }

    pub fn finish(
        &mut self,
        final_path: &Path,
        expected: &[(Algorithm, Vec<u8>)],
        expected_size: Option<u64>,
    ) -> Result<WriteResult> {
        let result = self.finish_inner(final_path, expected, expected_size);
        if result.is_err() {
            self.abort();
        }
        result
    }

    fn finish_inner(
        &mut self,
        final_path: &Path,
        expected: &[(Algorithm, Vec<u8>)],
        expected_size: Option<u64>,
    ) -> Result<WriteResult> {
        if let Some(decoder) = self.decoder.as_mut() {
            decoder.finish()?;
        }
        let (hasher, file) = self.drain()?;
        self.check_size(expected_size)?;
        let trailers = self
            .decoder
            .as_ref()
            .map(|d| d.trailers().to_vec())
            .unwrap_or_default();
        self.check_trailer(&hasher, &trailers)?;
        check_digests(&hasher, expected)?;
        let inline = match file {
            None => Some(self.buffer.as_slice().to_vec()),
            Some(file) => {
                file.sync_all().map_err(|e| S3Error::io("fsync", e))?;
                drop(file);
                fs::rename(&self.temp_path, final_path).map_err(|e| S3Error::io("rename", e))?;
                if let Some(dir) = final_path.parent() {
                    if let Err(err) = sync_dir(dir) {
                        // the request fails: its file must not stay behind, durable or not
                        let _ = fs::remove_file(final_path);
                        return Err(err);
                    }
                }
                None
            }
        };
        Ok(WriteResult {
            size: self.size,
            digests: hasher.digests(),
            trailers,
            inline,
        })
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

    /// Stops the threads and removes the temp file; idempotent.
    pub fn abort(&mut self) {
        if let Sink::Threaded(p) = std::mem::replace(&mut self.sink, Sink::Closed) {
            drop(p.to_hash);
            let _ = p.hash_thread.join();
            let _ = p.write_thread.join();
        }
        let _ = fs::remove_file(&self.temp_path);
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        if !matches!(self.sink, Sink::Closed) {
            self.abort();
        }
    }
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
            let mut w =
                ObjectWriter::create(&tmp, &[Algorithm::Md5, Algorithm::Crc32], None, None, 0)
                    .unwrap();
            for piece in data.chunks(65_537) {
                w.feed(piece).unwrap();
            }
            let md5 = digest(Algorithm::Md5, &data);
            let r = w
                .finish(&fin, &[(Algorithm::Md5, md5.clone())], Some(size as u64))
                .unwrap();
            assert_eq!(r.size, size as u64);
            assert_eq!(r.digests[0], (Algorithm::Md5, md5));
            assert_eq!(fs::read(&fin).unwrap(), data);
            assert!(!tmp.exists());
        }
    }

    #[test]
    fn a_bad_digest_leaves_nothing() {
        let dir = tmpdir("bad");
        let tmp = dir.join("t");
        let fin = dir.join("f");
        let mut w = ObjectWriter::create(&tmp, &[Algorithm::Md5], None, None, 0).unwrap();
        w.feed(&vec![1u8; 3 * BUFFER_SIZE]).unwrap();
        let err = w
            .finish(&fin, &[(Algorithm::Md5, vec![0; 16])], None)
            .err()
            .unwrap();
        assert_eq!(err.code, "BadDigest");
        assert!(!tmp.exists() && !fin.exists());
    }

    #[test]
    fn a_short_body_is_incomplete_and_drop_cleans_up() {
        let dir = tmpdir("short");
        let tmp = dir.join("t");
        let mut w = ObjectWriter::create(&tmp, &[Algorithm::Md5], None, None, 0).unwrap();
        w.feed(b"abc").unwrap();
        let err = w.finish(&dir.join("f"), &[], Some(4)).err().unwrap();
        assert_eq!(err.code, "IncompleteBody");
        assert!(!tmp.exists());
        let tmp2 = dir.join("t2");
        {
            let mut w = ObjectWriter::create(&tmp2, &[Algorithm::Md5], None, None, 0).unwrap();
            w.feed(&vec![0u8; 2 * BUFFER_SIZE]).unwrap();
        }
        assert!(!tmp2.exists());
    }

    #[test]
    fn small_payloads_stay_inline_and_create_no_file() {
        let dir = tmpdir("inline");
        let tmp = dir.join("t");
        let fin = dir.join("f");
        let mut w = ObjectWriter::create(&tmp, &[Algorithm::Md5], None, None, 100).unwrap();
        w.feed(b"small").unwrap();
        assert!(w.stays_inline());
        let r = w.finish(&fin, &[], Some(5)).unwrap();
        assert_eq!(r.inline.as_deref(), Some(&b"small"[..]));
        assert_eq!(r.digests[0].1, digest(Algorithm::Md5, b"small"));
        assert!(!tmp.exists() && !fin.exists());
        let mut w = ObjectWriter::create(&tmp, &[Algorithm::Md5], None, None, 4).unwrap();
        assert!(w.stays_inline());
        w.feed(b"small").unwrap();
        assert!(!w.stays_inline()); // over the limit: finish() writes the file
        let r = w.finish(&fin, &[], Some(5)).unwrap();
        assert!(r.inline.is_none());
        assert_eq!(fs::read(&fin).unwrap(), b"small");
    }

    #[test]
    fn would_block_predicts_the_pool() {
        let dir = tmpdir("would-block");
        let mut w = ObjectWriter::create(&dir.join("t"), &[Algorithm::Md5], None, None, 0).unwrap();
        assert!(!w.would_block(BUFFER_SIZE * BUFFERS));
        assert!(w.would_block(BUFFER_SIZE * (BUFFERS + 1)));
        w.feed(&vec![0u8; 3 * BUFFER_SIZE]).unwrap();
        assert!(w.would_block(BUFFER_SIZE * (BUFFERS + 1)));
        w.abort();
    }

    #[test]
    fn max_size_is_enforced_while_streaming() {
        let dir = tmpdir("max");
        let mut w =
            ObjectWriter::create(&dir.join("t"), &[Algorithm::Md5], None, Some(10), 0).unwrap();
        w.feed(b"0123456789").unwrap();
        assert_eq!(w.feed(b"x").err().unwrap().code, "EntityTooLarge");
    }
}
