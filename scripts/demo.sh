#!/usr/bin/env bash
# The demo: the main job on a shipped example, as far as the pipeline goes.
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EXAMPLE="$ROOT/examples/megatron_mlp.hlo"
OPT="$BUILD/bin/gshard-opt"

echo "== input: examples/megatron_mlp.hlo =="
cat "$EXAMPLE"
echo
echo "== gshard-opt: parsed, verified and printed back =="
"$OPT" "$EXAMPLE"
if [ -x "$BUILD/bin/gshard-sim" ]; then
  echo
  echo "== gshard-sim: the module on 4 simulated devices, checked against itself =="
  "$BUILD/bin/gshard-sim" "$EXAMPLE" --check="$EXAMPLE"
fi
