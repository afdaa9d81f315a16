#!/usr/bin/env bash
# Style and static checks, Python and Rust.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check python tests bench
ruff format --check python tests bench
mypy
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release -- -D warnings
