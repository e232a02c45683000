# lurk: fetch a Debian source package for the build scripts (sourced by
# tools/build-luajit.sh, build-elfutils.sh, fetch-lpeg.sh; they define log
# and die first). Adds a deb-src entry when there is none, installs the
# packages a build needs, and unpacks a source package with its Debian
# patches applied (dpkg-source).

DEBSRC_SUDO=
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || die "need root (or sudo) for apt-get"
  DEBSRC_SUDO=sudo
fi
debsrc_updated=0
# apt-get update, once per script.
debsrc_update() {
  [ $debsrc_updated = 1 ] || { log "apt-get update"; $DEBSRC_SUDO apt-get update -qq; debsrc_updated=1; }
}

# Make sure apt knows deb-src for this release.
debsrc_setup() {
  if ! grep -qsE '^[[:space:]]*deb-src[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list &&
     ! grep -qsE '^[[:space:]]*Types:.*deb-src' /etc/apt/sources.list.d/*.sources; then
    local codename
    codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
    codename=${codename:-bookworm}
    log "adding deb-src for $codename to /etc/apt/sources.list.d/debsrc.sources"
    printf '%s\n' \
      "Types: deb-src" \
      "URIs: http://deb.debian.org/debian" \
      "Suites: $codename $codename-updates" \
      "Components: main" \
      "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg" |
      $DEBSRC_SUDO tee /etc/apt/sources.list.d/debsrc.sources >/dev/null
    debsrc_update
  fi
}

# Install the packages named that are missing (dpkg-dev always).
debsrc_need() {
  local p missing=""
  for p in dpkg-dev "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    debsrc_update
    log "installing$missing"
    $DEBSRC_SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  fi
}

# Unpack source package $1 into directory $2 (emptied first), with its log
# in $3; prints the unpacked tree's path. An apt-get update and a second try
# if the first fails (stale package lists).
debsrc_fetch() {
  local pkg=$1 dir=$2 logf=$3
  rm -rf "$dir"
  mkdir -p "$dir"
  if ! (cd "$dir" && apt-get source -qq "$pkg") >"$logf" 2>&1; then
    debsrc_update
    rm -rf "${dir:?}"/*
    (cd "$dir" && apt-get source -qq "$pkg") >"$logf" 2>&1 || { cat "$logf" >&2; die "apt-get source $pkg failed"; }
  fi
  find "$dir" -mindepth 1 -maxdepth 1 -type d -name "$pkg-*" | head -n1
}
