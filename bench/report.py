#!/usr/bin/env python3
"""Writes the loopback benchmark report (Markdown) from unvmf-perf --json runs.

    bench/report.py RAW_DIR ROUNDS SECONDS TARGET_EXIT_STATUS

RAW_DIR holds NAME.ROUND.json for each workload below. The reference column
is not measured here: it holds the SPDK nvmf_tgt figures quoted in the project
brief for this kind of machine, to read our figures against. Exit status 1
when the target did not exit 0 after the runs (the report says so).
"""
import json
import os
import platform
import sys

# name, reference IOPS, reference MB/s (decimal), reference mean latency µs; from the brief.
WORKLOADS = [
    ("4k-randread-qd1", 50_000, None, 20.0),
    ("4k-randread-qd32", 500_000, None, None),
    ("4k-randread-qd128", 500_000, None, None),
    ("128k-read-qd16", None, 5_000.0, None),
]
GOAL = 1.2  # the brief's goal: SPDK's figure + 20 %


def median_run(runs):
    order = sorted(range(len(runs)), key=lambda i: runs[i]["iops"])
    return runs[order[len(runs) // 2]]


def main():
    raw, rounds, secs, tgt_rc = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    out = []
    p = out.append
    p("# unvmf loopback benchmark\n")
    p(f"NVMe/TCP over 127.0.0.1, null namespace, target busy-polling on core 0, unvmf-perf on "
      f"core 1; {rounds} interleaved rounds of {secs} s each. Median of rounds.\n")
    p("| workload | IOPS | MB/s | MiB/s | mean µs | p50 µs | p99 µs | p99.9 µs | rounds (IOPS) |")
    p("|---|---|---|---|---|---|---|---|---|")
    rows = []
    for name, ref_iops, ref_mbps, ref_mean in WORKLOADS:
        runs = [json.load(open(f"{raw}/{name}.{r}.json")) for r in range(1, rounds + 1)]
        m = median_run(runs)
        lat = m["latency_us"]
        mbps = m["mibps"] * 1048576 / 1e6
        rows.append((name, m, mbps, ref_iops, ref_mbps, ref_mean))
        p(f"| {name} | {m['iops']:.0f} | {mbps:.1f} | {m['mibps']:.1f} | {lat['avg']:.1f} | "
          f"{lat['p50']:.1f} | {lat['p99']:.1f} | {lat['p99_9']:.1f} | "
          f"{', '.join('%.0f' % x['iops'] for x in runs)} |")

    p("\n## Against the reference\n")
    p("Reference figures are **not measured here**: they are the SPDK nvmf_tgt figures the "
      "project brief gives for this kind of machine (4 KiB randread ~50K IOPS at QD1 with "
      "~20 µs mean latency, ~500K IOPS at QD32 and QD128; 128 KiB read ~5 GB/s at QD16). "
      f"The goal is the reference + 20 % (x{GOAL}). Ratio = ours / reference.\n")
    p("| workload | metric | ours | reference (brief, SPDK) | ratio | goal (x1.2) | goal met |")
    p("|---|---|---|---|---|---|---|")
    for name, m, mbps, ref_iops, ref_mbps, ref_mean in rows:
        if ref_iops is not None:
            r = m["iops"] / ref_iops
            p(f"| {name} | IOPS | {m['iops']:.0f} | ~{ref_iops} | {r:.2f} | "
              f"{ref_iops * GOAL:.0f} | {'yes' if r >= GOAL else 'no'} |")
        if ref_mbps is not None:
            r = mbps / ref_mbps
            p(f"| {name} | MB/s | {mbps:.0f} | ~{ref_mbps:.0f} | {r:.2f} | "
              f"{ref_mbps * GOAL:.0f} | {'yes' if r >= GOAL else 'no'} |")
        if ref_mean is not None:
            mean = m["latency_us"]["avg"]
            # Lower is better: the goal is a mean at most reference / 1.2.
            p(f"| {name} | mean µs (lower is better) | {mean:.1f} | ~{ref_mean:.0f} | "
              f"{mean / ref_mean:.2f} | {ref_mean / GOAL:.1f} | "
              f"{'yes' if mean <= ref_mean / GOAL else 'no'} |")

    errors = sum(x["io_errors"] for _, x, *_ in rows)
    p(f"\nI/O errors in the median runs: {errors}. "
      f"Target exit status after the runs: {tgt_rc}"
      f"{'' if tgt_rc == 0 else ' (NOT a clean shutdown: see the target log)'}.")
    p(f"\nMachine: {os.cpu_count()} cores, {platform.platform()}.")
    print("\n".join(out))
    return 0 if tgt_rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
