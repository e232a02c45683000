#!/usr/bin/env bash
# Build the e2e C test programs.
#
#   spec/e2e/build.sh [OUTDIR]        (default: build/e2e-bin at the repo root)
#
# Every spec/e2e/progs/*.c is compiled with gcc into OUTDIR.  Per-file flags
# come from a comment line near the top of the file:
#     // CFLAGS: -O2 -mavx512f
# The token @OUT@ in those flags is replaced by OUTDIR (to link against the
# helper shared libraries).  Files named lib*.c are built first, as shared
# libraries OUTDIR/lib*.so (-shared -fPIC is added).  A target is only rebuilt
# when it is missing or older than its source, this script or (for programs)
# any of the helper libraries.  Builds run in parallel ($(nproc) jobs).
set -u -o pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-$root/build/e2e-bin}
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
CC=${CC:-gcc}
jobs=$(nproc 2>/dev/null || echo 2)

cflags_of() {
    local line
    line=$(grep -m1 -E '^[[:space:]]*//[[:space:]]*CFLAGS:' "$1") || true
    line=${line#*CFLAGS:}
    printf '%s\n' "${line//@OUT@/$out}"
}

# needs_build TARGET DEP...: true if TARGET is missing or older than any DEP
needs_build() {
    local t=$1 d; shift
    [[ -e $t ]] || return 0
    for d in "$@"; do [[ $d -nt $t ]] && return 0; done
    return 1
}

failed=0
build_one() {  # build_one SRC TARGET EXTRA-FLAGS...
    local src=$1 tgt=$2; shift 2
    local -a flags
    read -r -a flags <<<"$(cflags_of "$src")"
    # flags go after the source so that -l options resolve
    if ! "$CC" "$@" -o "$tgt.tmp.$$" "$src" "${flags[@]}" 2>"$tgt.log"; then
        echo "build.sh: FAILED: $CC $* -o $tgt $src ${flags[*]}" >&2
        cat "$tgt.log" >&2
        rm -f "$tgt.tmp.$$"
        return 1
    fi
    mv -f "$tgt.tmp.$$" "$tgt"
    [[ -s $tgt.log ]] || rm -f "$tgt.log"
}

# run_queue: run the queued "build_one" calls, $jobs at a time
run_queue() {
    local -a pids=() ; local item rc=0 p
    for item in "${queue[@]}"; do
        eval "build_one $item" &
        pids+=($!)
        if (( ${#pids[@]} >= jobs )); then
            wait "${pids[0]}" || rc=1
            pids=("${pids[@]:1}")
        fi
    done
    for p in "${pids[@]}"; do wait "$p" || rc=1; done
    return $rc
}

shopt -s nullglob
libs=() ; queue=()
for src in "$here"/progs/lib*.c; do
    base=$(basename "$src" .c)
    libs+=("$out/$base.so")
    if needs_build "$out/$base.so" "$src" "$0"; then
        queue+=("$(printf '%q %q -shared -fPIC' "$src" "$out/$base.so")")
    fi
done
run_queue || failed=1

queue=()
for src in "$here"/progs/*.c; do
    base=$(basename "$src" .c)
    [[ $base == lib* ]] && continue
    if needs_build "$out/$base" "$src" "$0" "${libs[@]}"; then
        queue+=("$(printf '%q %q' "$src" "$out/$base")")
    fi
done
run_queue || failed=1

exit $failed
