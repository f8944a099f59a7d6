#!/usr/bin/env bash
# Installs the real tdnf 3.5.9 (Azure Linux 2.0/3.0) and dnf5 5.0.15 (Azure Linux 4.0) the patch
# tests drive, neither of which Debian packages (issue #15). Called by scripts/setup-test.sh.
#
# Where: BULWARK_TESTBED_PREFIX (default /opt/bulwark-testbed), as PREFIX/tdnf and PREFIX/dnf5.
# That directory is also the build cache: it outlives clones and is reused. dnf5 finds its
# aliases in a directory compiled into its binary, so an install is never moved once made.
# How, per tool, when PREFIX/<tool>/.bulwark-stamp does not name the current recipe:
#   1. ../shared/testbed/prebuilt/<tool>-*-debian12-amd64.tar.gz when present, its .sha256 beside
#      it matches, and PREFIX is the one it was built for (/opt/bulwark-testbed): unpacked (a second);
#   2. else ../shared/testbed/build-<tool>.sh PREFIX/<tool> (tdnf ~100 s, dnf5 25-30 min on 2 cores),
#      after installing its Debian build dependencies.
# The Debian runtime libraries both need are installed first (the build scripts' headers list
# their -dev packages; these are the libraries those bring). Quick and silent when all is there.
# Needs root to install; as another user it only says what is missing. BULWARK_TESTBED_TOOLS
# limits it to some of them ("tdnf").
set -euo pipefail
cd "$(dirname "$0")/.."

SHARED=${BULWARK_SHARED:-../shared}
TESTBED=$SHARED/testbed
PREFIX=${BULWARK_TESTBED_PREFIX:-/opt/bulwark-testbed}
PREBUILT_PREFIX=/opt/bulwark-testbed

RUNTIME_tdnf=(librpm9 librpmio9 libsolv1 libsolvext1 libcurl4 libsqlite3-0 libgpgme11 libxml2)
RUNTIME_dnf5=(librpm9 librpmio9 libsolv1 libsolvext1 librepo0 libglib2.0-0 libfmt9 libsmartcols1 libsqlite3-0 libmodulemd2 libjson-c5 libstdc++6)
VERSION_tdnf=3.5.9
VERSION_dnf5=5.0.15

say() { echo "setup-testbed-pms: $*"; }

if [[ ! -d $TESTBED ]]; then
  say "$TESTBED is not there: tdnf and dnf5 are not installed; the tests that need them are skipped (and fail in CI)" >&2
  exit 0
fi

# The recipe a tool is installed from: the sha256 of its build script, source tarball and patch.
recipe() {
  local t=$1
  cat "$TESTBED/build-$t.sh" "$TESTBED/$t-$(eval echo "\$VERSION_$t").tar.gz" "$TESTBED"/"$t"-*.patch | sha256sum | cut -d' ' -f1
}

installed_ok() {
  local t=$1 want=$2
  [[ -x $PREFIX/$t/bin/$t && -f $PREFIX/$t/.bulwark-stamp ]] || return 1
  [[ $(cat "$PREFIX/$t/.bulwark-stamp") == "$want" ]] || return 1
  "$PREFIX/$t/bin/$t" --version >/dev/null 2>&1
}

missing_debs() {
  local p out=()
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || out+=("$p"); done
  echo "${out[*]:-}"
}

apt_install() {
  local missing
  missing=$(missing_debs "$@")
  [[ -z $missing ]] && return 0
  if [[ $(id -u) -ne 0 ]]; then
    say "missing Debian packages: $missing (run scripts/setup-test.sh as root)" >&2
    return 1
  fi
  say "installing Debian packages with apt-get: $missing"
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

install_tool() {
  local t=$1 want tarball sum
  want=$(recipe "$t")
  local -n runtime="RUNTIME_$t"
  apt_install "${runtime[@]}" || return 0
  installed_ok "$t" "$want" && return 0
  if [[ $(id -u) -ne 0 ]]; then
    say "$t is not installed at $PREFIX/$t (run scripts/setup-test.sh as root)" >&2
    return 0
  fi
  mkdir -p "$PREFIX"
  # One installer at a time (several clones may share PREFIX).
  exec {lock}>"$PREFIX/.$t.lock"
  flock "$lock"
  if installed_ok "$t" "$want"; then
    exec {lock}>&-
    return 0
  fi
  rm -rf "${PREFIX:?}/$t"
  tarball=$(compgen -G "$TESTBED/prebuilt/$t-$(eval echo "\$VERSION_$t")-debian12-$(dpkg --print-architecture).tar.gz" || true)
  if [[ -n $tarball && -f $tarball.sha256 && $PREFIX == "$PREBUILT_PREFIX" ]] &&
    sum=$(sha256sum "$tarball" | cut -d' ' -f1) && [[ $sum == "$(cut -d' ' -f1 "$tarball.sha256")" ]]; then
    say "unpacking $tarball into $PREFIX/$t (sha256 matches)"
    tar -xzf "$tarball" -C / "${PREFIX#/}/$t"
  else
    [[ -n $tarball ]] && say "not using $tarball (its sha256 does not match, or PREFIX is not $PREBUILT_PREFIX): building $t"
    say "building $t from $TESTBED into $PREFIX/$t (tdnf ~100 s, dnf5 25-30 min on 2 cores)"
    bash "$TESTBED/build-$t.sh" "$PREFIX/$t" --install-deps
  fi
  "$PREFIX/$t/bin/$t" --version >/dev/null
  echo "$want" >"$PREFIX/$t/.bulwark-stamp"
  exec {lock}>&-
}

# BULWARK_TESTBED_TOOLS: which of them (default both).
for t in ${BULWARK_TESTBED_TOOLS:-tdnf dnf5}; do install_tool "$t"; done
