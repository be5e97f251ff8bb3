#!/usr/bin/env bash
# The benchmarks (SPEC.md section 8): one command, a Markdown table on stdout and in
# bench/RESULTS.md. Run by hand (`bash bench/run.sh` or `make bench`); never part of `make test`.
#
# Starts a release oss-local --demo (data on /dev/shm) and a release app-token-server for it on
# free loopback ports, then measures: upload throughput and peak memory of oss-direct, oss2 (CRC
# on and off), alibabacloud-oss-v2 and a presigned curl -T PUT; the resume cost; the token server
# with its cache on and off; CRC-64 against a memory copy; photo preparation (bench/photo.sh); what an
# upload costs against one curl PUT (bench/cost.sh, issue 15). Everything it starts is stopped and
# /dev/shm is cleaned at the end. Environment: BENCH_PART_SIZE (bytes, default 8 MiB),
# BENCH_CONCURRENCY (default 4), BENCH_SIZES_MIB (default "64 1024"), BENCH_TOKEN_SECONDS (10),
# BENCH_PERF (1: profile with perf when present), BENCH_SOURCE (tree, or head: the last commit),
# BENCH_QUIET_WAIT (seconds to wait for other work on the machine to stop, default 300).
set -euo pipefail
source "$(dirname "$0")/../scripts/env.sh"
cd "$ROOT"

PART_SIZE="${BENCH_PART_SIZE:-$((8 * 1024 * 1024))}"
CONCURRENCY="${BENCH_CONCURRENCY:-4}"
SIZES_MIB="${BENCH_SIZES_MIB:-64 1024}"
TOKEN_SECONDS="${BENCH_TOKEN_SECONDS:-10}"
LIMIT=600 # seconds any one client run may take

# ------------------------------------------------------------------------------------ tools
command -v cargo >/dev/null || { echo "cargo not found: install Rust from https://rustup.rs" >&2; exit 1; }
apt_install curl time wrk python3 python3-venv || { echo "install the packages above, then run again" >&2; exit 1; }
if [ ! -x "$VENV/bin/python" ]; then
  log "creating the Python venv at $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c "import oss2, alibabacloud_oss_v2" 2>/dev/null; then
  log "installing oss2 alibabacloud-oss-v2 into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check oss2 alibabacloud-oss-v2
fi
command -v perf >/dev/null || echo "(perf not found: the CPU profile part is skipped; Debian package linux-perf)" >&2
PY="$VENV/bin/python"
HELPER="$ROOT/bench/bench.py"

WORK="$(mktemp -d /dev/shm/oss-direct-bench.XXXXXX)"
RESULTS="$WORK/results.jsonl"
PIDS=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# What is measured: the working tree (default), or with BENCH_SOURCE=head the last commit
# (exported with git archive into $WORK, so uncommitted edits in the clone do not matter).
SRC="$ROOT"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ "${BENCH_SOURCE:-tree}" = head ]; then
  SRC="$WORK/src"
  mkdir -p "$SRC"
  git archive HEAD | tar -x -C "$SRC"
  source_desc="commit $commit"
elif [ -n "$(git status --porcelain --untracked-files=no -- . ':!bench' 2>/dev/null)" ]; then
  source_desc="working tree at $commit, with uncommitted changes"
else
  source_desc="commit $commit"
fi

log "building the release binaries (oss-direct, oss-local, app-token-server) and bench/crc64 ($source_desc)"
cargo build --release --quiet --manifest-path "$SRC/Cargo.toml" -p oss-direct-cli -p oss-local -p app-token-server \
  || { echo "the build failed (BENCH_SOURCE=head measures the last commit instead)" >&2; exit 1; }
# Its own package (not a workspace member); the lock file next to it pins the same versions.
cargo build --release --quiet --manifest-path "$SRC/bench/crc64/Cargo.toml"
BIN="$CARGO_TARGET_DIR/release"
CLI="$BIN/oss-direct"

# ------------------------------------------------------------------------- start the stack
export NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost"

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json_get() { "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

log "starting oss-local (data in $WORK/data)"
"$BIN/oss-local" --demo --listen 127.0.0.1:0 --sts-listen 127.0.0.1:0 --data-dir "$WORK/data" \
  --ready-file "$WORK/ready.json" >"$WORK/oss-local.out" 2>"$WORK/oss-local.log" &
OSS_PID=$!
PIDS+=("$OSS_PID")
# CPU seconds (user + system) oss-local has used so far.
oss_local_cpu() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$OSS_PID/stat"; }
# CPU seconds the whole machine has been busy so far (all cores; /proc/stat minus idle and iowait).
machine_cpu() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / {printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz}' /proc/stat; }
for _ in $(seq 1 300); do [ -s "$WORK/ready.json" ] && break; sleep 0.1; done
[ -s "$WORK/ready.json" ] || { echo "oss-local did not start:" >&2; cat "$WORK/oss-local.log" >&2; exit 1; }
OSS="$(json_get "$WORK/ready.json" oss_endpoint)"
STS="$(json_get "$WORK/ready.json" sts_endpoint)"
REGION="$(json_get "$WORK/ready.json" region)"

# The token server: read-write policy, no rate limit; TokenCache as asked.
start_token_server() { # $1 = true|false (TokenCache); sets TOKEN_URL and TOKEN_PID
  local port cfg="$WORK/token-server-$1.json"
  port="$(free_port)"
  cat >"$cfg" <<EOF
{
  "AccessKeyID": "LTAI5tLocalDemoKey",
  "AccessKeySecret": "LocalDemoSecret",
  "RoleArn": "acs:ram::1000000000000000:role/oss-direct-demo",
  "TokenExpireTime": "3600",
  "PolicyFile": "$ROOT/policy/bucket_read_write_policy.txt",
  "StsEndpoint": "$STS",
  "Bucket": "demo-bucket",
  "ObjectPrefix": "bench/",
  "Region": "$REGION",
  "OssEndpoint": "$OSS",
  "RateLimit": false,
  "TokenCache": $1
}
EOF
  RUST_LOG=warn "$BIN/app-token-server" "$port" --listen 127.0.0.1 --config "$cfg" \
    >"$WORK/token-server-$1.log" 2>&1 &
  TOKEN_PID=$!
  PIDS+=("$TOKEN_PID")
  TOKEN_URL="http://127.0.0.1:$port/"
  for _ in $(seq 1 100); do curl -fs "${TOKEN_URL}healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "app-token-server did not start:" >&2; cat "$WORK/token-server-$1.log" >&2; exit 1
}
start_token_server true
SERVER="$TOKEN_URL"
log "oss-local at $OSS (STS $STS); token server at $SERVER"

# ------------------------------------------------------------------------ machine, versions
cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//' || true)"
mem="$(free -g | awk '/^Mem:/ {print $2}')"
machine="$(nproc) CPUs (${cpu:-unknown}), ${mem} GiB RAM, Linux $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
versions="$(rustc --version | cut -d' ' -f1-2), $("$CLI" --version), $("$PY" -c 'import oss2, alibabacloud_oss_v2 as v2; print(f"oss2 {oss2.__version__}, alibabacloud-oss-v2 {v2.__version__}")'), $(curl --version | head -1 | cut -d' ' -f1-2), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), Python $("$PY" -c 'import platform; print(platform.python_version())')"
"$PY" - "$RESULTS" "$(date -u '+%Y-%m-%d %H:%M UTC')" "$machine" "$versions" "$PART_SIZE" "$CONCURRENCY" "$source_desc" <<'EOF'
import json, sys
import os
path, date, machine, versions, part, conc, source = sys.argv[1:]
with open(path, "a") as f:
    f.write(json.dumps({"kind": "meta", "date": date, "machine": machine, "versions": versions,
                        "part_size": int(part), "concurrency": int(conc), "source": source,
                        "nproc": os.cpu_count()}) + "\n")
EOF
echo "machine: $machine"
echo "versions: $versions"

# Appends {"kind": ..., **fields} plus max RSS (from /usr/bin/time -v) to the results.
record() { # $1 = JSON with the fields, $2 = the time -v output file (or "")
  "$PY" - "$RESULTS" "$1" "$2" <<'EOF'
import json, re, sys
path, fields, timefile = sys.argv[1:]
r = json.loads(fields)
if timefile:
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(timefile).read())
    r["max_rss_kb"] = int(m.group(1)) if m else None
    cpu = re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", open(timefile).read())
    r["client_cpu_s"] = sum(float(x) for x in cpu) if cpu else None
with open(path, "a") as f:
    f.write(json.dumps(r) + "\n")
EOF
}

# ------------------------------------------------------------------------------------ uploads
# One client run: $1 = client label, $2 = size label, $3 = file, $4 = key. Prints MB/s.
run_client() {
  local client="$1" label="$2" file="$3" key="$4" out="$WORK/out.json" tv="$WORK/time.txt" rc=0
  local common=(--part-size "$PART_SIZE" --concurrency "$CONCURRENCY") cpu0 cpu1 url urls=() i
  # Presigned URLs for the curl rows first, so that making them is not in the CPU counts.
  case "$client" in
    "curl -T (one PUT)") url="$("$PY" "$HELPER" presign-put "$key" --server "$SERVER")" ;;
    "curl -T x"*)
      split -n "$CONCURRENCY" -d "$file" "$WORK/piece."
      for i in $(seq 0 $((CONCURRENCY - 1))); do
        urls+=("$("$PY" "$HELPER" presign-put "$key.$i" --server "$SERVER")")
      done ;;
  esac
  cpu0="$(oss_local_cpu)"
  local all0 all1 w0 w1
  all0="$(machine_cpu)"
  w0="$(date +%s.%N)"
  case "$client" in
    oss-direct)
      timeout "$LIMIT" /usr/bin/time -v -o "$tv" "$CLI" upload "$file" --server "$SERVER" --key "$key" \
        --resumable "${common[@]}" --checkpoint-dir "$WORK/checkpoints" --state-dir "$WORK/checkpoints" --json >"$out" 2>"$WORK/err" || rc=$? ;;
    "oss2 (CRC on)")
      timeout "$LIMIT" /usr/bin/time -v -o "$tv" "$PY" "$HELPER" oss2 "$file" "$key" --server "$SERVER" \
        "${common[@]}" --store "$WORK/oss2-store" >"$out" 2>"$WORK/err" || rc=$? ;;
    "oss2 (CRC off)")
      timeout "$LIMIT" /usr/bin/time -v -o "$tv" "$PY" "$HELPER" oss2 "$file" "$key" --server "$SERVER" \
        "${common[@]}" --store "$WORK/oss2-store" --no-crc >"$out" 2>"$WORK/err" || rc=$? ;;
    "alibabacloud-oss-v2")
      timeout "$LIMIT" /usr/bin/time -v -o "$tv" "$PY" "$HELPER" v2 "$file" "$key" --server "$SERVER" \
        "${common[@]}" >"$out" 2>"$WORK/err" || rc=$? ;;
    "curl -T (one PUT)")
      local size code secs
      size="$(stat -c %s "$file")"
      read -r code secs < <(timeout "$LIMIT" /usr/bin/time -v -o "$tv" curl -sS -o "$WORK/err" \
        -w '%{http_code} %{time_total}\n' -T "$file" "$url" || echo "000 0")
      [ "$code" = 200 ] || rc=1
      echo "{\"seconds\": $secs, \"bytes\": $size}" >"$out" ;;
    "curl -T x$CONCURRENCY (parallel PUTs)")
      # The server's ceiling at the clients' concurrency: the file in $CONCURRENCY pieces, one
      # presigned PUT each, all at once. Wall time from the first start to the last end.
      local size t0 t1 pids=()
      size="$(stat -c %s "$file")"
      : >"$WORK/err"
      t0="$(date +%s.%N)"
      for i in $(seq 0 $((CONCURRENCY - 1))); do
        timeout "$LIMIT" curl -sS -f -o /dev/null -T "$(printf '%s/piece.%02d' "$WORK" "$i")" \
          "${urls[$i]}" 2>>"$WORK/err" &
        pids+=($!)
      done
      for i in "${pids[@]}"; do wait "$i" || rc=1; done
      t1="$(date +%s.%N)"
      tv=""
      echo "{\"seconds\": $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'), \"bytes\": $size}" >"$out" ;;
  esac
  cpu1="$(oss_local_cpu)"
  all1="$(machine_cpu)"
  w1="$(date +%s.%N)"
  if [ "$rc" -ne 0 ]; then
    echo "  $client, $label: FAILED: $(tail -c 400 "$WORK/err")" >&2
    record "{\"kind\": \"upload\", \"client\": \"$client\", \"label\": \"$label\", \"error\": true}" ""
  else
    local fields
    fields="$("$PY" -c 'import json,sys; r=[x for x in map(json.loads, filter(str.strip, open(sys.argv[1]).read().splitlines())) if "seconds" in x][-1]; print(json.dumps({"kind":"upload","client":sys.argv[2],"label":sys.argv[3],"seconds":r["seconds"],"bytes":r["bytes"],"server_cpu_s":float(sys.argv[5])-float(sys.argv[4]),"machine_cpu_s":float(sys.argv[7])-float(sys.argv[6]),"window_s":float(sys.argv[9])-float(sys.argv[8])}))' "$out" "$client" "$label" "$cpu0" "$cpu1" "$all0" "$all1" "$w0" "$w1")"
    record "$fields" "$tv"
    "$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); print("  %-22s %8s: %7.0f MB/s (%.2f s)" % (r["client"], r["label"], r["bytes"]/r["seconds"]/1e6, r["seconds"]))' "$fields"
  fi
  "$PY" "$HELPER" delete "$key" --endpoint "$OSS" >/dev/null 2>&1 || true
  for i in "${!urls[@]}"; do "$PY" "$HELPER" delete "$key.$i" --endpoint "$OSS" >/dev/null 2>&1 || true; done
  rm -rf "$WORK/checkpoints" "$WORK/oss2-store" "$WORK"/piece.*
}

# Other work on the machine skews everything: wait (bounded) until it is mostly idle.
quiet_wait="${BENCH_QUIET_WAIT:-300}"
waited=0
while :; do
  a="$(machine_cpu)"; sleep 2; b="$(machine_cpu)"
  busy="$(awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN { printf "%d", (b - a) / 2 / n * 100 }')"
  [ "$busy" -lt 25 ] && break
  if [ "$waited" -ge "$quiet_wait" ]; then
    echo "  the machine is still ${busy}% busy with other work after ${waited} s: measuring anyway (see 'other CPU s')"
    break
  fi
  [ "$waited" -eq 0 ] && echo "  the machine is ${busy}% busy with other work: waiting up to ${quiet_wait} s for it to calm down"
  sleep 8; waited=$((waited + 10))
done

CLIENTS=("oss-direct" "oss2 (CRC on)" "oss2 (CRC off)" "alibabacloud-oss-v2" "curl -T (one PUT)"
  "curl -T x$CONCURRENCY (parallel PUTs)")
for mib in $SIZES_MIB; do
  if [ "$mib" -ge 1024 ] && [ $((mib % 1024)) -eq 0 ]; then label="$((mib / 1024)) GiB"; else label="$mib MiB"; fi
  file="$WORK/random-$mib.bin"
  head -c $((mib * 1024 * 1024)) /dev/urandom >"$file"
  log "upload throughput, $label (part size $PART_SIZE, concurrency $CONCURRENCY)"
  i=0
  for client in "${CLIENTS[@]}"; do
    i=$((i + 1))
    run_client "$client" "$label" "$file" "bench/$mib-$i.bin"
  done
  [ "$mib" = "${SIZES_MIB##* }" ] || rm -f "$file"
done
BIG="$WORK/random-${SIZES_MIB##* }.bin"

# ------------------------------------------------------------------------------------- resume
log "resume cost: $(basename "$BIG") killed (SIGKILL) at about half, then the same command again"
for client in oss-direct oss2; do
  if out="$(timeout $((2 * LIMIT)) "$PY" "$HELPER" resume "$client" "$BIG" "bench/resume-$client.bin" \
      --server "$SERVER" --oss-endpoint "$OSS" --cli "$CLI" --store "$WORK/resume-$client" \
      --part-size "$PART_SIZE" --concurrency "$CONCURRENCY" --timeout "$LIMIT" 2>"$WORK/err")"; then
    record "$("$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(kind="resume", client=sys.argv[2]); print(json.dumps(r))' "$out" "$client")" ""
    echo "  $client: $out"
  else
    echo "  $client: FAILED: $(tail -c 400 "$WORK/err")" >&2
    record "{\"kind\": \"resume\", \"client\": \"$client\", \"error\": \"see the run's output\"}" ""
  fi
  "$PY" "$HELPER" delete "bench/resume-$client.bin" --endpoint "$OSS" >/dev/null 2>&1 || true
done
# --------------------------------------------------------------------- where the CPU goes
# Separate runs (perf slows what it watches a little, so these are not in the tables above):
# oss-local while oss2 (CRC off, the lightest client) uploads the big file, then the oss-direct CLI.
profile_top() { # $1 = perf data, $2 = label: records the top symbols
  perf report -i "$1" --no-children --sort symbol --stdio 2>/dev/null >"$WORK/perf.txt" || true
  "$PY" - "$RESULTS" "$2" "$WORK/perf.txt" <<'EOF'
import json, re, sys
path, label, report = sys.argv[1:]
top = []
for line in open(report):
    m = re.match(r"^\s+([\d.]+)%\s+\[[.k]\]\s+(.+?)(?:\s+-\s+-)?\s*$", line)
    if m and len(top) < 5:
        top.append([float(m.group(1)), m.group(2)])
with open(path, "a") as f:
    f.write(json.dumps({"kind": "profile", "label": label, "top": top}) + "\n")
print(f"  {label}: " + "; ".join(f"{p:.0f}% {s}" for p, s in top))
EOF
}
if command -v perf >/dev/null && [ "${BENCH_PERF:-1}" = 1 ]; then
  log "where the CPU goes: perf on oss-local, then on the oss-direct CLI (separate runs)"
  perf record -F 499 -p "$OSS_PID" -o "$WORK/perf-oss-local.data" >/dev/null 2>&1 &
  perf_pid=$!
  sleep 0.5
  timeout "$LIMIT" "$PY" "$HELPER" oss2 "$BIG" bench/perf-1.bin --server "$SERVER" --no-crc \
    --part-size "$PART_SIZE" --concurrency "$CONCURRENCY" --store "$WORK/perf-store" >/dev/null || true
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  profile_top "$WORK/perf-oss-local.data" "oss-local receiving the big file from oss2 (CRC off)"
  timeout "$LIMIT" perf record -F 499 -o "$WORK/perf-cli.data" -- "$CLI" upload "$BIG" --server "$SERVER" \
    --key bench/perf-2.bin --resumable --part-size "$PART_SIZE" --concurrency "$CONCURRENCY" \
    --checkpoint-dir "$WORK/perf-checkpoints" --state-dir "$WORK/perf-checkpoints" --json >/dev/null 2>&1 || true
  profile_top "$WORK/perf-cli.data" "the oss-direct CLI uploading the big file"
  "$PY" "$HELPER" delete bench/perf-1.bin bench/perf-2.bin --endpoint "$OSS" >/dev/null 2>&1 || true
  rm -f "$WORK"/perf-*.data
fi
rm -f "$BIG"

# ------------------------------------------------------------------------------- token server
token_load() { # $1 = cache label; GET $TOKEN_URL for TOKEN_SECONDS from a second process
  local out
  if command -v wrk >/dev/null; then
    out="$(timeout $((TOKEN_SECONDS + 30)) wrk -t2 -c16 -d"${TOKEN_SECONDS}s" --timeout 5s --latency "$TOKEN_URL")"
    out="$("$PY" - "$out" <<'EOF'
import json, re, sys
text = sys.argv[1]
unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}
def pct(p):
    m = re.search(rf"^\s*{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    return float(m.group(1)) * unit[m.group(2)]
errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors += int(m.group(1)) if m else 0
print(json.dumps({"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
                  "p50_ms": pct(50), "p99_ms": pct(99),
                  "requests": int(re.search(r"(\d+) requests in", text).group(1)),
                  "errors": errors, "tool": "wrk -t2 -c16 --latency"}))
EOF
)"
  else
    out="$(timeout $((TOKEN_SECONDS + 30)) "$PY" "$HELPER" tokenload "$TOKEN_URL" --duration "$TOKEN_SECONDS")"
  fi
  record "$("$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); r.update(kind="token", cache=sys.argv[2]); print(json.dumps(r))' "$out" "$1")" ""
  echo "  TokenCache $1: $out"
}
log "token server: ${TOKEN_SECONDS} s of GET / with the cache on, then off"
token_load "true (on)"
start_token_server false
token_load "false (every request calls STS)"

# ------------------------------------------------------------------------------------ CRC-64
log "CRC-64 against a memory copy (256 MiB, 5 rounds)"
crc="$(timeout 300 "$CARGO_TARGET_DIR/release/oss-direct-crc64-bench" 256 5)"
echo "  $crc"
record "$("$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); r["kind"]="crc"; print(json.dumps(r))' "$crc")" ""

# ------------------------------------------------------------------------------------ report
log "results"
"$PY" "$HELPER" report "$RESULTS" | tee "$ROOT/bench/RESULTS.md"
# Photo preparation (issue 14): its own script, on this stack; adds its section to RESULTS.md.
log "photo preparation (bench/photo.sh)"
BENCH_SERVER="$SERVER" bash "$ROOT/bench/photo.sh" "$ROOT/bench/RESULTS.md" || echo "  photo preparation: FAILED" >&2
# What an upload costs (issue 15): its own script, on this stack; adds its section to RESULTS.md.
log "what an upload costs (bench/cost.sh)"
BENCH_SERVER="$SERVER" BENCH_OSS="$OSS" BENCH_OSS_PID="$OSS_PID" BENCH_SKIP_BUILD=1 \
  bash "$ROOT/bench/cost.sh" "$ROOT/bench/RESULTS.md" || echo "  upload cost: FAILED" >&2
mkdir -p "$ROOT/bench/out" && cp "$RESULTS" "$ROOT/bench/out/results.jsonl" # ignored by git; re-render with bench.py report
echo
echo "(written to bench/RESULTS.md)"
