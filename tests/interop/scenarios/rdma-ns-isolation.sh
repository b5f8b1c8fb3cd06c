# Namespace isolation over nvme-rdma: the kernel host's fio crc32c verify on namespace 1 (4 KiB..
# 1 MiB random sizes, depths 8 and 32) while unvmf-perf --verify inside guest A writes 128 KiB
# blocks to namespace 2 and reads 4 KiB blocks of namespace 3 over RDMA at the same time.  No cut,
# no fault.  Guards against a read answered with another request's data (a pool or receive
# buffer owned by two requests, or data placed by the NIC after the buffer changed hands): fio
# then reports "bad magic header" and the magic is unvmf-perf's.  Passes when both verifies see
# 0 errors and the target logged no ownership violation and no work-completion error.
SC_NEEDS=rdma
SC_TIMEOUT=360
SC_QUICK_TIMEOUT=360
ISO_SECS=60

sc_target() { ns_isolation_target RDMA "$ISO_SECS"; }
sc_host() { ns_isolation_host rdma "$ISO_SECS"; }
