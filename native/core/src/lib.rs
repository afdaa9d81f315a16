//! oxstore-core: all native logic of oxstore, free of Python.
pub mod checksum;
