//! ObjectReader: positional reads of a data file.

use crate::error::{Result, S3Error};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

pub struct ObjectReader {
    file: File,
    size: u64,
}

impl ObjectReader {
    pub fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| S3Error::io("opening the data file", e))?;
        let size = file
            .metadata()
            .map_err(|e| S3Error::io("stat of the data file", e))?
            .len();
        Ok(ObjectReader { file, size })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Up to `length` bytes from `offset`; fewer only at the end of the file.
    pub fn read(&self, offset: u64, length: usize) -> Result<Vec<u8>> {
        let end = self.size.min(offset.saturating_add(length as u64));
        let want = end.saturating_sub(offset) as usize;
        let mut out = vec![0u8; want];
        self.file
            .read_exact_at(&mut out, offset)
            .map_err(|e| S3Error::io("reading", e))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ranges_and_clamps_at_the_end() {
        let path = std::env::temp_dir().join(format!("oxstore-reader-{}", std::process::id()));
        std::fs::write(&path, b"0123456789").unwrap();
        let r = ObjectReader::open(&path).unwrap();
        assert_eq!(r.size(), 10);
        assert_eq!(r.read(2, 3).unwrap(), b"234");
        assert_eq!(r.read(8, 10).unwrap(), b"89");
        assert_eq!(r.read(12, 10).unwrap(), b"");
        std::fs::remove_file(path).unwrap();
    }
}
