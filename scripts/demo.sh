#!/usr/bin/env bash
# The README's first command: installs Bulwark's dependencies, builds it (the dashboard too), runs
# its main job on the embedded SQLite database — ingest a feed, scan a host, print the findings —
# and then serves that fleet: the dashboard and the API, with a first admin token (Ctrl-C stops).
# BULWARK_LISTEN sets the address (default 127.0.0.1:8080).
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
node bin/bulwark.js demo "$@"
echo
exec node bin/bulwark.js "$@" serve --demo --listen "${BULWARK_LISTEN:-127.0.0.1:8080}"
