#!/usr/bin/env bash
# lurk: run one program many times, natively and under lurk, optionally
# with every core kept busy, and count the runs whose stdout differs from
# the expected one: a reproducer for intermittent failures (an e2e case that
# fails once in a full suite, a tool that reports something once in 100).
#
#   bench/stress.sh [options] -- PROG ARGS...
#
# Options:
#   --runs N          runs per side (default 200)
#   --load            one busy loop per core while the runs go (nice 10)
#   --lurk PATH       lurk binary (default build/lurk)
#   --lurk-arg ARG    an argument for `lurk run` before `--` (repeatable:
#                     a tool and its options, e.g. --lurk-arg memcheck)
#   --expect FILE     the expected stdout (default: the first native run's)
#   --grep REGEX      compare only stdout lines matching REGEX (grep -E)
#   --no-native       only the lurk side
#   --timeout SECS    per run (default 60); a timeout counts as a difference
#
# Prints "native: A of N differ" and "lurk: B of N differ", and the first
# differing lurk output under build/stress/. Exit status 0 iff B is 0 (and A,
# unless --no-native).
#
# Example (sig_chld_waitid's WCONTINUED race, 12 of 200 runs before the
# program waited for its child to be seen continued):
#   spec/e2e/build.sh build/e2e-bin
#   bench/stress.sh --load --runs 200 --grep continued -- build/e2e-bin/sig_chld_waitid
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
lurk="$root/build/lurk"
runs=200 load=0 expect='' pattern='' native=1 timeout=60
lurk_args=()
usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; }
while (($#)); do
  case $1 in
    --runs) runs=${2:?--runs needs a number}; shift 2 ;;
    --load) load=1; shift ;;
    --lurk) lurk=${2:?--lurk needs a path}; shift 2 ;;
    --lurk-arg) lurk_args+=("${2?--lurk-arg needs an argument}"); shift 2 ;;
    --expect) expect=${2:?--expect needs a file}; shift 2 ;;
    --grep) pattern=${2:?--grep needs a regex}; shift 2 ;;
    --no-native) native=0; shift ;;
    --timeout) timeout=${2:?--timeout needs seconds}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "stress.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if (($# == 0)); then echo "stress.sh: no program (see --help)" >&2; exit 2; fi
case $runs in ''|*[!0-9]*) echo "stress.sh: --runs needs a whole number" >&2; exit 2 ;; esac
if [ ! -x "$lurk" ]; then echo "stress.sh: no lurk binary at $lurk" >&2; exit 2; fi
if [ -n "$expect" ] && [ ! -r "$expect" ]; then echo "stress.sh: cannot read $expect" >&2; exit 2; fi

out="$root/build/stress"
mkdir -p "$out" || exit 2
work=$(mktemp -d /tmp/lurk-stress.XXXXXX) || exit 2
loaders=()
cleanup() {
  for p in "${loaders[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

# The part of a run's stdout that is compared.
filter() { if [ -n "$pattern" ]; then grep -E -- "$pattern" || true; else cat; fi; }

# One run: run_once native|lurk PROG ARGS; the compared stdout into $work/got.
run_once() {
  local side=$1
  shift
  if [ "$side" = native ]; then timeout "$timeout" "$@" </dev/null 2>/dev/null
  else timeout "$timeout" "$lurk" run "${lurk_args[@]}" -- "$@" </dev/null 2>/dev/null
  fi | filter >"$work/got"
}

if [ -n "$expect" ]; then filter <"$expect" >"$work/want"
else
  timeout "$timeout" "$@" </dev/null 2>/dev/null | filter >"$work/want"
fi

if ((load)); then
  for _ in $(seq "$(nproc)"); do
    nice -n 10 bash -c 'while :; do :; done' &
    loaders+=($!)
  done
fi

status=0
sides=(lurk)
((native)) && sides=(native lurk)
for side in "${sides[@]}"; do
  bad=0
  for _ in $(seq "$runs"); do
    run_once "$side" "$@"
    if ! cmp -s "$work/want" "$work/got"; then
      bad=$((bad + 1))
      [ "$bad" = 1 ] && cp "$work/got" "$out/$side.first-difference"
    fi
  done
  echo "$side: $bad of $runs differ"
  [ "$bad" = 0 ] || status=1
done
exit $status
