#!/usr/bin/env bash
# Installs dependencies, builds a release unvmf-tgt and runs it with the given
# arguments (none: the default 1 GiB RAM namespace on TCP 127.0.0.1:4420).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build-release unvmf-tgt unvmf-identify unvmf-perf unvmf-rpc >/dev/null
exec build-release/bin/unvmf-tgt "$@"
