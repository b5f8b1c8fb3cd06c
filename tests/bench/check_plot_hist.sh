#!/bin/sh
# bench/plot_hist.py on made-up histograms in both of unvmf-perf's --histogram
# formats: a PNG comes out of each, an empty histogram is refused. Skipped
# (77) when no python3 on the PATH or in /usr/bin has matplotlib.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
plot="$here/../../bench/plot_hist.py"
. "$here/find_py.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/h.json" <<'JSON'
{"unit": "ns", "count": 6, "min": 9000, "max": 130000, "mean": 40000.0, "buckets": [
  {"lo": 8960, "hi": 9023, "count": 3},
  {"lo": 20480, "hi": 20607, "count": 2},
  {"lo": 129024, "hi": 130047, "count": 1}
]}
JSON
printf 'lo_ns,hi_ns,count\n8960,9023,3\n20480,20607,2\n129024,130047,1\n' >"$work/h.csv"
for f in h.json h.csv; do
	out=$("$py" "$plot" "$work/$f" "$work/$f.png")
	echo "$out"
	# p50 falls in the first bucket (3 of 6), p99 in the last.
	echo "$out" | grep -q "6 I/Os, p50 9.0 µs, p99 130.0 µs"
	[ "$(head -c 8 "$work/$f.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
done
printf '{"unit": "ns", "buckets": []}\n' >"$work/empty.json"
if "$py" "$plot" "$work/empty.json" "$work/empty.png" 2>/dev/null; then
	echo "FAIL: an empty histogram was plotted"
	exit 1
fi
echo "plot_hist: ok"
