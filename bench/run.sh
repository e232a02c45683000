#!/usr/bin/env bash
# bench/run.sh -- lurk benchmark harness.
#
# For every workload: one untimed native warm-up run (it also produces the
# reference output), then N native and N lurk runs ALTERNATELY
# (native, lurk, native, lurk, ...) so machine noise hits both sides, then
# the median wall time of each side and their ratio.  The summary is the
# geometric mean of the ratios of the workloads whose output was correct.
# Every run's output (stdout plus any files the workload writes) is hashed
# and compared with the native reference: a lurk run that differs is
# flagged WRONG and left out of the geomean.
#
# See bench/README.md.  Results: build/bench/results.tsv (machine readable)
# and build/bench/results.txt (the printed report).

set -u -o pipefail
export LC_ALL=C

usage() {
    cat <<'EOF'
usage: bench/run.sh [options]

  --lurk PATH      lurk binary (default: build/lurk)
  --runs N         timed runs per side per workload (default 3; 1 with --quick)
  --filter REGEX   only workloads whose name matches REGEX (grep -E)
  --tool SCRIPT    run lurk as `lurk run SCRIPT -- PROG ARGS` (default: null tool)
  --lurk-opt OPT   pass OPT to `lurk run` (repeatable), e.g. --lurk-opt --no-inline
  --quick          smoke mode: 1 run per side, no warm-up, 5 startup reps
  --all            also run the workloads that need threads (issue 3)
  --startup-reps N /bin/true repetitions per side (default 20; 5 with --quick)
  --timeout SECS   per-command timeout (default 300)
  --peers          also run DynamoRIO's null tool (drrun) beside lurk:
                   native, lurk, DynamoRIO interleaved; one table of ratios
  --valgrind       with --peers: also Valgrind's none tool (a 4th column)
  --rss            with --peers: also each side's peak RSS (the largest
                   process, /usr/bin/time %M, highest of the runs) and
                   lurk's code cache bytes (one more lurk run with --stats)
  --tools          lurk's inscount, bbcount, countcalls beside DynamoRIO's
                   samples of the same name: times and the counts compared
  --tool-runs N    runs per side per tool with --tools (default 1)
  --compiled       lurk's null tool beside inscount, opcodes and memtrace's
                   summary (compiled handlers), interleaved with native
  --versus TOOL    lurk's null tool beside TOOL (a tool name, TOOL=ARGS as
                   for -t), interleaved with native: TOOL's time over the
                   null tool's (e.g. --versus shepherd=--quiet);
                   preload:TOOL runs TOOL with --preload (preload:null:
                   LD_PRELOAD injection beside the default start)
  --dynamorio DIR  DynamoRIO's install (default ../shared/anchors/dynamorio
                   from the source tree, or $LURK_DYNAMORIO)
  --list           list workloads and exit
  -h, --help       this text
EOF
}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
W=$ROOT/bench/workloads
B=$ROOT/build/bench

LURK=$ROOT/build/lurk
RUNS=
FILTER=
TOOL=
LURK_OPTS=()
QUICK=0
ALL=0
STARTUP_REPS=
TMO=300
LIST=0
PEERS=0
VALGRIND=0
RSS=0
TOOLS=0
COMPILED=0
VERSUS=
TOOL_RUNS=1
DR=${LURK_DYNAMORIO:-}

while [ $# -gt 0 ]; do
    case "$1" in
    --lurk) LURK=${2:?--lurk needs a path}; shift 2 ;;
    --lurk=*) LURK=${1#*=}; shift ;;
    --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --filter) FILTER=${2:?--filter needs a regex}; shift 2 ;;
    --filter=*) FILTER=${1#*=}; shift ;;
    --tool) TOOL=${2:?--tool needs a script}; shift 2 ;;
    --tool=*) TOOL=${1#*=}; shift ;;
    --lurk-opt) LURK_OPTS+=("${2:?--lurk-opt needs an option}"); shift 2 ;;
    --lurk-opt=*) LURK_OPTS+=("${1#*=}"); shift ;;
    --quick) QUICK=1; shift ;;
    --all) ALL=1; shift ;;
    --startup-reps) STARTUP_REPS=${2:?}; shift 2 ;;
    --startup-reps=*) STARTUP_REPS=${1#*=}; shift ;;
    --timeout) TMO=${2:?}; shift 2 ;;
    --timeout=*) TMO=${1#*=}; shift ;;
    --list) LIST=1; shift ;;
    --peers) PEERS=1; shift ;;
    --valgrind) VALGRIND=1; shift ;;
    --rss) RSS=1; shift ;;
    --tools) TOOLS=1; shift ;;
    --compiled) COMPILED=1; shift ;;
    --versus) VERSUS=${2:?--versus needs a tool}; shift 2 ;;
    --tool-runs) TOOL_RUNS=${2:?--tool-runs needs a number}; shift 2 ;;
    --tool-runs=*) TOOL_RUNS=${1#*=}; shift ;;
    --dynamorio) DR=${2:?--dynamorio needs a directory}; shift 2 ;;
    --dynamorio=*) DR=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

if [ -z "$RUNS" ]; then
    if [ $QUICK = 1 ]; then RUNS=1; else RUNS=3; fi
fi
if [ -z "$STARTUP_REPS" ]; then
    if [ $QUICK = 1 ]; then STARTUP_REPS=5; else STARTUP_REPS=20; fi
fi
case "$RUNS$STARTUP_REPS$TMO$TOOL_RUNS" in
*[!0-9]*) echo "run.sh: --runs, --startup-reps, --timeout and --tool-runs take integers" >&2; exit 2 ;;
esac
[ "$RUNS" -ge 1 ] || { echo "run.sh: --runs must be >= 1" >&2; exit 2; }
[ "$TOOL_RUNS" -ge 1 ] || { echo "run.sh: --tool-runs must be >= 1" >&2; exit 2; }
[ $VALGRIND = 1 ] && [ $PEERS = 0 ] && { echo "run.sh: --valgrind goes with --peers" >&2; exit 2; }

# ---------------------------------------------------------------------------
# Workloads.  DEFAULT_WORKLOADS run by default, the multi-threaded ones
# included; --all is kept for compatibility (THREAD_WORKLOADS is empty).
# "startup" is special: /bin/true, reported in ms as an absolute overhead.
DEFAULT_WORKLOADS=(python3 perl lua5.4 xz sqlite3 sort fib loop cc1 gzip xz-T2 pthread startup)
THREAD_WORKLOADS=()

describe() {
    case "$1" in
    python3) echo "/usr/bin/python3: pure-Python loop (calls, dicts, objects)" ;;
    perl) echo "perl: regex parsing of generated log lines + hashes" ;;
    lua5.4) echo "lua5.4: tables, closures, metatables, table.sort" ;;
    xz) echo "xz -9 -T1 of a 3 MB semi-compressible file" ;;
    sqlite3) echo "sqlite3 :memory: script: CTE inserts, indexes, joins, aggregates" ;;
    sort) echo "sort -k2,2 -k1,1n --parallel=1 of a 20 MB text file" ;;
    fib) echo "recursive fib(43), gcc -O2" ;;
    loop) echo "tight xorshift/arith loop, 300M iterations, gcc -O2" ;;
    cc1) echo "cc1 -O2 of a generated ~11k-line preprocessed C file" ;;
    gzip) echo "gzip -9 then gzip -d of a 16 MB semi-compressible file" ;;
    startup) echo "/bin/true, absolute overhead in ms" ;;
    xz-T2) echo "xz -9 -T2 (2 blocks, 2 threads)" ;;
    pthread) echo "2-thread mat-vec kernel with mutex+barrier" ;;
    esac
}

if [ $LIST = 1 ]; then
    for w in "${DEFAULT_WORKLOADS[@]}"; do printf '%-8s  %s\n' "$w" "$(describe "$w")"; done
    for w in "${THREAD_WORKLOADS[@]+"${THREAD_WORKLOADS[@]}"}"; do printf '%-8s  %s  [--all]\n' "$w" "$(describe "$w")"; done
    exit 0
fi

# Run workload $1 with the command prefix in R[] (empty for native, the
# lurk invocation otherwise).  cwd is $B, stdin is /dev/null, stdout is
# captured and compared; $WD is a scratch dir (emptied before every run)
# whose files are compared too.
. "$ROOT/bench/workloads.sh"

# ---------------------------------------------------------------------------
# Select workloads.
SELECTED=()
CANDIDATES=("${DEFAULT_WORKLOADS[@]}")
[ $ALL = 1 ] && CANDIDATES+=("${THREAD_WORKLOADS[@]+"${THREAD_WORKLOADS[@]}"}")
for w in "${CANDIDATES[@]}"; do
    if [ -z "$FILTER" ] || printf '%s\n' "$w" | grep -Eq -- "$FILTER"; then
        SELECTED+=("$w")
    fi
done
if [ ${#SELECTED[@]} = 0 ]; then
    echo "run.sh: no workload matches '$FILTER'" \
        "(thread workloads need --all; see --list)" >&2
    exit 2
fi

# ---------------------------------------------------------------------------
# lurk command.
case "$LURK" in /*) ;; *) LURK=$PWD/$LURK ;; esac
if [ ! -x "$LURK" ]; then
    echo "run.sh: lurk not found or not executable: $LURK (build it, or pass --lurk PATH)" >&2
    exit 2
fi
LURK_CMD=("$LURK" run "${LURK_OPTS[@]}")
if [ -n "$TOOL" ]; then
    case "$TOOL" in /*) ;; *) TOOL=$PWD/$TOOL ;; esac
    [ -r "$TOOL" ] || { echo "run.sh: tool script not readable: $TOOL" >&2; exit 2; }
    LURK_CMD+=("$TOOL")
fi
LURK_CMD+=(--)

# Both sides go through timeout(1) so the wrapper cost is identical.
NATIVE_PREFIX=(timeout -k 10 "$TMO")
LURK_PREFIX=(timeout -k 10 "$TMO" "${LURK_CMD[@]}")

# Keep the workloads' environment fixed and independent of the caller's
# pyenv/perl setup.
unset PYTHONPATH PYTHONHOME PYTHONSTARTUP PERL5LIB PERL5OPT LUA_PATH LUA_CPATH \
      LUA_INIT LUA_PATH_5_4 LUA_CPATH_5_4 LUA_INIT_5_4 XZ_OPT XZ_DEFAULTS GZIP
export PYTHONHASHSEED=0 PERL_HASH_SEED=0 PYTHONDONTWRITEBYTECODE=1

# ---------------------------------------------------------------------------
# Build and generate inputs (deterministic; redone only when out of date).
mkdir -p "$B/bin" "$B/data" "$B/logs" "$B/run"
CC=${CC:-gcc}
CC1=$("$CC" -print-prog-name=cc1)
case "$CC1" in /*) ;; *) CC1=$(command -v "$CC1" || true) ;; esac

outdated() {  # outdated TARGET DEP...: true if TARGET is missing or older than a DEP
    local t=$1 d; shift
    [ -e "$t" ] || return 0
    for d in "$@"; do [ "$d" -nt "$t" ] && return 0; done
    return 1
}
die() { echo "run.sh: $*" >&2; exit 1; }

need_mt=0
for w in "${SELECTED[@]}"; do case "$w" in pthread) need_mt=1 ;; esac; done

for prog in gen fib loop; do
    if outdated "$B/bin/$prog" "$W/$prog.c"; then
        "$CC" -O2 -Wall -o "$B/bin/$prog" "$W/$prog.c" || die "building $prog failed"
    fi
done
if [ $need_mt = 1 ] && outdated "$B/bin/pthread_kernel" "$W/pthread_kernel.c"; then
    "$CC" -O2 -Wall -pthread -o "$B/bin/pthread_kernel" "$W/pthread_kernel.c" ||
        die "building pthread_kernel failed"
fi

gen_input() {  # gen_input FILE MODE BYTES
    if outdated "$1" "$B/bin/gen"; then
        if ! { "$B/bin/gen" "$2" "$3" >"$1.tmp" && mv "$1.tmp" "$1"; }; then
            die "generating $1 failed"
        fi
    fi
}
gen_input "$B/data/xz_input.bin" semi 3000000
gen_input "$B/data/gzip_input.bin" semi 16000000
gen_input "$B/data/sort_input.txt" lines 20000000
if outdated "$B/data/cc1_input.i" "$W/gen_csrc.py"; then
    if ! { /usr/bin/python3 "$W/gen_csrc.py" 200 >"$B/data/cc1_input.c" &&
        "$CC" -E "$B/data/cc1_input.c" -o "$B/data/cc1_input.i.tmp" &&
        mv "$B/data/cc1_input.i.tmp" "$B/data/cc1_input.i"; }; then
        die "generating cc1 input failed"
    fi
fi
[ -x "$CC1" ] || die "cc1 not found (gcc -print-prog-name=cc1 gave '$CC1')"

# ---------------------------------------------------------------------------
# Helpers.
# Hash of a run's observable output: stdout plus every file left in $WD.
out_hash() {
    {
        sha256sum <"$1"
        (cd "$WD" && find . -type f -print | sort | while IFS= read -r f; do
            printf '%s ' "$f"; sha256sum <"$f"; done)
    } | sha256sum | cut -c1-16
}

# run_once MODE NAME OUTFILE ERRFILE -> sets T_US, RC, HASH
run_once() {
    local mode=$1 name=$2 out=$3 err=$4 t0 t1
    case "$mode" in
    native) R=("${NATIVE_PREFIX[@]}") ;;
    lurk) R=("${LURK_PREFIX[@]}") ;;
    *) peer_prefix "$mode" ;;     # bench/peers.sh
    esac
    WD=$B/run/${mode%%:*}
    rm -rf "$WD" && mkdir -p "$WD"
    # --rss: each process the workload starts writes its peak RSS (KiB)
    [ $RSS = 1 ] && { : >"$B/run/rss.$mode"; R=(/usr/bin/time -a -o "$B/run/rss.$mode" -f %M "${R[@]}"); }
    t0=${EPOCHREALTIME/./}
    (cd "$B" && run_wl "$name") <"/dev/null" >"$out" 2>"$err"
    RC=$?
    t1=${EPOCHREALTIME/./}
    T_US=$((10#$t1 - 10#$t0))
    RSS_KB=0
    [ $RSS = 1 ] && RSS_KB=$(grep -E '^[0-9]+$' "$B/run/rss.$mode" | sort -n | tail -1)
    case "$mode" in native|lurk) ;; *) peer_post "$mode" "$out" ;; esac
    HASH=$(out_hash "$out")
}

median() {  # median of the numbers given as arguments
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) { print "nan"; exit }
              if (NR % 2) printf "%.6f\n", v[(NR + 1) / 2];
              else printf "%.6f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# us -> seconds (or ms) as a comma list
fmt_list() { local div=$1; shift; printf '%s\n' "$@" | awk -v d="$div" '{ printf "%s%.4f", (NR > 1 ? "," : ""), $1 / d } END { print "" }'; }

# ---------------------------------------------------------------------------
TSV=$B/results.tsv
TXT=$B/results.txt
: >"$TXT"
say() { printf '%s\n' "$*" | tee -a "$TXT"; }

if [ $PEERS = 1 ] || [ $TOOLS = 1 ] || [ $COMPILED = 1 ] || [ -n "$VERSUS" ]; then
    . "$ROOT/bench/peers.sh"
    peers_main
    exit $?
fi

say "lurk benchmark  $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
say "lurk:    ${LURK_CMD[*]}"
say "host:    $(uname -r), $(nproc) cpus, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
say "git:     $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)$(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo ' (dirty)')"
say "runs:    $RUNS per side, alternating native/lurk$([ $QUICK = 1 ] && echo ', quick' || echo ', after 1 native warm-up'); startup: $STARTUP_REPS per side"
say ""

printf 'workload\tunit\truns\tnative_median\tlurk_median\tratio\tdelta\tstatus\toutput_ok\tnative_runs\tlurk_runs\n' >"$TSV"

header_done=0
print_header() {
    [ $header_done = 1 ] && return
    header_done=1
    say "$(printf '%-9s %10s %10s %7s  %-7s %s' workload 'native(s)' 'lurk(s)' ratio output status)"
    say "$(printf '%-9s %10s %10s %7s  %-7s %s' --------- ---------- ---------- ------- ------- ------)"
}

RATIOS=()
NBAD=0
STARTUP_LINE=

for name in "${SELECTED[@]}"; do
    reps=$RUNS unit=s div=1000000
    if [ "$name" = startup ]; then reps=$STARTUP_REPS unit=ms div=1000; fi
    nat=() lur=()
    ref='' nondet=0 nat_fail=0 lurk_fail='' lurk_wrong=0 lurk_ok=0
    rm -f "$B/logs/$name".*
    nout=$B/logs/$name.native.out nerr=$B/logs/$name.native.err
    lout=$B/logs/$name.lurk.out lerr=$B/logs/$name.lurk.err

    if [ $QUICK = 0 ]; then
        run_once native "$name" "$nout" "$nerr"
        [ $RC = 0 ] || nat_fail=$RC
        ref=$HASH
    fi
    for ((i = 1; i <= reps; i++)); do
        run_once native "$name" "$nout" "$nerr"
        nat+=("$T_US")
        [ $RC = 0 ] || nat_fail=$RC
        if [ -z "$ref" ]; then ref=$HASH; elif [ "$HASH" != "$ref" ]; then nondet=1; fi

        run_once lurk "$name" "$lout" "$lerr"
        lur+=("$T_US")
        if [ $RC = 124 ] || [ $RC = 137 ]; then
            lurk_fail="TIMEOUT"
        elif [ $RC != 0 ]; then
            lurk_fail="FAIL(rc=$RC)"
        fi
        if [ "$HASH" = "$ref" ]; then
            lurk_ok=$((lurk_ok + 1))
        else
            lurk_wrong=$((lurk_wrong + 1))
            cp "$lout" "$B/logs/$name.lurk.wrong.out" 2>/dev/null
            cp "$lerr" "$B/logs/$name.lurk.wrong.err" 2>/dev/null
        fi
        # no point in repeating a run that crashed or hung
        [ -n "$lurk_fail" ] && break
    done

    if [ $nat_fail != 0 ]; then status="NATIVE-FAIL(rc=$nat_fail)"
    elif [ $nondet = 1 ]; then status="NONDET"
    elif [ -n "$lurk_fail" ]; then status=$lurk_fail
    elif [ $lurk_wrong -gt 0 ]; then status="WRONG"
    else status=ok
    fi
    nruns=${#lur[@]}
    nmed=$(median "${nat[@]}") lmed=$(median "${lur[@]}")
    read -r nm lm ratio delta < <(awk -v n="$nmed" -v l="$lmed" -v d="$div" \
        'BEGIN { printf "%.4f %.4f %.3f %.2f\n", n / d, l / d, (n > 0 ? l / n : 0), (l - n) / d }')
    outcol="$lurk_ok/$nruns"

    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$unit" "$nruns" "$nm" "$lm" \
        "$ratio" "$delta" "$status" "$outcol" "$(fmt_list "$div" "${nat[@]}")" \
        "$(fmt_list "$div" "${lur[@]}")" >>"$TSV"

    if [ "$name" = startup ]; then
        verdict=$(awk -v d="$delta" 'BEGIN { print (d <= 30 ? "within +30 ms target" : "OVER +30 ms target") }')
        STARTUP_LINE=$(printf 'startup (/bin/true, median of %d): native %.2f ms, lurk %.2f ms, +%.2f ms  [%s] %s' \
            "$nruns" "$nm" "$lm" "$delta" "$status" "$verdict")
        continue
    fi
    print_header
    mark=$status
    [ "$status" = ok ] || mark="$status  <-- excluded from geomean"
    say "$(printf '%-9s %10.3f %10.3f %6.2fx  %-7s %s' "$name" "$nm" "$lm" "$ratio" "$outcol" "$mark")"
    if [ "$status" = ok ]; then RATIOS+=("$ratio"); else NBAD=$((NBAD + 1)); fi
done

say ""
if [ ${#RATIOS[@]} -gt 0 ]; then
    geo=$(printf '%s\n' "${RATIOS[@]}" | awk '{ s += log($1) } END { printf "%.3f", exp(s / NR) }')
    say "geomean ratio: ${geo}x over ${#RATIOS[@]} workload(s)$([ $NBAD -gt 0 ] && echo ", $NBAD excluded (wrong/failed)")   (target <= 1.6x)"
    printf 'GEOMEAN\tratio\t%s\t\t\t%s\t\t%s\t\t\t\n' "${#RATIOS[@]}" "$geo" \
        "$([ $NBAD -gt 0 ] && echo "excluded=$NBAD" || echo ok)" >>"$TSV"
elif [ $header_done = 1 ]; then
    say "geomean ratio: n/a (no workload produced correct output)"
fi
[ -n "$STARTUP_LINE" ] && say "$STARTUP_LINE"
say ""
say "TSV: $TSV"
say "logs (stdout/stderr of the last run of each side): $B/logs/"

# exit status: 0 if every selected workload ran and matched, 1 otherwise
if grep -qvE '^workload	|	(ok)	|^GEOMEAN	' "$TSV"; then exit 1; fi
exit 0
