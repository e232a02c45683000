#!/usr/bin/env bash
# bench: the cost of a clean call that is made. Builds spec/lua/wrap_prog.c,
# then times its `bench` mode (a loop calling a noinline function N times)
# natively, under the null tool, and with a call made at the function's
# entry (bench/tools/call.lua, --no-inline), alternating, median of R runs
# each. Prints ns per call over the null tool (CPU time).
#   bench/tools/call.sh [N] [R] [--lurk PATH]
set -eu
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
N=${1:-20000000}; R=${2:-5}; LURK=${LURK:-$root/build/lurk}
[ "${3:-}" = --lurk ] && LURK=$4
. "$here/callbench.sh" call
declare -A all
for ((i = 0; i < R; i++)); do
  all[native]+="$(t "$out/wrap_prog" bench "$N") "
  all[null]+="$(t "$LURK" run -- "$out/wrap_prog" bench "$N") "
  all[call]+="$(t "$LURK" run --no-inline "$here/call.lua" "$addr" -- "$out/wrap_prog" bench "$N") "
done
nat=$(echo "${all[native]}" | med); nul=$(echo "${all[null]}" | med); m=$(echo "${all[call]}" | med)
printf "calls %d, median of %d runs\n" "$N" "$R"
printf "%-12s %8.3f s\n" native "$nat" "null tool" "$nul"
printf "%-12s %8.3f s   %6.1f ns/call over the null tool\n" "call made" "$m" "$(echo "($m - $nul) * 1000000000 / $N" | bc -l)"
