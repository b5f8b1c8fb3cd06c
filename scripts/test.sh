#!/usr/bin/env bash
# Installs dependencies, builds the Debug configuration (ASan + UBSan) and runs
# every test: the Linux-kernel-host interop quick suite in VMs (as root; the
# full suite is `tests/interop/run`), then ctest. The release configuration is
# compiled first: -O2 finds warnings that -O1 does not, and the run command
# builds it; the Debian package is made from it and checked unpacked in a
# scratch directory (tests/package/deb_test.sh). Then the product alone
# without RDMA (TCP only, no tests): proves that libibverbs/librdmacm and
# cmocka stay optional.
#   UNVMF_INTEROP=0 scripts/test.sh   skips the VM suite
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
ninja -C build-release
tests/package/deb_test.sh build-release
cmake -S . -B build-tcp -G Ninja -DCMAKE_BUILD_TYPE=Release -DUNVMF_RDMA=OFF -DUNVMF_TESTS=OFF >/dev/null
ninja -C build-tcp
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Debug >/dev/null
ninja -C build
if [ "${UNVMF_INTEROP:-1}" != 0 ]; then
	if [ "$(id -u)" -eq 0 ]; then
		UNVMF_BIN_DIR="$PWD/build/bin" tests/interop/run --quick
	else
		echo "interop: skipped (needs root for apt, QEMU and sharing / with the guests)"
	fi
fi
ctest --test-dir build --output-on-failure -j2 "$@"
