# Host preparation for the interop rig: packages, Debian's 6.1 kernel, the initramfs.
# Sourced by tests/interop/run.  Everything big lives in $W (outside the repository).
# Idempotent: each step leaves a stamp in $W and is skipped when the stamp is present.

RIG_PKGS="qemu-system-x86 busybox-static nvme-cli fio ibverbs-utils ibverbs-providers rdma-core
 rdmacm-utils iproute2 kmod cpio socat gzip procps jq"
# Modules the initramfs needs before the 9p root is mounted (their dependencies are added).
RIG_INITRD_MODULES="virtio_pci virtio_net 9pnet_virtio 9p overlay"

setup_packages() {
	local missing="" p
	for p in $RIG_PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	log "installing:$missing"
	apt-get update -qq >"$W/apt.log" 2>&1 &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$missing >>"$W/apt.log" 2>&1 ||
		die "apt-get install failed, see $W/apt.log"
}

# Picks the newest linux-image-6.1.0-N-amd64 apt knows, downloads and unpacks it into $W/kroot.
setup_kernel() {
	local pkg
	if [ -f "$W/kernel.stamp" ]; then
		KVER=$(cat "$W/kernel.stamp")
		return 0
	fi
	pkg=$(apt-cache pkgnames linux-image-6.1.0- | grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' |
		sort -V | tail -1)
	[ -n "$pkg" ] || die "apt knows no linux-image-6.1.0-*-amd64 package (apt-get update?)"
	KVER=${pkg#linux-image-}
	log "downloading $pkg"
	rm -rf "$W/kroot" "$W"/linux-image-*.deb
	(cd "$W" && apt-get download "$pkg" >"$W/download.log" 2>&1) ||
		die "apt-get download $pkg failed, see $W/download.log"
	dpkg-deb -x "$W/${pkg}"_*.deb "$W/kroot" || die "cannot unpack $pkg"
	rm -f "$W/${pkg}"_*.deb
	# The .deb ships no modules.dep.
	depmod -b "$W/kroot" "$KVER" || die "depmod failed"
	echo "$KVER" >"$W/kernel.stamp"
}

# Static busybox + the modules for virtio, 9p and overlayfs; /init is guest/init.
setup_initrd() {
	local ir="$W/ir" m ko sum
	sum=$(cat "$RIG_DIR/guest/init" /bin/busybox | md5sum | cut -d' ' -f1)
	if [ -f "$W/initrd.img" ] && [ "$(cat "$W/initrd.stamp" 2>/dev/null)" = "$KVER $sum" ]; then
		return 0
	fi
	log "building initramfs"
	rm -rf "$ir"
	mkdir -p "$ir"/{bin,dev,proc,sys,lower,rw,newroot,lib/mod}
	cp /bin/busybox "$ir/bin/"
	for m in $RIG_INITRD_MODULES; do
		modprobe -d "$W/kroot" -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}'
	done | awk '!s[$0]++' | while read -r ko; do
		cp "$ko" "$ir/lib/mod/"
		basename "$ko" >>"$ir/modules.order"
	done
	[ -s "$ir/modules.order" ] || die "no modules found for the initramfs"
	install -m755 "$RIG_DIR/guest/init" "$ir/init"
	(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$W/initrd.img.tmp" &&
		mv "$W/initrd.img.tmp" "$W/initrd.img" || die "cpio failed"
	echo "$KVER $sum" >"$W/initrd.stamp"
}

# unvmf's binaries: $UNVMF_BIN_DIR if set, else the repository's build/bin (built if absent).
setup_unvmf() {
	BIN=${UNVMF_BIN_DIR:-$REPO/build/bin}
	if [ ! -x "$BIN/unvmf-tgt" ]; then
		[ -n "${UNVMF_BIN_DIR:-}" ] && die "no unvmf-tgt in UNVMF_BIN_DIR=$UNVMF_BIN_DIR"
		log "building unvmf in $REPO/build"
		{ cmake -S "$REPO" -B "$REPO/build" -G Ninja -DCMAKE_BUILD_TYPE=Debug &&
			ninja -C "$REPO/build" unvmf-tgt unvmf-perf unvmf-identify unvmf-rpc; } >"$W/build.log" 2>&1 ||
			die "build failed, see $W/build.log"
	fi
	BIN=$(cd "$BIN" && pwd)
}

setup_all() {
	mkdir -p "$W" || die "cannot create $W"
	setup_packages
	setup_kernel
	setup_initrd
	setup_unvmf
}
