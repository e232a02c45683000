#!/usr/bin/env bash
# bench: the cost of a traced call in scripts/calltrace.lua. Builds
# spec/lua/calltrace_prog.c and times its `loop` mode (N calls of a noinline
# function, ct_ping) natively, under the null tool, and under calltrace
# tracing ct_ping: -c (counting only), lines to a file (-o), lines with a
# prototype (--proto) and -T; then ltrace -x on N/100 calls for reference.
# Median of R runs, CPU time (user + sys), ns per call over native.
#   bench/tools/calltrace.sh [N] [R] [--lurk PATH]
set -eu
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
N=${1:-1000000}; R=${2:-5}; LURK=${LURK:-$root/build/lurk}
[ "${3:-}" = --lurk ] && LURK=$4
out=$root/build/bench/calltrace; mkdir -p "$out"
gcc -O2 -fno-builtin -o "$out/ctprog" "$root/spec/lua/calltrace_prog.c" -lpthread
t() { local TIMEFORMAT='%3U + %3S'; { time "$@" >/dev/null 2>&1; } 2>&1 | bc -l; }
declare -A all
sides="native null count lines proto timed"
for ((i = 0; i < R; i++)); do
  rm -f "$out/trace.txt"
  all[native]+="$(t "$out/ctprog" loop "$N") "
  all[null]+="$(t "$LURK" run -- "$out/ctprog" loop "$N") "
  all[count]+="$(t "$LURK" run calltrace -c ct_ping -- "$out/ctprog" loop "$N") "
  all[lines]+="$(t "$LURK" run calltrace -o "$out/trace.txt" ct_ping -- "$out/ctprog" loop "$N") "
  rm -f "$out/trace.txt"
  all[proto]+="$(t "$LURK" run calltrace -o "$out/trace.txt" --proto 'int ct_ping(int x)' ct_ping -- "$out/ctprog" loop "$N") "
  rm -f "$out/trace.txt"
  all[timed]+="$(t "$LURK" run calltrace -o "$out/trace.txt" -T --proto 'int ct_ping(int x)' ct_ping -- "$out/ctprog" loop "$N") "
done
rm -f "$out/trace.txt"
med() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
nat=$(echo "${all[native]}" | med)
printf "traced calls %d, median of %d runs (CPU time)\n" "$N" "$R"
for s in $sides; do
  m=$(echo "${all[$s]}" | med)
  printf "%-8s %8.3f s   %8.1f ns/call over native\n" "$s" "$m" "$(echo "($m - $nat) * 1000000000 / $N" | bc -l)"
done
if command -v ltrace >/dev/null; then
  n=$((N / 100)); [ "$n" -gt 0 ] || n=1
  m=$(t ltrace -L -x ct_ping -o /dev/null "$out/ctprog" loop "$n")
  printf "%-8s %8.3f s   %8.1f ns/call over native (ltrace -x, %d calls)\n" ltrace "$m" \
    "$(echo "$m * 1000000000 / $n" | bc -l)" "$n"
fi
