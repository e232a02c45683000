#!/usr/bin/env bash
# bench: scripts/callgrind.lua against valgrind --tool=callgrind. Times the
# spec's workloads (spec/lua/callgrind_prog.c at -O0, cc1 -O2 on a generated
# C file of 12 functions, a python3 json/re loop) natively, under lurk's
# callgrind and under Valgrind's, alternating, median of R runs each (CPU
# time). Prints the ratios to native and lurk / valgrind.
#   bench/tools/callgrind.sh [R] [--lurk PATH]
set -eu
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
R=${1:-3}; LURK=${LURK:-$root/build/lurk}
[ "${2:-}" = --lurk ] && LURK=$3
out=$root/build/bench/callgrind; mkdir -p "$out"
gcc -O0 -g -pthread -o "$out/cgprog" "$root/spec/lua/callgrind_prog.c"
python3 "$root/bench/workloads/gen_csrc.py" 12 >"$out/in.c"
gcc -E "$out/in.c" -o "$out/in.i"
CC1=$(gcc -print-prog-name=cc1)
t() { local TIMEFORMAT='%3U + %3S'; { time "$@" >/dev/null 2>&1; } 2>&1 | bc -l; }
med() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf "%-8s %9s %9s %9s %8s %8s %8s\n" workload native lurk valgrind lurk/n vg/n lurk/vg
for w in cgprog cc1 python3; do
  case $w in
    cgprog) cmd=("$out/cgprog") ;;
    cc1) cmd=("$CC1" -quiet -O2 "$out/in.i" -o /dev/null) ;;
    python3) cmd=(/usr/bin/python3 -c 'import json,re; d=[json.dumps({"k":i,"v":str(i)*3}) for i in range(20000)]; print(sum(len(re.findall(r"\d+", s)) for s in d))') ;;
  esac
  n=; l=; v=
  for ((i = 0; i < R; i++)); do
    n+="$(t "${cmd[@]}") "
    l+="$(t "$LURK" run callgrind --out "$out/lurk.out" -- "${cmd[@]}") "
    v+="$(t valgrind --tool=callgrind --callgrind-out-file="$out/vg.out" "${cmd[@]}") "
  done
  n=$(echo "$n" | med); l=$(echo "$l" | med); v=$(echo "$v" | med)
  printf "%-8s %9.3f %9.3f %9.3f %8.1f %8.1f %8.2f\n" $w "$n" "$l" "$v" \
    "$(echo "$l / $n" | bc -l)" "$(echo "$v / $n" | bc -l)" "$(echo "$l / $v" | bc -l)"
done
