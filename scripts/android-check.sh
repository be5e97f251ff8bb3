#!/usr/bin/env bash
# Type-checks tauri-plugin-oss-direct and the app's library for Android (aarch64-linux-android)
# when the Rust standard library for that target can be installed. The Android SDK/NDK is not
# needed for `cargo check` of Rust code, but crates that compile C (ring) need the NDK's clang:
# those are checked only when it is there, and the script says so rather than failing.
#
# Then it tries aarch64-apple-ios and reports where that stops. On Linux it cannot pass: wry
# (Tauri's webview) turns on objc2's `exception` feature, whose objc2-exception-helper build
# script compiles Objective-C (helper.m) with cc-rs against the iOS SDK, located with `xcrun`;
# the SDK and xcrun ship only with Xcode on macOS, and every Tauri crate (so ours) depends on it.
# That one known stop is reported; any other error fails the script.
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
cargo check --quiet -p tauri-plugin-oss-direct -p oss-direct-app --lib --target "$TARGET"
echo "ok: tauri-plugin-oss-direct and oss-direct-app type-check for $TARGET"

IOS=aarch64-apple-ios
if [ "${SKIP_IOS_CHECK:-0}" = 1 ]; then exit 0; fi
if ! rustup target list --installed 2>/dev/null | grep -qx "$IOS"; then
  rustup target add "$IOS" >/dev/null 2>&1 || { echo "skipped: the Rust standard library for $IOS cannot be installed here"; exit 0; }
fi
set +e
out=$(cargo check --quiet -p tauri-plugin-oss-direct --lib --target "$IOS" 2>&1)
rc=$?
set -e
if [ $rc -eq 0 ]; then
  echo "ok: tauri-plugin-oss-direct type-checks for $IOS"
elif [ "$(uname)" != Darwin ] && grep -q 'failed to run custom build command for `objc2-exception-helper' <<<"$out" \
    && grep -q 'failed to find tool "xcrun"' <<<"$out"; then
  echo "not checkable here: $IOS stops in objc2-exception-helper's build script, which needs xcrun and the iOS SDK (Xcode on macOS); our crates are not reached"
else
  printf '%s\n' "$out" | tail -40 >&2
  echo "error: the $IOS check failed for another reason than the missing iOS SDK" >&2
  exit 1
fi
