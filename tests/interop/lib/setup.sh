# Host preparation for the interop rig: packages, the guest kernel ($KSERIES), the initramfs.
# Sourced by tests/interop/run.  Everything big lives in $W (outside the repository).
# Idempotent: each step leaves a stamp in $W and is skipped when the stamp is present.

RIG_PKGS="qemu-system-x86 busybox-static nvme-cli fio ibverbs-utils ibverbs-providers rdma-core
 rdmacm-utils iproute2 kmod cpio socat gzip procps jq xz-utils"
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

# Guest kernels the suite can boot (--kernel SERIES / UNVMF_INTEROP_KERNEL): Debian 12's own 6.1
# and the bookworm-backports 6.12.  Each series has its own directory $W/kernel-SERIES (unpacked
# tree kroot/, initrd.img, stamps), so switching between them downloads nothing.
RIG_KERNELS="6.1 6.12"

# kernel_pkg_pattern SERIES: the apt package names of that series' generic amd64 image.
kernel_pkg_pattern() {
	case $1 in
	6.1) echo '^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
	6.12) echo '^linux-image-6\.12\.[0-9]+\+deb12-amd64$' ;;
	*) return 1 ;;
	esac
}

# The 6.12 image is in bookworm-backports: adds that suite from the mirror the system's Debian
# source already uses (one-line or deb822 format) when no source names it, then apt-get update.
setup_backports_source() {
	local f=/etc/apt/sources.list.d/unvmf-interop-backports.list mirror
	grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
	mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }')
	[ -n "$mirror" ] || mirror=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		awk '$1 == "URIs:" && $2 ~ /\/debian\/?$/ { print $2; exit }')
	[ -n "$mirror" ] || die "no Debian mirror found in the apt sources for bookworm-backports"
	log "adding apt source: deb $mirror bookworm-backports main ($f)"
	echo "deb $mirror bookworm-backports main" >"$f"
	apt-get update -qq >>"$W/apt.log" 2>&1 || die "apt-get update failed, see $W/apt.log"
}

# A tree unpacked by an earlier version of this script ($W/kroot, 6.1 only) is moved into place.
setup_kernel_migrate() {
	[ -f "$W/kernel.stamp" ] && [ -d "$W/kroot" ] && [ ! -e "$W/kernel-6.1" ] || return 0
	mkdir -p "$W/kernel-6.1" && mv "$W/kroot" "$W/kernel-6.1/kroot" &&
		mv "$W/kernel.stamp" "$W/kernel-6.1/kernel.stamp"
	rm -rf "$W/ir" "$W/initrd.img" "$W/initrd.stamp"
}

# Picks the newest image of series $KSERIES apt knows, downloads and unpacks it into $KW/kroot.
# Sets KVER.  6.12's modules are .ko.xz: they are decompressed, because the initramfs's busybox
# insmod loads only plain .ko (the guests' modprobe takes either).
setup_kernel() {
	local pkg pat
	KW=$W/kernel-$KSERIES
	setup_kernel_migrate
	if [ -f "$KW/kernel.stamp" ]; then
		KVER=$(cat "$KW/kernel.stamp")
		return 0
	fi
	pat=$(kernel_pkg_pattern "$KSERIES") || die "unknown kernel $KSERIES (have: $RIG_KERNELS)"
	[ "$KSERIES" = 6.1 ] || setup_backports_source
	pkg=$(apt-cache pkgnames linux-image-$KSERIES | grep -E "$pat" | sort -V | tail -1)
	[ -n "$pkg" ] || die "apt knows no package matching $pat (apt-get update?)"
	KVER=${pkg#linux-image-}
	log "downloading $pkg"
	rm -rf "$KW"
	mkdir -p "$KW"
	(cd "$KW" && apt-get download "$pkg" >"$KW/download.log" 2>&1) ||
		die "apt-get download $pkg failed, see $KW/download.log"
	dpkg-deb -x "$KW/${pkg}"_*.deb "$KW/kroot" || die "cannot unpack $pkg"
	rm -f "$KW/${pkg}"_*.deb
	find "$KW/kroot/lib/modules/$KVER" -name '*.ko.xz' -exec xz -d {} + ||
		die "cannot decompress the modules of $pkg"
	# The .deb ships no modules.dep.
	depmod -b "$KW/kroot" "$KVER" || die "depmod failed"
	echo "$KVER" >"$KW/kernel.stamp"
}

# Static busybox + the modules for virtio, 9p and overlayfs; /init is guest/init.
setup_initrd() {
	local ir="$KW/ir" m ko sum
	sum=$(cat "$RIG_DIR/guest/init" /bin/busybox | md5sum | cut -d' ' -f1)
	if [ -f "$KW/initrd.img" ] && [ "$(cat "$KW/initrd.stamp" 2>/dev/null)" = "$KVER $sum" ]; then
		return 0
	fi
	log "building initramfs for $KVER"
	rm -rf "$ir"
	mkdir -p "$ir"/{bin,dev,proc,sys,lower,rw,newroot,lib/mod}
	cp /bin/busybox "$ir/bin/"
	for m in $RIG_INITRD_MODULES; do
		modprobe -d "$KW/kroot" -S "$KVER" --show-depends "$m" | awk '$1=="insmod"{print $2}'
	done | awk '!s[$0]++' | while read -r ko; do
		cp "$ko" "$ir/lib/mod/"
		basename "$ko" >>"$ir/modules.order"
	done
	[ -s "$ir/modules.order" ] || die "no modules found for the initramfs"
	install -m755 "$RIG_DIR/guest/init" "$ir/init"
	(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1) >"$KW/initrd.img.tmp" &&
		mv "$KW/initrd.img.tmp" "$KW/initrd.img" || die "cpio failed"
	echo "$KVER $sum" >"$KW/initrd.stamp"
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
