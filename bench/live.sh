#!/usr/bin/env bash
# lurk: costs of live control (issue #13), printed as a small table.
# Usage: bench/live.sh [--lurk PATH]
#  - detach: a loop's chunk time after lurk.detach() vs native (median of the
#    chunks after the detach vs median of a native run's chunks);
#  - lurk.stop()+lurk.cont(), lurk.flush(), %reload and lurk.detach() round
#    trips through lurk nudge on python3 (wall time of the nudge, median of 5);
#  - an idle channel with --watch vs --ctl vs none on a python3 loop;
#  - lurk attach: its time on python3, and a loop's chunks after the detach
#    vs before the attach in the same native run.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
LURK=${LURK:-$root/build/lurk}
if [ "${1:-}" = --lurk ]; then LURK=$2; fi
tmp=$(mktemp -d /tmp/lurk-live.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/chunks" "$here/workloads/chunks.c" || exit 1
med() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { date +%s%N; }

# detach: native chunks vs chunks after detach
"$tmp/chunks" 30 2>"$tmp/native.ns" >/dev/null
"$LURK" run --ctl -- "$tmp/chunks" 30 2>"$tmp/lurk.ns" >/dev/null &
pid=$!
until [ -S /tmp/lurk-$(id -u)/$pid ]; do sleep 0.01; done
until [ "$(grep -c . "$tmp/lurk.ns")" -ge 3 ]; do sleep 0.01; done
"$LURK" nudge $pid 'return lurk.detach()' >/dev/null
before=$(grep -c . "$tmp/lurk.ns")
wait $pid
nat=$(med <"$tmp/native.ns")
under=$(head -n 2 "$tmp/lurk.ns" | med)
after=$(tail -n +$((before + 2)) "$tmp/lurk.ns" | med)
awk -v n="$nat" -v u="$under" -v a="$after" 'BEGIN {
  printf "| loop chunk, native | %.1f ms |\n", n / 1e6
  printf "| loop chunk, under lurk before detach | %.1f ms |\n", u / 1e6
  printf "| loop chunk, after lurk.detach() | %.1f ms (%+.1f%% vs native) |\n", a / 1e6, (a - n) * 100 / n }'

# attach: a native run's chunks before lurk attach vs after the detach;
# the attach's own time (the launcher's count: seize to the last thread
# under lurk) and the wall time of lurk attach -e (process start, attach,
# one request) on python3, medians of 5 attach/detach cycles
"$tmp/chunks" 40 2>"$tmp/att.ns" >"$tmp/att.out" &
pid=$!
until [ "$(grep -c . "$tmp/att.ns")" -ge 6 ]; do sleep 0.01; done
pre=$(grep -c . "$tmp/att.ns")
"$LURK" attach $pid -e 'return 1' >/dev/null
until [ "$(grep -c . "$tmp/att.ns")" -ge $((pre + 2)) ]; do sleep 0.01; done
"$LURK" nudge $pid 'return lurk.detach()' >/dev/null
det=$(grep -c . "$tmp/att.ns")
wait $pid
bef=$(head -n $((pre - 1)) "$tmp/att.ns" | tail -n +2 | med)
aft=$(tail -n +$((det + 2)) "$tmp/att.ns" | med)
awk -v n="$nat" -v b="$bef" -v a="$aft" 'BEGIN {
  printf "| loop chunk, native run before lurk attach | %.1f ms |\n", b / 1e6
  printf "| loop chunk, the same run after attach and lurk.detach() | %.1f ms (%+.1f%% vs before attach) |\n", a / 1e6, (a - b) * 100 / b }'
"$tmp/chunks" 40 2>/dev/null | cmp -s - "$tmp/att.out" || echo "| (chunks: output after attach/detach differs from native!) | |"
py3="$tmp/attach.py"
printf 'import threading, time\ndef w():\n    t = 0\n    while True: t += sum(range(1000))\nthreading.Thread(target=w, daemon=True).start()\nwhile True: time.sleep(0.01)\n' >"$py3"
python3 "$py3" 2>/dev/null &
pid=$!
sleep 0.5
for i in 1 2 3 4 5; do
  t0=$(ms); "$LURK" attach --log info $pid -e 'return lurk.stats().blocks > 0' 2>>"$tmp/att.log" >/dev/null; t1=$(ms)
  echo $(( (t1 - t0) / 1000 )) >>"$tmp/attwall"
  "$LURK" nudge $pid 'return lurk.detach()' >/dev/null
  sleep 0.2
done
kill $pid; wait $pid 2>/dev/null
awk -v m="$(med <"$tmp/attwall")" 'BEGIN { printf "| `lurk attach PID -e ...` on python3 (2 threads), wall: start, attach, first blocks, reply | %.1f ms |\n", m / 1000 }'
sed -n 's/.* in \([0-9.]*\) ms .*/\1/p' "$tmp/att.log" >"$tmp/attms"
awk -v f="$(head -n 1 "$tmp/attms")" -v m="$(tail -n +2 "$tmp/attms" | med)" 'BEGIN {
  printf "| the attach itself (seize to every thread under lurk), python3, first (with dlopen) | %.1f ms |\n", f
  printf "| the same, attaching again after a detach (median of 4) | %.1f ms |\n", m }'
head -n 1 "$tmp/attwall" | awk '{ printf "| `lurk attach PID -e ...` wall, first attach | %.1f ms |\n", $1 / 1000 }'

# round trips on python3
py="$tmp/loop.py"
printf 'import time\nt = 0\nwhile True:\n    t += sum(range(1000))\n' >"$py"
echo 'local K = lurk.keep; K.n = (K.n or 0); lurk.on("syscall_pre", function() K.n = K.n + 1 end)' >"$tmp/tool.lua"
"$LURK" run --ctl "$tmp/tool.lua" -- python3 "$py" &
pid=$!
until [ -S /tmp/lurk-$(id -u)/$pid ]; do sleep 0.01; done
sleep 0.5
for what in 'return 1' 'lurk.stop(); lurk.cont()' 'lurk.flush()' "require('lurk.repl').reload()"; do
  for i in 1 2 3 4 5; do
    t0=$(ms); "$LURK" nudge $pid "$what" >/dev/null; t1=$(ms)
    echo $(( (t1 - t0) / 1000 ))
  done | med >"$tmp/m"
  awk -v w="$what" -v m="$(cat "$tmp/m")" 'BEGIN { printf "| nudge `%s` | %.1f ms |\n", w, m / 1000 }'
done
t0=$(ms); "$LURK" nudge $pid 'return lurk.detach()' >/dev/null; t1=$(ms)
awk -v d="$((t1 - t0))" 'BEGIN { printf "| nudge `return lurk.detach()` (python3) | %.1f ms |\n", d / 1e6 }'
kill $pid; wait $pid 2>/dev/null

# idle channel / --watch on a python3 loop
py2="$tmp/fixed.py"
printf 't = 0\nfor i in range(3000):\n    t += sum(range(2000))\nprint(t)\n' >"$py2"
echo 'x = 1' >"$tmp/w.lua"
for mode in none ctl watch; do
  case $mode in none) args=(-e 'x=1');; ctl) args=(--ctl -e 'x=1');; watch) args=(--watch "$tmp/w.lua");; esac
  for i in 1 2 3 4 5; do
    t0=$(ms); "$LURK" run "${args[@]}" -- python3 "$py2" >/dev/null; t1=$(ms)
    echo $(( (t1 - t0) / 1000 ))
  done | med >"$tmp/m"
  awk -v w="$mode" -v m="$(cat "$tmp/m")" 'BEGIN { printf "| python3 loop, %s | %.0f ms |\n", w, m / 1000 }'
done
