#!/usr/bin/env python3
"""unvmf-tgt as systemd runs it (Type=notify), without systemd.

Starts unvmf-tgt with NOTIFY_SOCKET pointing at a datagram socket this script
reads, on CONFIG with its listener moved to a free port, and checks:
  - READY=1 arrives, and at that moment the listener accepts a connection;
  - the running configuration (save_config) equals that of the built-in
    default target on the same port, namespace UUIDs aside;
  - SIGTERM, while unvmf-perf (next to UNVMF_TGT) keeps I/O in flight on a
    connected controller, brings STOPPING=1 and an exit with status 0 within
    STOP_TIMEOUT (the unit's TimeoutStopSec is 30 s).
The built-in default target gets the same READY/STOPPING checks.

usage: notify_test.py UNVMF_TGT UNVMF_RPC CONFIG
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

START_TIMEOUT = 60
STOP_TIMEOUT = 20
NQN = "nqn.2024-11.io.unvmf:default"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_port(config, port):
    """CONFIG with every listener on PORT."""
    n = 0
    for sub in config["subsystems"]:
        for entry in sub["config"]:
            if entry["method"] == "nvmf_subsystem_add_listener":
                entry["params"]["listen_address"]["trsvcid"] = str(port)
                n += 1
    if n == 0:
        fail("the config has no listener")
    return config


def without_uuids(value):
    """A namespace UUID is random per start unless configured: not compared."""
    if isinstance(value, dict):
        return {k: without_uuids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [without_uuids(v) for v in value]
    return value


def recv_state(sock, proc, timeout):
    """The next notification as a dict; fails on timeout or if the target exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(0.2)
        try:
            data = sock.recv(4096).decode()
        except socket.timeout:
            if proc.poll() is not None:
                fail(f"unvmf-tgt exited with {proc.returncode} before notifying")
            continue
        return dict(line.split("=", 1) for line in data.splitlines() if "=" in line)
    fail(f"no notification within {timeout} s")


def rpc_call(rpc, rpc_sock, *args):
    out = subprocess.run([rpc, "-s", rpc_sock] + list(args), capture_output=True, text=True,
                         timeout=30)
    if out.returncode != 0:
        fail(f"unvmf-rpc {' '.join(args)}: {out.stderr}")
    return json.loads(out.stdout)


def start_load(tgt, rpc, rpc_sock, port, log):
    """unvmf-perf on the default subsystem, returned once its controller exists."""
    perf = os.path.join(os.path.dirname(tgt), "unvmf-perf")
    trid = f"trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:{port} subnqn:{NQN}"
    proc = subprocess.Popen([perf, "-r", trid, "-q", "16", "-o", "4096", "-w", "randrw",
                             "-t", "60"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if rpc_call(rpc, rpc_sock, "nvmf_subsystem_get_controllers", NQN):
            return proc
        if proc.poll() is not None:
            fail(f"unvmf-perf exited with {proc.returncode} before connecting")
        time.sleep(0.1)
    proc.kill()
    fail("unvmf-perf did not connect within 20 s")


def run_target(work, name, tgt, rpc, args, port, load):
    """Runs one target through start, save_config and SIGTERM; returns its config."""
    notify_path = os.path.join(work, f"{name}.notify")
    rpc_sock = os.path.join(work, f"{name}.rpc.sock")
    log_path = os.path.join(work, f"{name}.log")
    nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    nsock.bind(notify_path)
    env = dict(os.environ, NOTIFY_SOCKET=notify_path)
    perf = None
    with open(log_path, "w") as log:
        proc = subprocess.Popen([tgt, "-r", rpc_sock] + args, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
    try:
        state = recv_state(nsock, proc, START_TIMEOUT)
        if state.get("READY") != "1":
            fail(f"{name}: first notification is not READY=1: {state}")
        # Ready means serving: the listener must accept now, without a retry.
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        except OSError as e:
            fail(f"{name}: READY=1 sent but port {port} refuses: {e}")
        saved = rpc_call(rpc, rpc_sock, "save_config")
        if load:
            perf_log = open(os.path.join(work, f"{name}.perf.log"), "w")
            perf = start_load(tgt, rpc, rpc_sock, port, perf_log)
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        state = recv_state(nsock, proc, STOP_TIMEOUT)
        if state.get("STOPPING") != "1":
            fail(f"{name}: after SIGTERM expected STOPPING=1, got {state}")
        try:
            rc = proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            fail(f"{name}: still running {STOP_TIMEOUT} s after SIGTERM")
        if rc != 0:
            fail(f"{name}: exit status {rc} after SIGTERM")
        print(f"{name}: READY=1, listener accepts, STOPPING=1, exit 0 "
              f"{time.monotonic() - t0:.2f} s after SIGTERM"
              f"{' with a host doing I/O' if load else ''}")
        return saved
    finally:
        if perf:
            # Only the target is under test; unvmf-perf runs out its -t after
            # losing its controller, so it is interrupted here.
            perf.send_signal(signal.SIGINT)
            try:
                perf.wait(timeout=10)
            except subprocess.TimeoutExpired:
                perf.kill()
                perf.wait()
            perf_log.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            with open(log_path) as f:
                sys.stderr.write(f.read())
        nsock.close()


def main():
    if len(sys.argv) != 4:
        fail(__doc__.strip().splitlines()[-1])
    tgt, rpc, config_path = sys.argv[1:]
    with open(config_path) as f:
        config = json.load(f)
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="unvmf-notify.") as work:
        cfg = os.path.join(work, "config.json")
        with open(cfg, "w") as f:
            json.dump(with_port(config, port), f)
        from_file = run_target(work, "config", tgt, rpc, ["-c", cfg], port, True)
        builtin = run_target(work, "default", tgt, rpc, ["-p", str(port)], port, False)
    if without_uuids(from_file) != without_uuids(builtin):
        fail("the config file's target differs from the built-in default:\n"
             f"{json.dumps(from_file, indent=1)}\n---\n{json.dumps(builtin, indent=1)}")
    print(f"{config_path}: same running configuration as the built-in default")


if __name__ == "__main__":
    main()
