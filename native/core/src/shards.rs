//! An erasure-coded object on disk: k + m shard files, one per drive, written a stripe at a time
//! and read back verified, rebuilt from parity when a shard is missing, short or corrupt.
//!
//! Shard file `i` is a sequence of blocks, one per stripe: a 32-byte BLAKE3 hash keyed to the
//! object version (so a block of another object, or of another place, never passes for this
//! one), then the shard's `shard_len` bytes. Every stripe but the last holds `stripe_size`
//! bytes of the object; its shards are all `shard_len` long (the last stripe zero-padded), so
//! block `n` of every shard file starts at `n * (32 + shard_len)`.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

use crate::erasure::Codec;
use crate::error::S3Error;

pub const HASH_LEN: usize = 32;

/// Where one shard's hash is keyed: the version's key, the stripe, the shard.
fn block_hash(key: &[u8; 32], stripe: u64, shard: usize, data: &[u8]) -> [u8; HASH_LEN] {
    let mut hasher = blake3::Hasher::new_keyed(key);
    hasher.update(&stripe.to_le_bytes());
    hasher.update(&(shard as u32).to_le_bytes());
    hasher.update(data);
    *hasher.finalize().as_bytes()
}

/// The shape of an erasure-coded object: its layout and its stripes.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub k: usize,
    pub m: usize,
    pub stripe_size: usize,
}

pub struct ShardWriter {
    codec: Codec,
    shape: Shape,
    key: [u8; 32],
    files: Vec<File>,
    stripes: u64,
    size: u64,
}

impl ShardWriter {
    /// Creates the k + m shard files (each on its own drive).
    pub fn create(paths: &[PathBuf], shape: Shape, key: [u8; 32]) -> Result<Self, S3Error> {
        let codec = Codec::new(shape.k, shape.m)?;
        if paths.len() != shape.k + shape.m {
            return Err(S3Error::new("InternalError", "one shard file per shard"));
        }
        let files = paths
            .iter()
            .map(|path| {
                OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(path)
                    .map_err(|e| S3Error::io("shard file", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            codec,
            shape,
            key,
            files,
            stripes: 0,
            size: 0,
        })
    }

    /// Codes one stripe (`stripe_size` bytes; the last may be shorter) and writes its blocks,
    /// one per shard file, in parallel.
    pub fn write_stripe(&mut self, stripe: &[u8]) -> Result<(), S3Error> {
        if stripe.len() > self.shape.stripe_size {
            return Err(S3Error::new(
                "InternalError",
                "a stripe larger than the layout's",
            ));
        }
        let len = self.codec.shard_len(self.shape.stripe_size);
        let mut padded = stripe.to_vec();
        padded.resize(len * self.shape.k, 0);
        let shards = self.codec.encode(&padded)?;
        let (key, index) = (self.key, self.stripes);
        std::thread::scope(|scope| {
            let writes: Vec<_> = self
                .files
                .iter_mut()
                .zip(&shards)
                .enumerate()
                .map(|(n, (file, shard))| {
                    scope.spawn(move || {
                        file.write_all(&block_hash(&key, index, n, shard))?;
                        file.write_all(shard)
                    })
                })
                .collect();
            writes
                .into_iter()
                .try_for_each(|w| w.join().expect("a shard write panicked"))
        })
        .map_err(|e| S3Error::io("shard write", e))?;
        self.stripes += 1;
        self.size += stripe.len() as u64;
        Ok(())
    }

    /// Makes every shard durable; returns the object's size.
    pub fn finish(self) -> Result<u64, S3Error> {
        for file in &self.files {
            file.sync_all().map_err(|e| S3Error::io("fsync", e))?;
        }
        Ok(self.size)
    }
}

/// What reading a stripe found: its bytes, and the shards that had to be rebuilt (to heal).
pub struct Stripe {
    pub data: Vec<u8>,
    pub damaged: Vec<usize>,
}

pub struct ShardReader {
    codec: Codec,
    shape: Shape,
    key: [u8; 32],
    size: u64,
    files: Vec<Option<File>>,
}

impl ShardReader {
    /// Opens the shards there are (None, or a file that cannot be opened: missing).
    pub fn open(
        paths: &[Option<PathBuf>],
        shape: Shape,
        size: u64,
        key: [u8; 32],
    ) -> Result<Self, S3Error> {
        let codec = Codec::new(shape.k, shape.m)?;
        let files = paths
            .iter()
            .map(|path| path.as_ref().and_then(|p| File::open(p).ok()))
            .collect();
        Ok(Self {
            codec,
            shape,
            key,
            size,
            files,
        })
    }

    pub fn stripes(&self) -> u64 {
        self.size.div_ceil(self.shape.stripe_size as u64)
    }

    /// One shard's block of a stripe, if it is there and its hash holds.
    fn block(&mut self, stripe: u64, shard: usize) -> Option<Vec<u8>> {
        let len = self.codec.shard_len(self.shape.stripe_size);
        let file = self.files[shard].as_mut()?;
        let mut block = vec![0u8; HASH_LEN + len];
        file.seek(SeekFrom::Start(stripe * block.len() as u64))
            .ok()?;
        file.read_exact(&mut block).ok()?;
        let (hash, data) = block.split_at(HASH_LEN);
        if hash != block_hash(&self.key, stripe, shard, data) {
            return None;
        }
        block.drain(..HASH_LEN);
        Some(block)
    }

    /// Stripe `n`: the data shards read and verified; parity read only where a data shard is
    /// missing, short or corrupt. Fails when fewer than k good shards are left.
    pub fn read_stripe(&mut self, n: u64) -> Result<Stripe, S3Error> {
        let (k, m) = (self.shape.k, self.shape.m);
        let mut shards: Vec<Option<Vec<u8>>> = (0..k).map(|i| self.block(n, i)).collect();
        let mut damaged: Vec<usize> = (0..k).filter(|&i| shards[i].is_none()).collect();
        let mut good = k - damaged.len();
        for p in k..k + m {
            let block = if good < k { self.block(n, p) } else { None };
            if block.is_some() {
                good += 1;
            } else if good < k {
                damaged.push(p);
            }
            shards.push(block);
        }
        if !damaged.is_empty() {
            self.codec.reconstruct(&mut shards, false)?;
        }
        let start = n * self.shape.stripe_size as u64;
        let len = (self.size - start).min(self.shape.stripe_size as u64) as usize;
        let data = self.codec.join(&shards, len)?;
        Ok(Stripe { data, damaged })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const KEY: [u8; 32] = [7; 32];
    const SHAPE: Shape = Shape {
        k: 4,
        m: 2,
        stripe_size: 64 * 1024,
    };

    fn object(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 13 + i / 1000) as u8).collect()
    }

    fn written(dir: &std::path::Path, data: &[u8], key: [u8; 32]) -> Vec<PathBuf> {
        let paths: Vec<PathBuf> = (0..6).map(|i| dir.join(format!("shard{i}"))).collect();
        let mut writer = ShardWriter::create(&paths, SHAPE, key).unwrap();
        for stripe in data.chunks(SHAPE.stripe_size) {
            writer.write_stripe(stripe).unwrap();
        }
        assert_eq!(writer.finish().unwrap(), data.len() as u64);
        paths
    }

    fn read_all(paths: &[Option<PathBuf>], len: usize) -> Result<(Vec<u8>, Vec<usize>), S3Error> {
        let mut reader = ShardReader::open(paths, SHAPE, len as u64, KEY)?;
        let mut out = Vec::new();
        let mut damaged = Vec::new();
        for n in 0..reader.stripes() {
            let stripe = reader.read_stripe(n)?;
            out.extend(stripe.data);
            damaged.extend(stripe.damaged);
        }
        Ok((out, damaged))
    }

    fn temp_dir(name: &str) -> PathBuf {
        crate::test_dir(&format!("shards-{name}"))
    }

    #[test]
    fn a_healthy_object_reads_back_from_its_data_shards() {
        let dir = temp_dir("healthy");
        let data = object(200_000);
        let paths: Vec<Option<PathBuf>> = written(&dir, &data, KEY).into_iter().map(Some).collect();
        let (read, damaged) = read_all(&paths, data.len()).unwrap();
        assert_eq!(read, data);
        assert!(damaged.is_empty());
    }

    #[test]
    fn missing_and_corrupt_shards_are_rebuilt_and_reported() {
        let dir = temp_dir("damaged");
        let data = object(300_001);
        let paths = written(&dir, &data, KEY);
        fs::remove_file(&paths[1]).unwrap(); // a drive gone
        let mut bytes = fs::read(&paths[3]).unwrap(); // a flipped byte in stripe 2
        let at = 2 * (HASH_LEN + 16 * 1024) + HASH_LEN + 5;
        bytes[at] ^= 0x40;
        fs::write(&paths[3], bytes).unwrap();
        let shards: Vec<Option<PathBuf>> = paths.iter().cloned().map(Some).collect();
        let (read, damaged) = read_all(&shards, data.len()).unwrap();
        assert_eq!(read, data);
        assert!(damaged.contains(&1) && damaged.contains(&3));
        // beyond parity: an error, never wrong bytes
        let truncated = fs::read(&paths[0]).unwrap();
        fs::write(&paths[0], &truncated[..truncated.len() / 2]).unwrap();
        let err = read_all(&shards, data.len()).unwrap_err();
        assert!(
            err.message.contains("the stripe is lost"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_shard_of_another_object_does_not_pass() {
        let dir = temp_dir("foreign");
        let data = object(70_000);
        let paths = written(&dir, &data, KEY);
        let other = temp_dir("foreign-other");
        // another version's shards, at the same places and of the same length
        let reversed: Vec<u8> = object(70_000).into_iter().rev().collect();
        let foreign = written(&other, &reversed, [9; 32]);
        fs::copy(&foreign[0], &paths[0]).unwrap();
        fs::copy(&foreign[2], &paths[2]).unwrap();
        let shards: Vec<Option<PathBuf>> = paths.iter().cloned().map(Some).collect();
        let (read, damaged) = read_all(&shards, data.len()).unwrap();
        assert_eq!(read, data);
        assert!(damaged.contains(&0) && damaged.contains(&2));
    }
}
