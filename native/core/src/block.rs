//! Page-aligned, reusable payload blocks: what the writer fills, hashes and writes.
//!
//! Alignment lets full blocks go to disk with O_DIRECT straight from this memory. Blocks are
//! pooled and reused because touching fresh memory is slow on virtual machines; a new block's
//! memory is reserved, not zeroed (zeroing 1 MiB for a 4 KiB PUT cost more than the rest of
//! its native work), and only what is pushed is ever written.

pub const ALIGN: usize = 4096;

pub struct Block {
    /// Padding up to the aligned start, then the payload; never grows past its reservation,
    /// so it never moves.
    mem: Vec<u8>,
    start: usize,
    capacity: usize,
}

impl Block {
    pub fn new(capacity: usize) -> Self {
        let mut mem: Vec<u8> = Vec::with_capacity(capacity + ALIGN);
        let start = mem.as_ptr().align_offset(ALIGN);
        mem.resize(start, 0);
        Block {
            mem,
            start,
            capacity,
        }
    }

    fn len(&self) -> usize {
        self.mem.len() - self.start
    }

    /// Copies as much of data as fits; returns how many bytes were taken.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let take = (self.capacity - self.len()).min(data.len());
        self.mem.extend_from_slice(&data[..take]);
        take
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.mem[self.start..]
    }

    pub fn is_full(&self) -> bool {
        self.len() == self.capacity
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&mut self) {
        self.mem.truncate(self.start);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_and_fill_up() {
        let mut b = Block::new(8192);
        assert_eq!(b.as_slice().as_ptr() as usize % ALIGN, 0);
        assert_eq!(b.push(&[1u8; 5000]), 5000);
        assert_eq!(b.push(&[2u8; 5000]), 3192);
        assert!(b.is_full());
        assert_eq!(b.as_slice()[4999], 1);
        assert_eq!(b.as_slice()[5000], 2);
        let at = b.as_slice().as_ptr();
        b.clear();
        assert!(b.is_empty());
        b.push(&[3u8; 8192]);
        assert_eq!(b.as_slice().as_ptr(), at); // refilled in place: still aligned
        assert!(b.is_full());
    }
}
