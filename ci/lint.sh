#!/usr/bin/env bash
# Style and static checks, Python and Rust.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check python tests bench
ruff format --check python tests bench
mypy
python -m mypy.stubtest oxstore._native  # the hand-written stubs match the compiled module
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --release -- -D warnings
