//! oxstore-core: all native logic of oxstore, free of Python.
pub mod block;
pub mod checksum;
pub mod chunked;
pub mod crc_combine;
pub mod erasure;
pub mod error;
pub mod reader;
pub mod seal;
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
