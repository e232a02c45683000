# lurk: install the Debian packages the build and the tests need (sourced).
# Only what is missing is installed; apt-get runs once per call at most.
lurk_deps() {
  local want="gcc make cmake libzydis-dev libluajit-5.1-dev lua-lpeg-dev lua-busted dpkg-dev
    python3 perl lua5.4 luajit sqlite3 xz-utils gzip bash coreutils diffutils nodejs
    strace ltrace valgrind python3-jsonschema g++ binutils bc man-db groff-base
    libiberty-dev zlib1g-dev flex bison gawk m4 gdb libc6-dbg libedit-dev tmux util-linux passwd
    busybox-static musl-tools golang-go"
  local missing=""
  for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "lurk: installing Debian packages:$missing" >&2
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
  fi
}

lurk_build() {
  # A failed build fails, even when an older lurk is still in build/.
  local log rc
  cmake -S "$LURK_ROOT" -B "$LURK_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || return 1
  log=$(mktemp)
  cmake --build "$LURK_ROOT/build" -j"$(nproc)" >"$log" 2>&1
  rc=$?
  grep -Ev '^\[|^(gmake|make)\[' "$log" || true # (nothing to show: a build with nothing to do)
  rm -f "$log"
  [ "$rc" = 0 ] && [ -x "$LURK_ROOT/build/lurk" ] && [ -f "$LURK_ROOT/build/liblurk.so" ]
}
