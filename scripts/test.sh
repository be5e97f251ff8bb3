#!/usr/bin/env bash
# The one test command (`make test`; `.ci/run` calls it): installs what is missing on a Debian
# machine, then format, lint, every Rust test, the official-SDK conformance suite, the Android
# type-check, and the app end to end in a real window.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs" >&2; exit 1; }
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add rustfmt clippy

log "system packages (Tauri's WebKitGTK, Xvfb, the WebDriver for the app, Python for the SDKs)"
apt_install "${SYSTEM_PACKAGES[@]}"

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings

log "a throwaway PostgreSQL on loopback for the token server's database tests"
eval "$(bash scripts/postgres.sh)"
trap 'bash scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT

log "cargo test (every crate)"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
  cargo test --workspace --doc --quiet
else
  cargo test --workspace --no-fail-fast
fi

log "the minimal example app builds on tauri-plugin-oss-direct alone (reuse, not a claim)"
cargo build --quiet -p oss-direct-minimal-app

log "the plugin's guest-js API builds to the checked-in dist-js/ (and the app's copy)"
bash plugins/tauri-plugin-oss-direct/scripts/check-js.sh

log "official SDK conformance (oss2, alibabacloud-oss-v2, STS SDK against oss-local)"
bash scripts/conformance.sh

log "oss2's own test suite (2.19.1 sdist) against oss-local, V1 and V4 (expected failures reviewed)"
bash scripts/oss2-suite.sh

log "Android (and iOS, where it can) type-check of the plugin and the app's library"
bash scripts/android-check.sh

if [ -x scripts/e2e.sh ]; then
  log "the app end to end (Xvfb + tauri-driver + WebKitWebDriver)"
  bash scripts/e2e.sh
fi
log "fuzz targets, briefly (make fuzz runs each for 60 s)"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-3}"

log "all tests passed"
