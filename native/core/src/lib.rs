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
