#!/usr/bin/env bash
# lurk differential fuzzer: run random instruction sequences natively and
# under lurk, and compare the machine state at the end and at every signal.
#
#   spec/fuzz/run.sh [--lurk PATH] [--seed S] [--count N | --minutes M]
#                    [--items K] [--out DIR] [--keep-going] [--strict] [--gs]
#   spec/fuzz/run.sh --repro SEED [--items K] [--keep 1,2,3]   one sequence, verbose
#
# Sequence i uses seed S+i (S defaults to a random one, always printed, so a
# failing run can be repeated: the same seed draws the same sequences and the
# same register and memory values). Each sequence (spec/fuzz/gen.lua, K items,
# default 40) is assembled with as/ld and run by build/fuzz/fz-harness four
# ways: natively, under `lurk run` (null tool), under `lurk run --far-cache`
# (every rip-relative operand rewritten), and under spec/fuzz/cc.lua (a clean
# call before every instruction of the sequence, --no-inline). The harness's
# output and exit status must be the same in all four. On a mismatch the
# runner prints the seed, the first difference, and a minimised sequence
# (items dropped while it still differs), disassembled; it stops there unless
# --keep-going. Known differences (bugs not fixed yet, each an xfail case in
# spec/e2e) are counted apart unless --strict. --gs also generates gs
# operands (see gen.lua). Last lines: totals, then "fuzz: 1 passed, 0
# failed" (or "0 passed, 1 failed") for tools/check.
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
lurk=$root/build/lurk
out=$root/build/fuzz
seed="" count="" minutes="" items=40 keep_going=0 repro="" keep="" strict=0 gs=""

need() { [ $# -ge 2 ] || { echo "fuzz: $1 needs a value" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case $1 in
    --lurk) need "$@"; lurk=$2; shift ;;
    --seed) need "$@"; seed=$2; shift ;;
    --count) need "$@"; count=$2; shift ;;
    --minutes) need "$@"; minutes=$2; shift ;;
    --items) need "$@"; items=$2; shift ;;
    --out) need "$@"; out=$2; shift ;;
    --keep-going) keep_going=1 ;;
    --strict) strict=1 ;;
    --gs) gs=--gs ;;
    --repro) need "$@"; repro=$2; shift ;;
    --keep) need "$@"; keep=$2; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fuzz: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
num() { [[ $1 =~ ^[0-9]+$ ]] || { echo "fuzz: $2 must be a number, not '$1'" >&2; exit 2; }; }
[ -n "$seed" ] && num "$seed" --seed
[ -n "$count" ] && num "$count" --count
[ -n "$minutes" ] && num "$minutes" --minutes
num "$items" --items
[ -n "$repro" ] && num "$repro" --repro
[ -x "$lurk" ] || { echo "fuzz: no lurk at $lurk (build first)" >&2; exit 2; }
for t in as ld objdump cmp lua5.4 gcc; do
  command -v $t >/dev/null || { echo "fuzz: '$t' is missing (binutils, lua5.4, gcc)" >&2; exit 2; }
done

mkdir -p "$out" || exit 2
out=$(cd "$out" && pwd)
harness=$out/fz-harness
if [ ! -x "$harness" ] || [ "$here/harness.c" -nt "$harness" ] || [ "$here/harness_x86.S" -nt "$harness" ] \
   || [ "$here/harness.h" -nt "$harness" ]; then
  gcc -O2 -g -Wall -Wextra -o "$harness" "$here/harness.c" "$here/harness_x86.S" || exit 2
fi

CONFIGS="native null far cc"

# build DIR SEED [KEEP]: DIR/seq.S and DIR/seq.bin for that seed (and items).
build() {
  local d=$1 s=$2 k=${3:-}
  lua5.4 "$here/gen.lua" "$s" "$items" ${k:+--keep "$k"} $gs > "$d/seq.S" || return 1
  as -o "$d/seq.o" "$d/seq.S" 2> "$d/as.err" || { cat "$d/as.err"; return 1; }
  ld -Ttext=0x10000000 --defsym SB=0x20000000 -e 0x10000000 --oformat binary \
    -o "$d/seq.bin" "$d/seq.o" || return 1
}

# run DIR SEED CONFIG: DIR/CONFIG.txt (stdout and exit status), DIR/CONFIG/mem.N.
run() {
  local d=$1 s=$2 c=$3 rc
  rm -rf "${d:?}/$c"; mkdir -p "$d/$c"
  case $c in
    native) timeout 20 "$harness" "$d/seq.bin" "$s" "$d/$c" > "$d/$c.txt" 2> "$d/$c.err" ;;
    null) timeout 60 "$lurk" run --output "$d/$c.log" -- "$harness" "$d/seq.bin" "$s" "$d/$c" \
            > "$d/$c.txt" 2> "$d/$c.err" ;;
    far) timeout 60 "$lurk" run --far-cache --output "$d/$c.log" -- "$harness" "$d/seq.bin" "$s" "$d/$c" \
           > "$d/$c.txt" 2> "$d/$c.err" ;;
    cc) timeout 60 "$lurk" run --no-inline --output "$d/$c.log" "$here/cc.lua" -- \
          "$harness" "$d/seq.bin" "$s" "$d/$c" > "$d/$c.txt" 2> "$d/$c.err" ;;
  esac
  rc=$?
  echo "exit $rc" >> "$d/$c.txt"
}

# Known differences: translator bugs found by this fuzzer and not fixed yet,
# each with its xfail case in spec/e2e/cases.list. A sequence that differs
# from native only in these lines counts as "known", not as a mismatch (the
# totals say how many); --strict counts it as a mismatch.
# ORDER KNOWN: name, then the sed expression that blanks the line.
KNOWN=(
)
declare -A known_count

# mask FILE: FILE's lines with the known differences blanked.
mask() {
  local args=() i
  for (( i = 1; i < ${#KNOWN[@]}; i += 2 )); do args+=(-e "${KNOWN[i]}"); done
  [ ${#args[@]} -gt 0 ] || { cat "$1"; return; }
  sed "${args[@]}" "$1"
}

# The stack's red zone (16 qwords below rsp) is printed on its own line:
# where native holds an address in the sequence's code (a return address a
# ret left behind, its top bytes maybe overwritten since by 16-bit pushes,
# the same on both sides), lurk holds the cache pc its ret wrote over the
# slot (docs/architecture.md, Returns). Such qwords are a known difference
# ("retslot", e2e fuzz_ret_slot); any other difference there is not.
# redzone_mask NATIVE OTHER: OTHER with those qwords replaced by native's.
redzone_mask() {
  awk 'function hexval(h,   i, v) { v = 0
      for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
      return v }
    # the qwords differ only in their low j bytes, j <= 6, and native low j
    # bytes are an address in the sequence (0x10000000..0x100fffff)
    function stale_ret(n, o,   j, k) { j = 0
      for (k = 0; k < 8; k++) if (substr(n, 15 - 2 * k, 2) != substr(o, 15 - 2 * k, 2)) j = k + 1
      if (j < 4 || j > 6) return 0
      v = hexval(substr(n, 17 - 2 * j))
      return v >= 268435456 && v < 269484032 }
    NR == FNR { if ($1 == "redzone") rz[FNR] = $0; next }
    $1 == "redzone" && (FNR in rz) {
      n = split(rz[FNR], a, " "); split($0, b, " "); line = "redzone"
      for (i = 2; i <= n; i++) line = line " " (b[i] != a[i] && stale_ret(a[i], b[i]) ? a[i] : b[i])
      print line; next }
    { print }' "$1" "$2"
}

# On AMD CPUs, xsave keeps the x87 FIP, FDP and FOP only while an x87
# exception is pending: when lurk's engine runs (and saves and restores the
# app's state) between an x87 instruction and a later fnstenv or fxsave,
# the pointers that store shows are 0, as natively after a preemption at
# that point. Such zeroed fields of the "fipmem" line are a known
# difference on AMD ("x87ptr"), and so is the memory hash of that event
# (the stored FOP, FDP and FDS are zero too), and zeroed fop, fip and fdp
# lines of a signal's state; any other difference there is not. (e2e fuzz_x87_fip keeps checking FIP where no engine entry comes
# between the x87 instruction and the store.)
amd=0
grep -q "^vendor_id.*AuthenticAMD" /proc/cpuinfo && amd=1
# fipmem_mask NATIVE OTHER: OTHER with the zeroed fipmem fields, and the
# next mem line, replaced by native's (AMD).
fipmem_mask() {
  [ "$amd" = 1 ] || { cat "$2"; return; }
  awk 'NR == FNR { line[FNR] = $0; next }
    $1 == "fipmem" && (FNR in line) {
      n = split(line[FNR], a, " "); split($0, b, " "); out = "fipmem"; lost = 0
      for (i = 2; i <= n; i++) {
        if (b[i] != a[i] && b[i] ~ /^0+$/) { out = out " " a[i]; lost = 1 } else out = out " " b[i] }
      print out; next }
    $1 == "mem" && lost && (FNR in line) { print line[FNR]; lost = 0; next }
    ($1 == "fop" || $1 == "fip" || $1 == "fdp") && (FNR in line) && $2 ~ /^0+$/ { print line[FNR]; next }
    { print }' "$1" "$2"
}

# same DIR CONFIG: true if CONFIG's output equals the native one (but for
# known differences, unless --strict).
same() {
  cmp -s "$1/native.txt" "$1/$2.txt" && return 0
  [ "$strict" = 1 ] && return 1
  cmp -s <(mask "$1/native.txt") <(redzone_mask "$1/native.txt" "$1/$2.txt" > "$1/$2.rz0"
                                   fipmem_mask "$1/native.txt" "$1/$2.rz0" > "$1/$2.rz"; mask "$1/$2.rz")
}

# note_known DIR CONFIG: count which known differences CONFIG showed.
note_known() {
  local i pat
  for (( i = 0; i < ${#KNOWN[@]}; i += 2 )); do
    pat=${KNOWN[i]%% *}
    if ! cmp -s <(grep "^$pat " "$1/native.txt") <(grep "^$pat " "$1/$2.txt"); then
      known_count[$pat]=$(( ${known_count[$pat]:-0} + 1 ))
    fi
  done
  if ! cmp -s <(grep "^redzone " "$1/native.txt") <(grep "^redzone " "$1/$2.txt"); then
    known_count[retslot]=$(( ${known_count[retslot]:-0} + 1 ))
  fi
  if ! cmp -s <(grep -E "^(fipmem|fop|fip|fdp)" "$1/native.txt") <(grep -E "^(fipmem|fop|fip|fdp)" "$1/$2.txt"); then
    known_count[x87ptr]=$(( ${known_count[x87ptr]:-0} + 1 ))
  fi
}

# explain DIR CONFIG: the first difference from native, with its event, and
# the first differing sandbox bytes.
explain() {
  local d=$1 c=$2 line ev a=$1/native.txt b=$1/$2.txt
  if [ "$strict" = 0 ]; then
    redzone_mask "$a" "$b" > "$d/$c.rz"
    mask "$a" > "$d/native.masked"; mask "$d/$c.rz" > "$d/$c.masked"
    a=$d/native.masked b=$d/$c.masked
  fi
  line=$(cmp "$a" "$b" 2>/dev/null | grep -Eo 'line [0-9]+' | grep -Eo '[0-9]+')
  [ -z "$line" ] && line=$(( $(wc -l < "$a") + 1 ))
  ev=$(head -n "$line" "$a" | grep '^event' | tail -n 1)
  echo "  first difference, in '${ev:-before any event}':"
  echo "    native: $(sed -n "${line}p" "$a")"
  echo "    $c: $(sed -n "${line}p" "$b")"
  if sed -n "${line}p" "$a" | grep -q '^mem '; then
    local n=${ev#event }; n=${n%% *}
    echo "    sandbox bytes (address: native $c, octal):"
    cmp -l "$d/native/mem.$n" "$d/$c/mem.$n" 2>/dev/null | head -n 8 |
      awk '{ printf "      0x%x: %s %s\n", 0x20000000 + $1 - 1, $2, $3 }'
  fi
  [ -s "$d/$c.err" ] && { echo "  $c stderr:"; head -n 5 "$d/$c.err" | sed 's/^/    /'; }
  [ -s "$d/$c.log" ] && grep -v '^fuzz-cc:' "$d/$c.log" | head -n 5 | sed 's/^/    log: /'
  return 0
}

# differs DIR SEED CONFIG KEEP: true if the sequence with only KEEP still
# differs from native under CONFIG.
differs() {
  build "$1" "$2" "$4" >/dev/null 2>&1 || return 1
  run "$1" "$2" native; run "$1" "$2" "$3"
  ! same "$1" "$3"
}

# minimise DIR SEED CONFIG: print the smallest item list found that differs
# (DIR: a scratch directory of its own).
minimise() {
  local d=$1 s=$2 c=$3 cur chunk i try n
  mkdir -p "$d"
  cur=$(seq -s ' ' 1 "$items")
  chunk=$(( items / 2 ))
  while [ "$chunk" -ge 1 ]; do
    read -r -a arr <<< "$cur"
    n=${#arr[@]}
    i=0
    while [ "$i" -lt "$n" ]; do
      try=$(printf '%s\n' "${arr[@]:0:i}" "${arr[@]:i+chunk}" | grep . | paste -sd, -)
      if [ -n "$try" ] && differs "$d" "$s" "$c" "$try"; then
        cur=${try//,/ }
        read -r -a arr <<< "$cur"
        n=${#arr[@]}
      else
        i=$(( i + chunk ))
      fi
    done
    chunk=$(( chunk / 2 ))
  done
  echo "${cur// /,}"
}

# report DIR SEED CONFIG: the mismatch, minimised, for a human.
report() {
  local d=$1 s=$2 c=$3 k m
  echo "MISMATCH seed $s under $c (lurk run $( [ "$c" = far ] && echo '--far-cache ')$( [ "$c" = cc ] && echo '--no-inline spec/fuzz/cc.lua '))"
  explain "$d" "$c"
  k=$(minimise "$out/min" "$s" "$c")
  m=$out/fail-$s-$c
  rm -rf "$m"; mkdir -p "$m"
  differs "$m" "$s" "$c" "$k"
  echo "  minimised to items $k (repeat: spec/fuzz/run.sh --repro $s --items $items --keep $k $gs):"
  lua5.4 "$here/gen.lua" "$s" "$items" --list --keep "$k" $gs | sed 's/^/    item /'
  echo "  disassembly (offsets from 0x10000000):"
  objdump -d -M intel "$m/seq.o" | awk '/^[0-9a-f]+ <I0>:/ { on = 1; next }
    /jmp +QWORD PTR ds:0xff00000/ { exit } on && NF && !/^[0-9a-f]+ <.*>:$/' | sed 's/^/    /'
  explain "$m" "$c"
  echo "  files: $m"
}

if [ -n "$repro" ]; then
  d=$out/repro-$repro; mkdir -p "$d"
  build "$d" "$repro" "$keep" || exit 2
  lua5.4 "$here/gen.lua" "$repro" "$items" --list ${keep:+--keep "$keep"} $gs
  st=0
  for c in $CONFIGS; do
    run "$d" "$repro" "$c"
    if [ "$c" != native ] && ! same "$d" "$c"; then echo "$c: DIFFERS"; explain "$d" "$c"; st=1
    elif [ "$c" != native ]; then echo "$c: same as native"; fi
  done
  echo "files: $d"
  exit $st
fi

[ -z "$seed" ] && seed=$(( ($(date +%s%N) / 1000) % 1000000000 ))
[ -z "$count" ] && [ -z "$minutes" ] && count=100
echo "fuzz: seed $seed, ${count:+$count sequences}${minutes:+$minutes minutes}, $items items each, configs: $CONFIGS"
start=$(date +%s)
d=$out/cur; mkdir -p "$d"
n=0 insns=0 fails=0 buildfail=0 signals=0
while :; do
  if [ -n "$count" ]; then [ "$n" -ge "$count" ] && break
  else [ $(( $(date +%s) - start )) -ge $(( minutes * 60 )) ] && break; fi
  s=$(( seed + n ))
  n=$(( n + 1 ))
  if ! build "$d" "$s"; then
    echo "fuzz: seed $s: the generator's output does not assemble (a generator bug)"
    buildfail=$(( buildfail + 1 )); fails=$(( fails + 1 ))
    [ "$keep_going" = 1 ] && continue || break
  fi
  bad=""
  for c in $CONFIGS; do
    run "$d" "$s" "$c"
    [ "$c" = native ] && continue
    if ! same "$d" "$c"; then bad="$bad $c"
    elif ! cmp -s "$d/native.txt" "$d/$c.txt"; then note_known "$d" "$c"; fi
  done
  c=$(grep -Eo 'fuzz-cc: [0-9]+' "$d/cc.log" 2>/dev/null | grep -Eo '[0-9]+$')
  insns=$(( insns + ${c:-0} ))
  signals=$(( signals + $(grep -c ' signal ' "$d/native.txt") ))
  if [ -n "$bad" ]; then
    fails=$(( fails + 1 ))
    for c in $bad; do report "$d" "$s" "$c"; done
    [ "$keep_going" = 1 ] || break
  fi
  if [ $(( n % 200 )) = 0 ]; then echo "fuzz: $n sequences, $fails mismatching, $(( $(date +%s) - start ))s"; fi
done
for (( i = 0; i < ${#KNOWN[@]}; i += 2 )); do
  k=${KNOWN[i]%% *}
  echo "fuzz: known difference ${KNOWN[i]}: ${known_count[$k]:-0} runs"
done
echo "fuzz: known difference retslot (a stale return address below rsp is the cache pc; e2e fuzz_ret_slot): ${known_count[retslot]:-0} runs"
[ "$amd" = 0 ] || echo "fuzz: known difference x87ptr (AMD: x87 pointers an fnstenv stores after lurk's engine ran are 0, as after a preemption): ${known_count[x87ptr]:-0} runs"
echo "fuzz: seed $seed: $n sequences, $insns instructions executed (per lurk configuration), $signals signals, $fails mismatching, $(( $(date +%s) - start ))s"
if [ "$fails" = 0 ]; then echo "fuzz: 1 passed, 0 failed"; exit 0; fi
echo "fuzz: 0 passed, 1 failed"
exit 1
