#!/bin/sh
# A single-node Ceph cluster from Debian's packages, for tests and for trying
# the RBD backend: one monitor, one manager, one BlueStore OSD on a sparse
# file, pool size 1, all under DIR and on 127.0.0.1, no cephx (the cluster
# exists only for the caller and listens on loopback only).
#
#   ceph-cluster.sh start DIR [POOL [IMAGE SIZE_MIB]]   start, create POOL (rbd) and IMAGE
#   ceph-cluster.sh stop DIR                             stop the daemons, remove DIR
#
# After start, DIR/ceph.conf is the client configuration (rados/rbd/librbd:
# -c DIR/ceph.conf, user "admin"). Exit 77 when the packages are missing, so
# a ctest can skip with that reason.
set -eu

cmd=${1:-}
dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || {
	echo "usage: $0 start|stop DIR [POOL [IMAGE SIZE_MIB]]" >&2
	exit 2
}

daemon_pids() {
	for f in "$dir"/run/*.pid; do
		[ -f "$f" ] && cat "$f"
	done
	return 0
}

stop() {
	pids=$(daemon_pids)
	[ -n "$pids" ] && kill $pids 2>/dev/null || true
	for _ in $(seq 1 100); do
		alive=""
		for p in $pids; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	[ -n "${alive:-}" ] && kill -9 $alive 2>/dev/null || true
	rm -rf "$dir"
}

if [ "$cmd" = stop ]; then
	stop
	exit 0
fi
[ "$cmd" = start ] || {
	echo "unknown command $cmd" >&2
	exit 2
}

for b in ceph-mon ceph-mgr ceph-osd ceph monmaptool ceph-authtool rbd; do
	command -v "$b" >/dev/null || {
		echo "SKIP: $b not installed (apt-get install ceph-mon ceph-mgr ceph-osd ceph-common)"
		exit 77
	}
done
pool=${3:-rbd}
image=${4:-}
size=${5:-256}

# Free ports for the monitor (v2 and v1) so parallel tests do not meet.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mon2=$(port)
mon1=$(port)
mkdir -p "$dir/run" "$dir/log" "$dir/mon.a" "$dir/osd.0"
dir=$(cd "$dir" && pwd)
fsid=$(cat /proc/sys/kernel/random/uuid)
conf="$dir/ceph.conf"
cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon2,v1:127.0.0.1:$mon1]
public addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
pid file = $dir/run/\$name.pid
admin socket = $dir/run/\$name.asok
log file = $dir/log/\$name.log
mon data = $dir/mon.\$id
osd data = $dir/osd.\$id
mgr data = $dir/mgr.\$id
keyring = $dir/keyring
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 4294967296
bluestore fsck on mkfs = false
osd memory target = 939524096
bluestore cache autotune = false
bluestore cache size = 134217728
osd op num shards = 1
osd op num threads per shard = 2
mgr initial modules =
mon warn on insecure global id reclaim allowed = false
mon data avail warn = 1
[client]
admin socket =
log file = $dir/log/client.log
EOF

ceph-authtool --create-keyring "$dir/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --addv a "[v2:127.0.0.1:$mon2,v1:127.0.0.1:$mon1]" --fsid "$fsid" \
	"$dir/monmap" >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/keyring"
ceph-mon -c "$conf" -i a
c() { timeout 60 ceph -c "$conf" "$@"; }
c -s >/dev/null || {
	echo "the monitor did not answer; see $dir/log" >&2
	exit 1
}
mkdir -p "$dir/mgr.x"
ceph-mgr -c "$conf" -i x
osd_uuid=$(cat /proc/sys/kernel/random/uuid)
id=$(c osd new "$osd_uuid")
ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$osd_uuid" >"$dir/log/osd-mkfs.log" 2>&1 || {
	echo "ceph-osd --mkfs failed; see $dir/log/osd-mkfs.log" >&2
	exit 1
}
ceph-osd -c "$conf" -i "$id"
for _ in $(seq 1 600); do
	c osd stat 2>/dev/null | grep -q '1 up' && break
	sleep 0.2
done
c osd stat | grep -q '1 up' || {
	echo "osd.$id did not come up; see $dir/log" >&2
	exit 1
}
c osd pool create "$pool" 8 8 >/dev/null 2>&1
c osd pool application enable "$pool" rbd >/dev/null 2>&1
for _ in $(seq 1 600); do
	c pg stat 2>/dev/null | grep -q 'active+clean' &&
		! c pg stat 2>/dev/null | grep -qE 'creating|peering|unknown' && break
	sleep 0.2
done
if [ -n "$image" ]; then
	timeout 60 rbd -c "$conf" create --size "$size" "$pool/$image"
fi
echo "ceph: $(c -s --format json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["health"]["status"], d["pgmap"]["num_pgs"], "pgs", d["osdmap"]["num_up_osds"], "osd up")') conf $conf"
