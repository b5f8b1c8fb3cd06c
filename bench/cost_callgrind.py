#!/usr/bin/env python3
"""Per-I/O user-space instructions from callgrind dumps (bench/cost.sh).

cost_callgrind.py --poll FN --exec FN --work FN,FN,... CALLGRIND_OUT "name:... name:..."
Reads every CALLGRIND_OUT.N part, finds the one dumped as "idle" and one per workload
(callgrind_control -d NAME), and prints name<TAB>measure<TAB>value rows:
  ir_raw_per_io   all instructions of the target / I/Os
  polls_per_io    poll group iterations / I/Os (how much the target spun)
  ir_per_io       (Ir - polls * Ir per empty poll) / I/Os (meaningless when the target spun
                  thousands of times per I/O: an estimate off by 1 % then swamps it)
  work_ir_per_io  inclusive instructions of the work functions / I/Os: the handlers a poll
                  calls only when there is something to do (socket readable, bdev I/O done,
                  bytes to send), so the spinning between I/Os is left out by construction;
                  one the idle dump shows called on empty polls too has that per-call cost
                  taken off each of its calls
The I/O count is the number of calls of the exec function (every command, admin ones too: a
handful per run), the poll count that of the poll function.
"""
import argparse
import collections
import glob
import re
import sys


def parse(path):
    names, calls, incl = {}, collections.Counter(), collections.Counter()
    total, trigger, cfn, fn = 0, None, None, None
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("cfn="):
                m = re.match(r"cfn=\((\d+)\)(?: (.*))?", line.strip())
                if m.group(2):
                    names[m.group(1)] = m.group(2)
                cfn = names.get(m.group(1), m.group(1))
            elif line.startswith("fn="):
                m = re.match(r"fn=\((\d+)\)(?: (.*))?", line.strip())
                if m and m.group(2):
                    names[m.group(1)] = m.group(2)
                fn = names.get(m.group(1), m.group(1)) if m else None
            elif fn and line[:1] in "0123456789+-*":
                # A cost line: self cost, or after calls= the inclusive cost of those calls.
                incl[fn] += int(line.split()[-1])
            elif line.startswith("calls=") and cfn:
                calls[cfn] += int(line[6:].split()[0])
                cfn = None
            elif line.startswith("summary:"):
                total = int(line.split()[1])
            elif line.startswith("desc: Trigger:"):
                trigger = line.split(":", 2)[2].strip()
    return trigger, total, calls, incl


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--poll", required=True)
    ap.add_argument("--exec", dest="exec_fn", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("out")
    ap.add_argument("workloads")
    a = ap.parse_args()
    parts = {}
    for path in glob.glob(a.out + ".*"):
        trigger, total, calls, incl = parse(path)
        if trigger and trigger.startswith("dump w:"):
            parts[trigger[7:]] = (total, calls, incl)
    if "idle" not in parts:
        sys.exit("no idle dump")
    itotal, icalls, iincl = parts["idle"]
    work_fns = a.work.split(",")
    # A work function also called on empty polls (SPDK's _sock_flush) costs this much per call
    # for nothing: taken off every call, productive ones included (a slight underestimate).
    empty_call = {f: iincl[f] / icalls[f] if icalls[f] else 0.0 for f in work_fns}
    per_poll = itotal / max(icalls[a.poll], 1)
    print(f"idle\tir_per_empty_poll\t{per_poll:.0f}")
    for w in a.workloads.split():
        name = w.split(":")[0]
        if name not in parts:
            print(f"{name}\tmissing\t1")
            continue
        total, calls, incl = parts[name]
        ios, polls = calls[a.exec_fn], calls[a.poll]
        if not ios:
            print(f"{name}\tios_callgrind\t0")
            continue
        print(f"{name}\tios_callgrind\t{ios}")
        print(f"{name}\tir_raw_per_io\t{total / ios:.0f}")
        print(f"{name}\tpolls_per_io\t{polls / ios:.2f}")
        print(f"{name}\tir_per_io\t{(total - polls * per_poll) / ios:.0f}")
        work = sum(incl[f] - calls[f] * empty_call[f] for f in work_fns)
        print(f"{name}\twork_ir_per_io\t{work / ios:.0f}")


if __name__ == "__main__":
    main()
