#!/usr/bin/env bash
# Load on loopback (run by hand, `make load`; never by the test command): the release
# app-token-server (RateLimit off, token cache on) and the release oss-local under wrk, each for
# a bounded time; requests/s held, non-2xx and socket errors, and the server's RSS sampled every
# second from /proc/<pid>/status. Prints a Markdown table and writes it to bench/LOAD.md.
#
#   bash scripts/load.sh                      # 20 s per target, 32 connections, 2 wrk threads
#   LOAD_SECONDS=60 LOAD_CONNECTIONS=64 bash scripts/load.sh
#
# Everything listens on 127.0.0.1 on free ports, in a temporary folder, and is stopped at the
# end (by the PIDs this script started). wrk stops by itself after LOAD_SECONDS.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

SECS="${LOAD_SECONDS:-20}"
CONNS="${LOAD_CONNECTIONS:-32}"
THREADS="${LOAD_THREADS:-2}"
WARMUP="${LOAD_WARMUP_SECONDS:-3}"
OUT="${LOAD_OUT:-bench/LOAD.md}"
[ "$SECS" -le 600 ] || { echo "LOAD_SECONDS is capped at 600" >&2; exit 2; }

command -v wrk >/dev/null || apt_install wrk
command -v python3 >/dev/null || apt_install python3

log "building the release binaries (oss-local, app-token-server, oss-direct)"
cargo build --release --quiet -p oss-local -p app-token-server -p oss-direct-cli
BIN="$CARGO_TARGET_DIR/release"

WORK="$(mktemp -d /tmp/oss-direct-load.XXXXXX)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # file or URL, up to 20 s
  for _ in $(seq 1 200); do
    case "$1" in
      http*) curl -fsS -o /dev/null "$1" 2>/dev/null && return 0 ;;
      *) [ -s "$1" ] && return 0 ;;
    esac
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2
  return 1
}
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# Samples the RSS of $1 every second into $2 until $3 seconds have passed.
sample_rss() {
  local pid=$1 file=$2 n=$3
  for _ in $(seq 1 "$n"); do
    rss_kb "$pid" >>"$file"
    sleep 1
  done
}

log "starting oss-local --demo (data in $WORK/oss)"
OSS_LOCAL_LOG=warn "$BIN/oss-local" --demo --listen 127.0.0.1:0 --sts-listen 127.0.0.1:0 \
  --data-dir "$WORK/oss" --ready-file "$WORK/ready.json" \
  --write-token-server-config "$WORK/config.json" >"$WORK/oss-local.out" 2>"$WORK/oss-local.log" &
OSS_PID=$!
PIDS+=("$OSS_PID")
wait_for "$WORK/ready.json"
wait_for "$WORK/config.json"

# RateLimit off, token cache on, and read + write so that a presigned GET works.
python3 - "$WORK/config.json" <<'EOF'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["RateLimit"] = False
c["TokenCache"] = True
c["PolicyFile"] = "policy/bucket_read_write_policy.txt"
json.dump(c, open(p, "w"), indent=2)
EOF

TOKEN_PORT="$(free_port)"
log "starting app-token-server on 127.0.0.1:$TOKEN_PORT"
RUST_LOG=warn "$BIN/app-token-server" "$TOKEN_PORT" --listen 127.0.0.1 --config "$WORK/config.json" \
  >"$WORK/token-server.log" 2>&1 &
TOKEN_PID=$!
PIDS+=("$TOKEN_PID")
TOKEN_URL="http://127.0.0.1:$TOKEN_PORT/"
wait_for "$TOKEN_URL"

log "a small object and its presigned GET URL (oss-direct upload + oss-direct url)"
head -c 4096 /dev/urandom >"$WORK/small.bin"
"$BIN/oss-direct" upload "$WORK/small.bin" --server "$TOKEN_URL" --key uploads/load/small.bin --simple --json \
  >"$WORK/upload.json"
OBJECT_URL="$("$BIN/oss-direct" url uploads/load/small.bin --server "$TOKEN_URL" --expires 3600)"
code=$(curl -s -o "$WORK/got.bin" -w '%{http_code}' "$OBJECT_URL")
[ "$code" = 200 ] && cmp -s "$WORK/small.bin" "$WORK/got.bin" || { echo "presigned GET failed: HTTP $code" >&2; exit 1; }

ROWS=()
# run NAME PID URL: warm-up, then the measured run with RSS sampled every second.
run() {
  local name=$1 pid=$2 url=$3
  local slug="${name%% *}"
  log "$name: ${WARMUP}s warm-up, then ${SECS}s of wrk -t$THREADS -c$CONNS"
  wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP}s" "$url" >/dev/null
  local samples="$WORK/$slug.rss"
  : >"$samples"
  sample_rss "$pid" "$samples" "$((SECS + 1))" &
  local sampler=$!
  wrk -t"$THREADS" -c"$CONNS" -d"${SECS}s" --timeout 5s --latency "$url" >"$WORK/$slug.wrk"
  wait "$sampler"
  grep -v '^Running' "$WORK/$slug.wrk" # (the URL carries a presigned query)
  local row
  row=$(python3 - "$name" "$WORK/$slug.wrk" "$samples" "$SECS" "$CONNS" <<'EOF'
import re, sys
name, wrk, samples, secs, conns = sys.argv[1:6]
text = open(wrk).read()
def num(pattern, default="0"):
    m = re.search(pattern, text)
    return m.group(1) if m else default
requests = int(num(r"(\d+) requests in"))
rps = float(num(r"Requests/sec:\s+([\d.]+)"))
non2xx = int(num(r"Non-2xx or 3xx responses:\s+(\d+)"))
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
sock_errors = sum(int(x) for x in sock.groups()) if sock else 0
p50 = num(r"50%\s+(\S+)", "?")
p99 = num(r"99%\s+(\S+)", "?")
rss = [int(x) for x in open(samples).read().split() if x.strip() and int(x) > 0]
mib = lambda kb: f"{kb / 1024:.1f}"
half = rss[len(rss) // 2] if rss else 0
growth = (rss[-1] - half) / 1024 if rss else 0
print(f"| {name} | {secs} | {conns} | {requests} | {rps:.0f} | {p50} | {p99} | {non2xx} | {sock_errors} "
      f"| {mib(rss[0]) if rss else '?'} | {mib(max(rss)) if rss else '?'} | {mib(rss[-1]) if rss else '?'} "
      f"| {growth:+.1f} |")
EOF
)
  ROWS+=("$row")
}

run "app-token-server GET /" "$TOKEN_PID" "$TOKEN_URL"
run "oss-local presigned GET (4 KiB)" "$OSS_PID" "$OBJECT_URL"

HEADER="| target | seconds | connections | requests | req/s | p50 | p99 | non-2xx | socket errors | RSS start MiB | RSS max MiB | RSS end MiB | RSS change, 2nd half MiB |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
TABLE="$HEADER
$(printf '%s\n' "${ROWS[@]}")"
log "load summary"
echo "$TABLE"

{
  echo "# Load on loopback"
  echo
  echo "\`LOAD_SECONDS=$SECS LOAD_CONNECTIONS=$CONNS bash scripts/load.sh\` (\`make load\` = 20 s, 32 connections), $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)."
  echo "$(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))," \
    "shared by wrk and the server under test; release builds; logs at warn."
  echo "wrk $THREADS threads, $CONNS connections, ${WARMUP} s warm-up then ${SECS} s measured; RSS from"
  echo "/proc/<pid>/status every second during the measured run (start = first sample, after the warm-up)."
  echo
  echo "- app-token-server: \`GET /\` (the token JSON), RateLimit off, token cache on (one STS call, then"
  echo "  every answer from the cache), STS = oss-local."
  echo "- oss-local: a presigned V4 GET URL of a 4 KiB object made by \`oss-direct url\` with a token"
  echo "  from the token server: signature, token and policy checked and the object read from disk on every request."
  echo
  echo "$TABLE"
} >"$OUT"
echo "written to $OUT"

# A failure in the table is a failure of the run.
fail=0
for r in "${ROWS[@]}"; do
  non2xx=$(echo "$r" | awk -F'|' '{gsub(/ /,"",$9); print $9}')
  sock=$(echo "$r" | awk -F'|' '{gsub(/ /,"",$10); print $10}')
  if [ "$non2xx" != 0 ] || [ "$sock" != 0 ]; then fail=1; fi
done
exit "$fail"
