# Namespace isolation over nvme-tcp: as rdma-ns-isolation (the kernel host's fio crc32c verify
# on namespace 1 beside unvmf-perf --verify on namespaces 2 and 3 inside guest A), over TCP.
SC_TIMEOUT=360
SC_QUICK_TIMEOUT=360
ISO_SECS=60

sc_target() { ns_isolation_target TCP "$ISO_SECS"; }
sc_host() { ns_isolation_host tcp "$ISO_SECS"; }
