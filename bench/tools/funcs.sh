#!/usr/bin/env bash
# bench: the function-layer tools against native and their peers, in one
# run, alternating (native, null, tool, peer, ...), median wall time of R
# runs:   bench/tools/funcs.sh [R] [--lurk PATH]
#   heapstat on a python3 json/re workload, beside valgrind memcheck
#   profile at 1 kHz on python3 and sqlite3, beside the null tool
# Prints each side's seconds and ratios; checks that each run's stdout is
# the native one (a differing run is marked WRONG and not used).
set -eu
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/../.." && pwd)
R=${1:-5}; LURK=${LURK:-$root/build/lurk}
[ "${2:-}" = --lurk ] && LURK=$3
out=$root/build/bench/funcs; mkdir -p "$out"
export PYTHONHASHSEED=0
PY='import json, re
for r in range(6):
    d = [{"k": i, "v": "x" * (i % 50)} for i in range(100000)]
    s = json.dumps(d); t = json.loads(s)
    print(len(s), len(t), len(re.findall(r"\"k\": \d+", s)))'
SQL="$out/q.sql"
cat > "$SQL" <<'SQLEOF'
create table t(a integer primary key, b text);
with recursive c(x) as (select 1 union all select x+1 from c where x<300000) insert into t select x, printf('row %d', x * 7919 % 300007) from c;
create index ib on t(b);
select count(*), sum(length(b)) from t where b like 'row 1%';
SQLEOF

# wall seconds of a command (stdout to $out/last.out)
t() { local s e; s=$(date +%s.%N); "$@" >"$out/last.out" 2>/dev/null || true; e=$(date +%s.%N); echo "$e - $s" | bc -l; }
med() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A all
run() { # side-name workload-name command...
  local side=$1 w=$2; shift 2
  local s; s=$(t "$@")
  if cmp -s "$out/last.out" "$out/$w.ref"; then all[$w.$side]+="$s "; else all[$w.$side]+=""; echo "WRONG: $side on $w" >&2; fi
}
python3_=(/usr/bin/python3 -c "$PY"); sqlite_=(sqlite3 :memory: ".read $SQL")
/usr/bin/python3 -c "$PY" >"$out/py.ref"; sqlite3 :memory: ".read $SQL" >"$out/sql.ref"
for ((i = 0; i < R; i++)); do
  run native py "${python3_[@]}"
  run null py "$LURK" run -- "${python3_[@]}"
  run heapstat py "$LURK" run heapstat --top 0 -- "${python3_[@]}"
  run profile py "$LURK" run profile --top 0 -- "${python3_[@]}"
  run memcheck py valgrind -q --tool=memcheck "${python3_[@]}"
  run native sql "${sqlite_[@]}"
  run null sql "$LURK" run -- "${sqlite_[@]}"
  run profile sql "$LURK" run profile --top 0 -- "${sqlite_[@]}"
done
m() { echo "${all[$1]:-}" | med; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && echo "$1 / $2" | bc -l || echo nan; }
printf "median of %d runs, wall seconds (commit %s)\n" "$R" "$(git -C "$root" rev-parse --short HEAD)"
for w in py sql; do
  n=$(m $w.native); u=$(m $w.null)
  printf "%-4s native %.3f s, null %.3f s (%.2fx)\n" "$w" "$n" "$u" "$(ratio "$u" "$n")"
  for side in heapstat profile memcheck; do
    v=$(m $w.$side); [ -z "$v" ] && continue
    printf "%-4s %-9s %7.3f s  %6.2fx native  %6.2fx null\n" "$w" "$side" "$v" "$(ratio "$v" "$n")" "$(ratio "$v" "$u")"
  done
done
