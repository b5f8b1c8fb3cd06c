#!/bin/sh
# usage: unit_verify.sh UNIT UNVMF_TGT MAN_PAGE_GZ
# systemd-analyze verify on the configured unit with ExecStart pointed at
# UNVMF_TGT (the unit names the installed path) and man:unvmf-tgt(8) found in
# a scratch MANPATH. Any output is a failure: verify reports a bad Type= or
# an unknown key as a warning with exit status 0.
set -eu
unit=$1 tgt=$2 man=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/man/man8"
cp "$man" "$work/man/man8/"
sed "s|^ExecStart=[^ ]*/unvmf-tgt |ExecStart=$tgt |" "$unit" >"$work/unvmf-tgt.service"
grep -q "^ExecStart=$tgt " "$work/unvmf-tgt.service" || {
	echo "FAIL: $unit: no ExecStart=.../unvmf-tgt" >&2
	exit 1
}
if ! MANPATH="$work/man" systemd-analyze verify "$work/unvmf-tgt.service" >"$work/out" 2>&1 ||
	[ -s "$work/out" ]; then
	echo "FAIL: systemd-analyze verify $unit:" >&2
	cat "$work/out" >&2
	exit 1
fi
echo "$unit: systemd-analyze verify passes"
