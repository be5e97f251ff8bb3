#!/usr/bin/env bash
# Official SDK conformance: runs oss2, alibabacloud-oss-v2 and both STS SDKs (from PyPI, in a venv
# under ~/.cache/oss-direct/venv) and ali-oss (from npm, under ~/.cache/oss-direct/node, run by
# `node --test`) against a fresh oss-local on free loopback ports.
# Tests: crates/oss-local/tests/python/, crates/oss-local/tests/node/ and, when present,
# server/tests/python/. They get OSS_LOCAL_ENDPOINT, OSS_LOCAL_STS_ENDPOINT and OSS_LOCAL_REGION.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

PY_PACKAGES=(oss2 alibabacloud-oss-v2 aliyun-python-sdk-sts aliyun-python-sdk-core alibabacloud_sts20150401 pytest)
PY_IMPORTS="import oss2, alibabacloud_oss_v2, aliyunsdksts, aliyunsdkcore, alibabacloud_sts20150401, pytest"

if ! command -v python3 >/dev/null; then apt_install python3 python3-venv; fi
if [ ! -x "$VENV/bin/python" ]; then
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
  log "creating the Python venv at $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "$PY_IMPORTS" 2>/dev/null; then
  log "installing ${PY_PACKAGES[*]} into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
fi

# ali-oss, the Node.js SDK: installed with npm into a cache folder outside the clone.
ALI_OSS_VERSION=6.23.0
NODE_DIR="${OSS_DIRECT_NODE:-$HOME/.cache/oss-direct/node}"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then apt_install nodejs npm; fi
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)'; then
  echo "node 18 or later is needed for node --test and fetch (found $(node --version))" >&2
  exit 1
fi
if [ "$(node -p "try { require('$NODE_DIR/node_modules/ali-oss/package.json').version } catch (e) { '' }")" != "$ALI_OSS_VERSION" ]; then
  log "installing ali-oss@$ALI_OSS_VERSION into $NODE_DIR"
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --silent "ali-oss@$ALI_OSS_VERSION"
fi

log "building oss-local"
cargo build --quiet -p oss-local --bin oss-local
BIN="$CARGO_TARGET_DIR/debug/oss-local"

WORK="$(mktemp -d)"
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

start_oss_local "$BIN" --demo || exit 1
PID=$OSS_LOCAL_PID

OSS_LOCAL_ENDPOINT="$(ready_value oss_endpoint)"
OSS_LOCAL_STS_ENDPOINT="$(ready_value sts_endpoint)"
OSS_LOCAL_REGION="$(ready_value region)"
OSS_LOCAL_ADMIN_TOKEN="$(ready_value admin_token)"  # the faults route's secret
export OSS_LOCAL_ENDPOINT OSS_LOCAL_STS_ENDPOINT OSS_LOCAL_REGION OSS_LOCAL_ADMIN_TOKEN
log "oss-local at $OSS_LOCAL_ENDPOINT (STS $OSS_LOCAL_STS_ENDPOINT, region $OSS_LOCAL_REGION)"

SUITES=(crates/oss-local/tests/python)
[ -d server/tests/python ] && SUITES+=(server/tests/python)

status=0
for suite in "${SUITES[@]}"; do
  log "pytest $suite"
  set +e
  (cd "$suite" && NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" \
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider .)
  rc=$?
  set -e
  if [ "$rc" -eq 5 ]; then
    echo "pytest found no tests in $suite: that is a failure here" >&2
    status=1
  elif [ "$rc" -ne 0 ]; then
    status=$rc
  fi
done
log "node --test crates/oss-local/tests/node (ali-oss)"
set +e
NODE_PATH="$NODE_DIR/node_modules" NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" \
  node --test crates/oss-local/tests/node/
rc=$?
set -e
[ "$rc" -ne 0 ] && status=$rc
exit "$status"
