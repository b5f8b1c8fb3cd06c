#!/usr/bin/env python3
"""Charts one bench-pair.sh run: each target's median per workload and the B/A ratio.

usage: pair_chart.py RAW.tsv OUT.png [--a NAME] [--b NAME] [--table]

RAW.tsv is bench-pair.sh's raw.tsv (round, target, workload, iops, mibps,
avg_us, ...), the rounds of both targets interleaved in one run. For each
workload the chart shows the median over rounds of the figure that matters
for it (mean latency for QD1 workloads, lower is better; IOPS for small
blocks; MiB/s for 64 KiB and larger), one bar per target with every round as
a dot, and the ratio B/A in the label (above 1.0 = B better, latency
inverted so that the same holds). --table also prints the Markdown table
that goes beside the chart in bench/REPORT.md.
"""
import argparse
import csv
import re
import statistics
import sys


def metric_of(workload):
    """(column, label, higher_is_better) for a workload name like 4k-randread-qd1."""
    m = re.match(r"(\d+)k-.*-qd(\d+)$", workload)
    size_k, qd = (int(m.group(1)), int(m.group(2))) if m else (4, 32)
    if qd == 1:
        return "avg_us", "mean latency (us)", False
    if size_k >= 64:
        return "mibps", "MiB/s", True
    return "iops", "IOPS", True


def load(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def summarise(rows, a, b):
    """[(workload, label, higher_better, a_vals, b_vals, ratio)] in first-seen order."""
    out = []
    for w in dict.fromkeys(r["workload"] for r in rows):
        col, label, higher = metric_of(w)
        vals = {t: [float(r[col]) for r in rows if r["workload"] == w and r["target"] == t]
                for t in (a, b)}
        if not vals[a] or not vals[b]:
            raise ValueError(f"workload {w}: no rounds for {a if not vals[a] else b}")
        ma, mb = statistics.median(vals[a]), statistics.median(vals[b])
        ratio = (mb / ma) if higher else (ma / mb)
        out.append((w, label, higher, vals[a], vals[b], ratio))
    return out


def table(summary, a, b):
    lines = [f"| workload | figure | {a} (median) | {b} (median) | {b} vs {a} |",
             "|---|---|---|---|---|"]
    for w, label, higher, va, vb, ratio in summary:
        lines.append(f"| {w} | {label} | {statistics.median(va):.1f} | "
                     f"{statistics.median(vb):.1f} | {ratio:.2f}x {'better' if ratio >= 1 else 'worse'} |")
    return "\n".join(lines)


def draw(summary, a, b, out):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(summary), figsize=(3.2 * len(summary), 4), squeeze=False)
    for ax, (w, label, higher, va, vb, ratio) in zip(axes[0], summary):
        meds = [statistics.median(va), statistics.median(vb)]
        ax.bar([0, 1], meds, color=["#7f7f7f", "#1f77b4"], width=0.6)
        for x, vals in ((0, va), (1, vb)):
            ax.plot([x] * len(vals), vals, "k.", markersize=4)
        ax.set_xticks([0, 1], [a, b])
        ax.set_title(f"{w}\n{b}/{a}: {ratio:.2f}x ({'higher' if higher else 'lower'} "
                     "is better)", fontsize=9)
        ax.set_ylabel(label, fontsize=8)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=90)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("raw")
    ap.add_argument("out")
    ap.add_argument("--a", default="spdk")
    ap.add_argument("--b", default="unvmf")
    ap.add_argument("--table", action="store_true")
    args = ap.parse_args()
    summary = summarise(load(args.raw), args.a, args.b)
    if args.table:
        print(table(summary, args.a, args.b))
    draw(summary, args.a, args.b, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
