#!/usr/bin/env bash
# Installs dependencies, builds the Debug configuration (ASan + UBSan) and runs
# every test with ctest. The release configuration is compiled first: -O2
# finds warnings that -O1 does not, and the run command builds it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build-release
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Debug >/dev/null
ninja -C build
ctest --test-dir build --output-on-failure -j2 "$@"
