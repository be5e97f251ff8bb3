#!/usr/bin/env bash
# Rebuilds the guest-js API (tsc) and its no-bundler module, and fails if the checked-in
# dist-js/ or the app's copy (ui/js/oss-direct.js) differ from what guest-js/index.ts gives.
# Needs Node.js and the npm registry (typescript, @tauri-apps/api); skipped without Node.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null; then
  echo "skipped: no Node.js/npm to rebuild guest-js"
  exit 0
fi
npm ci --no-audit --no-fund --silent
npm run --silent build
node scripts/global-esm.mjs >/dev/null
cmp dist-js/global.js ../../ui/js/oss-direct.js || {
  echo "ui/js/oss-direct.js is not dist-js/global.js: run node scripts/global-esm.mjs ../../ui/js/oss-direct.js" >&2
  exit 1
}
git diff --exit-code --stat -- dist-js || {
  echo "dist-js/ is stale: run npm run build && npm run build:global and commit it" >&2
  exit 1
}
echo "ok: guest-js builds to the checked-in dist-js/"
