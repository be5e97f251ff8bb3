#!/usr/bin/env bash
# The upload queue against oss2 (issue 13): BENCH_QUEUE_FILES photos (default 200) of 100 KB to
# 3 MB, uploaded to one release oss-local (data on /dev/shm) through one release app-token-server
# by `oss-direct upload DIR --recursive --jobs N` and by oss2 with a thread pool of the same
# number of threads, in one run, twice each, alternating; files per second and the ratio. The
# table replaces the "Many photos" section of bench/RESULTS.md. Run by hand or by `make bench`;
# never part of `make test`.
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$ROOT"

FILES="${BENCH_QUEUE_FILES:-200}"
JOBS="${BENCH_QUEUE_JOBS:-5}"
PY="$VENV/bin/python"
[ -x "$PY" ] || { python3 -m venv "$VENV"; }
"$PY" -c "import oss2" 2>/dev/null || "$PY" -m pip install --quiet --disable-pip-version-check oss2

WORK="$(mktemp -d /dev/shm/oss-direct-queue-bench.XXXXXX)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

log "building the release binaries"
cargo build --release --quiet -p oss-direct-cli -p oss-local -p app-token-server
BIN="$CARGO_TARGET_DIR/release"
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"

"$BIN/oss-local" --demo --listen 127.0.0.1:0 --sts-listen 127.0.0.1:0 --data-dir "$WORK/data" \
  --ready-file "$WORK/ready.json" >/dev/null 2>"$WORK/oss-local.log" &
PIDS+=($!)
for _ in $(seq 1 300); do [ -s "$WORK/ready.json" ] && break; sleep 0.1; done
field() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$WORK/ready.json" "$1"; }
OSS="$(field oss_endpoint)"; STS="$(field sts_endpoint)"; REGION="$(field region)"
PORT="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat >"$WORK/token.json" <<JSON
{"AccessKeyID": "LTAI5tLocalDemoKey", "AccessKeySecret": "LocalDemoSecret",
 "RoleArn": "acs:ram::1000000000000000:role/oss-direct-demo", "TokenExpireTime": "3600",
 "PolicyFile": "$ROOT/policy/bucket_read_write_policy.txt", "StsEndpoint": "$STS",
 "Bucket": "demo-bucket", "ObjectPrefix": "bench/", "Region": "$REGION", "OssEndpoint": "$OSS",
 "RateLimit": false}
JSON
RUST_LOG=warn "$BIN/app-token-server" "$PORT" --listen 127.0.0.1 --config "$WORK/token.json" >"$WORK/token.log" 2>&1 &
PIDS+=($!)
SERVER="http://127.0.0.1:$PORT/"
for _ in $(seq 1 100); do curl -fs "${SERVER}healthz" >/dev/null 2>&1 && break; sleep 0.1; done

log "making $FILES photos of 100 KB to 3 MB"
"$PY" - "$WORK/photos" "$FILES" <<'PY'
import os, random, sys
root, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(13)
os.makedirs(root)
for i in range(n):
    size = rng.randint(100_000, 3_000_000)
    with open(os.path.join(root, f"IMG_{i:04}.jpg"), "wb") as f:
        f.write(rng.randbytes(size))
PY
total_bytes="$(du -sb "$WORK/photos" | cut -f1)"

run_oss_direct() { # $1 = run number
  local start end
  start=$(date +%s.%N)
  "$BIN/oss-direct" upload "$WORK/photos" --recursive --jobs "$JOBS" --server "$SERVER" \
    --prefix "bench/od$1/" --json --state-dir "$WORK/state-$1" --checkpoint-dir "$WORK/cp-$1" \
    >"$WORK/od$1.jsonl"
  end=$(date +%s.%N)
  "$PY" -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$end"
}
run_oss2() { # $1 = run number
  "$PY" - "$WORK/photos" "$SERVER" "bench/oss2-$1/" "$JOBS" <<'PY'
import concurrent.futures, json, os, sys, time, urllib.request
import oss2
root, server, prefix, jobs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t = json.load(urllib.request.urlopen(server))
bucket = oss2.Bucket(oss2.StsAuth(t["AccessKeyId"], t["AccessKeySecret"], t["SecurityToken"]),
                     t["Endpoint"], t["Bucket"])
names = sorted(os.listdir(root))
start = time.monotonic()
with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
    list(pool.map(lambda n: bucket.put_object_from_file(prefix + n, os.path.join(root, n)), names))
print(f"{time.monotonic() - start:.3f}")
PY
}
rows=()
for run in 1 2; do
  log "run $run: oss-direct upload --jobs $JOBS"
  od="$(run_oss_direct "$run")"
  n_done="$(grep -c '"state":"done"' "$WORK/od$run.jsonl" || true)"
  [ "$n_done" = "$FILES" ] || { echo "oss-direct stored $n_done of $FILES" >&2; exit 1; }
  log "run $run: oss2 with $JOBS threads"
  o2="$(run_oss2 "$run")"
  rows+=("$run $od $o2")
done
load="$(cut -d' ' -f1-3 /proc/loadavg)"
table="$("$PY" - "$FILES" "$total_bytes" "$JOBS" "$load" "$(git rev-parse --short HEAD)" "${rows[@]}" <<'PY'
import sys
files, total, jobs, load, commit = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
print(f"{files} photos of 100 KB to 3 MB ({total / 1e6:.0f} MB in all), one release oss-local on /dev/shm, "
      f"{jobs} files at once for both (oss-direct `--jobs {jobs}`, its client capped at 5 requests in flight; "
      f"oss2 `put_object_from_file` in a pool of {jobs} threads), commit {commit}, load average {load} at the end "
      "(other builds were running on these 2 cores: compare the ratio, not the absolute figures).\n")
print("| run | oss-direct files/s | oss2 files/s | oss-direct / oss2 |")
print("|---|---|---|---|")
for row in sys.argv[6:]:
    run, od, o2 = row.split()
    a, b = files / float(od), files / float(o2)
    print(f"| {run} | {a:.1f} ({float(od):.2f} s) | {b:.1f} ({float(o2):.2f} s) | {a / b:.2f}× |")
PY
)"
echo "$table"
"$PY" - "$ROOT/bench/RESULTS.md" "$table" "$(date -u '+%Y-%m-%d %H:%M UTC')" <<'PY'
import re, sys
path, table, when = sys.argv[1], sys.argv[2], sys.argv[3]
section = f"<!-- queue:begin -->\n## Many photos: the upload queue against oss2 ({when})\n\n{table}\n<!-- queue:end -->"
text = open(path).read()
if "<!-- queue:begin -->" in text:
    text = re.sub(r"<!-- queue:begin -->.*?<!-- queue:end -->", lambda m: section, text, flags=re.S)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
log "written to bench/RESULTS.md (section 'Many photos')"
