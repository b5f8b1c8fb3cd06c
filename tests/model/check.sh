#!/usr/bin/env bash
# Model-checks rdma_req.pml with spin: the real model must verify (safety and
# the drain property), the SPDK_PREFIX_BUG variant must be caught.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$here/rdma_req.pml" .

run() { # name, spin defines
	local name="$1"; shift
	spin "$@" -a rdma_req.pml >/dev/null
	gcc -O2 -w -o "pan_$name" pan.c -DNFAIR=3
	"./pan_$name" -a -m200000 -N drain > "$name.out" 2>&1 || true
}

run fixed
if ! grep -q "errors: 0" fixed.out; then
	cat fixed.out; echo "FAIL: the model of unvmf's state machine has a violation"; exit 1
fi
states=$(grep -m1 "states, stored" fixed.out | awk '{print $1}')
echo "model: unvmf state machine verified ($states states; safety + drain after QP error)"

run buggy -DSPDK_PREFIX_BUG
if grep -q "errors: 0" buggy.out; then
	cat buggy.out; echo "FAIL: the SPDK pre-fix variant was not caught"; exit 1
fi
grep -m1 -E "assertion violated|acceptance cycle" buggy.out | sed 's/^/negative control: /'
echo "model: SPDK pre-fix variant caught as expected"
echo "2 passed, 0 failed"
