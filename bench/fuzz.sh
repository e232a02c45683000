#!/usr/bin/env bash
# lurk: the long run of the differential fuzzer (spec/fuzz/run.sh), for the
# record: every mismatch is reported and minimised, and the run goes on.
#
#   bench/fuzz.sh --minutes 60 [--seed S] [--lurk PATH] [--out DIR]
#
# Prints the seed first and, at the end, the totals: sequences, instructions
# executed (counted by the clean-call configuration), signals, known
# differences and mismatches. A one-hour run takes the machine's two cores
# about half the time (four processes in turn); run it under nice.
set -u -o pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
args=() minutes=""
while [ $# -gt 0 ]; do
  case $1 in
    --minutes) minutes=$2; shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1") ;;
  esac
  shift
done
[ -n "$minutes" ] || { echo "usage: bench/fuzz.sh --minutes N [--seed S] [--lurk PATH] [--out DIR]" >&2; exit 2; }
exec "$root/spec/fuzz/run.sh" --minutes "$minutes" --keep-going --out "$root/build/fuzz-long" "${args[@]}"
