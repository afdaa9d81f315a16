"""oxstore: an S3-compatible object store with a Rust core."""
