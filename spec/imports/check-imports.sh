#!/usr/bin/env bash
# check-imports.sh LIB ALLOWLIST [EXPORTS]
#
# Checks the dynamic symbol table of LIB (liblurk.so):
#   imports: every undefined dynamic symbol (nm -D --undefined-only, symbol
#            versions like @GLIBC_2.2.5 stripped) must be on ALLOWLIST;
#   exports: every defined dynamic symbol (nm -D --defined-only) must be on
#            EXPORTS (default: exports.txt next to ALLOWLIST).
# List files: one symbol per line; '#' starts a comment (whole line or after
# the symbol); blank lines ignored.
#
# Prints each offending symbol, then a one-line summary.
# Exit: 0 all good, 1 offending symbols, 2 usage or tool error.
set -euo pipefail

usage() { echo "usage: $0 LIB ALLOWLIST [EXPORTS]" >&2; exit 2; }
[ $# -ge 2 ] && [ $# -le 3 ] || usage
LIB=$1 ALLOW=$2
EXPORTS=${3:-$(dirname "$ALLOW")/exports.txt}
for f in "$LIB" "$ALLOW" "$EXPORTS"; do
  [ -r "$f" ] || { echo "check-imports: cannot read $f" >&2; exit 2; }
done
command -v nm >/dev/null || { echo "check-imports: nm (binutils) not found" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Symbols from a list file, sorted and unique.
read_list() { sed -e 's/#.*//' -e 's/@.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$1" | LC_ALL=C sort -u; }

# nm -D prints "no symbols" on stderr for an empty table: treat as empty,
# but fail on any other nm error (not an ELF file, ...).
dynsyms() {  # dynsyms NM-OPTION OUTFILE
  if ! nm -D "$1" "$LIB" >"$2" 2>"$tmp/nm.err"; then
    grep -q 'no symbols' "$tmp/nm.err" || { cat "$tmp/nm.err" >&2; exit 2; }
    : >"$2"
  fi
}
dynsyms --undefined-only "$tmp/nm.undef"
dynsyms --defined-only "$tmp/nm.def"

# Undefined: "                 U memcpy@GLIBC_2.14" / "w __gmon_start__".
awk 'NF { print $NF }' "$tmp/nm.undef" | sed 's/@.*//' | LC_ALL=C sort -u >"$tmp/imports"
# Defined: "0000000000001139 T lurk_foo@@LURK_1". Type A entries are symbol
# version nodes from a version script, not functions or data: skipped.
awk 'NF >= 3 && $2 != "A" { print $3 }' "$tmp/nm.def" | sed 's/@.*//' | LC_ALL=C sort -u >"$tmp/exports"

read_list "$ALLOW" >"$tmp/allow"
read_list "$EXPORTS" >"$tmp/explist"

LC_ALL=C comm -23 "$tmp/imports" "$tmp/allow" >"$tmp/bad_imports"
LC_ALL=C comm -23 "$tmp/exports" "$tmp/explist" >"$tmp/bad_exports"
LC_ALL=C comm -13 "$tmp/imports" "$tmp/allow" >"$tmp/unused"

sed 's/^/NOT ALLOWED import: /' "$tmp/bad_imports"
sed 's/^/NOT LISTED export: /' "$tmp/bad_exports"

n_imp=$(wc -l <"$tmp/imports"); n_bad_imp=$(wc -l <"$tmp/bad_imports")
n_exp=$(wc -l <"$tmp/exports"); n_bad_exp=$(wc -l <"$tmp/bad_exports")
n_unused=$(wc -l <"$tmp/unused")
if [ "$n_bad_imp" -eq 0 ] && [ "$n_bad_exp" -eq 0 ]; then verdict=OK; rc=0; else verdict=FAIL; rc=1; fi
echo "check-imports: $verdict: $(basename "$LIB"): $n_imp imports, $n_bad_imp not allowed; $n_exp exports, $n_bad_exp not listed; $n_unused allowlisted symbols not imported"
exit $rc
