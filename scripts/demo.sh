#!/usr/bin/env bash
# The demo: the offline cloud (oss-local), the app token server configured for it, and the app
# in a window. Ctrl-C stops all of them. Without a display it runs the same flow through the CLI.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

DEMO="${OSS_DIRECT_DEMO_DIR:-$HOME/.cache/oss-direct/demo}"
OSS_ADDR=127.0.0.1:9000
STS_ADDR=127.0.0.1:9001
TOKEN_PORT=7080
mkdir -p "$DEMO"

command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs" >&2; exit 1; }
apt_install "${SYSTEM_PACKAGES[@]}" || { echo "install the packages above, then run make demo again" >&2; exit 1; }

for port in 9000 9001 $TOKEN_PORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is already in use: stop what is listening there (an earlier demo?)" >&2
    exit 1
  fi
done

log "building oss-local, app-token-server, the CLI and the app"
cargo build --quiet -p oss-local -p app-token-server -p oss-direct-cli -p oss-direct-app
BIN="$CARGO_TARGET_DIR/debug"

PIDS=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo
  echo "demo stopped; data kept in $DEMO"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_port() {
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing answered on port $1; see $DEMO/*.log" >&2
  exit 1
}

log "starting oss-local (OSS on $OSS_ADDR, STS on $STS_ADDR)"
"$BIN/oss-local" --demo --listen "$OSS_ADDR" --sts-listen "$STS_ADDR" --data-dir "$DEMO/oss-data" >"$DEMO/oss-local.log" 2>&1 &
PIDS+=($!)
wait_port 9000
wait_port 9001

log "starting app-token-server on 127.0.0.1:$TOKEN_PORT (config: server/config.example.json)"
APP_TOKEN_SERVER_DATABASE_URL="sqlite://$DEMO/uploads.db" \
  "$BIN/app-token-server" "$TOKEN_PORT" --listen 127.0.0.1 --config server/config.example.json >"$DEMO/app-token-server.log" 2>&1 &
PIDS+=($!)
wait_port "$TOKEN_PORT"
SERVER="http://127.0.0.1:$TOKEN_PORT/"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${DEMO_CLI:-0}" != 1 ]; then
  log "starting the app (App server $SERVER); close its window or press Ctrl-C to stop"
  OSS_DIRECT_DATA_DIR="$DEMO/app-data" OSS_DIRECT_SERVER="$SERVER" "$BIN/oss-direct-app" &
  PIDS+=($!)
  wait "${PIDS[-1]}" || true
  exit 0
fi

log "no display: the same flow through the CLI"
CLI="$BIN/oss-direct"
PIC="$DEMO/demo-photo.jpg"
BIG="$DEMO/demo-video.bin"
[ -f "$PIC" ] || convert -size 1600x1200 gradient:orange-navy -quality 90 "$PIC"
[ -f "$BIG" ] || head -c $((12 * 1024 * 1024)) /dev/urandom >"$BIG"
echo "\$ oss-direct token --server $SERVER"
"$CLI" token --server "$SERVER"
echo
echo "\$ oss-direct upload $PIC --server $SERVER --simple"
"$CLI" upload "$PIC" --server "$SERVER" --simple
echo
echo "\$ oss-direct upload $BIG --server $SERVER --resumable --checkpoint-dir $DEMO/checkpoints"
"$CLI" upload "$BIG" --server "$SERVER" --resumable --checkpoint-dir "$DEMO/checkpoints"
echo
echo "\$ oss-direct url uploads/demo-photo.jpg --server $SERVER --process image/resize,w_200"
"$CLI" url uploads/demo-photo.jpg --server "$SERVER" --process image/resize,w_200
echo
echo "\$ oss-direct get uploads/demo-photo.jpg --server $SERVER --process image/resize,w_200 -o $DEMO/thumbnail.jpg"
"$CLI" get uploads/demo-photo.jpg --server "$SERVER" --process image/resize,w_200 -o "$DEMO/thumbnail.jpg"
echo
echo "\$ oss-direct list --server $SERVER   # what the app server recorded from the upload callbacks"
"$CLI" list --server "$SERVER"
echo
echo "done: the thumbnail is $DEMO/thumbnail.jpg"
