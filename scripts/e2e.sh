#!/usr/bin/env bash
# The app in a real window: Xvfb, WebKitWebDriver driven through tauri-driver, the native GTK
# file dialog answered with xdotool, against oss-local and app-token-server processes.
# Screenshots go to $E2E_SCREENSHOTS (default: target-e2e-screens/ in the clone).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

command -v tauri-driver >/dev/null || { log "installing tauri-driver"; cargo install tauri-driver --locked --quiet; }
"$VENV/bin/python" -c "import selenium, pytest, PIL, oss2" 2>/dev/null || "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check selenium pytest pillow oss2

log "building the app, oss-local and app-token-server"
cargo build --quiet -p oss-direct-app -p oss-local -p app-token-server

run() {
  cd tests/e2e && NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" \
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider ${E2E_PYTEST_ARGS:-.}
}
if [ -n "${DISPLAY:-}" ] && [ "${E2E_USE_DISPLAY:-0}" = 1 ]; then
  run
else
  xvfb-run -a -s "-screen 0 1280x900x24" bash -c "$(declare -f run); run"
fi
