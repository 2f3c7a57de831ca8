#!/bin/sh
# tests/fuzz/run.sh - run every fuzz target (or the ones named) for
# FUZZ_SECONDS each with libFuzzer (built by `make fuzz`), starting from the
# seed corpus tests/fuzz/corpus/TARGET and the regressions. Prints the
# executions per target. A crash (or a leak, a timeout, an out-of-memory) is
# copied to tests/fuzz/regressions/TARGET/, which the suite replays
# (tests/test_fuzz.lua), and makes the exit status 1. Leaks are checked once,
# at the end of each run (LSan), not after every input.
#   FUZZ_SECONDS=60 tests/fuzz/run.sh [target ...]
set -u
BIN=${FUZZ_BIN:-build/fuzz/tdfuzz}
SECS=${FUZZ_SECONDS:-60}
WORK=build/fuzz/work
TARGETS=${*:-$(cd tests/fuzz/targets && ls *.lua | sed 's/\.lua$//')}
status=0
total=0
printf '%-12s %12s %10s  %s\n' target executions exec/s result
for t in $TARGETS; do
  mkdir -p "$WORK/corpus/$t" "$WORK/crash/$t" "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t"
  rm -f "$WORK/crash/$t"/*
  log="$WORK/$t.log"
  TDFUZZ_TARGET=$t ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$BIN" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=1024 -max_len="${FUZZ_MAX_LEN:-4096}" -detect_leaks=0 \
      -print_final_stats=1 -artifact_prefix="$WORK/crash/$t/" \
      "$WORK/corpus/$t" "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  result=ok
  found=$(ls "$WORK/crash/$t" 2>/dev/null)
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    result="FAILED (see $log)"
    status=1
    for f in $found; do
      cp "$WORK/crash/$t/$f" "tests/fuzz/regressions/$t/$f"
      result="$result; kept tests/fuzz/regressions/$t/$f"
    done
  fi
  printf '%-12s %12s %10s  %s\n' "$t" "${runs:-0}" "${speed:-0}" "$result"
  total=$((total + ${runs:-0}))
done
printf '%-12s %12s\n' total "$total"
exit $status
