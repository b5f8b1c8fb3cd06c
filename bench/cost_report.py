#!/usr/bin/env python3
"""cost.tsv files (bench/cost.sh, any number of targets and modes) as one markdown table per workload."""
import collections
import csv
import sys

rows = [r for path in sys.argv[1:] for r in csv.DictReader(open(path), delimiter="\t")]
data = collections.OrderedDict()
targets = []
for r in rows:
    t = f"{r['target']} ({r['mode']})"
    if t not in targets:
        targets.append(t)
    data.setdefault(r["workload"], {}).setdefault(t, {})[r["measure"]] = float(r["value"])


IO_PATH = {"recvmsg", "readv", "sendmsg", "writev", "recvfrom", "sendto", "epoll_ctl"}


def fmt(v, digits=2):
    if v is None:
        return "-"
    return f"{v:.0f}" if abs(v) >= 100 else f"{v:.{digits}f}"


for w, per in data.items():
    if w == "idle":
        continue
    print(f"### {w}\n")
    print("| measure | " + " | ".join(targets) + " |")
    print("|---|" + "---:|" * len(targets))
    for m, label in (("work_ir_per_io", "user instructions / IO (work handlers, callgrind)"),
                     ("ir_raw_per_io", "user instructions / IO (raw, callgrind)"),
                     ("polls_per_io", "poll iterations / IO (callgrind)")):
        print(f"| {label} | " + " | ".join(fmt(per.get(t, {}).get(m)) for t in targets) + " |")
    scs = sorted({m for t in targets for m in per.get(t, {}) if m.startswith("syscall_")
                  and not m.endswith("_eagain")})
    total = {t: 0.0 for t in targets}
    for m in scs:
        name = m[len("syscall_"):]
        vals = [per.get(t, {}).get(m) for t in targets]
        errs = [per.get(t, {}).get(m + "_eagain") for t in targets]
        if all((v or 0) < 0.001 for v in vals) or name not in IO_PATH | {"epoll_wait", "all"}:
            continue
        if name in IO_PATH:
            for t, v in zip(targets, vals):
                total[t] += v or 0
        cells = [f"{fmt(v, 3)}" + (f" ({fmt(e, 3)} err)" if e and e >= 0.001 else "")
                 for v, e in zip(vals, errs)]
        print(f"| {name} / IO | " + " | ".join(cells) + " |")
    print("| I/O-path syscalls / IO (receive, send, epoll_ctl) | " + " | ".join(fmt(total[t], 3) for t in targets) + " |")
    print()
idle = data.get("idle", {})
if idle:
    print("Empty poll iteration with a connection open (user instructions): " +
          ", ".join(f"{t} {fmt(idle[t].get('ir_per_empty_poll'))}" for t in targets if t in idle))
