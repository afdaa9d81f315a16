//! Page-aligned, reusable payload blocks: what the writer fills, hashes and writes.
//!
//! Alignment lets full blocks go to disk with O_DIRECT straight from this memory. Blocks are
//! pooled and reused because touching fresh memory is slow on virtual machines.

pub const ALIGN: usize = 4096;

pub struct Block {
    mem: Vec<u8>,
    start: usize,
    len: usize,
    capacity: usize,
}

impl Block {
    pub fn new(capacity: usize) -> Self {
        let mem = vec![0u8; capacity + ALIGN];
        let start = mem.as_ptr().align_offset(ALIGN);
        Block {
            mem,
            start,
            len: 0,
            capacity,
        }
    }

    /// Copies as much of data as fits; returns how many bytes were taken.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let take = (self.capacity - self.len).min(data.len());
        let at = self.start + self.len;
        self.mem[at..at + take].copy_from_slice(&data[..take]);
        self.len += take;
        take
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.mem[self.start..self.start + self.len]
    }

    pub fn is_full(&self) -> bool {
        self.len == self.capacity
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.len = 0;
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
        b.clear();
        assert!(b.is_empty());
    }
}
