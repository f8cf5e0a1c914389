#!/bin/sh
# The browser test: coroner's html report in headless Chromium (Debian's /usr/bin/chromium),
# driven by playwright-core and checked by axe-core, both from npm (pinned in package.json and
# package-lock.json).
#
#   tests/browser/run_browser.sh CORONER OUT_DIR TRACE...
#
# Installs playwright-core and axe-core with `npm ci` when either is missing (node_modules is
# not committed).
# Exit 77 (meson's "skipped") when chromium or node is missing.
set -eu

here="$(cd "$(dirname "$0")" && pwd)"
chromium="${CORONER_CHROMIUM:-/usr/bin/chromium}"

if [ ! -x "$chromium" ]; then
  echo "SKIP: no $chromium (apt-get install chromium)"
  exit 77
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "SKIP: no node or npm (apt-get install nodejs npm)"
  exit 77
fi
if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -d "$here/node_modules/axe-core" ]; then
  npm ci --prefix "$here" --no-audit --no-fund
fi
exec node "$here/report.test.js" "$@"
