#!/usr/bin/env bash
# usage: tests/package/deb_test.sh BUILD_DIR
# Builds the Debian package in BUILD_DIR (a Release build configured with
# -DCMAKE_INSTALL_PREFIX=/usr), unpacks it into a scratch root with dpkg -x
# (the host's dpkg database, /etc and /usr stay untouched) and checks the
# control data, the file list, the unit, the man pages, and unvmf-tgt run from
# the unpacked files on the unpacked config (notify_test.py: READY=1 once the
# listener accepts, STOPPING=1 and exit 0 on SIGTERM).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: deb_test.sh BUILD_DIR}" && pwd)
work=$(mktemp -d /tmp/unvmf-deb.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

grep -qx 'CMAKE_INSTALL_PREFIX:PATH=/usr' "$build/CMakeCache.txt" ||
	fail "$build: configure with -DCMAKE_INSTALL_PREFIX=/usr for a package"
(cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || {
	cat "$work/cpack.log" >&2
	fail "cpack"
}
debs=("$work"/pkg/unvmf_*.deb)
[ ${#debs[@]} -eq 1 ] && [ -f "${debs[0]}" ] || fail "cpack made no single unvmf_*.deb"
deb=${debs[0]}
echo "package: $(basename "$deb")"

# Control data: dependencies come from the binaries (dpkg-shlibdeps).
[ "$(dpkg-deb -f "$deb" Package)" = unvmf ] || fail "Package is not unvmf"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libjansson4 libisal2 libsystemd0; do
	grep -q "\b$lib\b" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
! grep -q 'libasan\|libubsan' <<<"$depends" || fail "Depends on a sanitizer runtime: $depends"
echo "Depends: $depends"
dpkg-deb -e "$deb" "$work/control"
diff <(printf '%s\n' /etc/unvmf/unvmf-tgt.json /etc/default/unvmf-tgt) "$work/control/conffiles" ||
	fail "conffiles"
for s in postinst prerm postrm; do
	[ -x "$work/control/$s" ] || fail "$s missing or not executable"
	sh -n "$work/control/$s" || fail "$s: syntax"
	grep -q 'if \[ -d /run/systemd/system \]' "$work/control/$s" ||
		fail "$s acts without checking that systemd runs"
done
! grep -v '^[[:space:]]*#' "$work/control/postinst" | grep -Eq 'systemctl .*\b(enable|start)\b' ||
	fail "postinst enables or starts the service"

# The files, exactly.
dpkg-deb --fsys-tarfile "$deb" | tar -t | grep -v '/$' | sed 's|^\./|/|' | sort >"$work/files"
sort >"$work/expected" <<'LIST'
/etc/default/unvmf-tgt
/etc/unvmf/unvmf-tgt.json
/usr/bin/unvmf-identify
/usr/bin/unvmf-perf
/usr/bin/unvmf-rpc
/usr/bin/unvmf-tgt
/usr/lib/systemd/system/unvmf-tgt.service
/usr/share/man/man1/unvmf-identify.1.gz
/usr/share/man/man1/unvmf-perf.1.gz
/usr/share/man/man1/unvmf-rpc.1.gz
/usr/share/man/man8/unvmf-tgt.8.gz
LIST
diff "$work/expected" "$work/files" || fail "file list (- expected, + in the package)"

root=$work/root
dpkg -x "$deb" "$root"
unit=$root/usr/lib/systemd/system/unvmf-tgt.service
grep -qx 'Type=notify' "$unit" || fail "unit is not Type=notify"
grep -qx 'ExecStart=/usr/bin/unvmf-tgt -c /etc/unvmf/unvmf-tgt.json -r /run/unvmf/unvmf.sock $UNVMF_TGT_OPTS' \
	"$unit" || fail "unit ExecStart"
if command -v systemd-analyze >/dev/null; then
	"$here/unit_verify.sh" "$unit" "$root/usr/bin/unvmf-tgt" "$root/usr/share/man/man8/unvmf-tgt.8.gz"
fi
"$here/man_check.sh" "$root"/usr/share/man/man*/unvmf-*.gz
python3 "$here/notify_test.py" "$root/usr/bin/unvmf-tgt" "$root/usr/bin/unvmf-rpc" \
	"$root/etc/unvmf/unvmf-tgt.json"
echo "deb_test: PASS"
