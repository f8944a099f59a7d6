#!/usr/bin/env bash
# Installs and starts what Bulwark's tests use: the real rpm, dnf, createrepo_c, dpkg, oscap,
# sshd, PostgreSQL, curl and dash (the agent), Chromium for the dashboard's browser tests, and
# skopeo, umoci and mmdebstrap for images
# (DESIGN.md "Real parts in tests").
#
# As root it INSTALLS DEBIAN PACKAGES with apt-get (the list is below) and starts PostgreSQL if
# it is installed but not running. As another user it only checks and tells you what is missing.
set -euo pipefail

PACKAGES=(
  rpm librpm-dev dnf createrepo-c dpkg libdpkg-dev openscap-scanner openssh-server
  zstd xz-utils bzip2 gcc libc6-dev pkg-config postgresql curl dash dpkg-dev openssl chromium
  skopeo umoci mmdebstrap apt gnupg poppler-utils
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "setup-test: installing Debian packages with apt-get: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup-test: missing Debian packages: ${missing[*]}" >&2
    echo "setup-test: run as root (sudo bash scripts/setup-test.sh) to install them; tests that need them are skipped" >&2
  fi
fi

# Two tests read apt's own package lists (the Debian InRelease check, apt-cache on libldb2): a
# machine whose packages were all installed earlier may have had its lists cleaned since.
if [[ $(id -u) -eq 0 ]] && ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  echo "setup-test: apt's package lists are empty; running apt-get update"
  apt-get update -qq || echo "setup-test: apt-get update failed; the tests that read apt's lists will say so" >&2
fi

# PostgreSQL: start every cluster that is down (no systemd in containers and CI sandboxes).
if command -v pg_lsclusters >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
  while read -r ver name _port status _rest; do
    if [[ "$status" != online* ]]; then
      echo "setup-test: starting PostgreSQL cluster $ver/$name"
      pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || pg_ctlcluster "$ver" "$name" start
    fi
  done < <(pg_lsclusters --no-header)
  # A role and database of our own, with a password, so the tests' TCP connection works
  # whatever the cluster's pg_hba (trust here, scram on a fresh Debian install).
  for _ in $(seq 1 30); do
    runuser -u postgres -- pg_isready -q && break
    sleep 1
  done
  runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_roles WHERE rolname='bulwark'" | grep -q 1 ||
    runuser -u postgres -- psql -qc "CREATE ROLE bulwark LOGIN SUPERUSER PASSWORD 'bulwark'"
  runuser -u postgres -- psql -qtAc "SELECT 1 FROM pg_database WHERE datname='bulwark_test'" | grep -q 1 ||
    runuser -u postgres -- createdb -O bulwark bulwark_test
fi

# The real tdnf and dnf5 (Azure Linux's package managers, not Debian packages): from
# ../shared/testbed, prebuilt or built once into /opt/bulwark-testbed (scripts/setup-testbed-pms.sh).
bash scripts/setup-testbed-pms.sh
