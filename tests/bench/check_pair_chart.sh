#!/bin/sh
# bench/pair_chart.py on a made-up bench-pair raw.tsv: the medians and the
# ratios (latency inverted) in its table, a PNG out, and a run missing one
# target's rounds refused. Skipped (77) when no python3 has matplotlib.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
chart="$here/../../bench/pair_chart.py"
. "$here/find_py.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
t=$(printf '\t')
{
	echo "round${t}target${t}workload${t}iops${t}mibps${t}avg_us${t}min_us${t}max_us"
	# QD1: latency 10/9/11 for spdk (median 10), 8/8/20 for unvmf (median 8): 1.25x better.
	for r in "1 10 8" "2 9 8" "3 11 20"; do
		set -- $r
		echo "$1${t}spdk${t}4k-randread-qd1${t}100000${t}390${t}$2${t}5${t}50"
		echo "$1${t}unvmf${t}4k-randread-qd1${t}120000${t}470${t}$3${t}5${t}50"
	done
	# QD128 IOPS: 900/910/890 vs 450/460/440: 0.50x worse.
	for r in "1 900000 450000" "2 910000 460000" "3 890000 440000"; do
		set -- $r
		echo "$1${t}spdk${t}4k-randread-qd128${t}$2${t}1${t}1${t}1${t}1"
		echo "$1${t}unvmf${t}4k-randread-qd128${t}$3${t}1${t}1${t}1${t}1"
	done
	# 128k: MiB/s 5000 vs 6000: 1.20x better.
	echo "1${t}spdk${t}128k-read-qd16${t}40000${t}5000${t}1${t}1${t}1"
	echo "1${t}unvmf${t}128k-read-qd16${t}48000${t}6000${t}1${t}1${t}1"
} >"$work/raw.tsv"
out=$("$py" "$chart" "$work/raw.tsv" "$work/c.png" --table)
echo "$out"
echo "$out" | grep -q '| 4k-randread-qd1 | mean latency (us) | 10.0 | 8.0 | 1.25x better |'
echo "$out" | grep -q '| 4k-randread-qd128 | IOPS | 900000.0 | 450000.0 | 0.50x worse |'
echo "$out" | grep -q '| 128k-read-qd16 | MiB/s | 5000.0 | 6000.0 | 1.20x better |'
[ "$(head -c 8 "$work/c.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ]
grep -v unvmf "$work/raw.tsv" >"$work/half.tsv"
if "$py" "$chart" "$work/half.tsv" "$work/h.png" 2>/dev/null; then
	echo "FAIL: a run without one target's rounds was charted"
	exit 1
fi
echo "pair_chart: ok"
