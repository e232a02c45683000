#!/usr/bin/env bash
# Build a static, PIC, hidden-visibility LuaJIT from Debian's own source
# package, for linking into liblurk.so.  See docs/luajit-build.md.
#
# usage: tools/build-luajit.sh OUTDIR
#
# Produces:
#   OUTDIR/lib/libluajit.a      the archive (every symbol STV_HIDDEN)
#   OUTDIR/include/*.h          lua.h lualib.h lauxlib.h luaconf.h lua.hpp luajit.h
#   OUTDIR/bin/luajit           a standalone luajit built from the same objects
#   OUTDIR/VERSION              Debian source version + build flags
#   OUTDIR/src/                 the unpacked, patched Debian source tree
#
# Idempotent: does nothing if OUTDIR/lib/libluajit.a is newer than this script
# and was built with the same compiler and flags.  Network: only Debian's
# package servers, through apt.
#
# Environment:
#   CC                     C compiler (default: gcc, as LuaJIT's Makefile)
#   LURK_LUAJIT_XCFLAGS    LuaJIT feature defines (default: -DLUAJIT_NO_UNWIND)
set -euo pipefail

die() { echo "build-luajit: error: $*" >&2; exit 1; }
log() { echo "build-luajit: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

CC_USED=${CC:-gcc}
# -fPIC: objects go into a shared object (Debian's .a is non-PIC: local-exec
#        TLS relocations, R_X86_64_TPOFF32 against static_uex in lj_err.c).
# -fvisibility=hidden: lua_*/luaL_*/luaJIT_* become STV_HIDDEN, so nothing of
#        LuaJIT can leak into liblurk.so's dynamic symbol table.
# -O2 comes from LuaJIT's own CCOPT (-O2 -fomit-frame-pointer), -g from
#        Debian's patch 0002 (CCDEBUG=-g).
TARGET_CFLAGS="-fPIC -fvisibility=hidden"
# LUAJIT_NO_UNWIND: internal error unwinding.  The default on x64 Linux
# (external, DWARF) calls libgcc's __register_frame (malloc + mutex) every time
# the JIT maps a new machine-code area and _Unwind_RaiseException (mutexes,
# _dl_find_object) on every Lua error: both forbidden on engine paths.
XCFLAGS=${LURK_LUAJIT_XCFLAGS--DLUAJIT_NO_UNWIND}
STAMP="cc=$CC_USED target_cflags=$TARGET_CFLAGS xcflags=$XCFLAGS"

LIB="$OUT/lib/libluajit.a"
if [ -f "$LIB" ] && [ "$LIB" -nt "$SELF" ] && [ -f "$OUT/lib/.stamp" ] &&
   [ "$(cat "$OUT/lib/.stamp")" = "$STAMP" ]; then
  log "up to date: $LIB"
  exit 0
fi

# ------------------------------------------------- apt side, fetch source
. "$(dirname "$SELF")/debsrc.sh"
debsrc_setup
debsrc_need
SRCROOT="$OUT/src"
SRC=$(debsrc_fetch luajit "$SRCROOT" "$OUT/fetch.log")
[ -n "$SRC" ] && [ -f "$SRC/src/Makefile" ] || die "unpacked source not found in $SRCROOT"
# dpkg-source applies debian/patches/series on extraction (format 3.0 quilt)
# and records what it applied in .pc/applied-patches: check they agree.
if [ -f "$SRC/debian/patches/series" ]; then
  want=$(grep -vE '^[[:space:]]*(#|$)' "$SRC/debian/patches/series" | awk '{print $1}')
  got=$(cat "$SRC/.pc/applied-patches" 2>/dev/null || true)
  [ "$want" = "$got" ] || die "Debian patches not applied (want: $want; got: $got)"
fi
DEBVER=$(cd "$SRC" && dpkg-parsechangelog -S Version 2>/dev/null || basename "$SRC")
log "source: luajit $DEBVER (Debian patches applied by dpkg-source)"

# -------------------------------------------------------------------- build
# Keep the build hermetic: no CFLAGS/MAKEFLAGS leaking in from the caller
# (e.g. a jobserver when cmake re-runs inside make).
unset MAKEFLAGS MFLAGS MAKELEVEL CFLAGS LDFLAGS CPPFLAGS
JOBS=$(nproc 2>/dev/null || echo 2)
log "building (amalgamated, static, -j$JOBS)"
start=$(date +%s)
if ! make -C "$SRC/src" -j"$JOBS" libluajit.a luajit \
    BUILDMODE=static LJCORE_O=ljamalg.o \
    CC="$CC_USED" CFLAGS= \
    "TARGET_CFLAGS=$TARGET_CFLAGS" "XCFLAGS=$XCFLAGS" \
    Q= E=@: >"$OUT/build.log" 2>&1; then
  tail -n 40 "$OUT/build.log" >&2
  die "make failed (full log: $OUT/build.log)"
fi

# Sanity: the archive must be PIC (no absolute/local-exec relocations in code)
# and export nothing by default visibility.
bad=$(readelf -rW "$SRC/src/libluajit.a" | awk '/^Relocation section/{s=$3} /R_X86_64_(32|32S|TPOFF32|TPOFF64) /{ if (s !~ /debug/) print s, $3 }' | sort -u)
[ -z "$bad" ] || die "non-PIC relocations in libluajit.a: $bad"
vis=$(readelf -sW "$SRC/src/libluajit.a" | awk '($5=="GLOBAL"||$5=="WEAK") && $7!="UND" && $6!="HIDDEN"{print $8}' | sort -u)
[ -z "$vis" ] || die "symbols not hidden in libluajit.a: $vis"
# Smoke test: JIT on, errors unwind correctly (pcall across C frames + traces).
"$SRC/src/luajit" -e '
  assert(jit.status())
  local n = 0
  for i = 1, 300 do if not pcall(function() if i > 200 then error("x") end end) then n = n + 1 end end
  assert(n == 100)
  assert(not pcall(string.gsub, "ab", ".", function() error("y") end))
  assert(select(2, load("OK")):match("OK"))' || die "smoke test of the built luajit failed"

# ------------------------------------------------------------------ install
mkdir -p "$OUT/include" "$OUT/lib" "$OUT/bin"
for h in lua.h lualib.h lauxlib.h luaconf.h lua.hpp luajit.h; do
  install -m 644 "$SRC/src/$h" "$OUT/include/$h"
done
install -m 755 "$SRC/src/luajit" "$OUT/bin/luajit"
printf 'luajit %s\n%s\n' "$DEBVER" "$STAMP" >"$OUT/VERSION"
# Library last, atomically: its presence is what marks the build complete.
install -m 644 "$SRC/src/libluajit.a" "$LIB.tmp"
printf '%s\n' "$STAMP" >"$OUT/lib/.stamp"
mv -f "$LIB.tmp" "$LIB"
log "done in $(( $(date +%s) - start ))s: $LIB"
