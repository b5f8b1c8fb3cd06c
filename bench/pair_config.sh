#!/usr/bin/env bash
# bench/pair_config.sh NQN PORT — prints an unvmf-tgt JSON config (SPDK's layout) shaped like
# SPDK's spdk-tgt.sh target: a 1 GiB null bdev with 512 B blocks as nsid 1 of NQN (any host),
# TCP 127.0.0.1:PORT, and SPDK v25.09's TCP transport defaults (queue depth 128, 4 KiB
# in-capsule data, 128 KiB I/O in one 128 KiB buffer unit), and C2HData SUCCESS for hosts that
# keep SQ flow control, as SPDK's target sends it (c2h_success_sq_flow_control; see docs/RPC.md).
set -euo pipefail
NQN=${1:?NQN}
PORT=${2:?PORT}
cat << JSON
{
  "subsystems": [
    {
      "subsystem": "bdev",
      "config": [
        {"method": "bdev_null_create",
         "params": {"name": "Null0", "num_blocks": 2097152, "block_size": 512}}
      ]
    },
    {
      "subsystem": "nvmf",
      "config": [
        {"method": "nvmf_create_transport",
         "params": {"trtype": "TCP", "max_queue_depth": 128, "max_aq_depth": 128,
                    "in_capsule_data_size": 4096, "max_io_size": 131072,
                    "io_unit_size": 131072, "num_shared_buffers": 511,
                    "buf_cache_size": 32, "c2h_success": true,
                    "c2h_success_sq_flow_control": true}},
        {"method": "nvmf_create_subsystem",
         "params": {"nqn": "$NQN", "allow_any_host": true,
                    "serial_number": "UNVMF00000000001", "model_number": "unvmf_bench",
                    "max_namespaces": 32}},
        {"method": "nvmf_subsystem_add_ns",
         "params": {"nqn": "$NQN", "namespace": {"nsid": 1, "bdev_name": "Null0"}}},
        {"method": "nvmf_subsystem_add_listener",
         "params": {"nqn": "$NQN",
                    "listen_address": {"trtype": "TCP", "adrfam": "IPv4",
                                       "traddr": "127.0.0.1", "trsvcid": "$PORT"}}}
      ]
    }
  ]
}
JSON
