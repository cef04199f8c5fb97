#!/usr/bin/env sh
# Install axe-core (pinned by tests/browser/package-lock.json) for the browser tests' accessibility checks.
# Idempotent: does nothing when it is already installed.
set -eu
cd "$(dirname "$0")/.."
if [ -f tests/browser/node_modules/axe-core/axe.min.js ]; then
    exit 0
fi
npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error >/dev/null
test -f tests/browser/node_modules/axe-core/axe.min.js
