#!/usr/bin/env bash
# Builds the cargo-fuzz targets in fuzz/ and runs each for SECONDS (default 10), one after the
# other, then prints executions per target. `make fuzz` runs 60 s each.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# Stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags; no sanitizer (-s none):
# the code under test is safe Rust, so libFuzzer looks for panics, failed assertions, stack
# overflows, inputs slower than 10 s (-timeout) and memory over 2 GB (-rss_limit_mb).
# The corpus grows in ~/.cache/oss-direct/fuzz-corpus/<target> (seeded from fuzz/seeds/<target>);
# a crash is copied to fuzz/regressions/<target>/ and makes the script exit 1. Inputs already in
# fuzz/regressions/ are replayed first: one that still crashes is reported as "known" (exit 0
# unless FUZZ_STRICT=1), one that no longer crashes as "fixed".
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

SECONDS_EACH="${1:-10}"
shift || true
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/oss-direct/fuzz-target}"
CORPUS_ROOT="${FUZZ_CORPUS_DIR:-$HOME/.cache/oss-direct/fuzz-corpus}"
LOGS="$CORPUS_ROOT/logs"
mkdir -p "$LOGS"

if ! cargo fuzz --version >/dev/null 2>&1; then
  log "installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

log "cargo fuzz build (release, -s none)"
cargo fuzz build -s none --fuzz-dir fuzz
BIN="$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release"

if [ $# -gt 0 ]; then TARGETS=("$@"); else mapfile -t TARGETS < <(cargo fuzz list --fuzz-dir fuzz); fi

rows=()
new_crashes=0
known=0
for t in "${TARGETS[@]}"; do
  corpus="$CORPUS_ROOT/$t"
  artifacts="$CORPUS_ROOT/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  rm -f "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-* "$artifacts"/slow-unit-*
  seeds=()
  [ -d "fuzz/seeds/$t" ] && seeds+=("fuzz/seeds/$t")

  # Known crashers first: do they still crash?
  regress=""
  if compgen -G "fuzz/regressions/$t/*" >/dev/null; then
    still=0
    for f in fuzz/regressions/"$t"/*; do
      if ! FUZZ_KNOWN=1 "$BIN/$t" -runs=1 "$f" >"$LOGS/$t.regress.log" 2>&1; then still=$((still + 1)); fi
    done
    if [ "$still" -gt 0 ]; then regress="known crash x$still still reproduces"; known=$((known + still)); else regress="regressions fixed"; fi
  fi

  log "fuzzing $t for ${SECONDS_EACH}s"
  status=0
  "$BIN/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "${seeds[@]}" \
    >"$LOGS/$t.log" 2>&1 || status=$?
  # libFuzzer's last words: "Done N runs in S second(s)" or, after a crash, stat::number_of_executed_units.
  execs=$(grep -oE 'Done [0-9]+ runs' "$LOGS/$t.log" | tail -1 | grep -oE '[0-9]+' || true)
  [ -n "$execs" ] || execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$LOGS/$t.log" | tail -1 | grep -oE '[0-9]+$' || true)
  [ -n "$execs" ] || execs=$(grep -oE '^#[0-9]+' "$LOGS/$t.log" | tail -1 | tr -d '#' || true)
  secs=$(grep -oE 'Done [0-9]+ runs in [0-9]+ second' "$LOGS/$t.log" | tail -1 | grep -oE '[0-9]+ second' | grep -oE '[0-9]+' || echo "$SECONDS_EACH")
  [ "${secs:-0}" -gt 0 ] || secs=1
  cov=$(grep -oE 'cov: [0-9]+' "$LOGS/$t.log" | tail -1 | grep -oE '[0-9]+' || echo "?")
  ncorpus=$(find "$corpus" -type f | wc -l)
  result="ok"
  if [ "$status" -ne 0 ]; then
    crash=$(ls "$artifacts"/crash-* "$artifacts"/timeout-* "$artifacts"/oom-* 2>/dev/null | head -1 || true)
    if [ -n "$crash" ]; then
      mkdir -p "fuzz/regressions/$t"
      cp "$crash" "fuzz/regressions/$t/"
      result="CRASH: fuzz/regressions/$t/$(basename "$crash")"
      grep -m1 -E "panicked at|ERROR: libFuzzer" "$LOGS/$t.log" | sed 's/^/    /' || true
    else
      result="exit $status (see $LOGS/$t.log)"
    fi
    new_crashes=$((new_crashes + 1))
  fi
  [ -n "$regress" ] && result="$result; $regress"
  rows+=("| $t | ${SECONDS_EACH} | ${execs:-0} | $(( ${execs:-0} / secs )) | $cov | $ncorpus | $result |")
done

log "fuzzing summary (${SECONDS_EACH}s per target)"
echo "| target | seconds | executions | exec/s | coverage | corpus | result |"
echo "|---|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
echo "logs: $LOGS"
if [ "$new_crashes" -gt 0 ]; then
  echo "$new_crashes target(s) crashed: inputs copied to fuzz/regressions/ (replay: $BIN/<target> <file>)" >&2
  exit 1
fi
if [ "$known" -gt 0 ] && [ "${FUZZ_STRICT:-0}" = 1 ]; then
  echo "$known known crasher(s) in fuzz/regressions/ still crash (FUZZ_STRICT=1)" >&2
  exit 1
fi
