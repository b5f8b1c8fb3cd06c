# DH-HMAC-CHAP with the Linux host (nvme-cli 2.3 on Debian 12): unidirectional, bidirectional
# (--dhchap-ctrl-secret), and a wrong host secret refused; fio verify on the authenticated queues.
SC_TIMEOUT=300
SC_QUICK_TIMEOUT=240

# Fixed secrets both guests know (what `nvme gen-dhchap-key` prints; CRC-32 checked by both).
DHCHAP_HOST='DHHC-1:01:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh+KfiaR:'
DHCHAP_CTRL='DHHC-1:03:QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl9gYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fH1+fx/Gj1o=:'
DHCHAP_WRONG='DHHC-1:01:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAl7OaH:'

sc_target() {
	local dir="$RIG/A/keys"
	mkdir -p "$dir" && chmod 700 "$dir"
	install -m 0600 /dev/null "$dir/host.key" && echo "$DHCHAP_HOST" >"$dir/host.key"
	install -m 0600 /dev/null "$dir/ctrl.key" && echo "$DHCHAP_CTRL" >"$dir/ctrl.key"
	cat >"$RIG/A/tgt.json" <<JSON
{ "subsystems": [
  { "subsystem": "keyring", "config": [
    { "method": "keyring_file_add_key", "params": { "name": "key0", "path": "$dir/host.key" } },
    { "method": "keyring_file_add_key", "params": { "name": "ckey0", "path": "$dir/ctrl.key" } } ] },
  { "subsystem": "bdev", "config": [
    { "method": "bdev_malloc_create",
      "params": { "name": "Malloc0", "num_blocks": 524288, "block_size": 512 } } ] },
  { "subsystem": "nvmf", "config": [
    { "method": "nvmf_create_transport", "params": { "trtype": "TCP" } },
    { "method": "nvmf_create_subsystem",
      "params": { "nqn": "$SUBNQN", "allow_any_host": false,
                  "serial_number": "UNVMF000000000001", "model_number": "unvmf Controller" } },
    { "method": "nvmf_subsystem_add_ns",
      "params": { "nqn": "$SUBNQN", "namespace": { "nsid": 1, "bdev_name": "Malloc0" } } },
    { "method": "nvmf_subsystem_add_host",
      "params": { "nqn": "$SUBNQN", "host": "$HOSTNQN",
                  "dhchap_key": "key0", "dhchap_ctrlr_key": "ckey0" } },
    { "method": "nvmf_subsystem_add_listener",
      "params": { "nqn": "$SUBNQN",
                  "listen_address": { "trtype": "TCP", "adrfam": "IPv4",
                                      "traddr": "$TGT_IP", "trsvcid": "$TGT_PORT" } } } ] } ] }
JSON
	tgt_start -c "$RIG/A/tgt.json" || return 1
	tgt_finish 260
	check "the target authenticated the host (admin and I/O queues)" \
		test "$(tgt_log_count "host $HOSTNQN authenticated to $SUBNQN")" -ge 2
	check "the target authenticated itself to the host (bidirectional)" \
		test "$(tgt_log_count "authenticated to $SUBNQN \(.*, bidirectional\)")" -ge 1
	check "the wrong secret was refused, logged with host and subsystem" \
		test "$(tgt_log_count "authentication of host $HOSTNQN to $SUBNQN refused: failed")" -ge 1
}

sc_host() {
	host_prepare tcp || return 1
	# Unidirectional: the host proves its secret.
	host_connect tcp --dhchap-secret="$DHCHAP_HOST" || return 1
	check "controller live after DH-HMAC-CHAP" grep -qx live /sys/class/nvme/nvme0/state
	fio_verify dhchap-uni 8 --numjobs=2 --iodepth=4
	host_disconnect
	# Bidirectional: the host checks the controller's secret too.
	host_connect tcp --dhchap-secret="$DHCHAP_HOST" --dhchap-ctrl-secret="$DHCHAP_CTRL" || return 1
	check "controller live after bidirectional DH-HMAC-CHAP" grep -qx live /sys/class/nvme/nvme0/state
	fio_verify dhchap-bi 8 --numjobs=2 --iodepth=4
	host_check_no_recovery
	host_disconnect
	# A wrong secret: nvme connect fails and no device appears.
	if nvme connect -t tcp -a "$TGT_IP" -s "$TGT_PORT" -n "$SUBNQN" --hostnqn="$HOSTNQN" \
		--hostid="$HOSTID" --dhchap-secret="$DHCHAP_WRONG"; then
		fail "nvme connect with a wrong DH-HMAC-CHAP secret succeeded"
		nvme disconnect -n "$SUBNQN"
	fi
	check "no controller after the wrong secret" test ! -e /dev/nvme0n1
}
