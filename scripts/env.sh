# Shared settings for the project's scripts (sourced, not run).
# Cargo's target folder lives outside the clone so repeated runs (and CI) stay fast.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/oss-direct/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# CI builds once: incremental caches would only fill the disk (tens of GB with Tauri).
if [ "${CI:-}" = "true" ]; then export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"; fi
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
VENV="${OSS_DIRECT_VENV:-$HOME/.cache/oss-direct/venv}"
export VENV

log() { printf '\n== %s\n' "$*"; }

# Runs apt-get install for the packages that are missing (root or sudo), else says what to install.
apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else
      echo "missing Debian packages: ${missing[*]} (run: sudo apt-get install ${missing[*]})" >&2
      return 1
    fi
  fi
  log "installing ${missing[*]}"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Debian packages the project needs: Tauri 2 on Linux (WebKitGTK 4.1 and friends), Xvfb and the
# WebKit WebDriver for the real-window tests, xdotool for the native file dialog, Python for the
# official SDKs.
SYSTEM_PACKAGES=(build-essential pkg-config curl file libwebkit2gtk-4.1-dev libgtk-3-dev
  librsvg2-dev libayatana-appindicator3-dev libxdo-dev libssl-dev xvfb webkit2gtk-driver xdotool
  imagemagick python3 python3-venv)

# Starts `$1` (an oss-local binary) with the rest as its arguments on free loopback ports, its
# data, ready file and output in the folder $WORK, and waits up to 30 s for it to be ready. Sets
# OSS_LOCAL_PID; `ready_value KEY` then reads a field of its ready file (endpoints, region...).
start_oss_local() {
  local bin="$1"
  shift
  "$bin" "$@" --listen 127.0.0.1:0 --sts-listen 127.0.0.1:0 --data-dir "$WORK/data" \
    --ready-file "$WORK/ready.json" >"$WORK/stdout" 2>"$WORK/stderr" &
  OSS_LOCAL_PID=$!
  for _ in $(seq 1 300); do
    [ -s "$WORK/ready.json" ] && return 0
    if ! kill -0 "$OSS_LOCAL_PID" 2>/dev/null; then
      echo "oss-local exited before it was ready:" >&2
      cat "$WORK/stderr" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "oss-local did not become ready in 30 s" >&2
  return 1
}
ready_value() {
  python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$WORK/ready.json" "$1"
}
