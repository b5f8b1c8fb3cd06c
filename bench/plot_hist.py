#!/usr/bin/env python3
"""Draws an unvmf-perf latency histogram (--histogram FILE) as a PNG.

usage: plot_hist.py HIST.json|HIST.csv OUT.png [--title TEXT]

The file holds one row per non-empty bucket of unvmf-perf's log-linear
histogram: inclusive bounds in nanoseconds and a count (JSON: {"unit": "ns",
"buckets": [{"lo", "hi", "count"}, ...]}; CSV: lo_ns,hi_ns,count). The plot
shows the share of I/Os per bucket on a logarithmic latency axis, the
cumulative share on a second axis, and the p50/p99/p99.9 marks.
Needs matplotlib (Debian: python3-matplotlib).
"""
import argparse
import csv
import json
import sys


def load(path):
    """[(lo_ns, hi_ns, count)], sorted."""
    if path.lower().endswith(".csv"):
        with open(path, newline="") as f:
            rows = [(int(r["lo_ns"]), int(r["hi_ns"]), int(r["count"]))
                    for r in csv.DictReader(f)]
    else:
        with open(path) as f:
            doc = json.load(f)
        if doc.get("unit") != "ns":
            raise ValueError(f"{path}: unit is {doc.get('unit')!r}, not 'ns'")
        rows = [(int(b["lo"]), int(b["hi"]), int(b["count"])) for b in doc["buckets"]]
    rows.sort()
    if not rows or sum(r[2] for r in rows) == 0:
        raise ValueError(f"{path}: the histogram is empty")
    return rows


def percentile(rows, pct):
    """Upper bound (ns) of the bucket where pct percent of the I/Os are reached."""
    total = sum(r[2] for r in rows)
    need = total * pct / 100.0
    seen = 0
    for lo, hi, count in rows:
        seen += count
        if seen >= need:
            return hi
    return rows[-1][1]


def plot(rows, out, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    total = sum(r[2] for r in rows)
    mids_us = [(lo + hi) / 2 / 1000.0 for lo, hi, _ in rows]
    widths_us = [max(hi - lo + 1, 1) / 1000.0 for lo, hi, _ in rows]
    share = [100.0 * c / total for _, _, c in rows]
    cum, acc = [], 0
    for _, _, c in rows:
        acc += c
        cum.append(100.0 * acc / total)

    fig, ax = plt.subplots(figsize=(10, 5))
    ax.bar([lo / 1000.0 for lo, _, _ in rows], share, width=widths_us, align="edge",
           color="tab:blue", label="I/Os per bucket (%)")
    ax.set_xscale("log")
    ax.set_xlabel("latency (µs)")
    ax.set_ylabel("I/Os (%)")
    ax2 = ax.twinx()
    ax2.plot(mids_us, cum, color="tab:red", label="cumulative (%)")
    ax2.set_ylim(0, 100.5)
    ax2.set_ylabel("cumulative (%)")
    for pct, style in ((50, ":"), (99, "--"), (99.9, "-.")):
        x = percentile(rows, pct) / 1000.0
        ax.axvline(x, color="black", linestyle=style, linewidth=1)
        ax.text(x, ax.get_ylim()[1] * 0.95, f" p{pct:g} {x:.1f} µs", fontsize=8)
    ax.set_title(title or f"unvmf-perf latency, {total} I/Os")
    fig.tight_layout()
    fig.savefig(out, dpi=100)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("hist")
    ap.add_argument("out")
    ap.add_argument("--title")
    a = ap.parse_args()
    try:
        rows = load(a.hist)
    except (OSError, ValueError, KeyError) as e:
        print(f"plot_hist: {e}", file=sys.stderr)
        return 1
    try:
        plot(rows, a.out, a.title)
    except ImportError:
        print("plot_hist: needs matplotlib (apt-get install python3-matplotlib)", file=sys.stderr)
        return 2
    print(f"{a.out}: {sum(r[2] for r in rows)} I/Os, p50 {percentile(rows, 50) / 1000:.1f} µs, "
          f"p99 {percentile(rows, 99) / 1000:.1f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
