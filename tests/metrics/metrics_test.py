#!/usr/bin/env python3
"""unvmf-tgt --metrics, end to end.

usage: metrics_test.py format|prometheus BIN_DIR

format: starts unvmf-tgt (default config, --metrics on a free port,
  --log-format json), runs unvmf-perf against it, fetches /metrics and checks
  - the text is valid exposition format: `promtool check metrics` when
    prometheus is installed, and always this file's own checker (which must
    reject a broken sample, so it cannot pass everything);
  - the counters equal nvmf_get_stats once the load has ended;
  - other paths answer 404; every stderr line of the target is a JSON object,
    and the controller's connect and destroy events are among them.
prometheus: the same target, scraped every second by Debian's real
  prometheus server while unvmf-perf runs; its HTTP API (/api/v1/query) must
  show the series, a read rate above 0 during the load, and, after the load,
  the read counter equal to what nvmf_get_stats says. Skipped (exit 77) when
  prometheus is not installed.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

SKIP = 77
NQN = "nqn.2024-11.io.unvmf:default"


def fail(msg):
    print(f"FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, "", e.read().decode()


# ---- the exposition format (0.0.4), as Prometheus's text parser reads it ----
NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^({NAME})(?:\{{({LABEL}(?:,{LABEL})*)?\}})? (\S+)(?: -?\d+)?$")
VALUE = re.compile(r"^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$")


def parse_metrics(text):
    """{(name, frozenset(labels)): value}; raises ValueError on a format error."""
    types, seen_families, samples = {}, [], {}
    current = None
    if not text.endswith("\n"):
        raise ValueError("the text does not end with a newline")
    for n, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[1] in ("HELP", "TYPE"):
                if not re.fullmatch(NAME, parts[2]):
                    raise ValueError(f"line {n}: bad metric name in {parts[1]}")
                if parts[1] == "TYPE":
                    if parts[2] in types:
                        raise ValueError(f"line {n}: second TYPE for {parts[2]}")
                    if len(parts) < 4 or parts[3] not in (
                            "counter", "gauge", "histogram", "summary", "untyped"):
                        raise ValueError(f"line {n}: bad type")
                    types[parts[2]] = parts[3]
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(f"line {n}: not a sample: {line!r}")
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        if not VALUE.match(value):
            raise ValueError(f"line {n}: bad value {value!r}")
        family = name
        for suffix in ("_bucket", "_sum", "_count"):
            if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
                family = name[: -len(suffix)]
        if family != current:
            if family in seen_families:
                raise ValueError(f"line {n}: samples of {family} are not together")
            seen_families.append(family)
            current = family
        pairs = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels)
        names = [p[0] for p in pairs]
        if len(set(names)) != len(names):
            raise ValueError(f"line {n}: a label twice")
        key = (name, frozenset(pairs))
        if key in samples:
            raise ValueError(f"line {n}: duplicate series {name}{{{labels}}}")
        samples[key] = float(value)
        if types.get(family) == "counter" and not name.endswith("_total"):
            raise ValueError(f"line {n}: counter {name} without _total")
    # Histograms: cumulative buckets ending with +Inf equal to _count.
    for fam, t in types.items():
        if t != "histogram":
            continue
        series = {}
        for (name, labels), v in samples.items():
            if name == fam + "_bucket":
                rest = frozenset(p for p in labels if p[0] != "le")
                le = dict(labels)["le"]
                series.setdefault(rest, []).append((float(le), v))
        for rest, buckets in series.items():
            buckets.sort()
            if buckets[-1][0] != float("inf"):
                raise ValueError(f"{fam}: no +Inf bucket")
            counts = [v for _, v in buckets]
            if counts != sorted(counts):
                raise ValueError(f"{fam}: buckets not cumulative")
            if samples.get((fam + "_count", rest)) != counts[-1]:
                raise ValueError(f"{fam}: _count differs from the +Inf bucket")
    return samples


def check_checker():
    """The checker must refuse what Prometheus refuses, or it proves nothing."""
    good = "# TYPE a_total counter\na_total{x=\"1\"} 3\n"
    parse_metrics(good)
    for bad in ("a_total{x=\"1\"} three\n",
                "# TYPE a_total counter\na_total{x=\"1\"} 1\nb 2\na_total{x=\"2\"} 1\n",
                "a{x=\"1\",x=\"2\"} 1\n",
                "a 1\na 2\n",
                "a{x=1} 1\n",
                "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n"):
        try:
            parse_metrics(bad)
        except ValueError:
            continue
        fail(f"the format checker accepted {bad!r}")


def value(samples, name, **labels):
    want = set(labels.items())
    return sum(v for (n, l), v in samples.items() if n == name and want <= set(l))


# ---- the target ----
class Target:
    def __init__(self, bins, work):
        self.bins = bins
        self.work = work
        self.port = free_port()
        self.metrics_port = free_port()
        self.rpc_sock = os.path.join(work, "rpc.sock")
        self.log_path = os.path.join(work, "tgt.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [os.path.join(bins, "unvmf-tgt"), "-r", self.rpc_sock, "-p", str(self.port), "-s",
             "64", "-m", "0x3", "--metrics", str(self.metrics_port), "--log-format", "json"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                fail(f"unvmf-tgt exited with {self.proc.returncode}: {self.log_text()}")
            try:
                status, _, _ = http_get(self.url("/metrics"), timeout=2)
                if status == 200 and self.rpc("nvmf_get_subsystems"):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        fail("unvmf-tgt did not start serving metrics")

    def url(self, path):
        return f"http://127.0.0.1:{self.metrics_port}{path}"

    def rpc(self, *args):
        out = subprocess.run([os.path.join(self.bins, "unvmf-rpc"), "-s", self.rpc_sock] +
                             list(args), capture_output=True, text=True, timeout=30)
        if out.returncode:
            return None
        return json.loads(out.stdout)

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def perf(self, seconds, extra=()):
        trid = (f"trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:{self.port} subnqn:{NQN}")
        return subprocess.Popen([os.path.join(self.bins, "unvmf-perf"), "-r", trid, "-q", "8",
                                 "-o", "4096", "-w", "randread", "-t", str(seconds), "--json"]
                                + list(extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("unvmf-tgt did not stop on SIGTERM with a metrics endpoint")
        self.log.close()
        if rc:
            fail(f"unvmf-tgt exited with {rc}: {self.log_text()}")


def wait_perf(proc, seconds):
    out, err = proc.communicate(timeout=seconds + 60)
    if proc.returncode:
        fail(f"unvmf-perf exited with {proc.returncode}: {err}")
    return json.loads(out)


def stats_sums(tgt):
    stats = tgt.rpc("nvmf_get_stats")
    if not stats:
        fail("nvmf_get_stats failed")
    groups = stats["poll_groups"]
    return {"bytes_read": sum(g["bytes_read"] for g in groups),
            "completed_nvme_io": sum(g["completed_nvme_io"] for g in groups),
            "latency_count": sum(g["latency"]["count"] for g in groups)}


def test_format(bins, work):
    check_checker()
    tgt = Target(bins, work)
    try:
        result = wait_perf(tgt.perf(1), 1)
        if result["reads"] == 0:
            fail("unvmf-perf read nothing")
        # A Connect to a subsystem that does not exist is refused and counted by reason.
        refused = subprocess.run(
            [os.path.join(bins, "unvmf-identify"), "-r",
             f"trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:{tgt.port} "
             "subnqn:nqn.2024-11.io.unvmf:nothing"], capture_output=True, timeout=60)
        if refused.returncode == 0:
            fail("a Connect to an unknown subsystem succeeded")
        status, ctype, text = http_get(tgt.url("/metrics"))
        if status != 200 or not ctype.startswith("text/plain; version=0.0.4"):
            fail(f"/metrics: status {status}, Content-Type {ctype!r}")
        try:
            samples = parse_metrics(text)
        except ValueError as e:
            fail(f"/metrics is not valid exposition text: {e}\n{text}")
        promtool = shutil.which("promtool")
        if promtool:
            out = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                                 capture_output=True)
            if out.returncode:
                fail(f"promtool check metrics: {out.stdout}{out.stderr}")
            print("promtool check metrics: ok")
        else:
            print("promtool not installed: the format checked by this script only")
        sums = stats_sums(tgt)
        checks = {"unvmf_poll_group_read_bytes_total": sums["bytes_read"],
                  "unvmf_poll_group_commands_completed_total": sums["completed_nvme_io"],
                  "unvmf_poll_group_command_latency_seconds_count": sums["latency_count"]}
        refusals = tgt.rpc("nvmf_get_stats")["connect_refusals"]
        if refusals.get("unknown_subsystem", 0) < 1:
            fail(f"nvmf_get_stats connect_refusals: {refusals}")
        for reason, n in refusals.items():
            got = value(samples, "unvmf_connect_refused_total", reason=reason)
            if got != n:
                fail(f"unvmf_connect_refused_total{{reason={reason}}} = {got}, not {n}")
        for name, want in checks.items():
            got = value(samples, name)
            if got != want:
                fail(f"{name} = {got}, nvmf_get_stats says {want}")
        # Every error completion is counted under its status, the refused Connect too.
        by_status = value(samples, "unvmf_poll_group_command_errors_by_status_total")
        errors = value(samples, "unvmf_poll_group_command_errors_total")
        if errors < 1 or by_status != errors:
            fail(f"errors by status sum to {by_status}, errors total {errors}")
        if not any(n == "unvmf_poll_group_keep_alive_expiries_total" for n, _ in samples):
            fail("no unvmf_poll_group_keep_alive_expiries_total in /metrics")
        if sums["bytes_read"] < result["reads"] * 4096:
            fail(f"bytes read {sums['bytes_read']} < what unvmf-perf read")
        for name in ("unvmf_poll_group_qpairs", "unvmf_limits_connect_refused_total",
                     "unvmf_connect_refused_total",
                     "unvmf_transport_bytes_rx_total", "unvmf_reactor_iterations_total",
                     "unvmf_subsystem_namespaces"):
            if not any(n == name for n, _ in samples):
                fail(f"no {name} in /metrics")
        if value(samples, "unvmf_subsystem_namespaces", nqn=NQN) != 1:
            fail("unvmf_subsystem_namespaces of the default subsystem is not 1")
        status, _, _ = http_get(tgt.url("/nothing"))
        if status != 404:
            fail(f"/nothing answered {status}, not 404")
        # A second target on the same metrics port must refuse to start, saying why.
        busy = subprocess.run([os.path.join(bins, "unvmf-tgt"), "--no-rpc", "-p",
                               str(free_port()), "-s", "16", "--metrics",
                               str(tgt.metrics_port)], capture_output=True, text=True,
                              timeout=60)
        if busy.returncode == 0 or "metrics" not in busy.stderr:
            fail(f"a target on a busy metrics port: status {busy.returncode}, {busy.stderr}")
    finally:
        tgt.stop()
    events = []
    for line in tgt.log_text().splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            fail(f"--log-format json wrote a line that is not JSON: {line!r}")
        if set(obj) != {"ts", "level", "file", "line", "msg"}:
            fail(f"unexpected members in log line {line!r}")
        events.append(obj["msg"])
    for pattern in (r"controller \d+ created: host \S+ subsystem " + re.escape(NQN),
                    r"controller \d+ .*destroyed"):
        if not any(re.search(pattern, m) for m in events):
            fail(f"no log line matches {pattern!r}")
    print(f"format: {len(samples)} samples valid and equal to nvmf_get_stats")


def prom_query(prom_port, expr):
    url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    status, _, body = http_get(url)
    if status != 200:
        fail(f"prometheus query {expr!r}: HTTP {status}: {body}")
    data = json.loads(body)
    if data.get("status") != "success":
        fail(f"prometheus query {expr!r}: {body}")
    return data["data"]["result"]


def prom_scalar(prom_port, expr):
    res = prom_query(prom_port, expr)
    return float(res[0]["value"][1]) if res else None


class Prometheus:
    """Debian's prometheus server scraping one unvmf-tgt every second, in work."""

    def __init__(self, work, metrics_port):
        binary = shutil.which("prometheus")
        if not binary:
            raise FileNotFoundError("prometheus")
        self.port = free_port()
        cfg = os.path.join(work, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                    "scrape_configs:\n  - job_name: unvmf\n    static_configs:\n"
                    f"      - targets: ['127.0.0.1:{metrics_port}']\n")
        self.log = open(os.path.join(work, "prometheus.log"), "w")
        self.proc = subprocess.Popen([binary, f"--config.file={cfg}",
                                      f"--storage.tsdb.path={os.path.join(work, 'tsdb')}",
                                      f"--web.listen-address=127.0.0.1:{self.port}"],
                                     stdout=self.log, stderr=self.log)

    def wait_up(self, seconds=60):
        deadline = time.time() + seconds
        while prom_scalar_safe(self.port, 'up{job="unvmf"}') != 1.0:
            if self.proc.poll() is not None or time.time() > deadline:
                fail("prometheus did not scrape unvmf-tgt (see prometheus.log)")
            time.sleep(0.5)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def test_prometheus(bins, work):
    if not shutil.which("prometheus"):
        print("SKIP: prometheus is not installed (apt-get install prometheus); "
              "the metrics.format test checks the endpoint without it")
        sys.exit(SKIP)
    tgt = Target(bins, work)
    prom = Prometheus(work, tgt.metrics_port)
    prom_port = prom.port
    try:
        prom.wait_up()
        load = tgt.perf(10)
        # During the load: the scraped read counter grows. A busy machine can
        # delay scrapes, so the rate is asked again until two land in the window.
        deadline = time.time() + 8
        while True:
            time.sleep(0.5)
            rate = prom_scalar(prom_port, "sum(rate(unvmf_poll_group_read_bytes_total[5s]))")
            if rate and rate > 0:
                break
            if time.time() > deadline:
                fail(f"read rate during the load is {rate}")
        q = prom_scalar(prom_port, "histogram_quantile(0.5, sum by (le) "
                        "(rate(unvmf_poll_group_command_latency_seconds_bucket[3s])))")
        if not q or q <= 0:
            fail(f"median I/O latency from the histogram is {q}")
        result = wait_perf(load, 10)
        want = stats_sums(tgt)["bytes_read"]
        # After the load the counter is still: two scrapes later Prometheus has the last value.
        deadline = time.time() + 20
        while True:
            got = prom_scalar(prom_port, "sum(unvmf_poll_group_read_bytes_total)")
            if got == want:
                break
            if time.time() > deadline:
                fail(f"prometheus says {got} bytes read, nvmf_get_stats {want}")
            time.sleep(0.5)
        if want < result["reads"] * 4096:
            fail(f"bytes read {want} < what unvmf-perf read ({result['reads']} reads)")
        series = prom_query(prom_port, '{__name__=~"unvmf_.*"}')
        names = {s["metric"]["__name__"] for s in series}
        for name in ("unvmf_poll_group_commands_completed_total", "unvmf_transport_pdus_rx_total",
                     "unvmf_limits_connect_refused_total", "unvmf_subsystem_qpairs"):
            if name not in names:
                fail(f"prometheus has no {name}")
        dashboard_check(prom_port, names)
        print(f"prometheus: {len(series)} series; read rate {rate:.0f} B/s during the load, "
              f"median latency {q * 1e6:.0f} us; bytes read {int(got)} = nvmf_get_stats")
    finally:
        prom.stop()
        tgt.stop()


# Families a TCP target under plain load does not show: RDMA's, and objects that
# list only the reasons that happened.
DASHBOARD_ABSENT_OK = {"unvmf_transport_wc_errors_by_status_total",
                       "unvmf_poll_group_command_errors_by_status_total",
                       "unvmf_transport_pending_buffer", "unvmf_transport_c2h_term_sent_total"}


def dashboard_check(prom_port, names):
    """Every query of docs/grafana-unvmf.json runs on the real server and names real series."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                        "grafana-unvmf.json")
    with open(path) as f:
        dash = json.load(f)
    n = 0
    for panel in dash["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "5s").replace("$instance", ".*")
            prom_query(prom_port, expr)
            for name in re.findall(r"unvmf_[a-z0-9_]+", expr):
                base = re.sub(r"_(bucket|sum|count)$", "", name)
                if (name not in names and base not in names
                        and name not in DASHBOARD_ABSENT_OK):
                    fail(f"dashboard panel {panel['title']!r} uses {name}, which is not scraped")
            n += 1
    print(f"dashboard: {n} queries run on prometheus")


def prom_scalar_safe(prom_port, expr):
    """prom_scalar while prometheus starts: None instead of failing."""
    url = f"http://127.0.0.1:{prom_port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        status, _, body = http_get(url, timeout=2)
        res = json.loads(body)["data"]["result"] if status == 200 else []
    except (OSError, ValueError, KeyError):
        return None
    return float(res[0]["value"][1]) if res else None


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("format", "prometheus"):
        print(__doc__, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="unvmf-metrics-") as work:
        if sys.argv[1] == "format":
            test_format(sys.argv[2], work)
        else:
            test_prometheus(sys.argv[2], work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
