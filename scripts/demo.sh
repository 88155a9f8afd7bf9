#!/usr/bin/env bash
# The demo: the main job on a shipped example — parse, propagate, partition,
# simulate and check, estimate the cost on a 2x2 mesh.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EXAMPLE="$ROOT/examples/megatron_mlp.hlo"
OPT="$BUILD/bin/gshard-opt"
SIM="$BUILD/bin/gshard-sim"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

echo "== input: examples/megatron_mlp.hlo =="
cat "$EXAMPLE"
echo
echo "== gshard-opt --explain=relu: where a propagated sharding came from =="
"$OPT" "$EXAMPLE" --explain=relu -o /dev/null
echo
echo "== gshard-opt --partition --explain-collectives: the per-device program =="
"$OPT" "$EXAMPLE" --partition --explain-collectives -o "$WORK/partitioned.hlo"
cat "$WORK/partitioned.hlo"
echo
echo "== gshard-sim --check: 4 simulated devices vs the original on one =="
"$SIM" "$WORK/partitioned.hlo" --check="$EXAMPLE"
echo
echo "== gshard-sim --mesh=2x2: estimated cost =="
"$SIM" "$WORK/partitioned.hlo" --mesh=2x2 --report=text
