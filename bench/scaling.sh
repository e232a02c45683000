#!/usr/bin/env bash
# bench/scaling.sh -- issue #20 part 6: many threads on 2 cores, and many
# shared libraries, native, lurk's null tool and DynamoRIO interleaved.
#   xz-T16  xz -9 -T16 --block-size=192KiB over the bench's 3 MB input
#           (16 encoder threads really work)
#   libs200 a program linked against 200 generated shared libraries, each
#           with a constructor and a function main calls
# Prints each side's median wall time over RUNS runs, the ratios, lurk's
# engine counters for one more run (--stats) and, for libs200, the
# start-up cost per library: (side - native) / 200. lurk starts (LD_PRELOAD)
# after ld.so has mapped and relocated the libraries, DynamoRIO at ld.so's
# first instruction: lurk's figure leaves ld.so's work native (issue #17).
#   bench/scaling.sh [RUNS] [--lurk PATH] [--dynamorio DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd); root=$(cd "$here/.." && pwd)
RUNS=3; LURK=$root/build/lurk; DR=${LURK_DYNAMORIO:-$(cd "$root/.." && pwd)/shared/anchors/dynamorio}
while [ $# -gt 0 ]; do
  case "$1" in
  --lurk) LURK=$2; shift 2 ;;
  --dynamorio) DR=$2; shift 2 ;;
  [0-9]*) RUNS=$1; shift ;;
  *) echo "scaling.sh: unknown option '$1' (RUNS, --lurk PATH, --dynamorio DIR)" >&2; exit 2 ;;
  esac
done
DRRUN=$DR/bin64/drrun
[ -x "$DRRUN" ] || { echo "scaling.sh: DynamoRIO not found: $DRRUN" >&2; exit 2; }
out=$root/build/bench/scaling; mkdir -p "$out/libs"
data=$root/build/bench/data/xz_input.bin
[ -f "$data" ] || { echo "scaling.sh: $data missing (run bench/run.sh --quick --filter xz once)" >&2; exit 2; }

# 200 libraries: lib$i.so with a constructor adding to a counter and f$i().
if [ ! -x "$out/libs200" ]; then
  : >"$out/main.c"
  for i in $(seq 0 199); do
    printf 'extern int libs_ctor_count;\nstatic void __attribute__((constructor)) c%d(void) { libs_ctor_count++; }\nint f%d(int x) { return x + %d; }\n' \
      "$i" "$i" "$i" >"$out/libs/l$i.c"
    gcc -O2 -fPIC -shared -o "$out/libs/libl$i.so" "$out/libs/l$i.c"
    printf 'int f%d(int);\n' "$i" >>"$out/main.c"
  done
  { printf '#include <stdio.h>\nint libs_ctor_count;\nint main(void) { int s = 0;\n'
    for i in $(seq 0 199); do printf '  s = f%d(s);\n' "$i"; done
    printf '  printf("%%d %%d\\n", libs_ctor_count, s); return 0; }\n'; } >>"$out/main.c"
  gcc -O2 -rdynamic -o "$out/libs200" "$out/main.c" -L"$out/libs" -Wl,-rpath,"$out/libs" \
    $(for i in $(seq 0 199); do printf -- '-ll%d ' "$i"; done)
fi

wl() {  # wl NAME -> the command
  case "$1" in
  xz-T16) echo "xz -9 -T16 --block-size=192KiB -c $data" ;;
  libs200) echo "$out/libs200" ;;
  esac
}
ms() { local a b; a=${EPOCHREALTIME/./}; "$@" >/dev/null 2>&1; b=${EPOCHREALTIME/./}; echo $(( (10#$b - 10#$a) / 1000 )); }
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-8s %10s %10s %10s %8s %8s %10s\n' workload 'native ms' 'lurk ms' 'DR ms' lurk DR 'lurk/DR'
for w in xz-T16 libs200; do
  cmd=$(wl "$w"); ref=$($cmd | sha256sum)
  [ "$("$LURK" run -- $cmd 2>/dev/null | sha256sum)" = "$ref" ] || echo "$w: lurk's output differs from native" >&2
  n=(); l=(); d=()
  for ((i = 0; i < RUNS; i++)); do
    n+=("$(ms $cmd)"); l+=("$(ms "$LURK" run -- $cmd)"); d+=("$(ms "$DRRUN" -quiet -- $cmd)")
  done
  N=$(med "${n[@]}"); L=$(med "${l[@]}"); D=$(med "${d[@]}")
  printf '%-8s %10d %10d %10d %7.2fx %7.2fx %10.3f\n' "$w" "$N" "$L" "$D" \
    "$(echo "$L / $N" | bc -l)" "$(echo "$D / $N" | bc -l)" "$(echo "$L / $D" | bc -l)"
  [ "$w" = libs200 ] && printf '         start-up per library: lurk %.3f ms, DynamoRIO %.3f ms\n' \
    "$(echo "($L - $N) / 200" | bc -l)" "$(echo "($D - $N) / 200" | bc -l)"
  "$LURK" run --stats -- $cmd 2>&1 >/dev/null | grep -E 'blocks built|dispatcher entries|lookup misses|syscalls' |
    sed 's/^lurk:  */         lurk --stats: /'
done
