#!/usr/bin/env bash
# bench: the cost of a wrapped call. Builds spec/lua/wrap_prog.c, then times
# its `bench` mode (a loop calling a noinline function N times) natively,
# under the null tool, and wrapped with empty Lua pre and post (and each
# alone), alternating, median of R runs each. Prints ns per call over native
# and over the null tool (CPU time).   bench/tools/wrap.sh [N] [R] [--lurk PATH]
set -eu
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
N=${1:-10000000}; R=${2:-5}; LURK=${LURK:-$root/build/lurk}
[ "${3:-}" = --lurk ] && LURK=$4
. "$here/callbench.sh" wrap
declare -A all
for ((i = 0; i < R; i++)); do
  all[native]+="$(t "$out/wrap_prog" bench "$N") "
  all[null]+="$(t "$LURK" run -- "$out/wrap_prog" bench "$N") "
  for w in both pre post; do
    all[$w]+="$(t "$LURK" run "$here/wrap.lua" "$addr" $w -- "$out/wrap_prog" bench "$N") "
  done
done
nat=$(echo "${all[native]}" | med); nul=$(echo "${all[null]}" | med)
printf "calls %d, median of %d runs\n" "$N" "$R"
printf "%-22s %8.3f s\n" native "$nat" "null tool" "$nul"
for w in both pre post; do
  m=$(echo "${all[$w]}" | med)
  printf "%-22s %8.3f s   %6.1f ns/call over native, %6.1f over null\n" "wrapped ($w)" "$m" \
    "$(echo "($m - $nat) * 1000000000 / $N" | bc -l)" "$(echo "($m - $nul) * 1000000000 / $N" | bc -l)"
done
