#!/usr/bin/env sh
# Install Stoplight Prism (the mock server of Twilio's OpenAPI description) for the contract tests.
# Idempotent: does nothing when the pinned major version is already installed under .prism/.
set -eu
cd "$(dirname "$0")/.."
if [ -x .prism/node_modules/.bin/prism ]; then
    exit 0
fi
npm install --prefix .prism --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5 >/dev/null
.prism/node_modules/.bin/prism --version >/dev/null
