#!/usr/bin/env bash
# Build static, PIC, hidden-visibility libelf.a and libdw.a from Debian's own
# elfutils source package, for linking into liblurk.so (engine/sym*).
#
# usage: tools/build-elfutils.sh OUTDIR
#
# Produces:
#   OUTDIR/lib/libelf.a, OUTDIR/lib/libdw.a   (libdw.a holds libdw, libdwfl,
#                                 libdwelf, libebl and the backends)
#   OUTDIR/include/               libelf.h gelf.h dwarf.h elfutils/libdw.h ...
#   OUTDIR/VERSION                Debian source version + build flags
#
# Why not Debian's libelf.a/libdw.a: they are built -fPIE, with local-exec
# TLS (R_X86_64_TPOFF32 in elf_error.o, dwarf_error.o, libdw_alloc.o), which
# a shared object cannot hold, and with default visibility.
#
# Flags:
#   -fPIC -fvisibility=hidden   as tools/build-luajit.sh does for LuaJIT;
#   -ftls-model=initial-exec    libelf/libdw keep their error code and a
#                               thread id in __thread variables. liblurk.so
#                               is loaded at start (LD_PRELOAD), so its TLS is
#                               in the static block: no __tls_get_addr import.
# No debuginfod (network), no bzip2/lzma/zstd; zlib for compressed debug
# sections (Debian's .debug files use SHF_COMPRESSED zlib).
#
# Idempotent: does nothing if OUTDIR/lib/libdw.a is newer than this script and
# was built with the same flags. Network: only Debian's package servers (apt).
set -euo pipefail

die() { echo "build-elfutils: error: $*" >&2; exit 1; }
log() { echo "build-elfutils: $*" >&2; }

[ $# -eq 1 ] || die "usage: $0 OUTDIR"
mkdir -p "$1"
OUT=$(cd "$1" && pwd)
SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")

CC_USED=${CC:-gcc}
EU_CFLAGS="-O2 -g -fPIC -fvisibility=hidden -ftls-model=initial-exec -ffunction-sections -fdata-sections"
EU_CONF="--disable-debuginfod --disable-libdebuginfod --without-bzlib --without-lzma
  --without-zstd --with-zlib --disable-nls --disable-symbol-versioning"
STAMP="cc=$CC_USED cflags=$EU_CFLAGS conf=$(echo $EU_CONF)"

LIB="$OUT/lib/libdw.a"
if [ -f "$LIB" ] && [ "$LIB" -nt "$SELF" ] && [ -f "$OUT/lib/.stamp" ] &&
   [ "$(cat "$OUT/lib/.stamp")" = "$STAMP" ]; then
  log "up to date: $LIB"
  exit 0
fi

# ------------------------------------------------- apt side, fetch source
. "$(dirname "$SELF")/debsrc.sh"
debsrc_setup
# The build needs these (libcpu's generator uses flex/bison, configure m4/gawk).
debsrc_need flex bison gawk m4 zlib1g-dev
SRCROOT="$OUT/src"
SRC=$(debsrc_fetch elfutils "$SRCROOT" "$OUT/fetch.log")
[ -n "$SRC" ] && [ -f "$SRC/configure" ] || die "unpacked source not found in $SRCROOT"
if [ -f "$SRC/debian/patches/series" ]; then
  want=$(grep -vE '^[[:space:]]*(#|$)' "$SRC/debian/patches/series" | awk '{print $1}')
  got=$(cat "$SRC/.pc/applied-patches" 2>/dev/null || true)
  [ "$want" = "$got" ] || die "Debian patches not applied (want: $want; got: $got)"
fi
DEBVER=$(cd "$SRC" && dpkg-parsechangelog -S Version 2>/dev/null || basename "$SRC")
log "source: elfutils $DEBVER (Debian patches applied by dpkg-source)"

# -------------------------------------------------------------------- build
unset MAKEFLAGS MFLAGS MAKELEVEL CFLAGS LDFLAGS CPPFLAGS
JOBS=$(nproc 2>/dev/null || echo 2)
[ "$JOBS" -le 2 ] || JOBS=2
BLD="$OUT/build"
rm -rf "$BLD"
mkdir -p "$BLD"
start=$(date +%s)
log "configure"
# shellcheck disable=SC2086
(cd "$BLD" && "$SRC/configure" -q CC="$CC_USED" CFLAGS="$EU_CFLAGS" $EU_CONF) \
  >"$OUT/build.log" 2>&1 || { tail -n 30 "$OUT/build.log" >&2; die "configure failed"; }
log "building libelf.a, libdw.a (-j$JOBS)"
for d in lib libelf libebl backends libcpu libdwelf libdwfl; do
  make -C "$BLD/$d" -j"$JOBS" >>"$OUT/build.log" 2>&1 ||
    { tail -n 30 "$OUT/build.log" >&2; die "make in $d failed (log: $OUT/build.log)"; }
done
make -C "$BLD/libdw" -j"$JOBS" libdw.a >>"$OUT/build.log" 2>&1 ||
  { tail -n 30 "$OUT/build.log" >&2; die "make libdw.a failed (log: $OUT/build.log)"; }

for a in "$BLD/libelf/libelf.a" "$BLD/libdw/libdw.a"; do
  bad=$(readelf -rW "$a" | awk '/^Relocation section/{s=$3} /R_X86_64_(32|32S|TPOFF32|TPOFF64) /{ if (s !~ /debug/) print s, $3 }' | sort -u)
  [ -z "$bad" ] || die "non-PIC relocations in $a: $bad"
  vis=$(readelf -sW "$a" | awk '($5=="GLOBAL"||$5=="WEAK") && $7!="UND" && $6!="HIDDEN"{print $8}' | sort -u)
  [ -z "$vis" ] || die "symbols not hidden in $a: $vis"
done

# ------------------------------------------------------------------ install
mkdir -p "$OUT/include/elfutils" "$OUT/lib"
install -m 644 "$SRC/libelf/libelf.h" "$SRC/libelf/gelf.h" "$SRC/libelf/nlist.h" "$OUT/include/"
install -m 644 "$SRC/libdw/dwarf.h" "$OUT/include/"
install -m 644 "$SRC/libdw/libdw.h" "$SRC/libdwelf/libdwelf.h" "$SRC/libdw/known-dwarf.h" \
  "$BLD/version.h" "$OUT/include/elfutils/"
printf 'elfutils %s\n%s\n' "$DEBVER" "$STAMP" >"$OUT/VERSION"
install -m 644 "$BLD/libelf/libelf.a" "$OUT/lib/libelf.a"
install -m 644 "$BLD/libdw/libdw.a" "$LIB.tmp"
printf '%s\n' "$STAMP" >"$OUT/lib/.stamp"
mv -f "$LIB.tmp" "$LIB"
rm -rf "$BLD"
log "done in $(( $(date +%s) - start ))s: $LIB"
