#!/bin/sh
# The negative control end to end: the deliberately broken build
# (unvmf-sim-broken, a move that skips the unlink) must fail a seed with the
# queue invariant; the shrinker reduces that seed's fault schedule; the
# printed minimal REPLAY line, run as printed, must fail again with the same
# invariant.
#   negative_replay.sh BROKEN_BINARY REGEX [SEEDS]
set -u
bin=$1 re=$2 seeds=${3:-200}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

"$bin" --first 1 --seeds "$seeds" --jobs 1 --expect-failure="$re" >"$log" 2>/dev/null
seed=$(sed -n 's/^seed \([0-9][0-9]*\) FAILED: .*/\1/p' "$log" | head -n 1)
if [ -z "$seed" ]; then
	echo "negative_replay: no seed of $bin failed in $seeds seeds"; exit 1
fi
line=$(grep -A1 "^seed $seed FAILED" "$log" | sed -n 's/^REPLAY: //p' | head -n 1)
echo "first failing seed: $seed: $line"
faults=$(printf '%s\n' "$line" | sed -n "s/.*--faults '\([^']*\)'.*/\1/p")
"$bin" --seed "$seed" --faults "$faults" --shrink --expect-failure="$re" >"$log" 2>/dev/null
cat "$log"
minimal=$(sed -n 's/^minimal REPLAY: //p' "$log")
if [ -z "$minimal" ]; then
	echo "negative_replay: the shrinker printed no minimal replay line"; exit 1
fi
# Run the line as printed (it quotes its own fault schedule).
eval "$minimal" >"$log" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
	echo "negative_replay: the minimal replay passed: $minimal"; exit 1
fi
if ! grep -Eq "$re" "$log"; then
	echo "negative_replay: the replay failed (rc $rc) but not with /$re/:"; tail -n 20 "$log"; exit 1
fi
echo "replay failed again (rc $rc) with: $(grep -Eo "$re" "$log" | head -n 1)"
