#!/usr/bin/env bash
# Runs every test suite of a built tree and ends on one summary line:
#   N passed, N failed
# Suites: lit (FileCheck tests, incl. corpus tests where the corpus exists)
# and GoogleTest (through ctest).
# GSHARD_LIT_FILTER_OUT=REGEX leaves out the lit tests it matches;
# GSHARD_RUN_CTEST=0 runs lit only (the sanitizer subset of
# `make check-sanitize-lit`, which builds no unit tests).
set -uo pipefail
BUILD=${1:-build}
LIT_FILTER_OUT=${GSHARD_LIT_FILTER_OUT:-}
RUN_CTEST=${GSHARD_RUN_CTEST:-1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LIT=$(llvm-config-19 --prefix)/build/utils/lit/lit.py

passed=0
failed=0

echo "== lit =="
lit_log=$(mktemp)
python3 "$LIT" -sv ${LIT_FILTER_OUT:+--filter-out "$LIT_FILTER_OUT"} \
  "$BUILD/test" 2>&1 | tee "$lit_log"
lit_pass=$(grep -E '^\s*(Passed|Expectedly Failed)\s*:' "$lit_log" | awk -F: '{s+=$2} END {print s+0}')
lit_fail=$(grep -E '^\s*(Failed|Unexpectedly Passed|Unresolved|Timed Out)\s*:' "$lit_log" | awk -F: '{s+=$2} END {print s+0}')
lit_unsupported=$(grep -E '^\s*Unsupported\s*:' "$lit_log" | awk -F: '{s+=$2} END {print s+0}')
if [ "$lit_unsupported" -gt 0 ]; then
  echo "lit: $lit_unsupported tests unsupported here (e.g. corpus absent): skipped"
fi
passed=$((passed + lit_pass))
failed=$((failed + lit_fail))
rm -f "$lit_log"

if [ "$RUN_CTEST" = 0 ]; then
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
  exit
fi

echo "== GoogleTest (ctest) =="
ctest_log=$(mktemp)
(cd "$BUILD" && ctest --output-on-failure -j2) 2>&1 | tee "$ctest_log"
ctest_total=$(grep -oE 'tests failed out of [0-9]+' "$ctest_log" | grep -oE '[0-9]+$' || echo 0)
ctest_fail=$(grep -oE '[0-9]+ tests failed out of' "$ctest_log" | grep -oE '^[0-9]+' || echo 0)
ctest_total=${ctest_total:-0}
ctest_fail=${ctest_fail:-0}
passed=$((passed + ctest_total - ctest_fail))
failed=$((failed + ctest_fail))
rm -f "$ctest_log"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
