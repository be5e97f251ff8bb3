#!/usr/bin/env bash
# What an upload costs (issue 15), a section of `make bench` that also runs alone in about two
# minutes:   bash bench/cost.sh [RESULTS.md]
#
# One random file (COST_MIB, default 512 MiB) on /dev/shm is uploaded to a release oss-local
# (data on /dev/shm) by: one presigned `curl -T` PUT (the floor: the bytes sent and nothing else),
# and the release CLI (`oss-direct upload --resumable`, concurrency COST_CONCURRENCY = 5, the app's
# default) with 8 MiB parts and with the app's default 1 MiB parts, and as one PutObject (`--simple`,
# what the app's Auto mode does below 4 MiB, i.e. for most photos). The rows are interleaved and
# repeated COST_ROUNDS times (default 7); each figure is the median (the × curl ratio: the median of
# each round's ratio to that round's curl PUT). Per row: the client's CPU
# seconds per GiB (user + system, getrusage by bench/rusage.py), its peak RSS, oss-local's CPU seconds per GiB
# received (/proc/<pid>/stat), MB/s. Then a COST_FLAT_GIB (default 4) GiB upload with 8 MiB parts,
# the CLI's RSS sampled every 0.2 s, to show whether it stays flat; and CRC-64 GB/s from bench/crc64.
# Each goal of the issue is checked against these numbers (ratios within this one run).
# Prints a Markdown section; with a file argument, also puts it into that file in place of an
# earlier "### What an upload costs" section (or at its end).
# Uses the stack of bench/run.sh when BENCH_SERVER, BENCH_OSS and BENCH_OSS_PID are set; otherwise
# starts its own release oss-local + app-token-server on loopback and stops them at the end.
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$ROOT"
OUT_MD="${1:-}"
MIB="${COST_MIB:-512}"
ROUNDS="${COST_ROUNDS:-7}"
CONC="${COST_CONCURRENCY:-5}"
FLAT_GIB="${COST_FLAT_GIB:-4}"
PY="$VENV/bin/python"
[ -x "$PY" ] && "$PY" -c 'import oss2' 2>/dev/null || { echo "needs the venv with oss2 (bash bench/run.sh makes it)" >&2; exit 1; }

if [ -z "${BENCH_SKIP_BUILD:-}" ]; then
  cargo build --release --quiet -p oss-direct-cli -p oss-local -p app-token-server
  cargo build --release --quiet --manifest-path bench/crc64/Cargo.toml
fi
BIN="$CARGO_TARGET_DIR/release"
CLI="$BIN/oss-direct"

WORK="$(mktemp -d /dev/shm/oss-direct-cost.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"

SERVER="${BENCH_SERVER:-}" OSS="${BENCH_OSS:-}" OSS_PID="${BENCH_OSS_PID:-}"
if [ -z "$SERVER" ] || [ -z "$OSS" ] || [ -z "$OSS_PID" ]; then
  start_oss_local "$BIN/oss-local" --demo || exit 1
  OSS_PID=$OSS_LOCAL_PID
  PIDS+=("$OSS_PID")
  OSS="$(ready_value oss_endpoint)"
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  cat >"$WORK/token.json" <<EOF
{ "AccessKeyID": "LTAI5tLocalDemoKey", "AccessKeySecret": "LocalDemoSecret",
  "RoleArn": "acs:ram::1000000000000000:role/oss-direct-demo", "TokenExpireTime": "3600",
  "PolicyFile": "$ROOT/policy/bucket_read_write_policy.txt",
  "StsEndpoint": "$(ready_value sts_endpoint)", "Bucket": "demo-bucket",
  "ObjectPrefix": "bench/", "Region": "$(ready_value region)",
  "OssEndpoint": "$OSS", "RateLimit": false }
EOF
  RUST_LOG=warn "$BIN/app-token-server" "$port" --listen 127.0.0.1 --config "$WORK/token.json" \
    >"$WORK/token.log" 2>&1 &
  PIDS+=($!)
  SERVER="http://127.0.0.1:$port/"
  for _ in $(seq 1 100); do curl -fs "${SERVER}healthz" >/dev/null 2>&1 && break; sleep 0.1; done
fi

HZ="$(getconf CLK_TCK)"
oss_cpu() { awk -v hz="$HZ" '{printf "%.3f", ($14 + $15) / hz}' "/proc/$OSS_PID/stat"; }
RES="$WORK/cost.jsonl"
: >"$RES"
load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
date_start="$(date -u '+%Y-%m-%d %H:%M UTC')"
FILE="$WORK/random.bin"
head -c $((MIB * 1024 * 1024)) /dev/urandom >"$FILE"

# One upload: $1 = row label, $2 = part size in bytes (0 = curl PUT), $3 = file, $4 = key.
one() {
  local label="$1" part="$2" file="$3" key="$4" tv="$WORK/cost.json" out="$WORK/out" c0 c1 t0 t1 rc=0 url
  [ "$part" = 0 ] && url="$("$PY" bench/bench.py presign-put "$key" --server "$SERVER")"
  c0="$(oss_cpu)"; t0="$(date +%s.%N)"
  if [ "$part" = 0 ]; then
    python3 bench/rusage.py "$tv" curl -sS -f -o /dev/null -T "$file" "$url" >"$out" 2>&1 || rc=$?
  elif [ "$part" = simple ]; then
    python3 bench/rusage.py "$tv" "$CLI" upload "$file" --server "$SERVER" --key "$key" --simple \
      --state-dir "$WORK/cp" --json >"$out" 2>&1 || rc=$?
  else
    python3 bench/rusage.py "$tv" "$CLI" upload "$file" --server "$SERVER" --key "$key" --resumable \
      --part-size "$part" --concurrency "$CONC" --checkpoint-dir "$WORK/cp" --state-dir "$WORK/cp" --json >"$out" 2>&1 || rc=$?
  fi
  t1="$(date +%s.%N)"; c1="$(oss_cpu)"
  [ "$rc" = 0 ] || { echo "  $label: FAILED: $(tail -c 300 "$out")" >&2; return 1; }
  python3 - "$RES" "$label" "$(stat -c %s "$file")" "$tv" "$c0" "$c1" "$t0" "$t1" <<'EOF'
import json, sys
res, label, size, tv, c0, c1, t0, t1 = sys.argv[1:]
usage = json.load(open(tv))
cpu, rss = usage["cpu_s"], usage["rss_kib"]
r = {"label": label, "bytes": int(size), "client_cpu_s": cpu, "rss_kib": rss,
     "server_cpu_s": float(c1) - float(c0), "seconds": float(t1) - float(t0)}
open(res, "a").write(json.dumps(r) + "\n")
gib = int(size) / 2**30
print(f"  {label}: {cpu / gib:.2f} client CPU-s/GiB, {(float(c1) - float(c0)) / gib:.2f} oss-local CPU-s/GiB, "
      f"{rss / 1024:.0f} MiB RSS, {int(size) / (float(t1) - float(t0)) / 1e6:.0f} MB/s")
EOF
  "$PY" bench/bench.py delete "$key" --endpoint "$OSS" >/dev/null 2>&1 || true
  rm -rf "$WORK/cp"
}

echo "== what an upload costs: $MIB MiB, concurrency $CONC, $ROUNDS rounds (load average $load_start)"
# One upload first, not counted: on a VM the first pages the server's tmpfs gets cost several
# times more to fill (here the hypervisor hands them out on first touch), which would land on
# whichever row comes first (measured: oss-local 4.2 CPU-s/GiB for that row, 2.3-2.7 after).
one "warm-up (not counted)" 0 "$FILE" "bench/cost-warm-up.bin" >/dev/null
: >"$RES"
for r in $(seq 1 "$ROUNDS"); do
  one "curl -T (one presigned PUT)" 0 "$FILE" "bench/cost-curl-$r.bin"
  one "oss-direct, 8 MiB parts" $((8 << 20)) "$FILE" "bench/cost-8-$r.bin"
  one "oss-direct, 1 MiB parts" $((1 << 20)) "$FILE" "bench/cost-1-$r.bin"
  one "oss-direct, one PutObject (--simple)" simple "$FILE" "bench/cost-s-$r.bin"
done

# RSS over a long upload: the CLI's VmRSS every 0.2 s.
if [ "$FLAT_GIB" -gt 0 ]; then
  echo "== RSS over a $FLAT_GIB GiB upload (8 MiB parts)"
  BIGF="$WORK/big.bin"
  for _ in $(seq 1 $((FLAT_GIB * 1024 / MIB))); do cat "$FILE"; done >"$BIGF"
  rm -f "$FILE"
  "$CLI" upload "$BIGF" --server "$SERVER" --key bench/cost-flat.bin --resumable --part-size $((8 << 20)) \
    --concurrency "$CONC" --checkpoint-dir "$WORK/cp" --state-dir "$WORK/cp" --json >"$WORK/flat.out" 2>&1 &
  cli=$!
  : >"$WORK/rss.txt"
  while kill -0 "$cli" 2>/dev/null; do
    awk '/^VmRSS:/ {print $2}' "/proc/$cli/status" 2>/dev/null >>"$WORK/rss.txt" || true
    sleep 0.2
  done
  wait "$cli" || echo "  the $FLAT_GIB GiB upload FAILED: $(tail -c 300 "$WORK/flat.out")" >&2
  python3 - "$RES" "$WORK/rss.txt" "$FLAT_GIB" <<'EOF'
import json, sys
res, path, gib = sys.argv[1:]
s = [int(x) for x in open(path).read().split() if x.strip()]
s = s[1:] if len(s) > 5 else s
q = max(1, len(s) // 4)
r = {"label": "flat", "gib": int(gib), "samples": len(s), "max_kib": max(s),
     "first_quarter_max_kib": max(s[:q]), "last_quarter_max_kib": max(s[-q:])}
open(res, "a").write(json.dumps(r) + "\n")
print(f"  {len(s)} samples: max {max(s) / 1024:.0f} MiB, first quarter max {max(s[:q]) / 1024:.0f} MiB, "
      f"last quarter max {max(s[-q:]) / 1024:.0f} MiB")
EOF
  "$PY" bench/bench.py delete bench/cost-flat.bin --endpoint "$OSS" >/dev/null 2>&1 || true
  rm -f "$BIGF"
fi

echo "== CRC-64 (bench/crc64, 256 MiB, 3 rounds)"
"$BIN/oss-direct-crc64-bench" 256 3 | tee "$WORK/crc.json"

python3 bench/cost_report.py "$RES" "$WORK/crc.json" "$date_start" "$load_start" "$MIB" "$CONC" "$ROUNDS" \
  >"$WORK/section.md"
cat "$WORK/section.md"
if [ -n "$OUT_MD" ]; then
  python3 - "$OUT_MD" "$WORK/section.md" <<'EOF'
import re, sys
path, section = sys.argv[1], open(sys.argv[2]).read()
try:
    text = open(path).read()
except FileNotFoundError:
    text = ""
head = "### What an upload costs"
if head in text:
    start = text.index(head)
    nxt = re.search(r"^### ", text[start + len(head):], re.M)
    end = start + len(head) + nxt.start() if nxt else len(text)
    text = text[:start] + section.rstrip() + "\n\n" + text[end:].lstrip()
else:
    text = text.rstrip() + "\n\n" + section
open(path, "w").write(text.rstrip() + "\n")
EOF
fi
