#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/<harness>/ (small valid inputs).

Seeds are the starting points libFuzzer mutates; the replay tests run them
(and the regression inputs kept beside them, named crash-*) in every build.
Run from anywhere: python3 tests/fuzz/make_seeds.py. Regression inputs are
not touched.
"""
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")

SUBNQN_LOOP = "nqn.2024-11.io.unvmf:loop"
HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:0c0c0c0c-1111-2222-3333-444444444444"
CNODE = "nqn.2016-06.io.spdk:cnode1"


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def write(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- NVMe commands ----
def sgl_in_capsule(length):
    return struct.pack("<QI3xB", 0, length, 0x01)  # data block, offset subtype


def sgl_transport(length):
    return struct.pack("<QI3xB", 0, length, 0x5A)  # transport data block


def sqe(opc, cid, nsid=0, sgl=b"\0" * 16, cdw=(0, 0, 0, 0, 0, 0), byte4=None):
    head = struct.pack("<BBHI", opc, 0, cid, nsid)
    if byte4 is not None:  # fabrics: fctype in byte 4
        head = struct.pack("<BBHB3x", opc, 0, cid, byte4)
    body = head + b"\0" * 16 + sgl + struct.pack("<6I", *cdw)
    assert len(body) == 64
    return body


def connect_cmd(cid, qid, sqsize, kato, sgl):
    c = bytearray(sqe(0x7F, cid, sgl=sgl, byte4=0x01))
    struct.pack_into("<HHHBxI", c, 40, 0, qid, sqsize, 0, kato)
    return bytes(c)


def connect_data(cntlid, subnqn=SUBNQN_LOOP, hostnqn=HOSTNQN):
    d = bytearray(1024)
    d[0:16] = bytes(range(0xA0, 0xB0))
    struct.pack_into("<H", d, 16, cntlid)
    d[256:256 + len(subnqn)] = subnqn.encode()
    d[512:512 + len(hostnqn)] = hostnqn.encode()
    return bytes(d)


def prop_get(cid, ofst, size8):
    c = bytearray(sqe(0x7F, cid, byte4=0x04))
    c[40] = 1 if size8 else 0
    struct.pack_into("<I", c, 44, ofst)
    return bytes(c)


def prop_set(cid, ofst, value):
    c = bytearray(sqe(0x7F, cid, byte4=0x00))
    struct.pack_into("<IQ", c, 44, ofst, value)
    return bytes(c)


CC_EN = 1 | (6 << 16) | (4 << 20)


# ---- NVMe/TCP PDUs (host to controller) ----
def icreq(hdgst, ddgst):
    pdu = struct.pack("<BBBBIHBBI", 0x00, 0, 128, 0, 128, 0, 0,
                      (1 if hdgst else 0) | (2 if ddgst else 0), 0)
    return pdu + b"\0" * (128 - len(pdu))


def pdu(ptype, psh, data, hdgst, ddgst, hlen):
    """A PDU of type ptype with header-specific bytes psh (after the 8-byte CH)."""
    flags = (1 if hdgst else 0) | (2 if ddgst and data else 0)
    hd = 4 if hdgst else 0
    pdo = hlen + hd if data else 0
    plen = hlen + hd + len(data) + (4 if ddgst and data else 0)
    ch = struct.pack("<BBBBI", ptype, flags, hlen, pdo, plen)
    hdr = ch + psh
    assert len(hdr) == hlen
    out = hdr
    if hdgst:
        out += struct.pack("<I", crc32c(hdr))
    if data:
        out += data
        if ddgst:
            out += struct.pack("<I", crc32c(data))
    return out


def capsule(cmd, data=b"", hdgst=False, ddgst=False):
    return pdu(0x04, cmd, data, hdgst, ddgst, 72)


def h2c(cccid, ttag, datao, data, last=True, hdgst=False, ddgst=False):
    psh = struct.pack("<HHII4x", cccid, ttag, datao, len(data))
    p = bytearray(pdu(0x06, psh, data, hdgst, ddgst, 24))
    if last:
        p[1] |= 0x04
    return bytes(p)


def tcp_admin_session(hdgst, ddgst, extra=b""):
    s = icreq(hdgst, ddgst)
    s += capsule(connect_cmd(1, 0, 7, 0, sgl_in_capsule(1024)), connect_data(0xFFFF), hdgst, ddgst)
    s += capsule(prop_get(2, 0x0, True), b"", hdgst, ddgst)
    s += capsule(prop_set(3, 0x14, CC_EN), b"", hdgst, ddgst)
    s += capsule(prop_get(4, 0x1C, False), b"", hdgst, ddgst)
    s += capsule(sqe(0x06, 5, sgl=sgl_transport(4096), cdw=(1, 0, 0, 0, 0, 0)), b"", hdgst, ddgst)
    s += capsule(sqe(0x06, 6, nsid=1, sgl=sgl_transport(4096), cdw=(0, 0, 0, 0, 0, 0)), b"", hdgst, ddgst)
    s += capsule(sqe(0x02, 7, nsid=0xFFFFFFFF, sgl=sgl_transport(512),
                     cdw=((127 << 16) | 0x02, 0, 0, 0, 0, 0)), b"", hdgst, ddgst)
    s += capsule(sqe(0x09, 8, cdw=(0x07, 0x00030003, 0, 0, 0, 0)), b"", hdgst, ddgst)
    s += capsule(sqe(0x0A, 9, cdw=(0x0F, 0, 0, 0, 0, 0)), b"", hdgst, ddgst)
    s += capsule(sqe(0x18, 10), b"", hdgst, ddgst)
    s += capsule(sqe(0x0C, 11), b"", hdgst, ddgst)
    return s + extra


def tcp_target_seeds():
    # The harness runs queues of 8 (max_queue_depth): SQSIZE 7.
    h = "fuzz_tcp_target"
    write(h, "seed-icreq", b"\0" + icreq(False, False))
    write(h, "seed-admin", b"\0" + tcp_admin_session(False, False))
    write(h, "seed-admin-digests", b"\1" + tcp_admin_session(True, True))
    # An I/O queue Connect (no controller 1 yet: refused) and then I/O on it.
    io = icreq(False, False)
    io += capsule(connect_cmd(1, 1, 7, 0, sgl_in_capsule(1024)), connect_data(1))
    io += capsule(sqe(0x01, 2, nsid=1, sgl=sgl_in_capsule(512), cdw=(0, 0, 0, 0, 0, 0)), b"\x5a" * 512)
    io += capsule(sqe(0x02, 3, nsid=1, sgl=sgl_transport(4096), cdw=(0, 0, 7, 0, 0, 0)))
    write(h, "seed-io-queue", b"\0" + io)
    # A write-direction admin command too large for the capsule: R2T, then H2CData on ttag 0.
    r2t = tcp_admin_session(False, False)
    r2t += capsule(sqe(0xC1, 12, sgl=sgl_transport(16384)))
    r2t += h2c(12, 0, 0, b"\x11" * 16384)
    write(h, "seed-r2t-h2c", b"\0" + r2t)
    # The host ends the connection itself.
    term = icreq(False, False) + pdu(0x02, struct.pack("<HI", 1, 0) + b"\0" * 10, b"", False, False, 24)
    write(h, "seed-h2c-term", b"\0" + term)


# ---- NVMe/TCP PDUs (controller to host) ----
def icresp(hdgst, ddgst):
    p = struct.pack("<BBBBIHBBI", 0x01, 0, 128, 0, 128, 0, 0,
                    (1 if hdgst else 0) | (2 if ddgst else 0), 131072)
    return p + b"\0" * (128 - len(p))


def cqe(cid, dw0=0, sct=0, sc=0, sqhd=0):
    status = ((sct & 7) << 9) | (sc << 1)
    return struct.pack("<IIHHHH", dw0 & 0xFFFFFFFF, (dw0 >> 32) & 0xFFFFFFFF, sqhd, 0, cid, status)


def rsp(c, hdgst):
    return pdu(0x05, c, b"", hdgst, False, 24)


def c2h(cccid, data, hdgst, ddgst, last=True, success=False):
    psh = struct.pack("<HHII4x", cccid, 0, 0, len(data))
    p = bytearray(pdu(0x07, psh, data, hdgst, ddgst, 24))
    if last:
        p[1] |= 0x04
    if success:
        p[1] |= 0x08
    return bytes(p)


def tcp_host_seeds():
    """What a controller answers unvmf_host_connect with (one command at a time: always cid 0)."""
    h = "fuzz_tcp_host"
    for flags, name in ((0, "seed-connect"), (3, "seed-connect-digests")):
        hd, dd = bool(flags & 1), bool(flags & 2)
        s = icresp(hd, dd)
        cid = 0
        s += rsp(cqe(cid, dw0=1), hd)  # Connect: cntlid 1
        cap = 127 | (1 << 16) | (20 << 24) | (1 << 37)
        s += rsp(cqe(cid, dw0=cap), hd)  # CAP
        s += rsp(cqe(cid, dw0=0x10300), hd)  # VS
        s += rsp(cqe(cid, dw0=0), hd)  # CC
        s += rsp(cqe(cid), hd)  # Property Set CC
        s += rsp(cqe(cid, dw0=1), hd)  # CSTS.RDY
        ident = bytearray(4096)
        ident[4:12] = b"FUZZ0001"
        struct.pack_into("<I", ident, 1792, 4)  # ioccsz (16-byte units)
        s += c2h(cid, bytes(ident), hd, dd) + rsp(cqe(cid), hd)
        s += rsp(cqe(cid, dw0=0x00030003), hd)  # Set Features Number of Queues
        write(h, name, bytes([flags | 4 if flags else 0]) + s)
    write(h, "seed-icresp-only", b"\0" + icresp(False, False))
    term = pdu(0x03, struct.pack("<HI", 2, 0) + b"\0" * 10, b"", False, False, 24)
    write(h, "seed-c2h-term", b"\0" + term)


# ---- core commands (fuzz_nvmf_cmd) ----
def rec(cmd, data=b"", length=None, io=False):
    if length is None:
        length = len(data)
    return struct.pack("<BH", 1 if io else 0, length) + cmd + data


def nvmf_cmd_seeds():
    h = "fuzz_nvmf_cmd"
    # Level 0: Connect and Property Set by hand.
    s = b"\0" + rec(connect_cmd(1, 0, 31, 0, b"\0" * 16), connect_data(0xFFFF))
    s += rec(prop_get(2, 0x0, True)) + rec(prop_set(3, 0x14, CC_EN)) + rec(prop_get(4, 0x1C, False))
    write(h, "seed-connect", s)
    # Level 1: admin commands.
    a = b"\1"
    for cns in (0x00, 0x01, 0x02, 0x03):
        a += rec(sqe(0x06, 10 + cns, nsid=1, cdw=(cns, 0, 0, 0, 0, 0)), length=4096)
    for lid in (0x01, 0x02, 0x03, 0x05, 0x0C):
        numd = (512 // 4) - 1
        a += rec(sqe(0x02, 20 + lid, nsid=0xFFFFFFFF, cdw=((numd << 16) | lid, 0, 8, 0, 0, 0)), length=512)
    for fid in (0x01, 0x04, 0x07, 0x08, 0x0B, 0x0F, 0x80):
        a += rec(sqe(0x0A, 40 + fid, cdw=(fid, 0, 0, 0, 0, 0)))
        a += rec(sqe(0x09, 60 + fid, cdw=(fid, 3, 0, 0, 0, 0)))
    a += rec(sqe(0x18, 90)) + rec(sqe(0x0C, 91)) + rec(sqe(0x08, 92, cdw=(0x005B0000, 0, 0, 0, 0, 0)))
    write(h, "seed-admin", a)
    # Level 2: I/O.
    io = b"\2"
    io += rec(sqe(0x01, 1, nsid=1, cdw=(0, 0, 7, 0, 0, 0)), b"\xa5" * 4096, io=True)
    io += rec(sqe(0x02, 2, nsid=1, cdw=(0, 0, 7, 0, 0, 0)), length=4096, io=True)
    io += rec(sqe(0x00, 3, nsid=1), io=True)
    io += rec(sqe(0x08, 4, nsid=1, cdw=(0, 0, 7, 0, 0, 0)), io=True)
    io += rec(sqe(0x09, 5, nsid=1, cdw=(0, 4, 0, 0, 0, 0)), struct.pack("<IIQ", 0, 8, 16), io=True)
    io += rec(sqe(0x02, 6, nsid=1, cdw=(2040, 0, 15, 0, 0, 0)), length=8192, io=True)
    write(h, "seed-io", io)


# ---- RDMA capsules ----
def rdma_seeds():
    h = "fuzz_rdma_capsule"
    keyed = struct.pack("<Q", 0x1000) + struct.pack("<I", 8192)[:3] + struct.pack("<I", 0x1234) + bytes([0x40])
    write(h, "seed-keyed-read", b"\x0f" + sqe(0x02, 1, nsid=1, sgl=keyed, cdw=(0, 0, 15, 0, 0, 0)))
    inv = keyed[:-1] + bytes([0x4F])
    write(h, "seed-keyed-inval", b"\x0f" + sqe(0x01, 2, nsid=1, sgl=inv, cdw=(0, 0, 15, 0, 0, 0)))
    write(h, "seed-in-capsule", b"\x0f" + sqe(0x01, 3, nsid=1, sgl=sgl_in_capsule(512)) + b"\x5a" * 512)
    descs = b""
    for i in range(4):
        descs += struct.pack("<Q", 0x10000 * (i + 1)) + struct.pack("<I", 3000)[:3] + struct.pack("<I", 0x100 + i) + bytes([0x40])
    last = struct.pack("<QI3xB", 0, len(descs), 0x31)
    write(h, "seed-last-segment", b"\x0f" + sqe(0x01, 4, nsid=1, sgl=last) + descs)
    write(h, "seed-no-data", b"\x0f" + sqe(0x00, 5, nsid=1))


# ---- JSON-RPC ----
LISTEN = {"trtype": "TCP", "adrfam": "IPv4", "traddr": "127.0.0.1", "trsvcid": "0"}
SETUP = [
    ("nvmf_create_transport", {"trtype": "TCP"}),
    ("bdev_malloc_create", {"name": "Malloc0", "num_blocks": 256, "block_size": 512}),
    ("nvmf_create_subsystem", {"nqn": CNODE, "allow_any_host": True, "serial_number": "SPDK001"}),
    ("nvmf_subsystem_add_ns", {"nqn": CNODE, "namespace": {"bdev_name": "Malloc0", "nsid": 1}}),
]
METHODS = [
    ("rpc_get_methods", {}),
    ("unvmf_get_version", {}),
    ("spdk_get_version", {}),
    ("framework_wait_init", {}),
    ("save_config", {}),
    ("bdev_malloc_create", {"name": "Malloc1", "num_blocks": 128, "block_size": 4096,
                            "uuid": "12345678-1234-1234-1234-123456789abc"}),
    ("bdev_malloc_delete", {"name": "Malloc0"}),
    ("bdev_null_create", {"name": "Null0", "num_blocks": 1024, "block_size": 512}),
    ("bdev_null_delete", {"name": "Null0"}),
    ("bdev_uring_create", {"name": "Uring0", "filename": "/nonexistent/unvmf-fuzz", "block_size": 512}),
    ("bdev_uring_delete", {"name": "Uring0"}),
    ("bdev_aio_create", {"name": "Aio0", "filename": "/nonexistent/unvmf-fuzz", "block_size": 512}),
    ("bdev_aio_delete", {"name": "Aio0"}),
    ("bdev_get_bdevs", {"name": "Malloc0"}),
    ("nvmf_create_transport", {"trtype": "TCP", "max_queue_depth": 64, "in_capsule_data_size": 4096,
                               "io_unit_size": 8192, "max_io_size": 131072}),
    ("nvmf_get_transports", {"trtype": "TCP"}),
    ("nvmf_create_subsystem", {"nqn": "nqn.2016-06.io.spdk:cnode2", "max_namespaces": 4,
                               "model_number": "unvmf", "min_cntlid": 1, "max_cntlid": 100}),
    ("nvmf_delete_subsystem", {"nqn": CNODE}),
    ("nvmf_get_subsystems", {}),
    ("nvmf_subsystem_add_listener", {"nqn": CNODE, "listen_address": LISTEN}),
    ("nvmf_subsystem_remove_listener", {"nqn": CNODE, "listen_address": LISTEN}),
    ("nvmf_subsystem_add_ns", {"nqn": SUBNQN_LOOP, "namespace": {
        "bdev_name": "Malloc0", "nguid": "00112233445566778899aabbccddeeff", "eui64": "0011223344556677"}}),
    ("nvmf_subsystem_remove_ns", {"nqn": CNODE, "nsid": 1}),
    ("nvmf_subsystem_add_host", {"nqn": CNODE, "host": HOSTNQN}),
    ("nvmf_subsystem_remove_host", {"nqn": CNODE, "host": HOSTNQN}),
    ("nvmf_subsystem_allow_any_host", {"nqn": CNODE, "allow_any_host": False}),
    ("nvmf_subsystem_get_controllers", {"nqn": SUBNQN_LOOP}),
    ("nvmf_set_max_subsystems", {"max_subsystems": 64}),
    ("nvmf_discovery_add_referral", {"address": {"trtype": "TCP", "adrfam": "IPv4", "traddr": "10.0.0.2",
                                                 "trsvcid": "4420"}, "subnqn": CNODE}),
    ("nvmf_discovery_remove_referral", {"address": {"trtype": "TCP", "adrfam": "IPv4",
                                                    "traddr": "10.0.0.2", "trsvcid": "4420"}}),
    ("nvmf_discovery_get_referrals", {}),
    ("nvmf_get_stats", {}),
    ("nvmf_subsystem_get_qpairs", {"nqn": SUBNQN_LOOP}),
    ("nvmf_tcp_inject_fault", {"fault": "reset", "qpair_id": 1}),
    ("nvmf_rdma_inject_fault", {"fault": "reset", "qpair_id": 1}),
    ("nvmf_set_config", {}),
    ("nvmf_set_crdt", {"crdt1": 0, "crdt2": 0, "crdt3": 0}),
]


def request(i, method, params):
    return json.dumps({"jsonrpc": "2.0", "method": method, "id": i, "params": params})


def rpc_seeds():
    for i, (method, params) in enumerate(METHODS):
        calls = SETUP + [(method, params)]
        stream = "\n".join(request(j + 1, m, p) for j, (m, p) in enumerate(calls)) + "\n"
        write("fuzz_rpc_frame", "seed-%s" % method, stream)
        recs = b""
        for m, p in calls:
            body = json.dumps(p).encode()
            recs += struct.pack("<BH", [x[0] for x in METHODS].index(m), len(body)) + body
        write("fuzz_rpc_params", "seed-%s" % method, recs)
    write("fuzz_rpc_frame", "seed-notification", '{"jsonrpc":"2.0","method":"nvmf_get_stats"}')
    write("fuzz_rpc_frame", "seed-split-values", '{"jsonrpc":"2.0","method":"spdk_get_version","id":1}'
          '{"jsonrpc":"2.0","method":"bdev_get_bdevs","id":"x","params":{}}  \n\t')
    write("fuzz_rpc_frame", "seed-parse-error", '{"jsonrpc":"2.0","method":"x","id":1,}')
    write("fuzz_rpc_frame", "seed-strings", '{"jsonrpc":"2.0","method":"bdev_get_bdevs","id":1,'
          '"params":{"name":"a\\"}{\\\\\\u00e9"}}')

    config = {"subsystems": [
        {"subsystem": "bdev", "config": [
            {"method": "bdev_malloc_create", "params": {"name": "Malloc0", "num_blocks": 256, "block_size": 512}},
            {"method": "bdev_null_create", "params": {"name": "Null0", "num_blocks": 256, "block_size": 512}},
            {"method": "bdev_wait_for_examine"}]},
        {"subsystem": "nvmf", "config": [
            {"method": "nvmf_set_max_subsystems", "params": {"max_subsystems": 32}},
            {"method": "nvmf_create_transport", "params": {"trtype": "TCP", "max_queue_depth": 32}},
            {"method": "nvmf_create_subsystem", "params": {"nqn": CNODE, "allow_any_host": True}},
            {"method": "nvmf_subsystem_add_ns", "params": {"nqn": CNODE, "namespace": {"bdev_name": "Malloc0"}}},
            {"method": "nvmf_subsystem_add_listener", "params": {"nqn": CNODE, "listen_address": LISTEN}},
            {"method": "nvmf_subsystem_add_host", "params": {"nqn": CNODE, "host": HOSTNQN}}]},
        {"subsystem": "sock", "config": [{"method": "sock_impl_set_options", "params": {"impl_name": "posix"}}]},
    ]}
    write("fuzz_rpc_config", "seed-config", json.dumps(config, indent=2))
    write("fuzz_rpc_config", "seed-empty", '{"subsystems": []}')
    write("fuzz_rpc_config", "seed-unknown-method",
          '{"subsystems":[{"subsystem":"bdev","config":[{"method":"bdev_nvme_attach_controller","params":{}}]}]}')


def main():
    tcp_target_seeds()
    tcp_host_seeds()
    nvmf_cmd_seeds()
    rdma_seeds()
    rpc_seeds()
    return 0


if __name__ == "__main__":
    sys.exit(main())
