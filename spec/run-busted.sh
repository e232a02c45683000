#!/usr/bin/env bash
# lurk: run the busted specs (spec/*_spec.lua) against a lurk binary.
# Usage: spec/run-busted.sh [--lurk PATH] [BUSTED ARGS...]
# Prints busted's TAP output, then "busted: N passed, M failed" (pending
# specs count as neither) for tools/check to tally.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
LURK=${LURK:-$root/build/lurk}
if [ "${1:-}" = --lurk ]; then LURK=$2; shift 2; fi
case $LURK in /*) ;; *) LURK=$PWD/$LURK ;; esac
export LURK
if ! command -v busted >/dev/null; then
  echo "busted not found (Debian package lua-busted)"
  echo "busted: 0 passed, 1 failed"
  exit 1
fi
if [ ! -x "$LURK" ]; then
  echo "no lurk binary at $LURK"
  echo "busted: 0 passed, 1 failed"
  exit 1
fi
cd "$root" || exit 1
out=$(mktemp /tmp/lurk-busted.XXXXXX)
trap 'rm -f "$out"' EXIT
busted --output=TAP "$@" spec 2>&1 | tee "$out"
pass=$(grep -Ec '^ok [0-9]+' "$out" | tr -d ' ')
skip=$(grep -Ec '^ok [0-9]+ .*# (SKIP|TODO)' "$out" | tr -d ' ')
fail=$(grep -Ec '^not ok [0-9]+' "$out" | tr -d ' ')
pass=$((pass - skip))
# A spec file that does not load reports no test at all: count it.
if ! grep -Eq '^1\.\.[0-9]+' "$out"; then fail=$((fail + 1)); fi
echo "busted: $pass passed, $fail failed"
[ "$fail" = 0 ]
