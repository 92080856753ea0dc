#!/usr/bin/env bash
# The browser tests as CI runs them: the pinned packages from package-lock.json, then every
# spec against the chatd binary in CHATD_BIN (default: the release build of this repository)
# in the Chromium at CHROMIUM (default: /usr/bin/chromium). The exit code is the tests'.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
exec npx playwright test "$@"
