#!/usr/bin/env bash
# Type-checks the app's library for Android (aarch64-linux-android) when the Rust standard
# library for that target can be installed. The Android SDK/NDK is not needed for `cargo check`
# of Rust code, but crates that compile C (ring) need the NDK's clang: those are checked only
# when it is there, and the script says so rather than failing.
set -uo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
TARGET=aarch64-linux-android
if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
  if ! rustup target add "$TARGET" >/dev/null 2>&1; then
    echo "skipped: the Rust standard library for $TARGET cannot be installed here"
    exit 0
  fi
fi
if ! command -v aarch64-linux-android-clang >/dev/null 2>&1 && [ -z "${ANDROID_NDK_HOME:-}" ]; then
  # Without the NDK, C code cannot be compiled for Android; check the pure-Rust crates the app
  # is made of with a stand-in C compiler that only has to satisfy build scripts' probes.
  echo "note: no Android NDK; C dependencies are compiled for the host to let cargo check run"
  export CC_aarch64_linux_android=cc AR_aarch64_linux_android=ar
fi
set -e
cargo check --quiet -p oss-direct-app --lib --target "$TARGET"
echo "ok: oss-direct-app type-checks for $TARGET"
