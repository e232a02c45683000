#!/usr/bin/env bash
# Fetch Debian's lua-lpeg source package (LPeg 1.0.2 on bookworm) for linking
# into liblurk.so; cmake/LPeg.cmake compiles it (static, PIC, hidden).
#
# usage: tools/fetch-lpeg.sh OUTDIR
#
# Produces OUTDIR/src/{lptree,lpcode,lpvm,lpcap,lpprint}.c and headers, and
# OUTDIR/VERSION. Idempotent: does nothing if OUTDIR/src/lptree.c exists and
# is newer than this script. Network: only Debian's package servers (apt).
set -euo pipefail

die() { echo "fetch-lpeg: error: $*" >&2; exit 1; }
log() { echo "fetch-lpeg: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
if [ -f "$OUT/src/lptree.c" ] && [ "$OUT/src/lptree.c" -nt "$SELF" ]; then
  log "up to date: $OUT/src"
  exit 0
fi
. "$(dirname "$SELF")/debsrc.sh"
debsrc_setup
debsrc_need
TMP="$OUT/fetch"
rm -rf "$OUT/src"
SRC=$(debsrc_fetch lua-lpeg "$TMP" "$OUT/fetch.log")
[ -n "$SRC" ] && [ -f "$SRC/lptree.c" ] || die "unpacked source not found in $TMP"
DEBVER=$(cd "$SRC" && dpkg-parsechangelog -S Version 2>/dev/null || basename "$SRC")
mkdir -p "$OUT/src"
cp "$SRC"/*.c "$SRC"/*.h "$SRC"/re.lua "$OUT/src/"
printf 'lua-lpeg %s\n' "$DEBVER" >"$OUT/VERSION"
rm -rf "$TMP"
touch "$OUT/src/lptree.c"
log "source: lua-lpeg $DEBVER in $OUT/src"
