# Diagnostic: which disk name the kernel host gives each namespace.  unvmf-tgt exports namespaces
# 1-3 over TCP; guest B connects and disconnects 8 times and records /sys/block/nvme0n*/nsid.
# Since Linux 6.8 the host scans namespaces asynchronously, so the names need not follow NSIDs.
SC_TIMEOUT=300
sc_target() {
	TGT_NS3=1 tgt_start_config TCP || return 1
	tgt_finish 250
}
sc_host() {
	local i d map flipped=0
	host_prepare tcp || return 1
	for i in 1 2 3 4 5 6 7 8; do
		host_connect tcp || return 1
		until [ -e /sys/block/nvme0n3 ]; do sleep 0.2; done
		map=$(for d in /sys/block/nvme0n*; do echo -n "${d##*/}=$(cat "$d/nsid") "; done)
		say "connect $i: $map"
		echo "$map" >>"$RIG/B/ns-names.txt"
		[ "$HOST_DEV" = /dev/nvme0n1 ] || flipped=$((flipped + 1))
		host_disconnect || return 1
	done
	figure ns1_not_nvme0n1 "$flipped/8"
}
