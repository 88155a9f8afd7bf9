#!/usr/bin/env bash
# Round-trips every HLO text file of the corpus through gshard-opt:
#
#   gshard-opt f.hlo > a.hlo && gshard-opt a.hlo > b.hlo && cmp a.hlo b.hlo
#
# and prints `N/M round-trip`. A file passes when both runs succeed and the
# second print equals the first byte for byte (printing is a fixed point).
# Failures, one per line with the reason, go to the failures file. The run
# fails (exit 1) if a file listed in the baseline (files that passed before)
# no longer passes; new passes are reported so the baseline can be updated.
#
# Usage: roundtrip.sh [options]
#   --gshard-opt PATH     the driver (default: $GSHARD_OPT, else gshard-opt
#                         next to the build tree or on PATH)
#   --corpus DIR          corpus root (default: $GSHARD_CORPUS, else
#                         <repo>/../shared/corpus)
#   --baseline FILE       default: test/corpus/roundtrip-baseline.txt
#   --failures FILE       default: ./roundtrip-failures.txt
#   --update-baseline     rewrite the baseline with the files that pass now
#   --jobs N              parallel runs (default: number of CPUs)
#   --timeout SECONDS     per gshard-opt run (default: 120)
#
# Exit status: 0 ok (or corpus absent: skipped), 1 a baseline file regressed,
# 2 bad usage or no gshard-opt.

set -u
set -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

opt="${GSHARD_OPT:-}"
corpus="${GSHARD_CORPUS:-$repo/../shared/corpus}"
baseline="$here/roundtrip-baseline.txt"
failures="$PWD/roundtrip-failures.txt"
update=0
jobs="$(nproc 2>/dev/null || echo 2)"
timeout_s=120

while [ $# -gt 0 ]; do
  case "$1" in
    --gshard-opt) opt="$2"; shift 2 ;;
    --corpus) corpus="$2"; shift 2 ;;
    --baseline) baseline="$2"; shift 2 ;;
    --failures) failures="$2"; shift 2 ;;
    --update-baseline) update=1; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    --timeout) timeout_s="$2"; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "roundtrip.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

if [ ! -d "$corpus" ]; then
  echo "corpus not found: skipped ($corpus)"
  exit 0
fi

if [ -z "$opt" ]; then
  for candidate in "$repo"/build/bin/gshard-opt "$(command -v gshard-opt)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ]; then
      opt="$candidate"
      break
    fi
  done
fi
# A bare command name (lit substitutes `gshard-opt`) is looked up on PATH.
if [ -n "$opt" ] && [ "${opt#*/}" = "$opt" ]; then
  opt="$(command -v "$opt" || true)"
fi
if [ -z "$opt" ] || [ ! -x "$opt" ]; then
  echo "roundtrip.sh: gshard-opt not found (use --gshard-opt or GSHARD_OPT)" >&2
  exit 2
fi

corpus="$(cd "$corpus" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/gshard-roundtrip.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# The files, relative to the corpus root, in a stable order.
(cd "$corpus" && for dir in xla-propagation xla-partitioner real; do
   [ -d "$dir" ] && find "$dir" -maxdepth 1 -type f -name '*.hlo'
 done | LC_ALL=C sort) > "$work/files"
total=$(wc -l < "$work/files")

# Why a run failed, from its exit status.
describe_status() {
  case "$1" in
    124) echo "timed out after ${timeout_s}s" ;;
    1|2) echo "exit $1" ;;
    *) if [ "$1" -gt 128 ]; then echo "CRASHED (signal $(($1 - 128)))"; else echo "exit $1"; fi ;;
  esac
}

# One file: prints "PASS rel" or "FAIL rel: reason".
check_one() {
  local rel="$1" out="$work/out/${1//\//_}"
  local a="$out.a.hlo" b="$out.b.hlo" err="$out.err" status
  # A subshell keeps the shell's own "Segmentation fault" notice quiet.
  (timeout "$timeout_s" "$opt" "$corpus/$rel" -o "$a" 2> "$err") 2> /dev/null
  status=$?
  if [ $status -ne 0 ]; then
    echo "FAIL $rel: import failed ($(describe_status $status)): $(grep -m 1 . "$err")"
    return
  fi
  (timeout "$timeout_s" "$opt" "$a" -o "$b" 2> "$err") 2> /dev/null
  status=$?
  if [ $status -ne 0 ]; then
    echo "FAIL $rel: re-importing the printed module failed ($(describe_status $status)): $(grep -m 1 . "$err")"
    return
  fi
  if ! cmp -s "$a" "$b"; then
    echo "FAIL $rel: printing is not a fixed point (first difference: $(cmp "$a" "$b" 2>&1 | head -n 1 | sed 's/^.* differ: //'))"
    return
  fi
  echo "PASS $rel"
}
export -f check_one describe_status
export opt corpus work timeout_s
mkdir -p "$work/out"

tr '\n' '\0' < "$work/files" |
  xargs -0 -r -n 1 -P "$jobs" bash -c 'check_one "$1"' _ |
  LC_ALL=C sort -k2 > "$work/results"

grep '^PASS ' "$work/results" | cut -d' ' -f2- > "$work/passed"
grep '^FAIL ' "$work/results" | cut -d' ' -f2- > "$failures"
passed=$(wc -l < "$work/passed")

echo "$passed/$total round-trip"
if [ -s "$failures" ]; then
  echo "failures: $failures"
fi

if [ "$update" = 1 ]; then
  cp "$work/passed" "$baseline"
  echo "baseline updated: $baseline ($passed files)"
  exit 0
fi

status=0
if [ -f "$baseline" ]; then
  # Regressions: in the baseline, present in the corpus, not passing now.
  LC_ALL=C sort -u "$baseline" | grep -v '^$' > "$work/baseline"
  LC_ALL=C comm -12 "$work/baseline" <(LC_ALL=C sort "$work/files") |
    LC_ALL=C comm -23 - <(LC_ALL=C sort "$work/passed") > "$work/regressed"
  if [ -s "$work/regressed" ]; then
    echo "REGRESSED: $(wc -l < "$work/regressed") file(s) of the baseline no longer round-trip:"
    while read -r rel; do
      grep -F "$rel:" "$failures" | head -n 1 | sed 's/^/  /'
    done < "$work/regressed"
    status=1
  fi
  newly=$(LC_ALL=C comm -13 "$work/baseline" <(LC_ALL=C sort "$work/passed") | wc -l)
  if [ "$newly" -gt 0 ]; then
    echo "$newly file(s) pass that are not in the baseline (run with --update-baseline)"
  fi
else
  echo "no baseline at $baseline (run with --update-baseline to create it)"
fi
exit $status
