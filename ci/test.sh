#!/usr/bin/env bash
# The test command (README): installs oxstore with its test clients, runs the lint gates, the
# Rust unit tests and the pytest suite against real servers on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

# The native core links OpenSSL's libcrypto (MD5): its headers and pkg-config are needed to build.
if ! pkg-config --exists openssl 2>/dev/null; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq libssl-dev pkg-config
fi

export OXSTORE_TEST_CACHE="${OXSTORE_TEST_CACHE:-$HOME/.cache/oxstore-tests}"
# One release build serves both the Rust unit tests and the Python extension.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
python -m pip install --quiet ".[test]"
bash ci/lint.sh  # style and types gate the tests: ruff, mypy --strict, stubtest, fmt, clippy
cargo test --workspace --release --quiet
python -m pytest tests -q -p no:cacheprovider "$@"
