#!/usr/bin/env bash
# lurk: interval-timer signal rate (issue 17). Runs spec/e2e/progs/
# sig_itimer_rate (10,000 ITIMER_REAL signals at 100 us, then 250
# ITIMER_PROF signals, each taken by a counting handler during a hot loop)
# and stress_timer (100,000 SIGALRMs at 10 us) natively and under lurk, and
# prints the best-of-N wall times and their ratio; with --strace, the system
# calls each side makes (strace -f -c), to show what a delivery costs.
#
#   bench/itimer.sh [--runs N] [--lurk PATH] [--strace]
#
# The goal (issue 17): within 2x native wall time. The e2e case
# c_sig_itimer_rate checks the output only (no timed assertion).
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
lurk="$root/build/lurk" runs=3 do_strace=0
while (($#)); do
  case $1 in
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --lurk) lurk=${2:?--lurk needs a path}; shift 2 ;;
    --strace) do_strace=1; shift ;;
    -h|--help) sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "itimer.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -x "$lurk" ] || { echo "itimer.sh: no lurk at $lurk (build first)" >&2; exit 2; }
bin="$root/build/e2e-bin"
"$root/spec/e2e/build.sh" "$bin" >/dev/null || exit 2

# best wall time (s) of $runs runs of "$@"; stdout must be the same each time
best() {
  local b='' t0 t1 t out
  for ((i = 0; i < runs; i++)); do
    t0=$(date +%s.%N)
    out=$("$@") || { echo "itimer.sh: $* failed" >&2; exit 1; }
    t1=$(date +%s.%N)
    t=$(echo "$t1 - $t0" | bc)
    if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
  done
  printf '%.3f' "$b"
}

for prog in sig_itimer_rate stress_timer; do
  n=$(best "$bin/$prog")
  l=$(best "$lurk" run -- "$bin/$prog")
  printf '%-16s native %6.3f s   lurk %6.3f s   ratio %.2fx\n' "$prog" "$n" "$l" "$(echo "$l / $n" | bc -l)"
done
if [ "$do_strace" = 1 ]; then
  command -v strace >/dev/null || { echo "itimer.sh: strace not installed" >&2; exit 2; }
  for side in native lurk; do
    f=$(mktemp)
    if [ $side = native ]; then strace -f -c -o "$f" "$bin/sig_itimer_rate" >/dev/null
    else strace -f -c -o "$f" "$lurk" run -- "$bin/sig_itimer_rate" >/dev/null; fi
    echo "sig_itimer_rate, $side: system calls (strace -f -c, top 4)"
    sed -n '3,6p' "$f" | awk '{ printf "  %-20s %8d\n", $NF, $4 }'
    awk '/total/ { printf "  %-20s %8d\n", "total", $4 }' "$f"
    rm -f "$f"
  done
fi
