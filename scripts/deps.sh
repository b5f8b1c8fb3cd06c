#!/usr/bin/env bash
# Installs what unvmf needs to build and test on Debian 12. Idempotent; apt runs
# only when a package is missing. Required for the product: cmake, ninja,
# pkg-config, jansson, isa-l. Optional (the build turns the part off when
# missing): libibverbs/librdmacm (UNVMF_RDMA), liburing (UNVMF_URING), libssl-dev
# (UNVMF_TLS: NVMe/TCP over TLS), cmocka
# (UNVMF_TESTS), libsystemd (UNVMF_SYSTEMD: sd_notify), spin (model test).
# dpkg-dev and man-db: the Debian package and its test. libmicrohttpd
# (UNVMF_METRICS: unvmf-tgt --metrics). prometheus: the metrics.prometheus test
# scrapes the target with the real server (19 MB, 16 s of test; the test skips
# without it). python3-matplotlib: bench/plot_hist.py. librbd-dev/librados-dev
# (UNVMF_RBD: the Ceph RBD bdev); ceph-mon/mgr/osd and ceph-common: the
# single-node cluster e2e.test_rbd starts (tests/ceph). CI installs them all.
set -euo pipefail
PKGS=(build-essential cmake ninja-build pkg-config liburing-dev libjansson-dev libisal-dev
      libcmocka-dev libssl-dev libibverbs-dev librdmacm-dev libsystemd-dev dpkg-dev man-db spin python3
      libmicrohttpd-dev prometheus python3-matplotlib librbd-dev librados-dev ceph-mon ceph-mgr
      ceph-osd ceph-common)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO=sudo
	echo "deps: installing ${missing[*]}"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
