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
npm test
