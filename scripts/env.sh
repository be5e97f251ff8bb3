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
