#!/usr/bin/env python3
"""Draws docs/grafana-unvmf.json's panels, as Prometheus answers them, into a PNG.

usage: dashboard_png.py BIN_DIR OUT.png [--seconds N]

Grafana is not packaged by Debian, so the picture of the dashboard is made
the way Grafana would make it: start unvmf-tgt (metrics on), let Debian's
prometheus scrape it every second, drive it through phases a storage target
sees (small random reads, large writes, a mixed load with refused Connects),
then run every query of every panel of the dashboard JSON as a range query
(`$__rate_interval` = 5s, `$instance` = any) and plot each panel's series
with its legend format. The figures are whatever the machine gave; what the
picture shows is that every panel answers and what it looks like.
Needs python3-matplotlib and prometheus (Debian packages).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "metrics"))
import metrics_test as mt  # noqa: E402  (the target and prometheus drivers of the metrics tests)

DASHBOARD = os.path.join(HERE, "..", "docs", "grafana-unvmf.json")


def load_phases(tgt, seconds):
    """Runs the phases one after another; returns [(start, end, name)] in epoch seconds."""
    part = max(seconds // 3, 5)
    phases = [("4 KiB random read QD8", ["-q", "8", "-o", "4096", "-w", "randread"]),
              ("128 KiB write QD4", ["-q", "4", "-o", "131072", "-w", "write"]),
              ("70/30 random read/write QD16", ["-q", "16", "-o", "8192", "-w", "randrw",
                                               "-M", "70"])]
    trid = f"trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:{tgt.port} subnqn:{mt.NQN}"
    marks = []
    for name, args in phases:
        t0 = time.time()
        perf = subprocess.Popen([os.path.join(tgt.bins, "unvmf-perf"), "-r", trid, "-t",
                                 str(part), "--json"] + args, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        if name.startswith("70/30"):
            # Hosts knocking on a subsystem that is not there: refused and counted.
            for _ in range(5):
                time.sleep(part / 6)
                subprocess.run([os.path.join(tgt.bins, "unvmf-identify"), "-r",
                                f"trtype:TCP adrfam:IPv4 traddr:127.0.0.1 trsvcid:{tgt.port} "
                                "subnqn:nqn.2024-11.io.unvmf:nothing"], capture_output=True,
                               timeout=60)
        mt.wait_perf(perf, part)
        marks.append((t0, time.time(), name))
    return marks


def legend(fmt, metric, expr):
    if not fmt:
        return expr[:40]
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: metric.get(m.group(1), ""), fmt)


def range_query(prom_port, expr, start, end):
    q = urllib.parse.urlencode({"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}",
                                "step": "1"})
    status, _, body = mt.http_get(f"http://127.0.0.1:{prom_port}/api/v1/query_range?{q}")
    if status != 200:
        raise RuntimeError(f"query_range {expr!r}: HTTP {status}: {body}")
    return json.loads(body)["data"]["result"]


def draw(dash, prom_port, start, end, marks, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = dash["panels"]
    rows = (len(panels) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(16, 4.2 * rows), squeeze=False)
    for ax, panel in zip(axes.flat, panels):
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "")
        quiet = 0
        for target in panel["targets"]:
            expr = target["expr"].replace("$__rate_interval", "5s").replace("$instance", ".*")
            for series in range_query(prom_port, expr, start, end):
                xs = [float(t) - start for t, _ in series["values"]]
                ys = [float(v) for _, v in series["values"]]
                # Series that stayed 0 (reasons that never happened) only crowd the legend.
                if not any(ys):
                    quiet += 1
                    continue
                ax.plot(xs, ys, label=legend(target.get("legendFormat"), series["metric"],
                                             expr))
        for t0, t1, name in marks:
            ax.axvspan(t0 - start, t1 - start, alpha=0.06, color="grey")
        ax.set_title(panel["title"] + (f"  [{unit}]" if unit else "") +
                     (f"  ({quiet} series all 0 not drawn)" if quiet else ""), fontsize=10)
        ax.set_xlabel("seconds", fontsize=8)
        ax.tick_params(labelsize=8)
        if ax.lines:
            ax.legend(fontsize=7, loc="upper left")
        else:
            ax.text(0.5, 0.5, "all 0 (nothing of this kind happened)", ha="center",
                    va="center", transform=ax.transAxes, fontsize=9, color="grey")
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.suptitle(f"{dash['title']}: " + "; ".join(n for _, _, n in marks), fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(out, dpi=80)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bins")
    ap.add_argument("out")
    ap.add_argument("--seconds", type=int, default=60)
    a = ap.parse_args()
    with open(DASHBOARD) as f:
        dash = json.load(f)
    with tempfile.TemporaryDirectory(prefix="unvmf-dashboard-") as work:
        tgt = mt.Target(a.bins, work)
        prom = mt.Prometheus(work, tgt.metrics_port)
        try:
            prom.wait_up()
            start = time.time()
            marks = load_phases(tgt, a.seconds)
            time.sleep(6)  # the last rates settle to 0
            draw(dash, prom.port, start, time.time(), marks, a.out)
        finally:
            prom.stop()
            tgt.stop()
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
