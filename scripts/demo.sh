#!/usr/bin/env bash
# The demo: a small GShard MoE Transformer (examples/gshard_moe.hlo, written
# by gshard-modelgen) through the whole pipeline: parse, propagate the
# paper's sharding annotations, partition for 4 devices, simulate the 4
# devices and check them against the unpartitioned program, and estimate
# the cost of a step on a 4-core TPU v3 slice.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EXAMPLE="$ROOT/examples/gshard_moe.hlo"
OPT="$BUILD/bin/gshard-opt"
SIM="$BUILD/bin/gshard-sim"
MESH=tpu-v3-4
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== model: examples/gshard_moe.hlo =="
sed -n 1,3p "$EXAMPLE" | sed 's/^/  /'
echo "  ($(grep -c ' = ' "$EXAMPLE") instructions; regenerate with:"
echo "   $(sed -n 's/^\/\/ Command: //p' "$EXAMPLE"))"
echo

echo "== 1. parse + propagate: shardings chosen (annotated: the input, the"
echo "      expert weights and the split() points of GShard's Algorithm 2;"
echo "      everything else propagated; dims: inputs [G,S,M], gates [G,S,E],"
echo "      dispatch_mask [G,S,E,C], dispatch [G,E,C,M], dispatched and expert_*"
echo "      [E,G,C,M], expert_outputs [G,E,C,M], wi [E,M,H]) =="
"$OPT" "$EXAMPLE" --propagate -o "$WORK/propagated.hlo"
for name in x layer1.moe.inputs layer1.moe.gates layer1.moe.dispatch_mask \
            layer1.moe.dispatch layer1.moe.dispatched layer1.moe.expert_h \
            layer1.moe.expert_out layer1.moe.expert_outputs \
            layer1.moe.combine layer1.moe.outputs l1.wi; do
  line=$(grep -m1 -E "^ *%$name = " "$WORK/propagated.hlo" || true)
  [ -n "$line" ] || { echo "demo: %$name not found" >&2; exit 1; }
  shape=$(sed -E 's/^ *%[^ ]+ = ([^ ]+) .*/\1/' <<<"$line")
  sharding=$(grep -oE 'sharding=\{[^}]*\}' <<<"$line" || echo "sharding=?")
  origin=propagated
  grep -qE "^ *%$name = .*sharding=" "$EXAMPLE" && origin=annotated
  printf '  %-28s %-16s %-34s %s\n' "%$name" "$shape" "$sharding" "$origin"
done
echo

echo "== 2. partition for 4 devices: every collective inserted, and why =="
"$OPT" "$EXAMPLE" --partition --explain-collectives -o "$WORK/partitioned.hlo" \
  2>"$WORK/collectives.txt"
sed 's/^/  /' "$WORK/collectives.txt"
echo "  (GShard's minimum for an MoE layer: one all-to-all sends every group's"
echo "   tokens to their experts (split G -> split E), one brings the experts'"
echo "   outputs back (split E -> split G); attention and dense layers are"
echo "   data-parallel and need no collective in the forward pass)"
echo "  ($(grep -c ' = ' "$WORK/partitioned.hlo") instructions per device)"
echo

echo "== 3. gshard-sim --check: 4 simulated devices vs the program on one =="
set +e
"$SIM" "$WORK/partitioned.hlo" --check="$EXAMPLE" >"$WORK/check.txt" 2>&1
status=$?
set -e
sed 's/^/  /' "$WORK/check.txt" | tail -5
echo "  verdict: $([ $status -eq 0 ] && echo "equal (exit 0)" || echo "MISMATCH (exit $status)")"
echo

echo "== 4. cost of one forward step on $MESH (gshard-sim --mesh=$MESH) =="
"$SIM" "$WORK/partitioned.hlo" --mesh=$MESH --report=text >"$WORK/cost.txt"
grep -E '^(cost model|program)|step time|^ +(compute|all-|collective|reduce-scatter|communication)|peak memory' \
  "$WORK/cost.txt" | sed 's/^ */  /'
exit $status
