//! Reading a data shard's blocks straight into their places in a read's output: one vectored
//! read per shard puts each block's hash in a small buffer and its bytes where the object's
//! bytes go, and the hashes are checked there. A healthy read of an erasure-coded object thus
//! copies nothing after the kernel (assembling the stripes from separate block buffers cost a
//! second pass over every byte).

use std::fs::File;
use std::io::{self, IoSliceMut};
use std::os::fd::AsRawFd;

use crate::shards::{block_hash_of_parts, HASH_LEN};

/// One block of a shard as a read places it: `out` takes its bytes from `before` on, the
/// `before` bytes ahead of them and the `after` bytes behind them (outside the read's range,
/// or the last stripe's padding) go to scratch, only to be hashed.
pub(crate) struct Placed<'o> {
    pub stripe: u64,
    pub before: usize,
    pub out: &'o mut [u8],
    pub after: usize,
}

/// At most this many buffers per system call (the kernel's IOV_MAX).
const MAX_IOVECS: usize = 1024;

/// Reads consecutive blocks of shard `shard` (`blocks`, from stripe `blocks[0].stripe` on)
/// into their places and checks every hash: true when every block was whole and good. False
/// leaves `out` holding unverified bytes, to be overwritten by a careful read.
pub(crate) fn read_placed(
    file: &File,
    key: &[u8; 32],
    shard: usize,
    block_len: usize,
    blocks: &mut [Placed<'_>],
) -> bool {
    let Some(first) = blocks.first().map(|b| b.stripe) else {
        return true;
    };
    let mut hashes = vec![[0u8; HASH_LEN]; blocks.len()];
    let mut scratch = vec![0u8; blocks.iter().map(|b| b.before + b.after).sum()];
    if read_vectored_at(
        file,
        &mut iovecs(blocks, &mut hashes, &mut scratch),
        first * block_len as u64,
    )
    .is_err()
    {
        return false;
    }
    let mut spare = &scratch[..];
    blocks.iter().zip(&hashes).all(|(block, hash)| {
        let (before, rest) = spare.split_at(block.before);
        let (after, rest) = rest.split_at(block.after);
        spare = rest;
        *hash == block_hash_of_parts(key, block.stripe, shard, &[before, block.out, after])
    })
}

/// The buffers of one vectored read of `blocks`: per block its hash, then its bytes in order.
fn iovecs<'b>(
    blocks: &'b mut [Placed<'_>],
    hashes: &'b mut [[u8; HASH_LEN]],
    mut scratch: &'b mut [u8],
) -> Vec<IoSliceMut<'b>> {
    let mut slices = Vec::with_capacity(blocks.len() * 4);
    for (block, hash) in blocks.iter_mut().zip(hashes) {
        let (before, rest) = scratch.split_at_mut(block.before);
        let (after, rest) = rest.split_at_mut(block.after);
        scratch = rest;
        let parts: [&'b mut [u8]; 4] = [hash, before, &mut *block.out, after];
        slices.extend(
            parts
                .into_iter()
                .filter(|p| !p.is_empty())
                .map(IoSliceMut::new),
        );
    }
    slices
}

/// Fills every buffer from `offset` on with as many preadv calls as it takes; an error when
/// the file ends first.
fn read_vectored_at(
    file: &File,
    mut slices: &mut [IoSliceMut<'_>],
    mut offset: u64,
) -> io::Result<()> {
    while !slices.is_empty() {
        let count = slices.len().min(MAX_IOVECS);
        // SAFETY: IoSliceMut is ABI-compatible with iovec on Unix; each points into a live,
        // exclusively borrowed buffer for the length it gives.
        let n = unsafe {
            libc::preadv(
                file.as_raw_fd(),
                slices.as_ptr().cast::<libc::iovec>(),
                count as libc::c_int,
                offset as libc::off_t,
            )
        };
        match n {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n if n < 0 => {
                let err = io::Error::last_os_error();
                if err.kind() != io::ErrorKind::Interrupted {
                    return Err(err);
                }
            }
            n => {
                IoSliceMut::advance_slices(&mut slices, n as usize);
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shards::block_hash;
    use std::io::Write;

    const KEY: [u8; 32] = [7; 32];

    /// A shard file of `count` blocks of `len` bytes, block n filled with byte n.
    fn shard_file(name: &str, count: usize, len: usize) -> (File, Vec<Vec<u8>>) {
        let path = crate::test_dir(name).join("shard");
        let mut file = File::create(&path).unwrap();
        let blocks: Vec<Vec<u8>> = (0..count).map(|n| vec![n as u8 + 1; len]).collect();
        for (n, block) in blocks.iter().enumerate() {
            file.write_all(&block_hash(&KEY, n as u64, 1, block))
                .unwrap();
            file.write_all(block).unwrap();
        }
        (File::open(&path).unwrap(), blocks)
    }

    #[test]
    fn blocks_land_in_place_with_edges_cut_off() {
        let (file, blocks) = shard_file("scatter-place", 3, 100);
        let mut out = vec![0u8; 90 + 100 + 10];
        let (a, rest) = out.split_at_mut(90);
        let (b, c) = rest.split_at_mut(100);
        let mut placed = [
            Placed {
                stripe: 0,
                before: 10,
                out: a,
                after: 0,
            },
            Placed {
                stripe: 1,
                before: 0,
                out: b,
                after: 0,
            },
            Placed {
                stripe: 2,
                before: 0,
                out: c,
                after: 90,
            },
        ];
        assert!(read_placed(&file, &KEY, 1, HASH_LEN + 100, &mut placed));
        let want = [&blocks[0][10..], &blocks[1][..], &blocks[2][..10]].concat();
        assert_eq!(out, want);
    }

    #[test]
    fn a_corrupt_or_short_block_fails_the_read() {
        let (file, _) = shard_file("scatter-bad", 2, 100);
        let mut out = [0u8; 200];
        let (a, b) = out.split_at_mut(100);
        let mut wrong_shard = [Placed {
            stripe: 0,
            before: 0,
            out: a,
            after: 0,
        }];
        assert!(!read_placed(
            &file,
            &KEY,
            2,
            HASH_LEN + 100,
            &mut wrong_shard
        ));
        let mut past_end = [Placed {
            stripe: 2,
            before: 0,
            out: b,
            after: 0,
        }];
        assert!(!read_placed(&file, &KEY, 1, HASH_LEN + 100, &mut past_end));
    }
}
