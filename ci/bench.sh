#!/usr/bin/env bash
# Benchmarks: native micro-benchmarks, then the whole-server throughput run.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pytest bench/micro -q --benchmark-columns=mean,ops --benchmark-sort=name "$@"
python bench/e2e/throughput.py
python bench/e2e/multipart.py
python bench/e2e/large_object.py
python bench/e2e/post_upload.py
python bench/e2e/collector.py
python bench/e2e/tls.py
python bench/e2e/compare.py  # needs wrk (apt) and the [bench] extra
