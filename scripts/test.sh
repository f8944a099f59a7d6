#!/usr/bin/env bash
# The README's test command: sets up and passes the whole test suite.
#   As root, scripts/setup-test.sh installs Debian packages with apt-get (rpm, dnf, dpkg,
#   createrepo-c, openscap-scanner, openssh-server, postgresql, compilers for the librpm and
#   libdpkg oracles) and starts PostgreSQL.
# Then: npm ci, build, type-check, lint, import boundaries, and vitest (unit, real-tool, both
# database dialects). Ends with a line "N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-test.sh
export BULWARK_TEST_DATABASE_URL="${BULWARK_TEST_DATABASE_URL:-postgres://bulwark:bulwark@127.0.0.1:5432/bulwark_test}"
npm ci --no-audit --no-fund --loglevel=error

# The suite's wall time, with the load beside it: a time is only comparable with another taken on
# a quiet machine (load near 0 before the start), so both are printed. Printed whether the tests
# passed or not; the exit status is npm test's.
load_before=$(cut -d' ' -f1 /proc/loadavg)
start=$(date +%s)
status=0
npm test || status=$?
took=$(($(date +%s) - start))
echo "suite took ${took} s (npm test: build, checks and vitest; load average ${load_before} at the start, $(cut -d' ' -f1 /proc/loadavg) at the end, $(nproc) cores)"
exit "$status"
