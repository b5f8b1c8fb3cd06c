# QEMU guests of the interop rig (host side).  Sourced by tests/interop/run.
# Guest A (target, 192.0.2.1) and B (kernel host, 192.0.2.2) are linked by a -netdev dgram
# UDP "wire" on 127.0.0.1; each guest's / is the host's / over 9p, $RUN is shared as /rig.

# Two free UDP ports on 127.0.0.1 for the wire: sets PORT_A, PORT_B.
vm_pick_ports() {
	local p=$((20000 + ($$ % 5000) * 4)) used
	used=$(ss -Huln 2>/dev/null | awk '{print $4}' | sed 's/.*://')
	while echo "$used" | grep -qxE "$p|$((p + 1))"; do p=$((p + 2)); done
	PORT_A=$p
	PORT_B=$((p + 1))
}

# vm_start NAME IP MAC LOCALPORT REMOTEPORT: boots one guest in the background; sets VM_PID_<NAME>.
# no_timer_check: on a loaded host the TCG guest's boot-time check of the IO-APIC timer can
# fail and panic the kernel ("IO-APIC + timer doesn't work"); the timer itself works.
# With CAPTURE=1 guest A's netdev is dumped to $RUN/A.pcap (both directions; the first 512
# bytes of each frame: the RoCEv2 headers and the NVMe capsule or the data's start).
vm_start() {
	local name=$1 ip=$2 mac=$3 lport=$4 rport=$5 dump=()
	[ "${CAPTURE:-0}" = 1 ] && [ "$name" = A ] &&
		dump=(-object "filter-dump,id=d0,netdev=n0,file=$RUN/$name.pcap,maxlen=512")
	qemu-system-x86_64 -name "$name" -accel tcg -cpu max -smp 1 -m 1536 \
		-nodefaults -no-user-config -display none -vga none -no-reboot \
		-kernel "$KW/kroot/boot/vmlinuz-$KVER" -initrd "$KW/initrd.img" \
		-append "console=ttyS0 panic=-1 loglevel=6 no_timer_check rig.name=$name rig.ip=$ip/24 rig.stage2=$RIG_DIR/guest/stage2 rig.kmod=$KW/kroot/lib/modules${KERNEL_ARGS:+ $KERNEL_ARGS}" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$RUN,mount_tag=rigrun,security_model=none,multidevs=remap" \
		-netdev "dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=$lport,remote.type=inet,remote.host=127.0.0.1,remote.port=$rport" \
		-device "virtio-net-pci,netdev=n0,mac=$mac,status=off" "${dump[@]}" \
		-serial "file:$RUN/$name.console.log" -monitor "unix:$RUN/$name.mon,server=on,wait=off" \
		-pidfile "$RUN/$name.pid" >"$RUN/$name.qemu.log" 2>&1 &
	eval "VM_PID_$name=$!"
}

vm_start_pair() {
	vm_pick_ports
	vm_start A 192.0.2.1 52:54:00:00:00:0a "$PORT_A" "$PORT_B"
	vm_start B 192.0.2.2 52:54:00:00:00:0b "$PORT_B" "$PORT_A"
}

# vm_monitor NAME COMMAND: one human-monitor command, e.g. 'set_link n0 off'.
vm_monitor() { echo "$2" | socat -t1 - "UNIX-CONNECT:$RUN/$1.mon" >/dev/null 2>&1; }

vm_running() { local pid; eval "pid=\${VM_PID_$1:-}"; [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

# Stops one guest: monitor 'quit', then SIGTERM/SIGKILL to the PID this script started.
vm_stop() {
	local name=$1 pid i
	eval "pid=\${VM_PID_$name:-}"
	[ -n "$pid" ] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		vm_monitor "$name" quit
		for i in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.3; done
		kill -TERM "$pid" 2>/dev/null && sleep 1
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	eval "VM_PID_$name="
	return 0
}

# Waits until both guests powered off or the deadline (epoch seconds) passed: 0 / 1.
vm_wait_pair() {
	local deadline=$1
	while vm_running A || vm_running B; do
		[ "$(date +%s)" -ge "$deadline" ] && return 1
		sleep 1
	done
	return 0
}
