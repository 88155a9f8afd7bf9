#!/usr/bin/env bash
# Corpus sweep: every HLO text file survives text -> HloModuleProto -> text.
#
#   test/corpus/proto-roundtrip.sh [GSHARD_OPT] [CORPUS_DIR]
#
# For each file T: P = print(import(T)); T1 = text of (T -> proto -> import);
# T2 = text of (T1 -> proto -> import). A file passes if T1 == T2 (the proto
# form is a fixed point) and T1 == P except for the module header line
# (entry_computation_layout is always written, as XLA requires, and module
# configuration options have no HloModuleProto field) and XLA's normal form
# of empty lists: `lhs_batch_dims={}` (as absent: the proto cannot tell them
# apart) and `replica_groups={}` (always printed, as XLA does). Files the text
# importer rejects are skipped. Prints `N/M proto round-trip`; exit 1 if any
# file fails.
set -u
OPT=${1:-build/bin/gshard-opt}
CORPUS=${2:-$(dirname "$0")/../../../shared/corpus}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
normal() {
  tail -n +2 "$1" |
    sed -E 's/, (lhs|rhs)_(batch|contracting)_dims=\{\}//g; s/, replica_groups=\{\}//g'
}
pass=0 total=0 skipped=0
while IFS= read -r -d '' f; do
  if ! "$OPT" "$f" -o "$tmp/p.hlo" 2>/dev/null; then
    skipped=$((skipped + 1))
    continue
  fi
  total=$((total + 1))
  if "$OPT" "$f" --emit=proto -o "$tmp/a.pb" 2>"$tmp/err" &&
     "$OPT" "$tmp/a.pb" -o "$tmp/t1.hlo" 2>>"$tmp/err" &&
     "$OPT" "$tmp/t1.hlo" --emit=proto -o "$tmp/b.pb" 2>>"$tmp/err" &&
     "$OPT" "$tmp/b.pb" -o "$tmp/t2.hlo" 2>>"$tmp/err" &&
     cmp -s "$tmp/t1.hlo" "$tmp/t2.hlo" &&
     cmp -s <(normal "$tmp/p.hlo") <(normal "$tmp/t1.hlo"); then
    pass=$((pass + 1))
  else
    echo "FAIL: $f" >&2
    head -3 "$tmp/err" >&2
    diff <(normal "$tmp/p.hlo") <(normal "$tmp/t1.hlo") 2>/dev/null |
      head -4 >&2
  fi
done < <(find "$CORPUS" -name '*.hlo' -print0 | sort -z)
echo "$pass/$total proto round-trip ($skipped not importable as text)"
[ "$pass" -eq "$total" ]
