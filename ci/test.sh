#!/usr/bin/env bash
# The test command (README): installs oxstore with its test clients, runs the lint gates, the
# Rust unit tests and the pytest suite against real servers on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."

# The native core links OpenSSL's libcrypto (MD5): its headers and pkg-config are needed to build.
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
if ! pkg-config --exists openssl 2>/dev/null; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq libssl-dev pkg-config
fi
# The PostgreSQL metadata store's tests start a server of their own (initdb into a temp
# directory, a free port): only Debian's binaries are needed, not the default cluster.
# (postgresql-common first, told not to create one, as PostgreSQL's own Docker images do)
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-common >/dev/null
    $SUDO sed -ri 's/#?(create_main_cluster) .*$/\1 = false/' /etc/postgresql-common/createcluster.conf
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
# The web console's tests (tests/console) drive a real headless Chromium and Firefox through
# Selenium: Debian's chromium and its chromedriver, and firefox-esr (Selenium is given the
# drivers, so it downloads none).
if ! command -v chromedriver >/dev/null; then
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi
if ! command -v firefox-esr >/dev/null; then
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq firefox-esr >/dev/null
fi

export OXSTORE_TEST_CACHE="${OXSTORE_TEST_CACHE:-$HOME/.cache/oxstore-tests}"
# Debian packages no geckodriver: Mozilla's crate is built once into the cache (80 s on 2 cores;
# tests/console/page.py pins the same version in its default path)
GECKODRIVER_VERSION=0.37.1
GECKODRIVER_ROOT="$OXSTORE_TEST_CACHE/geckodriver-$GECKODRIVER_VERSION"
if [ ! -x "$GECKODRIVER_ROOT/bin/geckodriver" ]; then
    cargo install geckodriver --locked --quiet --version "$GECKODRIVER_VERSION" --root "$GECKODRIVER_ROOT"
fi
export OXSTORE_GECKODRIVER="$GECKODRIVER_ROOT/bin/geckodriver"
# One release build serves both the Rust unit tests and the Python extension.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

python -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
python -m pip install --quiet ".[test]"
bash ci/lint.sh  # style and types gate the tests: ruff, mypy --strict, stubtest, fmt, clippy
cargo test --workspace --release --quiet
python -m pytest tests -q -p no:cacheprovider "$@"
# The S3 suite's core once more with the metadata in PostgreSQL (tests/conftest.py)
OXSTORE_TEST_META=postgres python -m pytest -q -p no:cacheprovider \
    tests/s3/test_boto3_buckets.py tests/s3/test_boto3_objects.py tests/s3/test_multipart.py \
    tests/s3/test_versioning.py tests/s3/test_listing.py tests/s3/test_object_writes.py \
    tests/s3/test_copy.py tests/s3/test_clients.py tests/s3/test_users.py tests/admin \
    tests/s3/test_drive_sets.py tests/s3/test_sse_s3.py tests/s3/test_sse_modes.py \
    tests/s3/test_bucket_policy.py tests/s3/test_object_lock.py
