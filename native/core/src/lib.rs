//! oxstore-core: all native logic of oxstore, free of Python.
pub mod block;
pub mod checksum;
pub mod chunked;
pub mod crc_combine;
pub mod encryption;
pub mod erasure;
pub mod error;
pub mod reader;
mod scatter;
pub mod seal;
pub mod sealed;
pub mod shards;
pub mod sigv2;
pub mod sigv4;
pub mod writer;

/// A fresh, empty directory for one test (its name and this process's id in the path).
#[cfg(test)]
pub(crate) fn test_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("oxstore-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Drive directories for the tests of sharded files.
#[cfg(test)]
pub(crate) mod test_drives {
    use std::fs;
    use std::path::PathBuf;

    /// `n` fresh, empty directories, one per drive.
    pub fn drives(name: &str, n: usize) -> Vec<PathBuf> {
        let root = crate::test_dir(name);
        (0..n)
            .map(|i| {
                let dir = root.join(format!("d{i}"));
                fs::create_dir(&dir).unwrap();
                dir
            })
            .collect()
    }

    /// The path `name` in each of them.
    pub fn in_each(dirs: &[PathBuf], name: &str) -> Vec<Option<PathBuf>> {
        dirs.iter().map(|d| Some(d.join(name))).collect()
    }

    /// Flips one bit of the byte at `at` of a file (damage for the tests to find).
    pub fn flip(path: &std::path::Path, at: usize) {
        let mut bytes = fs::read(path).unwrap();
        bytes[at] ^= 0x40;
        fs::write(path, bytes).unwrap();
    }

    /// Every file in them.
    pub fn files_in(dirs: &[PathBuf]) -> Vec<PathBuf> {
        dirs.iter()
            .flat_map(|d| fs::read_dir(d).unwrap().map(|e| e.unwrap().path()))
            .collect()
    }
}
