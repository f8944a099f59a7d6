#!/usr/bin/env bash
# The README's first command: installs Bulwark's dependencies, builds it, and runs its main
# job on the embedded SQLite database (no server needed).
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
node bin/bulwark.js demo "$@"
