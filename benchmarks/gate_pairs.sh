#!/bin/bash
# Pairs of runs of one tmpfs volume through the 5% gate (and the 20% gate the test uses), and a
# loop image against the first run of the first 3 pairs: the sweeps of
# tests/integration/test_compare_gate.py, made with --fresh-rounds. Prints each compare line and its exit status. Runs go to a folder of their own
# (GATE_DIR, default /tmp/voltools-gate); PAIRS (default 24). README, "--fresh-rounds", quotes
# its output of 2026-12-06 (23 of 24 pairs exit 0 with the whole grid's model, 36 of 36 with the
# question's line; the loop image exit 1 in 3 of 3 both times; 10 of 10 on 2026-12-07, and 9 of 10
# with COMPACT=1, which compacts memory before each sweep).
set -u
cd "$(dirname "$0")/.."
V=".venv/bin/python -m voltools"
S="--question 64m@64k --max-point-size 64m --bs 16k,64k,256k --blocks 1,16,64 --repeat 3 --rw read --fresh-rounds -q"
D=${GATE_DIR:-/tmp/voltools-gate}
mkdir -p "$D"
for i in $(seq 1 "${PAIRS:-24}"); do
  for side in a b; do [ -n "${COMPACT:-}" ] && { sync; echo 1 >/proc/sys/vm/compact_memory; }; $V sweep $S --target tmpfs:size=128m,name=vol --run-id "g$i$side" --data-dir "$D" >/dev/null || exit 1; done
  out=$($V compare "g${i}a" "g${i}b" --data-dir "$D" --fail-if-slower 5% 2>&1); at5=$?
  $V compare "g${i}a" "g${i}b" --data-dir "$D" --fail-if-slower 20% >/dev/null 2>&1; at20=$?
  echo "pair $i exit $at5 (at 20%: $at20) $(grep ' vol ' <<<"$out" | tr -s ' ')"
  if [ "$i" -le 3 ]; then
    $V sweep $S --target loop:fs=ext4,size=256m,name=vol --run-id "g${i}s" --data-dir "$D" >/dev/null || exit 1
    out=$($V compare "g${i}a" "g${i}s" --data-dir "$D" --fail-if-slower 5% 2>&1); echo "slow $i exit $? $(grep ' vol ' <<<"$out" | tr -s ' ')"
  fi
done
